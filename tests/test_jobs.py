"""The job manager: progress, stop, errors, one session's jobs invisible to another, GPU turn-taking,
the synchronous mode the page tests use; and the workspace that collects finished jobs."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from explorer.dashboard.jobs import JobManager
from explorer.dashboard.workspace import JobKind
from explorer.errors import InputError
from explorer.events import Progress


def wait(job, timeout=30.0):
    end = time.time() + timeout
    while not job.done:
        assert time.time() < end, f"job {job.name} did not finish"
        time.sleep(0.01)
    return job


@pytest.fixture
def manager():
    m = JobManager(max_workers=2, synchronous=False)
    yield m
    m.shutdown()


def test_progress_events_and_result(manager):
    def work(job):
        for i in range(1, 5):
            job.emit(Progress("train", f"epoch {i}/4", i / 4, epoch=i, loss=1 / i))
        return "fitted"

    job = wait(manager.submit("alice", work, name="Training"))
    assert job.status == "done" and job.result == "fitted" and job.error is None
    assert [e.epoch for e in job.snapshot()] == [1, 2, 3, 4]
    assert job.progress == (1.0, "done")
    assert job.elapsed >= 0 and job.started is not None and job.finished >= job.started


def test_progress_while_running(manager):
    go_on = threading.Event()

    def work(job):
        job.emit(Progress("train", "epoch 1/2", 0.5))
        go_on.wait(10)
        return 1

    job = manager.submit("alice", work, name="Training")
    end = time.time() + 10
    while not job.events and time.time() < end:
        time.sleep(0.01)
    fraction, message = job.progress
    assert fraction == 0.5 and "epoch 1/2" in message and job.status == "running"
    go_on.set()
    wait(job)


def test_stop_asks_the_work_to_end_and_keeps_its_result(manager):
    def work(job):
        steps = 0
        while not job.should_stop():
            steps += 1
            job.emit(Progress("train", f"step {steps}"))
            time.sleep(0.005)
        return steps

    job = manager.submit("alice", work, name="Training")
    while not job.events:
        time.sleep(0.005)
    assert manager.stop(job.id, "alice")
    wait(job)
    assert job.status == "done" and job.result >= 1 and job.stop_requested


def test_errors_are_captured_as_sentences(manager):
    def bad_input(job):
        raise InputError("k must be less than the number of rows (5); got 9.")

    def crash(job):
        raise RuntimeError("boom")

    a = wait(manager.submit("alice", bad_input, name="Clustering"))
    b = wait(manager.submit("alice", crash, name="Clustering"))
    assert a.status == "failed" and a.error == "k must be less than the number of rows (5); got 9."
    assert b.status == "failed" and b.error == "unexpected RuntimeError: boom"
    assert a.result is None and a.progress == (1.0, "failed")


def test_a_session_sees_only_its_own_jobs(manager):
    job = wait(manager.submit("alice", lambda job: "secret", name="Training"))
    assert manager.get(job.id, "bob") is None
    assert manager.jobs("bob") == [] and [j.id for j in manager.jobs("alice")] == [job.id]
    assert not manager.stop(job.id, "bob")
    manager.forget(job.id, "bob")  # no effect: not bob's
    assert manager.get(job.id, "alice") is job
    manager.forget(job.id, "alice")
    assert manager.get(job.id, "alice") is None
    with pytest.raises(ValueError):
        manager.submit("", lambda job: 1, name="x")


def test_gpu_jobs_take_turns_and_cpu_jobs_share_the_pool(manager):
    spans: dict[str, tuple[float, float]] = {}

    def work(name):
        def run(job):
            t0 = time.perf_counter()
            time.sleep(0.2)
            spans[name] = (t0, time.perf_counter())
        return run

    gpu = [manager.submit("alice", work(f"g{i}"), name=f"g{i}", device="cuda") for i in range(2)]
    for j in gpu:
        wait(j)
    (a0, a1), (b0, b1) = sorted(spans[f"g{i}"] for i in range(2))
    assert b0 >= a1  # the second GPU job waited for the first

    both_running = threading.Barrier(2, timeout=5)
    cpu = [manager.submit("alice", lambda job: both_running.wait(), name=f"c{i}") for i in range(2)]
    for j in cpu:
        wait(j)
    assert all(j.status == "done" for j in cpu)  # the barrier passed: they ran at the same time


def test_synchronous_mode_runs_in_the_callers_thread(monkeypatch):
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "1")
    manager = JobManager()
    job = manager.submit("alice", lambda job: threading.get_ident(), name="x")
    assert job.done and job.result == threading.get_ident()
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "0")
    assert not manager._sync()
    manager.shutdown()


def blob_dataset(n=120, d=6, k=3, seed=0):
    from explorer.dataset import Dataset, LoadReport

    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    X = (rng.normal(size=(n, d)) + 6 * np.eye(k, d)[y]).astype(np.float32)
    return Dataset(X=X, feature_names=[f"f{i}" for i in range(d)], ids=np.arange(n).astype(str),
                   report=LoadReport(source="blobs", kind="table"), kind="table", name="blobs", labels=y.astype(str))


def test_stopping_real_training_keeps_the_best_weights(manager):
    from explorer.pipeline import default_config, fit_representation, replace_nested

    ds = blob_dataset()
    cfg = replace_nested(default_config(ds), model="ae", epochs=500, hidden=(8,), latent_dim=2, device="cpu", patience=1000)
    job = manager.submit("alice", lambda job: fit_representation(ds, cfg, "cpu", job.emit, job.should_stop), name="Training")
    end = time.time() + 30
    while not any((e.epoch or 0) >= 2 for e in job.snapshot()) and time.time() < end:
        time.sleep(0.01)
    job.stop()
    reducer = wait(job).result
    assert job.status == "done"
    assert reducer.train_info_["stop_reason"] == "stopped"
    assert 2 <= len(reducer.history_) < 500
    assert reducer.transform(ds.X).shape == (ds.n, 2)


def test_workspace_collects_models_runs_and_errors():
    from explorer.dashboard.actions import run_with_representation
    from explorer.dashboard.workspace import Workspace
    from explorer.pipeline import default_config, fit_representation, replace_nested

    manager = JobManager(synchronous=True)
    ws, other = Workspace(), Workspace()
    ds = blob_dataset()
    ws.set_dataset(ds, "test")
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=3, method="kmeans", k=3, projection_method="pca")
    assert not ws.has_model(cfg)
    ws.start(manager, JobKind.TRAIN, lambda job: fit_representation(ds, cfg, "cpu", job.emit), name="Training pca",
             model_key=ws.model_key(cfg))
    assert other.collect(manager) == []  # another session cannot take it
    assert [j.name for j in ws.collect(manager)] == ["Training pca"]
    assert ws.has_model(cfg) and ws.jobs == {}
    reducer = ws.model(cfg)
    key = ws.run_key(cfg)
    ws.start(manager, JobKind.RUN, lambda job: run_with_representation(ds, cfg, reducer, on_event=job.emit), name="Clustering",
             run_key=key)
    ws.collect(manager)
    assert ws.find_run(cfg) is ws.result and ws.result.reducer is reducer and ws.result.clusters.k == 3
    ws.start(manager, JobKind.RUN, lambda job: (_ for _ in ()).throw(InputError("no good")), name="Clustering", run_key=key)
    ws.collect(manager)
    assert ("error", "Clustering failed: no good") in ws.pop_messages()
    assert ws.result is not None  # a failed job loses nothing already made


def test_a_session_trains_within_its_budget():
    from explorer.errors import LimitError
    from explorer.limits import Limits
    from explorer.dashboard.workspace import Workspace

    manager = JobManager(synchronous=True)
    ws = Workspace()
    limits = Limits(max_train_seconds=100.0, max_session_train_seconds=250.0)
    assert ws.training_allowance(limits) == 100.0
    ws.train_seconds = 200.0
    assert ws.training_allowance(limits) == 50.0  # what is left of the session's budget
    job = ws.start(manager, JobKind.TRAIN, lambda job: time.sleep(0.05), name="Training", trains=True, model_key="k")
    ws.collect(manager)
    assert ws.train_seconds >= 200.05 and job.elapsed >= 0.05
    ws.start(manager, JobKind.RUN, lambda job: time.sleep(0.05), name="Clustering", run_key="r")  # no training: not counted
    before = ws.train_seconds
    ws.jobs.clear()
    assert ws.train_seconds == before
    ws.train_seconds = 250.0
    with pytest.raises(LimitError, match="EXPLORER_MAX_SESSION_TRAIN_SECONDS"):
        ws.training_allowance(limits)
