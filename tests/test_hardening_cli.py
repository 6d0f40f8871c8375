"""Every case of tests/bad_inputs through the CLI, in-process: a bad input exits 2 with exactly one
``error:`` line that names the problem, never a traceback; a usable one exits 0; nothing is written
outside --out. The caps come from the environment (EXPLORER_MAX_*), the epochs and training-time caps too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bad_inputs import LIMITS_ENV, Case, build_corpus

from explorer.cli import main

# kmeans and a PCA projection keep the usable cases fast (the default UMAP costs seconds per run);
# the loading, the checks and the saving are the same.
FAST = ["--cluster", "kmeans", "--k", "2", "--projection", "pca", "--quiet"]


@pytest.fixture
def caps(monkeypatch):
    for var, value in LIMITS_ENV.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("EXPLORER_DEBUG", raising=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Case]]:
    folder = tmp_path_factory.mktemp("cli_inputs")
    return folder, build_corpus(folder / "data")


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_case_through_the_cli(corpus, caps, capsys, monkeypatch):
    folder, cases = corpus
    out = folder / "runs"
    monkeypatch.chdir(folder)  # a stray relative write (./runs, a temp file) would land here and show
    failures = []
    for case in cases:
        before = tree(folder)
        argv = ["run", str(folder / "data" / case.filename), "--epochs", "1", "--model", "pca", "--out", str(out)]
        argv += (["--label", case.label] if case.label else []) + (FAST if case.expect == "ok" else [])
        code, stdout, stderr = run_cli(argv, capsys)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        if "Traceback" in stderr + stdout:
            failures.append(f"{case.name}: a traceback was printed")
        if case.expect == "error":
            if code != 2 or len(errors) != 1 or case.message_fragment not in errors[0]:
                failures.append(f"{case.name}: exit {code}, stderr {stderr!r}")
        elif code != 0 or errors:
            failures.append(f"{case.name}: exit {code}, stderr {stderr!r}")
        new = tree(folder) - before
        outside = [p for p in new if not (p == "runs" or p.startswith("runs/"))]
        if outside or (case.expect == "error" and new):
            failures.append(f"{case.name}: wrote {sorted(new)}")
    assert not failures, "\n".join(failures)
    n_ok = sum(c.expect == "ok" for c in cases)
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == n_ok  # one saved run per usable case


def test_the_epochs_cap_is_enforced_and_says_how_to_raise_it(corpus, caps, capsys, monkeypatch):
    folder, _ = corpus
    monkeypatch.setenv("EXPLORER_MAX_EPOCHS", "5")
    code, _, err = run_cli(
        ["run", str(folder / "data" / "tabs.csv"), "--epochs", "6", "--model", "pca", "--out", str(folder / "capped")],
        capsys,
    )
    assert code == 2 and err.count("error:") == 1
    assert "6 epochs" in err and "max_epochs=5" in err and "EXPLORER_MAX_EPOCHS" in err
    assert not (folder / "capped").exists()


def test_the_training_time_cap_reaches_the_model(corpus, caps, capsys, monkeypatch):
    folder, _ = corpus
    monkeypatch.setenv("EXPLORER_MAX_TRAIN_SECONDS", "42.5")
    code, out, _ = run_cli(
        ["run", str(folder / "data" / "tabs.csv"), "--model", "pca", "--out", str(folder / "timed"), "--json", *FAST],
        capsys,
    )
    assert code == 0
    config = json.loads((Path(json.loads(out.strip().splitlines()[-1])["run_dir"]) / "config.json").read_text())
    assert config["pipeline"]["model"]["max_seconds"] == 42.5


def test_a_bad_cap_setting_is_one_line(corpus, caps, capsys, monkeypatch):
    folder, _ = corpus
    monkeypatch.setenv("EXPLORER_MAX_ROWS", "lots")
    code, _, err = run_cli(["run", str(folder / "data" / "tabs.csv"), "--out", str(folder / "x")], capsys)
    assert code == 2 and err.startswith("error: EXPLORER_MAX_ROWS='lots' is not a number") and "Traceback" not in err


@pytest.mark.parametrize("run", ["../", "../../etc", "A" * 22, "/etc/passwd"])
def test_show_refuses_what_is_not_a_saved_run(tmp_path, capsys, run):
    code, _, err = run_cli(["show", run, "--runs", str(tmp_path)], capsys)
    assert code == 2 and err.count("error:") == 1 and "Traceback" not in err


def test_an_error_after_the_progress_bar_started_gets_a_line_of_its_own(corpus, caps, capsys, monkeypatch):
    import explorer.pipeline
    from explorer.errors import TrainingError
    from explorer.events import Progress

    def failing_run(dataset, cfg, on_event, **kwargs):
        on_event(Progress("train", "epoch 1/3", 0.3, loss=1.0))  # the bar's line is open now
        raise TrainingError("the loss became NaN")

    monkeypatch.setattr(explorer.pipeline, "run_pipeline", failing_run)
    folder, _ = corpus
    code, _, err = run_cli(
        ["run", str(folder / "data" / "tabs.csv"), "--model", "pca", "--out", str(folder / "x")], capsys
    )
    lines = err.replace("\r", "\n").splitlines()  # the bar redraws itself with \r
    assert code == 2 and "error: the loss became NaN" in lines
    assert any(line.strip().startswith("train [") for line in lines)
