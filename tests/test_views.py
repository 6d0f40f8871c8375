"""What the dashboard shows of a run (explorer.dashboard.views), the cache keys and actions it relies
on, and the download formats (explorer.runs exports)."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from explorer.dashboard import forms, views
from explorer.dashboard.actions import run_with_representation
from explorer.dashboard.cache import dataset_fingerprint, model_key
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError
from explorer.pipeline import ProjectionConfig, default_config, replace_nested, reproject, run_pipeline


def table_dataset(n=90, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    X = (rng.normal(size=(n, 4)) + 5 * np.eye(k, 4)[y]).astype(np.float32)
    table = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3], "colour": np.array(["red", "blue", "green"])[y]})
    return Dataset(X=X, feature_names=["a", "b", "c", "d"], ids=np.array([f"r{i}" for i in range(n)]),
                   report=LoadReport(source="t.csv", kind="table"), kind="table", name="t", labels=y.astype(str), table=table)


def image_dataset(n=60, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 10, 10, 1), np.uint8)
    y = np.repeat(np.arange(3), n // 3)
    for i in range(n):
        images[i, 3 * y[i]: 3 * y[i] + 4, :, 0] = 255
        images[i] = np.clip(images[i] + rng.integers(0, 40, images[i].shape), 0, 255)
    X = images.reshape(n, -1).astype(np.float32) / 255
    return Dataset(X=X, feature_names=[f"px{i}" for i in range(100)], ids=np.array([f"img{i}.png" for i in range(n)]),
                   report=LoadReport(source="z.zip", kind="images"), kind="images", name="z", labels=y.astype(str), images=images)


def small_cfg(ds, **kw):
    return replace_nested(default_config(ds), **{"model": "pca", "latent_dim": 3, "method": "kmeans", "k": 3,
                                                 "projection_method": "pca", **kw})


@pytest.fixture(scope="module")
def table_run():
    ds = table_dataset()
    return run_pipeline(ds, small_cfg(ds))


def test_colours_and_hover(table_run):
    opts = views.color_options(table_run)
    assert opts[:3] == ["cluster", "label", "anomaly"] and {"a", "colour"} <= set(opts)
    values, kind = views.color_values(table_run, "cluster")
    assert kind == "category" and set(values) == {"0", "1", "2"}
    assert views.color_values(table_run, "a")[1] == "number"
    assert views.color_values(table_run, "colour")[1] == "category"
    with pytest.raises(InputError):
        views.color_values(table_run, "nope")
    hover = views.hover_texts(table_run, np.array([0, 45]))
    assert len(hover) == 2 and "<b>id</b>: r0" in hover[0] and "<b>label</b>: 0" in hover[0] and "<b>colour</b>: red" in hover[0]


def test_reconstructions_errors_and_anomalies(table_run):
    ids, centres = views.decoded_centres(table_run)
    assert list(ids) == [0, 1, 2] and centres.shape == (3, 4)
    errors = views.feature_errors(table_run)
    assert list(errors.columns) == ["feature", "error"] and len(errors) == 4
    assert errors["error"].is_monotonic_decreasing
    top = views.top_anomalies(table_run, 5)
    assert np.all(np.diff(table_run.anomaly[top]) <= 0) and table_run.anomaly[top[0]] == table_run.anomaly.max()


def test_selection_table_and_makeup(table_run):
    rows = np.flatnonzero(table_run.clusters.labels == table_run.clusters.labels[0])[:7]
    table = views.selection_table(table_run, rows)
    assert len(table) == 7 and {"id", "cluster", "anomaly", "label", "colour"} <= set(table.columns)
    assert "x" not in table.columns
    makeup = views.cluster_makeup(table_run, rows)
    assert makeup["selected"].sum() == 7 and makeup["share"].iloc[0] == 1.0


def test_run_summary_and_description(table_run):
    row = views.run_summary(table_run)
    assert row["model"] == "pca" and row["k"] == 3 and "acc" in row and row["run"] == "(not saved)"
    assert "3 clusters" in views.describe_run(table_run)


def test_images_views():
    ds = image_dataset()
    result = run_pipeline(ds, small_cfg(ds))
    ids, centres = views.decoded_centres(result)
    pics = views.as_images(centres, ds.image_shape)
    assert pics.shape == (3, 10, 10) and pics.dtype == np.uint8
    thumbs = views.thumbnails(result, np.array([0, 1]))
    assert len(thumbs) == 2 and thumbs[0].shape == (10, 10)
    recon = views.reconstructions(result, views.cluster_members(result, 0, 4))
    assert recon.shape == (4, 100)


def test_no_model_means_no_reconstructions_but_centres_in_data_space():
    ds = table_dataset()
    result = run_pipeline(ds, small_cfg(ds, model="none"))
    with pytest.raises(InputError, match="no trained model"):
        views.feature_errors(result)
    ids, centres = views.decoded_centres(result)
    assert centres.shape == (3, 4)


def test_parse_hidden():
    assert forms.parse_hidden("500, 500,2000") == (500, 500, 2000)
    for bad in ("", "a, b", "0", "-3"):
        with pytest.raises(InputError):
            forms.parse_hidden(bad)


def test_fingerprint_and_model_key():
    a, b = table_dataset(), table_dataset()
    assert dataset_fingerprint(a) == dataset_fingerprint(b)
    assert dataset_fingerprint(a) != dataset_fingerprint(table_dataset(seed=1))
    fp = dataset_fingerprint(a)
    assert model_key(fp, small_cfg(a)) == model_key(fp, small_cfg(a))
    assert model_key(fp, small_cfg(a)) != model_key(fp, small_cfg(a, latent_dim=2))
    assert model_key(fp, small_cfg(a)) == model_key(fp, small_cfg(a, method="gmm"))  # clustering is not the model's business


def test_reproject_changes_only_the_map(table_run):
    other = reproject(table_run, ProjectionConfig(method="tsne", perplexity=10))
    assert other.config.projection.method == "tsne" and table_run.config.projection.method == "pca"
    np.testing.assert_array_equal(other.clusters.labels, table_run.clusters.labels)
    assert not np.allclose(other.embedding, table_run.embedding)
    assert other.metrics["silhouette"] == table_run.metrics["silhouette"] and other.metrics["trustworthiness"] is not None


def test_dec_refines_a_copy_of_the_cached_model():
    from explorer.pipeline import fit_representation

    ds = table_dataset()
    cfg = small_cfg(ds, model="ae", epochs=3, hidden=(8,), method="dec", cluster_dec_max_iter=5, device="cpu")
    reducer = fit_representation(ds, cfg, "cpu", lambda e: None)
    before = reducer.transform(ds.X)
    result = run_with_representation(ds, cfg, reducer)
    np.testing.assert_array_equal(reducer.transform(ds.X), before)  # the cached model is untouched
    assert result.reducer is not reducer and result.clusters.method == "dec"


def test_downloads(table_run, tmp_path):
    from safetensors import safe_open

    from explorer import runs
    from explorer.reducers import restore_reducer

    csv = pd.read_csv(io.BytesIO(runs.points_csv(table_run, np.array([2, 0]))))
    assert list(csv["id"]) == ["r2", "r0"] and {"cluster", "x", "y", "anomaly", "label"} <= set(csv.columns)
    latent = pd.read_parquet(io.BytesIO(runs.latent_parquet(table_run)))
    assert list(latent.columns) == ["id", "z0", "z1", "z2", "cluster"]
    np.testing.assert_array_equal(latent[["z0", "z1", "z2"]].to_numpy(), table_run.Z)
    blob = runs.model_safetensors(table_run)
    (tmp_path / "model.safetensors").write_bytes(blob)
    with safe_open(str(tmp_path / "model.safetensors"), framework="np") as f:
        header = json.loads(f.metadata()["explorer_model"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = restore_reducer(header["kind"], header["params"], header["meta"], tensors)
    np.testing.assert_allclose(model.transform(table_run.dataset.X), table_run.Z, rtol=1e-5, atol=1e-5)


def test_user_text_shown_as_markdown_cannot_make_links_or_markup():
    name = "![t](https://evil.example/x.png)[Sign in again](https://evil.example/login) <b>x</b> *a*_b_"
    shown = views.markdown_text(name)
    for made in ("![t](", "[Sign in again](", "<b>", "*a*", "_b_"):
        assert made not in shown
    assert shown.replace("\\", "") == name  # nothing dropped: only escaped
