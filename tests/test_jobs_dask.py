"""Dashboard jobs on a Dask LocalCluster (2 worker processes): the work runs on a worker, its progress
reaches the local Job, Stop and cancel reach the worker, results and errors come back, and the
manager's per-session isolation holds."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from explorer.dashboard.jobs.dask_backend import DaskJobBackend
from explorer.dashboard.jobs.manager import DASK_SCHEDULER_ENV, JobManager, backend_from_env
from explorer.errors import InputError
from explorer.events import Progress


def wait_for(condition, timeout: float = 60.0, what: str = "the condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc,
        distributed.Client(lc) as c,
    ):
        yield c


@pytest.fixture
def manager(client):
    m = JobManager(max_workers=2, synchronous=False, nice=0, backend=DaskJobBackend(client))
    yield m
    m.shutdown(wait=True)


def test_a_job_runs_on_a_worker_reports_progress_and_returns(manager, client):
    def work(job):
        import distributed as d

        for i in range(3):
            job.emit(Progress("train", f"epoch {i + 1}", (i + 1) / 3, epoch=i + 1, epochs=3, loss=1.0 / (i + 1)))
        return os.getpid(), d.get_worker().address, np.arange(5).sum()

    job = manager.submit("alice", work, name="Training")
    wait_for(lambda: job.done, what="the job to end")
    assert job.status == "done", job.error
    pid, address, total = job.result
    assert pid != os.getpid() and address in client.scheduler_info(n_workers=-1)["workers"]  # not this process
    assert total == 10
    assert [e.epoch for e in job.events] == [1, 2, 3] and job.events[-1].loss == pytest.approx(1 / 3)
    assert all(isinstance(e, Progress) for e in job.events)


def test_stop_reaches_the_worker_and_the_result_still_arrives(manager):
    def work(job):
        i = 0
        while not job.should_stop() and i < 3000:
            job.emit(Progress("train", f"step {i}", 0.0))
            time.sleep(0.02)
            i += 1
        return i

    job = manager.submit("alice", work, name="Training")
    wait_for(lambda: len(job.snapshot()) >= 3, what="progress from the worker")
    assert manager.get(job.id, "bob") is None and not manager.stop(job.id, "bob")  # another session can't touch it
    assert manager.stop(job.id, "alice")
    wait_for(lambda: job.done, what="the stopped job to end")
    assert job.status == "done" and 3 <= job.result < 3000  # it stopped itself, well before its own end
    assert job.stop_reason == "Stop was pressed"


def test_cancel_ends_the_work_on_the_worker(manager, tmp_path):
    marker = tmp_path / "ended"

    def work(job):
        job.emit(Progress("cluster", "started", 0.0))
        try:
            while True:  # ignores Stop: only a cancel ends it
                job.should_stop()
                time.sleep(0.02)
        finally:
            Path(marker).write_text("ended")

    job = manager.submit("alice", work, name="Clustering")
    wait_for(lambda: job.snapshot(), what="the work to start on the worker")
    assert manager.cancel(job.id, "alice", reason="it was replaced")
    wait_for(lambda: job.done, what="the cancelled job to end")
    assert job.status == "cancelled" and job.result is None
    wait_for(marker.exists, what="the work on the worker to end")


def test_an_error_on_the_worker_is_the_users_sentence(manager):
    def work(job):
        raise InputError("column 'age' is missing; add it.")

    job = manager.submit("alice", work, name="Training")
    wait_for(lambda: job.done, what="the job to end")
    assert job.status == "failed" and job.error == "column 'age' is missing; add it."


def test_a_real_run_on_the_cluster_recovers_planted_clusters(manager, blobs):
    from sklearn.metrics import adjusted_rand_score

    from explorer.data import load
    from explorer.pipeline import default_config, run_pipeline

    X, y = blobs
    buf = io.BytesIO()
    np.savez(buf, X=X)
    ds = load(buf.getvalue(), name="blobs.npz")
    cfg = default_config(ds, method="kmeans", k=5, explain=False, projection_method="pca")
    job = manager.submit(
        "carol",
        lambda job: run_pipeline(ds, cfg, on_event=job.emit, should_stop=job.should_stop),
        name="Clustering (kmeans)",
    )
    wait_for(lambda: job.done, timeout=120, what="the run to end")
    assert job.status == "done", job.error
    assert adjusted_rand_score(y, job.result.clusters.labels) > 0.95
    assert {"cluster", "project"} <= {e.stage for e in job.events}


def test_work_that_cant_be_sent_runs_here(manager):
    import threading

    lock = threading.Lock()  # not serializable

    def work(job):
        with lock:
            job.emit(Progress("cluster", "here", 1.0))
            return os.getpid()

    job = manager.submit("dave", work, name="Clustering")
    wait_for(lambda: job.done, what="the job to end")
    assert job.status == "done" and job.result == os.getpid() and len(job.events) == 1


def test_the_backend_is_chosen_by_the_environment(monkeypatch):
    monkeypatch.delenv(DASK_SCHEDULER_ENV, raising=False)
    assert backend_from_env() is None and JobManager(max_workers=1).backend is None
    monkeypatch.setenv(DASK_SCHEDULER_ENV, "tcp://127.0.0.1:1")
    backend = backend_from_env()
    assert isinstance(backend, DaskJobBackend) and backend.scheduler == "tcp://127.0.0.1:1"


def test_an_unreachable_cluster_fails_the_job_with_a_sentence():
    m = JobManager(max_workers=1, synchronous=True, backend=DaskJobBackend("tcp://127.0.0.1:1", connect_timeout_s=1))
    job = m.submit("erin", lambda job: 1, name="Training")
    assert job.status == "failed" and "can't be reached" in job.error


def test_dask_is_imported_only_when_used():
    import subprocess
    import sys

    code = (
        "import sys, explorer.apply, explorer.cli, explorer.dashboard.jobs.manager, "
        "explorer.dashboard.jobs.dask_backend; "
        "print(' '.join(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "EXPLORER_DASK_SCHEDULER": ""},
    )
    assert out.stdout.strip() == ""
