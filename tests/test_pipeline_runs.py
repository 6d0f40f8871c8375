"""The pipeline end to end on planted structure, and runs saved then loaded identical."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError, RunNotFound
from explorer.pipeline import ModelConfig, PipelineConfig, default_config, default_reason, replace_nested, run_pipeline
from explorer.pipeline.defaults import NARROW_TABLE_COLUMNS, TABLE_MAP_NEIGHBORS, WIDE_TABLE_COLUMNS
from explorer.runs.exports import zip_run
from explorer.runs.files import list_runs, load_run, save_run
from explorer.runs.ids import RUN_ID_PATTERN


def blobs_dataset(n=300, k=4, d=12, seed=0, kind="table"):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n, centers=k, n_features=d, cluster_std=1.0, random_state=seed)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    report = LoadReport(source="blobs", kind=kind, n_rows=n, n_features=d)
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(d)])
    return Dataset(
        X=X,
        feature_names=list(table.columns),
        ids=np.array([str(i) for i in range(n)]),
        report=report,
        kind=kind,
        name="blobs",
        labels=np.array([f"c{v}" for v in y]),
        table=table,
    )


def tiny_cfg(model="ae", method="kmeans", k=4, projection="pca", **model_kw):
    m = ModelConfig(kind=model, latent_dim=3, hidden=(32,), epochs=15, batch_size=32, lr=3e-3, **model_kw)
    cfg = PipelineConfig(model=m, device="cpu")
    return replace_nested(cfg, method=method, k=k, projection_method=projection)


@pytest.mark.parametrize("model", ["pca", "ae", "dae", "vae", "none"])
def test_pipeline_recovers_blobs(model):
    ds = blobs_dataset()
    events = []
    result = run_pipeline(ds, tiny_cfg(model=model), on_event=events.append)
    assert result.metrics["ari"] >= 0.9, result.metrics
    assert result.Z.shape[0] == ds.n and result.embedding.shape == (ds.n, 2)
    assert result.anomaly.shape == (ds.n,) and np.isfinite(result.anomaly).all()
    assert {"cluster", "project", "evaluate", "done"} <= {e.stage for e in events}
    if model in ("ae", "dae", "vae"):
        assert any(e.stage == "train" and e.epoch for e in events)
        assert len(result.history) >= 1


@pytest.mark.parametrize("method", ["dec", "idec"])
def test_dec_and_idec_do_not_lower_nmi_below_their_kmeans_start(method):
    ds = blobs_dataset(n=400, k=4)
    base = run_pipeline(ds, tiny_cfg(method="kmeans"))
    refined = run_pipeline(
        ds, replace_nested(tiny_cfg(), method=method, cluster_dec_max_iter=300, cluster_dec_update_interval=50)
    )
    assert refined.metrics["nmi"] >= base.metrics["nmi"] - 1e-6
    assert refined.clusters.proba.shape == (ds.n, 4)
    np.testing.assert_allclose(refined.clusters.proba.sum(1), 1.0, atol=1e-4)


def test_dec_needs_an_autoencoder():
    with pytest.raises(InputError, match="autoencoder"):
        run_pipeline(blobs_dataset(), tiny_cfg(model="pca", method="dec"))


def test_stop_during_dec_leaves_a_usable_result():
    ds = blobs_dataset()
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 40

    cfg = replace_nested(tiny_cfg(), method="dec", cluster_dec_max_iter=5000)
    result = run_pipeline(ds, cfg, should_stop=stop)
    assert result.clusters.info["stop_reason"] == "stopped"
    assert len(np.unique(result.labels)) >= 2


def shared_scale(ds):
    """The dataset as the loader reports columns that share one range (pen coordinates, pixels)."""
    ds.report.scaling = "shared"
    return ds


def test_defaults_by_data_kind():
    ds = shared_scale(blobs_dataset(n=1000, d=40))  # a wide manifold table: the autoencoder, then N2D
    assert default_config(ds).model.kind == "ae" and default_config(ds).cluster.method == "n2d"
    narrow = default_config(
        shared_scale(blobs_dataset(n=1000, d=NARROW_TABLE_COLUMNS))
    )  # UMAP on the columns themselves
    assert narrow.model.kind == "none" and narrow.cluster.method == "n2d"
    emb = blobs_dataset(kind="embeddings")
    assert default_config(emb).model.kind == "none"
    mixed = default_config(blobs_dataset(n=1000, d=12))  # columns in their own units: segments, not a manifold
    assert mixed.model.kind == "none" and mixed.cluster.method == "mixture"
    assert mixed.projection.n_neighbors == TABLE_MAP_NEIGHBORS
    wide = default_config(blobs_dataset(n=500, d=WIDE_TABLE_COLUMNS + 1))
    assert wide.model.kind == "pca" and wide.cluster.method == "mixture"
    small = default_config(shared_scale(blobs_dataset(n=100)))  # too few rows for a manifold
    assert small.cluster.method == "mixture"
    assert default_config(blobs_dataset(n=100), k=5).cluster.k == 5
    assert default_config(ds).cluster.method == "n2d" and default_config(ds).cluster.k is None
    for data in (ds, emb, blobs_dataset(n=1000, d=12)):
        assert default_reason(data)  # a sentence for the Train page


def test_save_then_load_gives_identical_arrays(tmp_path):
    ds = blobs_dataset()
    result = run_pipeline(ds, tiny_cfg())
    folder = save_run(result, tmp_path)
    assert RUN_ID_PATTERN.match(result.run_id) and folder.name == result.run_id
    back = load_run(result.run_id, tmp_path)
    np.testing.assert_array_equal(back.Z, result.Z)
    np.testing.assert_array_equal(back.labels, result.labels)
    np.testing.assert_array_equal(back.embedding, result.embedding)
    np.testing.assert_array_equal(back.anomaly, result.anomaly)
    np.testing.assert_array_equal(back.dataset.X, ds.X)
    np.testing.assert_array_equal(back.dataset.labels, ds.labels)
    np.testing.assert_array_equal(back.reducer.transform(ds.X), result.reducer.transform(ds.X))
    assert back.config == result.config
    assert back.metrics == json.loads(json.dumps(result.metrics))
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["pipeline"]["seed"] == 0 and "torch" in cfg["versions"] and cfg["device"] == "cpu"
    assert {p.name for p in folder.iterdir()} >= {
        "config.json",
        "metrics.json",
        "points.parquet",
        "latent.npy",
        "model.safetensors",
        "history.json",
    }
    assert list_runs(tmp_path)[0]["run_id"] == result.run_id
    assert len(zip_run(folder)) > 1000


def test_image_runs_keep_images(tmp_path):
    rng = np.random.default_rng(0)
    images = (rng.random((60, 8, 8, 1)) * 255).astype(np.uint8)
    X = images.reshape(60, -1).astype(np.float32) / 255
    ds = Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(64)],
        ids=np.array([f"{i}.png" for i in range(60)]),
        report=LoadReport(source="imgs", kind="images"),
        kind="images",
        name="imgs",
        images=images,
    )
    result = run_pipeline(ds, tiny_cfg(model="pca", k=3))
    back = load_run(save_run(result, tmp_path))
    np.testing.assert_array_equal(back.dataset.images, images)
    np.testing.assert_array_equal(back.dataset.X, X)


def test_run_ids_are_unguessable_and_checked(tmp_path):
    ds = blobs_dataset(n=80)
    ids = {save_run(run_pipeline(ds, tiny_cfg(model="pca")), tmp_path).name for _ in range(3)}
    assert len(ids) == 3
    for bad in ("../etc", "..", "a/b", "", "x" * 22 + "/", "%2e%2e%2fetc"):
        with pytest.raises(RunNotFound):
            load_run(bad, tmp_path)
    with pytest.raises(RunNotFound):
        load_run("A" * 22, tmp_path)


def test_crash_while_saving_leaves_no_run(tmp_path, monkeypatch):
    ds = blobs_dataset(n=80)
    result = run_pipeline(ds, tiny_cfg(model="pca"))
    good = save_run(result, tmp_path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("explorer.runs.files.np.save", boom)
    with pytest.raises(OSError):
        save_run(result, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [good.name]  # the old run, and no half-written one
    assert load_run(good.name, tmp_path).run_id == good.name


def test_loading_never_unpickles(tmp_path):
    ds = blobs_dataset(n=80)
    folder = save_run(run_pipeline(ds, tiny_cfg(model="pca")), tmp_path)
    np.save(folder / "latent.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="damaged"):
        load_run(folder)


def test_import_explorer_is_light():
    import subprocess
    import sys

    code = (
        "import sys, explorer, explorer.pipeline, explorer.runs.files; "
        "print(' '.join(m for m in ('torch','umap','streamlit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ})
    assert out.stdout.strip() == ""
