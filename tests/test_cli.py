"""The CLI end to end on a bundled sample and a small table; bad input gives one line, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def small_table(path: Path, n=150, seed=0) -> Path:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n, centers=3, n_features=5, random_state=seed)
    lines = ["a,b,c,d,e,colour,kind"]
    colours = ["red", "green", "blue"]
    for row, label in zip(X, y, strict=True):
        lines.append(",".join(f"{v:.4f}" for v in row) + f",{colours[label]},k{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_run_on_small_table_json(tmp_path, capsys):
    data = small_table(tmp_path / "t.csv")
    code = main(
        [
            "run",
            str(data),
            "--label",
            "kind",
            "--model",
            "pca",
            "--cluster",
            "kmeans",
            "--k",
            "3",
            "--projection",
            "pca",
            "--out",
            str(tmp_path / "runs"),
            "--json",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metrics["acc"] > 0.95 and metrics["nmi"] > 0.9 and metrics["k"] == 3
    assert Path(metrics["run_dir"]).is_dir()
    assert main(["show", metrics["run_id"], "--runs", str(tmp_path / "runs")]) == 0
    shown = capsys.readouterr().out
    assert metrics["run_id"] in shown and "NMI" in shown
    assert main(["list", "--runs", str(tmp_path / "runs")]) == 0
    assert metrics["run_id"] in capsys.readouterr().out


def test_cli_default_pipeline_on_the_bundled_table(tmp_path):
    """A real subprocess, as a user runs it: defaults (model, clustering, k) picked for the data."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "explorer",
            "run",
            str(ROOT / "sample_data" / "penguins.csv"),
            "--label",
            "species",
            "--epochs",
            "20",
            "--out",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert metrics["nmi"] > 0.4 and metrics["k"] >= 2
    assert "Traceback (most recent call last)" not in out.stderr, out.stderr[-3000:]
    assert "Clustering with" in out.stderr  # the progress bar ran (tables of this kind train no model)


def test_cli_fp32_is_recorded_in_the_run(tmp_path, capsys):
    data = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    data.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(60, 3))) + "\n")
    code = main(
        [
            "run",
            str(data),
            "--model",
            "ae",
            "--epochs",
            "2",
            "--cluster",
            "kmeans",
            "--k",
            "2",
            "--projection",
            "pca",
            "--fp32",
            "--out",
            str(tmp_path / "runs"),
            "--quiet",
            "--json",
        ]
    )
    assert code == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    config = json.loads((tmp_path / "runs" / run_id / "config.json").read_text())
    assert config["pipeline"]["model"]["mixed_precision"] is False


def test_cli_on_the_bundled_images(tmp_path, capsys):
    code = main(
        [
            "run",
            str(ROOT / "sample_data" / "mnist_digits.zip"),
            "--epochs",
            "3",
            "--k",
            "10",
            "--no-refine",
            "--dec-batches",
            "40",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "ACC" in out and "NMI" in out and "saved run" in out
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    model = json.loads((run / "config.json").read_text())["pipeline"]["model"]
    assert model["members"] == 3  # 3,000 images: a small set, three autoencoders side by side
    assert model["epochs"] == 3 and model["time_budget"] is None  # epochs asked for by name train in full
    cluster = json.loads((run / "config.json").read_text())["pipeline"]["cluster"]
    assert cluster["refine"] is False  # --no-refine
    assert cluster["refine_seconds"] is None  # and the refinement, had it run, would not be cut by time either
    assert cluster["dec_max_iter"] == 40  # --dec-batches


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "does-not-exist.csv"], "no such file"),
        (["run", "{table}", "--k", "1"], "k"),
        (["run", "{table}", "--label", "nope"], "nope"),
        (["run", "{table}", "--model", "transformer"], "invalid choice"),
        (["run", "{table}", "--epochs", "0"], "epochs"),
        (["run", "{table}", "--dec-batches", "0"], "--dec-batches must be between 1 and 100,000"),
        (["run", "{empty}"], "empty"),
        (["show", "not-a-run"], "run"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    table = small_table(tmp_path / "t.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    argv = [a.format(table=table, empty=empty) for a in argv] + (["--out", str(tmp_path)] if argv[0] == "run" else [])
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message.lower() in lines[0].lower(), err
    assert "Traceback" not in err


def test_cli_subprocess_bad_input_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    out = subprocess.run(
        [sys.executable, "-m", "explorer", "run", str(bad), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.startswith("error:")
    assert "pickle" in out.stderr.lower() or "object" in out.stderr.lower()


def test_cli_compare_two_saved_runs(tmp_path, capsys):
    """Two quick runs of one small table (k-means k 3 and k 2): compare finds the merge; --json is the
    comparison's dict; a run of other data is one clear error line."""
    from explorer.data import TableOptions, load
    from explorer.pipeline import ModelConfig, PipelineConfig, replace_nested, run_pipeline
    from explorer.runs.files import save_run

    def saved(table: Path, k: int) -> str:
        ds = load(str(table), table=TableOptions(label_column="kind"))
        cfg = replace_nested(
            PipelineConfig(model=ModelConfig(kind="none", latent_dim=ds.X.shape[1]), device="cpu"),
            method="kmeans",
            k=k,
            projection_method="pca",
        )
        result = run_pipeline(ds, cfg)
        save_run(result, tmp_path / "runs")
        return result.run_id

    table = small_table(tmp_path / "t.csv")
    three, two = saved(table, 3), saved(table, 2)
    assert main(["compare", three, two, "--runs", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert f"A  run {three}" in out and "ARI" in out and "NMI" in out and "matched pairs" in out
    assert "merges A's cluster" in out  # two of the three blobs share one cluster at k 2
    assert "rows in both" in out and "cluster 0" in out

    assert main(["compare", str(tmp_path / "runs" / three), str(tmp_path / "runs" / three), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["ari"] == 1.0 and len(same["pairs"]) == 3 and same["splits"] == same["merges"] == []
    assert sum(map(sum, same["contingency"]["counts"])) == 150

    other = saved(small_table(tmp_path / "u.csv", n=120), 3)
    assert main(["compare", three, other, "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "run A has 150 rows and run B 120" in err and "Traceback" not in err
    assert main(["compare", three, "A" * 22, "--runs", str(tmp_path / "runs")]) == 2
    assert "no saved run" in capsys.readouterr().err


def test_names_cannot_drive_the_terminal(tmp_path, capsys):
    """A column name holding an ANSI escape sequence (clear the screen, move the cursor) is printed
    with the escape replaced, never sent to the terminal as it is."""
    from explorer.cli import main

    rng = np.random.default_rng(0)
    evil = "\x1b[2J\x1b[Hbalance\x07"
    path = tmp_path / "t.csv"
    pd.DataFrame({evil: rng.normal(size=60), "b": rng.normal(size=60)}).to_csv(path, index=False)
    assert main(["run", str(path), "--k", "2", "--projection", "pca", "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    run_id = next((tmp_path / "runs").iterdir()).name
    assert main(["explain", run_id, "--runs", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err
    assert "\ufffd[2J" in out.out  # the name is still there, defanged


def test_a_run_id_that_starts_with_a_dash_gets_a_way_to_pass_it(tmp_path, capsys):
    """Ids made before ids avoided a leading '-' read as options: the one-line error says to put them after '--'."""
    old = "-" + "a" * 21
    assert main(["compare", old, "b" * 22, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "after '--'" in err and old in err and "Traceback" not in err
    assert main(["compare", "--runs", str(tmp_path), "--", old, "b" * 22]) == 2  # parsed now: the run is missing
    assert "no saved run" in capsys.readouterr().err
