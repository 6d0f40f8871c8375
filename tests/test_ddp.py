"""Data-parallel training (explorer.reducers.distributed): 2 CPU processes on gloo, started by torchrun, train
as one process does; every rank takes the same decisions; the CLI's --devices saves one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.cli import main

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("this PyTorch build has no torch.distributed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240

# run by torchrun in each process: the same data and model; each rank writes what it ended with
WORKER = """
import hashlib, json, sys
import numpy as np
from explorer.reducers.distributed import data_parallel, init_from_env, leave
from explorer.reducers import Autoencoder, ModelConfig

X = np.load(sys.argv[1])
cfg = ModelConfig(**json.loads(sys.argv[2]))
group = init_from_env()
with data_parallel(group):
    model = Autoencoder(cfg, device="cpu", random_state=0).fit(X)
weights = b"".join(p.detach().numpy().tobytes() for p in model.module_.parameters())
out = {"rank": group.rank, "world": group.world_size, "history": model.history_, "info": model.train_info_,
       "weights": hashlib.sha256(weights).hexdigest(), "codes": model.transform(X[:50]).tolist()}
leave(group)
json.dump(out, open(f"{sys.argv[3]}/rank{group.rank}.json", "w"))
"""


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
    }


def _torchrun(tmp_path: Path, X: np.ndarray, cfg: dict, n: int = 2) -> list[dict]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    np.save(tmp_path / "X.npy", X)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={n}",
        str(script),
        str(tmp_path / "X.npy"),
        json.dumps(cfg),
        str(tmp_path),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-6000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(n)]


@pytest.fixture
def planted():
    """600 rows x 20 columns: 3 seeded Gaussian blobs, standardized."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=600, centers=3, n_features=20, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(np.float32), y


SMALL = {
    "kind": "ae",
    "hidden": [64, 32],
    "latent_dim": 4,
    "epochs": 6,
    "batch_size": 64,
    "lr": 1e-3,
    "mixed_precision": False,
}


def test_two_processes_train_as_one(tmp_path, planted):
    """Same data, seed and epochs: the 2-process loss is the 1-process loss (within 5%); both ranks end
    with the same weights and history, and the code still separates the planted blobs."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from explorer.reducers import Autoencoder, ModelConfig

    X, y = planted
    ranks = _torchrun(tmp_path, X, SMALL)
    single = Autoencoder(ModelConfig(**SMALL), device="cpu", random_state=0).fit(X)
    assert [r["world"] for r in ranks] == [2, 2] and ranks[0]["info"]["processes"] == 2
    assert ranks[0]["weights"] == ranks[1]["weights"], "the ranks' weights drifted apart"
    assert ranks[0]["history"] == ranks[1]["history"] or all(
        a["loss"] == b["loss"] and a["val_loss"] == b["val_loss"]
        for a, b in zip(ranks[0]["history"], ranks[1]["history"], strict=True)
    )
    assert len(ranks[0]["history"]) == len(single.history_) == SMALL["epochs"]
    one, two = single.history_[-1], ranks[0]["history"][-1]
    assert abs(two["loss"] / one["loss"] - 1) < 0.05, (one, two)
    assert abs(two["val_loss"] / one["val_loss"] - 1) < 0.05, (one, two)
    assert single.history_[-1]["loss"] < 0.5 * single.history_[0]["loss"]  # it learned something
    codes = np.asarray(ranks[0]["codes"], np.float32)
    np.testing.assert_allclose(codes, single.transform(X[:50]), atol=0.1)
    Z = single.transform(X)
    assert adjusted_rand_score(y, KMeans(3, n_init=4, random_state=0).fit_predict(Z)) > 0.95


def test_ranks_stop_early_together(tmp_path, planted):
    """Early stopping on a validation loss every rank shares: the ranks stop after the same epoch."""
    X, _ = planted
    cfg = {**SMALL, "epochs": 60, "patience": 1, "min_delta": 0.2, "lr": 3e-3}
    ranks = _torchrun(tmp_path, X, cfg)
    stops = [(r["info"]["stop_reason"], len(r["history"]), r["info"]["best_epoch"]) for r in ranks]
    assert stops[0] == stops[1]
    assert stops[0][0] == "early_stopping" and stops[0][1] < 60


def test_batch_parts_cover_every_row_once():
    """Each rank's part of a global batch is contiguous, sizes differ by at most one, none is lost."""
    from explorer.reducers.distributed import Group

    for n, world in ((256, 2), (7, 3), (5, 4), (64, 1)):
        idx = torch.arange(n)
        parts = [Group(r, world, r, "gloo").part(idx) for r in range(world)]
        assert torch.equal(torch.cat(parts), idx)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        shards = [Group(r, world, r, "gloo").shard(idx) for r in range(world)]
        assert sorted(torch.cat(shards).tolist()) == list(range(n))


def test_cli_devices_saves_one_run(tmp_path, planted):
    """explorer run --devices 2 trains in 2 processes and rank 0 alone clusters, prints and saves."""
    import pandas as pd

    X, y = planted
    table = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])]).assign(group=[f"g{v}" for v in y])
    table.to_csv(tmp_path / "blobs.csv", index=False)
    runs = tmp_path / "runs"
    cmd = [
        sys.executable,
        "-m",
        "explorer",
        "run",
        str(tmp_path / "blobs.csv"),
        "--label",
        "group",
        "--model",
        "ae",
        "--latent-dim",
        "4",
        "--epochs",
        "4",
        "--batch-size",
        "64",
        "--cluster",
        "kmeans",
        "--k",
        "3",
        "--projection",
        "pca",
        "--no-explain",
        "--device",
        "cpu",
        "--devices",
        "2",
        "--runs-dir",
        str(runs),
        "--json",
        "--quiet",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-6000:]
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1, done.stdout  # one rank printed
    assert [p.name for p in runs.iterdir()] == [printed[0]["run_id"]]  # one rank saved
    assert printed[0]["ari"] > 0.95
    config = json.loads((runs / printed[0]["run_id"] / "config.json").read_text())
    assert any("data-parallel in 2 processes" in note for note in config["notes"])
    model = json.loads((runs / printed[0]["run_id"] / "model.json").read_text())
    assert model["meta"]["train_info"]["processes"] == 2 and len(model["meta"]["history"]) == 4


@pytest.mark.parametrize(
    "argv, setting, message",
    [
        (["--devices", "0"], None, "--devices must be 1 or more"),
        (["--devices", "2"], "one gpu", "more processes than the 1 GPUs"),
        (["--devices", "2"], "under torchrun", "under torchrun leave it out"),
        (["--devices", "2", "--device", "cpu"], "missing data", "no such file"),
    ],
)
def test_cli_bad_devices_is_one_line(tmp_path, capsys, monkeypatch, argv, setting, message):
    data = tmp_path / "t.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    if setting == "one gpu":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    elif setting == "under torchrun":
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", "1")
    elif setting == "missing data":
        data = tmp_path / "nothing.csv"
    assert main(["run", str(data), *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_devices_is_not_passed_on_to_the_processes():
    from explorer.cli.run import without_devices

    assert without_devices(["run", "d.csv", "--devices", "2", "--k", "3"]) == ["run", "d.csv", "--k", "3"]
    assert without_devices(["run", "d.csv", "--devices=2"]) == ["run", "d.csv"]
