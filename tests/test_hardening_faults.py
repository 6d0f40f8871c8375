"""Faults: a server killed (kill -9) while saving leaves the old runs and at most a hidden ``.tmp-*``
folder, never a broken run; the leftovers are ignored and cleaned up; a restarted server (a fresh
process) still serves every saved run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from explorer.runs.files import cleanup_partial, list_runs, load_run, save_run
from explorer.runs.ids import RUN_ID_PATTERN, TMP_PREFIX

ROOT = Path(__file__).resolve().parents[1]

# A "server" that loads one run and saves copies of it in a loop until it is killed. With SLOW_DISK
# set, syncing the files takes a minute, so a kill is sure to land in the middle of a save.
SAVER = """
import sys, time
from pathlib import Path
import explorer.runs.files as runs
result = runs.load_run(Path(sys.argv[1]))
if sys.argv[3] == "slow":
    runs._fsync_tree = lambda path: time.sleep(60)
print("ready", flush=True)
while True:
    runs.save_run(result, sys.argv[2])
"""


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> Path:
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import default_config, replace_nested, run_pipeline

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(60, 4)) + 6 * (np.arange(60) % 2)[:, None]).astype(np.float32)
    ds = Dataset(
        X=X,
        feature_names=list("abcd"),
        ids=np.arange(60).astype(str),
        report=LoadReport(source="blobs", kind="table"),
        kind="table",
        name="blobs",
        labels=(np.arange(60) % 2).astype(str),
    )
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=2, method="kmeans", k=2, projection_method="pca")
    return save_run(run_pipeline(ds, cfg), tmp_path_factory.mktemp("seed"))


def start_saver(seed: Path, root: Path, mode: str = "fast") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(seed), str(root), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read()
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def check_root(root: Path) -> tuple[list[str], list[str]]:
    """Every visible folder is a run that loads, and list_runs lists exactly those. Returns
    (run ids, hidden leftovers)."""
    visible = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    hidden = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    assert all(RUN_ID_PATTERN.match(name) for name in visible), visible
    for name in visible:
        assert load_run(name, root).run_id == name
    assert sorted(r["run_id"] for r in list_runs(root)) == visible
    assert all(name.startswith(TMP_PREFIX) for name in hidden), hidden
    return visible, hidden


def test_kill_9_while_saving_never_leaves_a_broken_run(seed_run, tmp_path):
    root = tmp_path / "runs"
    random.seed(0)
    for _ in range(10):
        proc = start_saver(seed_run, root)
        time.sleep(random.uniform(0.0, 0.25))
        kill(proc)
        check_root(root)
    runs, _ = check_root(root)
    assert runs, "no save finished in 10 tries; the saver is too slow to test anything"


def test_a_save_killed_midway_leaves_only_a_hidden_folder_that_is_cleaned_up(seed_run, tmp_path):
    root = tmp_path / "runs"
    old = save_run(load_run(seed_run), root).name
    proc = start_saver(seed_run, root, "slow")
    deadline = time.time() + 30
    while not any(p.name.startswith(TMP_PREFIX) for p in root.iterdir()):  # wait until it is writing
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    kill(proc)
    runs, hidden = check_root(root)
    assert runs == [old] and len(hidden) == 1  # the old run, intact; the new one never appeared
    assert cleanup_partial(root, older_than_s=3600) == []  # a fresh one may be another server's save
    stale = time.time() - 7200
    os.utime(root / hidden[0], (stale, stale))
    assert [p.name for p in cleanup_partial(root, older_than_s=3600)] == hidden
    assert check_root(root) == ([old], [])


RESTART = """
import json, sys
import explorer.runs.files as runs
root = sys.argv[1]
out = {}
for r in runs.list_runs(root):
    result = runs.load_run(r["run_id"], root)
    out[r["run_id"]] = {"k": result.clusters.k, "n": int(result.dataset.n), "z": float(abs(result.Z).sum())}
print(json.dumps(out))
"""


def test_a_restarted_server_serves_every_saved_run(seed_run, tmp_path):
    root = tmp_path / "runs"
    saved = {}
    for _ in range(3):
        result = load_run(seed_run)
        saved[save_run(result, root).name] = result
    (root / f"{TMP_PREFIX}leftover").mkdir()  # a save that died; it must not get in the way
    fresh = subprocess.run(
        [sys.executable, "-c", RESTART, str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert fresh.returncode == 0, fresh.stderr
    served = json.loads(fresh.stdout)
    assert set(served) == set(saved)
    for run_id, result in saved.items():
        assert served[run_id] == {
            "k": result.clusters.k,
            "n": int(result.dataset.n),
            "z": pytest.approx(float(abs(result.Z).sum())),
        }
