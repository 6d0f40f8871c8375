"""The job manager: progress, stop, errors, one session's jobs invisible to another, GPU turn-taking,
the synchronous mode the page tests use; and the workspace that collects finished jobs."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from explorer.dashboard.jobs.manager import JobManager
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


def test_gpu_jobs_take_turns_and_cpu_jobs_of_two_sessions_run_at_once(manager):
    spans: dict[str, tuple[float, float]] = {}

    def work(name):
        def run(job):
            t0 = time.perf_counter()
            time.sleep(0.2)
            spans[name] = (t0, time.perf_counter())

        return run

    gpu = [
        manager.submit(owner, work(f"g{i}"), name=f"g{i}", device="cuda") for i, owner in enumerate(["alice", "bob"])
    ]
    for j in gpu:
        wait(j)
    (_a0, a1), (b0, _b1) = sorted(spans[f"g{i}"] for i in range(2))
    assert b0 >= a1  # the second GPU job waited for the first

    both_running = threading.Barrier(2, timeout=5)
    cpu = [manager.submit(owner, lambda job: both_running.wait(), name=owner) for owner in ("alice", "bob")]
    for j in cpu:
        wait(j)
    assert all(j.status == "done" for j in cpu)  # the barrier passed: they ran at the same time


def hold(release: threading.Event, started: list | None = None, checks: bool = True):
    """Work that runs until ``release`` is set (checking should_stop, which raises once cancelled)."""

    def run(job):
        if started is not None:
            started.append(job.name)
        while not release.wait(0.01):
            if checks:
                job.should_stop()
        return job.name

    return run


def test_a_session_runs_one_job_at_a_time_and_its_next_waits(manager):
    release = threading.Event()
    order: list[str] = []
    first = manager.submit("alice", hold(release, order), name="first")
    second = manager.submit("alice", hold(release, order), name="second")
    other = manager.submit("bob", hold(release, order), name="bob's")
    end = time.time() + 10
    while len(order) < 2 and time.time() < end:
        time.sleep(0.01)
    assert sorted(order) == ["bob's", "first"] and second.status == "queued"  # bob got the second worker
    assert manager.waiting_for(second) == "waiting for your other job (first) to end"
    assert manager.waiting_for(first) is None
    release.set()
    for job in (first, second, other):
        wait(job)
    assert order == ["first", "bob's", "second"] or order == ["bob's", "first", "second"]
    assert second.started >= first.finished


def test_one_client_never_holds_every_worker_and_the_least_served_goes_first():
    manager = JobManager(max_workers=2, synchronous=False)  # per_client = 1
    release = threading.Event()
    order: list[str] = []
    try:
        # three tabs of one client (one address), then one job of another client
        tabs = [manager.submit(f"tab{i}", hold(release, order), name=f"tab{i}", client="addr:a") for i in range(3)]
        time.sleep(0.2)
        other = manager.submit("bob", hold(release, order), name="bob", client="addr:b")
        end = time.time() + 10
        while len(order) < 2 and time.time() < end:
            time.sleep(0.01)
        assert order == ["tab0", "bob"]  # the client's other tabs wait: one worker stays free for others
        assert [t.status for t in tabs[1:]] == ["queued", "queued"]
        assert manager.waiting_for(tabs[1]) == "waiting for your other tabs' jobs to end"
        release.set()
        for job in (*tabs, other):
            wait(job)
        assert order[2:] == ["tab1", "tab2"]
    finally:
        release.set()
        manager.shutdown()


def test_a_replaced_job_is_cancelled_really_ends_and_the_new_one_waits_for_it(manager):
    from explorer.dashboard.workspace import Workspace

    ws = Workspace()
    steps = {"old": 0}
    go = threading.Event()

    def old_work(job):
        while True:  # never ends on its own: only the cancel (should_stop raising) ends it
            steps["old"] += 1
            job.should_stop()
            time.sleep(0.01)

    old = ws.start(manager, JobKind.PROJECT, old_work, name="old", run_key="r")
    while steps["old"] < 3:
        time.sleep(0.01)
    new = ws.start(manager, JobKind.PROJECT, lambda job: go.wait(10) and "new", name="new", run_key="r")
    wait(old)
    assert old.status == "cancelled" and "replaced" in old.error and old.result is None
    seen = steps["old"]
    time.sleep(0.1)
    assert steps["old"] == seen  # its thread has ended: no more steps
    assert new.started is None or new.started >= old.finished  # one running job per session
    go.set()
    assert wait(new).result == "new"


def test_a_waiting_job_that_is_replaced_never_starts(manager):
    release = threading.Event()
    ran: list[str] = []
    busy = manager.submit("alice", hold(release), name="busy")
    queued = manager.submit("alice", lambda job: ran.append("queued"), name="queued")
    assert manager.cancel(queued.id, "alice")
    release.set()
    wait(busy)
    assert queued.status == "cancelled" and ran == []


def test_time_cap_asks_to_stop_then_cancels():
    manager = JobManager(max_workers=1, synchronous=False)
    try:

        def stubborn(job):  # keeps going after should_stop() says True, until it raises
            saw_stop = False
            while True:
                saw_stop = job.should_stop() or saw_stop
                job.result = saw_stop
                time.sleep(0.01)

        def polite(job):  # stops when asked and keeps what it has
            steps = 0
            while not job.should_stop():
                steps += 1
                time.sleep(0.01)
            return steps

        a = manager.submit("alice", polite, name="polite", max_seconds=0.3)
        b = manager.submit("bob", stubborn, name="stubborn", max_seconds=0.3)
        b.grace_s = 0.3
        assert wait(a).status == "done" and a.result > 0 and "time cap" in a.stop_reason
        wait(b)
        assert b.status == "cancelled" and "past its time cap" in b.error and b.result is None
    finally:
        manager.shutdown()


def test_a_job_stuck_in_a_call_that_never_checks_is_abandoned_and_frees_its_worker():
    manager = JobManager(max_workers=1, synchronous=False)
    unstick = threading.Event()
    try:
        stuck = manager.submit("alice", lambda job: unstick.wait(30) and "late", name="stuck", max_seconds=0.2)
        stuck.grace_s = 0.2
        after = manager.submit("bob", lambda job: "bob's", name="bob")
        assert wait(after, timeout=10).result == "bob's"  # got the only worker while alice's call still runs
        assert stuck.status == "cancelled" and stuck.abandoned and "did not end" in stuck.error
        # the abandoned thread still counts against its client: alice's next job waits for it
        nxt = manager.submit("alice-tab2", lambda job: "next", name="next", client="alice")
        time.sleep(0.2)
        assert nxt.status == "queued"
        unstick.set()
        assert wait(nxt).result == "next" and stuck.result is None  # the late result is dropped
    finally:
        unstick.set()
        manager.shutdown()


def test_cancel_reaches_inside_the_library_and_is_not_swallowed(manager):
    """should_stop() raising JobCancelled ends real training mid-way, and a whole pipeline run."""
    from explorer.pipeline import (
        default_config,
        fit_representation,
        replace_nested,
        run_pipeline,
    )

    ds = blob_dataset()
    cfg = replace_nested(
        default_config(ds), model="ae", epochs=500, hidden=(8,), latent_dim=2, device="cpu", patience=1000, batch_size=8
    )
    epochs: list[int] = []

    def train(job):
        return fit_representation(ds, cfg, "cpu", lambda e: (epochs.append(e.epoch or 0), job.emit(e)), job.should_stop)

    job = manager.submit("alice", train, name="Training")
    while max(epochs, default=0) < 2:
        time.sleep(0.01)
    manager.cancel(job.id, "alice")
    wait(job)
    assert job.status == "cancelled" and job.result is None and max(epochs) < 500

    run_cfg = replace_nested(default_config(ds), model="pca", latent_dim=3, method="kmeans", cluster_k_range=(2, 8))
    stages: list[str] = []

    def run(job):
        def on_event(e):
            stages.append(e.stage)
            if e.stage == "cluster":
                job.cancel("test")
            job.emit(e)

        return run_pipeline(ds, run_cfg, on_event=on_event, should_stop=job.should_stop)

    job = wait(manager.submit("alice", run, name="Run"))
    assert job.status == "cancelled" and "project" not in stages


def test_budgets_follow_the_client_not_the_tab():
    from explorer.dashboard.workspace import Workspace
    from explorer.errors import LimitError
    from explorer.limits import Limits

    manager = JobManager(synchronous=True)
    limits = Limits(max_train_seconds=100.0, max_session_train_seconds=0.3, max_client_job_seconds=0.6)
    first, new_tab, stranger = Workspace(client="addr:a"), Workspace(client="addr:a"), Workspace(client="addr:b")
    first.start(manager, JobKind.TRAIN, lambda job: time.sleep(0.35), name="Training", trains=True, model_key="k")
    first.collect(manager)
    with pytest.raises(LimitError, match="EXPLORER_MAX_SESSION_TRAIN_SECONDS"):
        new_tab.training_allowance(limits, manager)  # a new tab of the same address: the same budget
    assert new_tab.training_allowance(limits) > 0  # (the session's own count alone would let it)
    assert stranger.training_allowance(limits, manager) == pytest.approx(0.3)
    new_tab.start(manager, JobKind.RUN, lambda job: time.sleep(0.3), name="Clustering", run_key="r")
    new_tab.collect(manager)
    with pytest.raises(LimitError, match="EXPLORER_MAX_CLIENT_JOB_SECONDS"):
        first.job_allowance(limits, manager)
    assert stranger.job_allowance(limits, manager) == pytest.approx(0.6)
    assert manager.ledger.used("addr:a", window_s=3600) >= 0.65
    assert manager.ledger.used("addr:a", window_s=3600, now=time.time() + 7200) == 0  # the window rolls on


def test_client_keys():
    from explorer.dashboard.jobs.usage import client_key

    tab1, tab2 = client_key("s1", "203.0.113.7", mode="ip"), client_key("s2", "203.0.113.7", mode="ip")
    assert tab1 == tab2 != client_key("s3", "203.0.113.8", mode="ip") and "203.0.113.7" not in tab1
    assert client_key("s1", None, mode="ip") == "session:s1"  # no address: the session on its own
    assert client_key("s1", "203.0.113.7", mode="session") == "session:s1"
    fwd = {"X-Forwarded-For": "198.51.100.4, 10.0.0.1"}
    assert client_key("s1", "10.0.0.1", fwd, mode="forwarded") == client_key("s9", "198.51.100.4", mode="ip")
    assert client_key("s1", "10.0.0.1", fwd, mode="ip") == client_key("s9", "10.0.0.1", mode="ip")  # header ignored
    with pytest.raises(ValueError, match="EXPLORER_CLIENT_KEY"):
        client_key("s1", "1.2.3.4", mode="cookie")


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
    return Dataset(
        X=X,
        feature_names=[f"f{i}" for i in range(d)],
        ids=np.arange(n).astype(str),
        report=LoadReport(source="blobs", kind="table"),
        kind="table",
        name="blobs",
        labels=y.astype(str),
    )


def test_stopping_real_training_keeps_the_best_weights(manager):
    from explorer.pipeline import default_config, fit_representation, replace_nested

    ds = blob_dataset()
    cfg = replace_nested(
        default_config(ds), model="ae", epochs=500, hidden=(8,), latent_dim=2, device="cpu", patience=1000
    )
    job = manager.submit(
        "alice", lambda job: fit_representation(ds, cfg, "cpu", job.emit, job.should_stop), name="Training"
    )
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
    from explorer.dashboard.cluster import run_with_representation
    from explorer.dashboard.workspace import Workspace
    from explorer.pipeline import default_config, fit_representation, replace_nested

    manager = JobManager(synchronous=True)
    ws, other = Workspace(), Workspace()
    ds = blob_dataset()
    ws.set_dataset(ds, "test")
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=3, method="kmeans", k=3, projection_method="pca")
    assert not ws.has_model(cfg)
    ws.start(
        manager,
        JobKind.TRAIN,
        lambda job: fit_representation(ds, cfg, "cpu", job.emit),
        name="Training pca",
        model_key=ws.model_key(cfg),
    )
    assert other.collect(manager) == []  # another session cannot take it
    assert [j.name for j in ws.collect(manager)] == ["Training pca"]
    assert ws.has_model(cfg) and ws.jobs == {}
    reducer = ws.model(cfg)
    key = ws.run_key(cfg)
    ws.start(
        manager,
        JobKind.RUN,
        lambda job: run_with_representation(ds, cfg, reducer, on_event=job.emit),
        name="Clustering",
        run_key=key,
    )
    ws.collect(manager)
    assert ws.find_run(cfg) is ws.result and ws.result.reducer is reducer and ws.result.clusters.k == 3
    ws.start(
        manager, JobKind.RUN, lambda job: (_ for _ in ()).throw(InputError("no good")), name="Clustering", run_key=key
    )
    ws.collect(manager)
    assert ("error", "Clustering failed: no good") in ws.pop_messages()
    assert ws.result is not None  # a failed job loses nothing already made


def test_a_session_trains_within_its_budget():
    from explorer.dashboard.workspace import Workspace
    from explorer.errors import LimitError
    from explorer.limits import Limits

    manager = JobManager(synchronous=True)
    ws = Workspace()
    limits = Limits(max_train_seconds=100.0, max_session_train_seconds=250.0)
    assert ws.training_allowance(limits) == 100.0
    ws.train_seconds = 200.0
    assert ws.training_allowance(limits) == 50.0  # what is left of the session's budget
    job = ws.start(manager, JobKind.TRAIN, lambda job: time.sleep(0.05), name="Training", trains=True, model_key="k")
    ws.collect(manager)
    assert ws.train_seconds >= 200.05 and job.elapsed >= 0.05
    ws.start(
        manager, JobKind.RUN, lambda job: time.sleep(0.05), name="Clustering", run_key="r"
    )  # no training: not counted
    before = ws.train_seconds
    ws.jobs.clear()
    assert ws.train_seconds == before
    ws.train_seconds = 250.0
    with pytest.raises(LimitError, match="EXPLORER_MAX_SESSION_TRAIN_SECONDS"):
        ws.training_allowance(limits)


# -- Stop reaches every stage ------------------------------------------------------------------------------
def counting_stop(after: int):
    """A should_stop that turns True at its ``after``-th call; counts its calls."""
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] >= after

    return should_stop, calls


def test_umap_stops_between_its_layout_epochs(warm_umap, make_blobs):
    from explorer.errors import Stopped
    from explorer.project import umap_embed

    X, _ = make_blobs(n=300, d=8)
    should_stop, calls = counting_stop(after=3)
    with pytest.raises(Stopped, match="UMAP was stopped"):
        umap_embed(X, 2, n_epochs=5000, should_stop=should_stop)  # would take minutes
    assert calls["n"] == 3  # checked during the layout, and it stopped at the first True
    Y = umap_embed(X, 2, n_epochs=50, should_stop=lambda: False)  # never asked: the usual result
    np.testing.assert_allclose(Y, umap_embed(X, 2, n_epochs=50), atol=1e-5)


def test_tsne_runs_in_a_child_process_that_stop_kills(make_blobs, monkeypatch):
    import subprocess

    from explorer.errors import Stopped
    from explorer.project import ProjectionConfig, project

    X, _ = make_blobs(n=150, d=6)
    cfg = ProjectionConfig(method="tsne", perplexity=10)
    np.testing.assert_allclose(project(X, cfg, should_stop=lambda: False), project(X, cfg), atol=1e-4)  # same map

    children = []
    real = subprocess.Popen

    def spy(*args, **kwargs):
        children.append(real(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(subprocess, "Popen", spy)
    should_stop, _ = counting_stop(after=2)
    with pytest.raises(Stopped, match="t-SNE was stopped"):
        project(
            np.tile(X, (200, 1)) + np.random.default_rng(0).normal(size=(30_000, 6)).astype(np.float32),
            cfg,
            should_stop=should_stop,
        )  # 30,000 rows: minutes of t-SNE
    assert len(children) == 1 and children[0].poll() is not None  # the child is gone


def test_a_run_stopped_before_its_map_draws_it_with_pca_and_says_so():
    from explorer.pipeline import default_config, replace_nested, run_pipeline

    ds = blob_dataset()
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=4, method="kmeans", k=3, projection_method="umap")
    result = run_pipeline(ds, cfg, should_stop=lambda: True)
    assert result.config.projection.method == "pca" and result.embedding.shape == (ds.n, 2)
    assert any("drawn with PCA" in note for note in result.notes)
    assert result.metrics["ari"] > 0.9  # what was made (the clustering) is all there


def test_stop_during_training_keeps_the_run_going_through_n2d(warm_umap):
    """Stop pressed during training: the run goes on with the best weights; n2d's UMAP, which has no
    partial result, is not stopped by that earlier Stop."""
    from explorer.pipeline import default_config, replace_nested, run_pipeline

    ds = blob_dataset(n=150)
    cfg = replace_nested(default_config(ds), model="none", method="n2d", k=3, projection_method="pca")
    result = run_pipeline(ds, cfg, should_stop=lambda: True)
    assert result.clusters.method == "n2d" and result.clusters.k == 3


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priorities are a Linux feature")
def test_jobs_run_below_the_pages_and_within_their_share_of_threads():
    from threadpoolctl import threadpool_info

    manager = JobManager(max_workers=2, synchronous=False, nice=5, threads_per_job=1)

    def inside(job):
        return (
            os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
            max((p["num_threads"] for p in threadpool_info()), default=1),
        )

    try:
        page = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        nice, threads = wait(manager.submit("alice", inside, name="x")).result
        assert nice == min(19, page + 5) and threads == 1
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == page  # the caller's thread is unchanged
    finally:
        manager.shutdown()


def test_long_jobs_and_busy_clients_sink_in_priority():
    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import HEAVY_CLIENT_S, LONG_JOB_S

    manager = JobManager(nice=5, synchronous=True)
    now = time.time()
    fresh = Job(id="a", owner="alice", name="x", client="addr:a", started=now)
    long = Job(id="b", owner="alice", name="x", client="addr:a", started=now - LONG_JOB_S - 1)
    assert manager.nice_for(fresh, now) == 5 and manager.nice_for(long, now) == 10
    manager.ledger.add("addr:busy", HEAVY_CLIENT_S + 1, trains=False, when=now)
    busy = Job(id="c", owner="bob", name="x", client="addr:busy", started=now)
    assert manager.nice_for(busy, now) == 10  # a client that used much lately starts lower
    assert manager.nice_for(fresh, now) == 5  # ...and nobody else does
    assert JobManager(nice=0).nice_for(long, now) == 0
