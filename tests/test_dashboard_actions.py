"""The dashboard's rules without Streamlit: what starting a training or a run does to the session's
workspace (cached models reused, the time cap and budget, DEC refining a copy), projections coming
back at once, and typed job tickets that refuse a job whose result would have nowhere to go."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from explorer.dashboard import cluster, data, explore, train
from explorer.dashboard.jobs.manager import JobManager
from explorer.dashboard.workspace import JobKind, Ticket, Workspace
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError, LimitError
from explorer.limits import Limits
from explorer.pipeline import default_config, replace_nested


def blobs(n=120, d=6, k=3, seed=0) -> Dataset:
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


@pytest.fixture
def session():
    """(workspace with blobs loaded, a synchronous job manager, generous limits)."""
    ws = Workspace()
    ws.set_dataset(blobs(), "test")
    manager = JobManager(synchronous=True)
    yield ws, manager, Limits(max_train_seconds=120.0, max_session_train_seconds=600.0)
    manager.shutdown()


def ae_cfg(ds, **kw):
    return replace_nested(
        default_config(ds),
        model="ae",
        epochs=30,
        batch_size=16,
        hidden=(16,),
        latent_dim=2,
        method="kmeans",
        k=3,
        projection_method="pca",
        device="cpu",
        **kw,
    )


def test_training_then_a_run_reuses_the_model_and_records_the_settings_chosen(session):
    ws, manager, limits = session
    cfg = ae_cfg(ws.dataset)
    train.start_training(ws, manager, cfg, limits)
    assert ws.has_model(cfg) and ws.jobs == {} and ws.train_seconds > 0
    trained = ws.model(cfg)
    spent = ws.train_seconds
    cluster.start_run(ws, manager, cfg, limits)
    result = ws.result
    assert result is not None and result.reducer is trained  # no second training
    assert ws.train_seconds == spent  # clustering with a cached model costs no training time
    assert result.config == cfg and result.config.model.max_seconds is None  # the cap only said when to stop
    assert result.metrics["ari"] > 0.9


def test_a_run_without_a_model_trains_it_and_keeps_it(session):
    ws, manager, limits = session
    cfg = ae_cfg(ws.dataset)
    assert cluster.run_notice(ws, cfg)[0] == "info"  # "not trained yet; running trains it first"
    cluster.start_run(ws, manager, cfg, limits)
    assert ws.result is not None and ws.has_model(cfg) and ws.model(cfg) is ws.result.reducer
    assert ws.train_seconds > 0 and cluster.run_notice(ws, cfg) is None


def test_dec_refines_a_copy_and_does_not_replace_the_cached_model(session):
    ws, manager, limits = session
    cfg = ae_cfg(ws.dataset)
    train.start_training(ws, manager, cfg, limits)
    cached = ws.model(cfg)
    before = cached.transform(ws.dataset.X)
    dec = replace_nested(cfg, method="dec", cluster_dec_max_iter=5)
    cluster.start_run(ws, manager, dec, limits)
    assert ws.result.clusters.method == "dec" and ws.result.reducer is not cached
    assert ws.model(dec) is cached
    np.testing.assert_array_equal(cached.transform(ws.dataset.X), before)


def test_dec_on_pca_is_flagged_before_the_run(session):
    ws, _manager, _ = session
    cfg = replace_nested(default_config(ws.dataset), model="pca", latent_dim=3, method="dec", k=3)
    level, text = cluster.run_notice(ws, cfg)
    assert level == "warning" and "refines an autoencoder" in text


def test_a_spent_budget_refuses_the_job_and_keeps_what_was_made(session):
    ws, manager, _ = session
    cfg = ae_cfg(ws.dataset)
    cluster.start_run(ws, manager, cfg, Limits())
    made = ws.result
    ws.train_seconds = 10.0
    with pytest.raises(LimitError, match="EXPLORER_MAX_SESSION_TRAIN_SECONDS"):
        cluster.start_run(ws, manager, replace_nested(cfg, latent_dim=3), Limits(max_session_train_seconds=5.0))
    assert ws.result is made and ws.jobs == {}


def test_the_time_cap_reaches_training(session, monkeypatch):
    ws, manager, limits = session
    seen = {}
    import explorer.pipeline as pipeline

    real = pipeline.fit_representation

    def spy(dataset, cfg, device, emit, should_stop=None):
        seen["max_seconds"] = cfg.model.max_seconds
        return real(dataset, cfg, device, emit, should_stop)

    monkeypatch.setattr(pipeline, "fit_representation", spy)
    ws.train_seconds = 590.0
    train.start_training(ws, manager, ae_cfg(ws.dataset), limits)
    assert seen["max_seconds"] == pytest.approx(10.0)  # what is left of the session's 600 s


def test_another_projection_comes_back_at_once_the_second_time(session):
    ws, manager, limits = session
    cfg = replace_nested(
        default_config(ws.dataset), model="pca", latent_dim=3, method="kmeans", k=3, projection_method="pca"
    )
    cluster.start_run(ws, manager, cfg, limits)
    first = ws.result
    job = explore.change_projection(ws, manager, first, "tsne")
    assert job is not None and job.status == "done" and ws.result.config.projection.method == "tsne"
    np.testing.assert_array_equal(ws.result.clusters.labels, first.clusters.labels)
    assert explore.change_projection(ws, manager, ws.result, "pca") is None  # made before: no job
    assert ws.result is first


def test_tickets_are_typed_and_refuse_a_result_with_nowhere_to_go(session):
    ws, manager, _ = session
    with pytest.raises(ValueError):
        JobKind("trian")  # a typo is an error, not a result silently dropped
    with pytest.raises(ValueError, match="model_key"):
        Ticket(JobKind.TRAIN, "id")
    with pytest.raises(ValueError, match="run_key"):
        ws.start(manager, JobKind.RUN, lambda job: None, name="Clustering")
    assert ws.jobs == {}  # refused before anything ran


def test_actions_need_data():
    with pytest.raises(InputError, match="Data page"):
        train.start_training(Workspace(), JobManager(synchronous=True), default_config(blobs()), Limits())


def test_the_model_cache_key_ignores_the_time_cap(session):
    ws, *_ = session
    cfg = ae_cfg(ws.dataset)
    assert ws.model_key(cfg) == ws.model_key(replace(cfg, model=replace(cfg.model, max_seconds=5.0)))
    assert ws.run_key(cfg) == ws.run_key(replace(cfg, model=replace(cfg.model, max_seconds=5.0)))
    assert ws.model_key(cfg) != ws.model_key(replace_nested(cfg, epochs=31))


# -- loading an upload as a job; the upload budget; the display cap ------------------------------------------
GOOD_CSV = b"id,a,b\n" + b"".join(f"r{i},{i % 3 * 5 + i * 0.01:.2f},{i % 3:.1f}\n".encode() for i in range(60))


def test_an_upload_is_read_by_a_job_and_put_in_use(session):
    from explorer.data import TableOptions

    ws, manager, limits = session
    before = ws.dataset
    key = ("upload:a", ("label", None, None, "auto"), None)
    job = data.start_load(
        ws, manager, key, GOOD_CSV, "good.csv", TableOptions(id_column="id"), None, limits, "upload good.csv"
    )
    assert job.status == "done" and job.max_seconds == limits.max_load_seconds
    assert ws.dataset is not before and ws.dataset.n == 60 and ws.loaded_key == key and ws.load_error is None
    assert ws.jobs == {}


def test_an_upload_that_fails_keeps_the_data_in_use_and_its_message(session):
    ws, manager, limits = session
    before = ws.dataset
    key = ("upload:b", None, None)
    data.start_load(ws, manager, key, b"\x00\x01garbage", "bad.csv", None, None, limits, "upload bad.csv")
    assert ws.dataset is before and ws.loaded_key != key
    assert ws.load_error[0] == key and "bad.csv" in ws.load_error[1]
    assert not [m for m in ws.pop_messages() if m[0] == "success"]


def test_a_load_past_its_cap_is_cancelled_and_the_next_upload_goes_on(monkeypatch):
    import threading
    import time

    import explorer.data as data_mod

    manager, ws = JobManager(synchronous=False), Workspace()
    release = threading.Event()
    real_load = data_mod.load

    def load(data, **kw):  # a decode that checks nothing for a while (a bomb's worth of pixels)
        if data == b"slow":
            release.wait(30)
        return real_load(data, **kw)

    monkeypatch.setattr(data_mod, "load", load)

    def finish(job):
        end = time.time() + 30
        while not job.done and time.time() < end:
            time.sleep(0.02)
        ws.collect(manager)
        return job

    try:
        slow = finish(
            data.start_load(
                ws,
                manager,
                ("upload:slow", None, None),
                b"slow",
                "slow.csv",
                None,
                None,
                Limits(max_load_seconds=0.2),
                "slow",
            )
        )
        assert slow.status == "cancelled" and slow.abandoned  # 0.2 s cap + 0.2 s grace, then let go
        assert ws.load_error[0] == ("upload:slow", None, None) and "time cap" in ws.load_error[1]
        good = data.start_load(
            ws, manager, ("upload:good", None, None), GOOD_CSV, "good.csv", None, None, Limits(), "good"
        )
        release.set()  # the abandoned read returns meanwhile; its result is dropped
        assert finish(good).status == "done"
        assert ws.dataset is not None and ws.dataset.n == 60 and ws.loaded_key == ("upload:good", None, None)
    finally:
        release.set()
        manager.shutdown()


def test_the_upload_budget_counts_all_files_together_and_frees_a_replaced_upload():
    ws, limits = Workspace(), Limits(max_session_upload_bytes=1000)
    ws.take_upload("u1", [("a.csv", b"x" * 600)], limits)
    assert ws.upload.nbytes == 600
    ws.take_upload("u2", [("b.csv", b"y" * 900)], limits)  # replaces the first: 900, not 1,500
    assert ws.upload.key == "u2" and ws.upload.nbytes == 900
    with pytest.raises(LimitError, match="EXPLORER_MAX_SESSION_UPLOAD_BYTES") as err:
        ws.take_upload("u3", [("c.csv", b"z" * 600), ("d.csv", b"z" * 600)], limits)  # each fits, together not
    assert "1,200 bytes together" in str(err.value)
    assert ws.upload is None  # nothing over the budget is kept, and the old upload is freed too


@pytest.mark.parametrize(
    "asked, drawn, note",
    [
        (50_000, 50_000, None),
        (2_000_000, 200_000, "max_display_points"),
        (10, 1000, "At least"),
        ("lots", 100_000, "not a number"),
        (float("inf"), 100_000, "not a number"),
    ],
)
def test_points_drawn_at_most_is_checked_on_the_server(asked, drawn, note):
    cap, text = explore.display_cap(asked, Limits())
    assert cap == drawn and (text is None if note is None else note in text)


def test_every_job_gets_a_time_cap(session):
    ws, manager, limits = session
    limits = replace(limits, max_job_seconds=321.0)
    cfg = replace_nested(
        default_config(ws.dataset), model="pca", latent_dim=3, method="kmeans", k=3, projection_method="pca"
    )
    assert train.start_training(ws, manager, cfg, limits).max_seconds == 321.0
    assert cluster.start_run(ws, manager, cfg, limits).max_seconds == 321.0
    assert explore.change_projection(ws, manager, ws.result, "tsne", limits).max_seconds == 321.0
