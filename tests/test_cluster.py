"""Clusterers recover planted blobs; the sweep finds the planted k; bad options raise InputError."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from explorer.cluster import registry
from explorer.cluster.methods import cluster, sweep_k, umap_embed
from explorer.cluster.types import AGGLOMERATIVE_MAX_ROWS, ClusterConfig, cluster_sizes, label_counts, label_index
from explorer.errors import InputError, LimitError

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.mark.parametrize("method", ["kmeans", "gmm", "hdbscan", "agglomerative", "n2d"])
def test_every_method_recovers_blobs(method, blobs, request):
    if method == "n2d":
        request.getfixturevalue("warm_umap")
    X, y = blobs
    result = cluster(X, ClusterConfig(method=method, k=5))
    assert adjusted_rand_score(y, result.labels) >= 0.9
    assert result.method == method and result.k == 5
    assert result.labels.shape == (600,) and result.labels.dtype == np.int64
    assert result.centers.shape == (5, 10) and result.centers.dtype == np.float32
    assert result.sweep is None
    json.dumps(result.info)
    if registry.spec(method).soft:
        assert result.proba.shape == (600, 5)
        np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, atol=1e-4)
    else:
        assert result.proba is None
    if registry.spec(method).embeds:
        assert result.embedding.shape == (600, 5) and result.embedding.dtype == np.float32
        assert result.info["umap_dim"] == 5


def test_kmeans_centers_are_near_the_planted_means(blobs):
    X, y = blobs
    result = cluster(X, ClusterConfig(method="kmeans", k=5))
    for c in range(5):
        planted = X[y == np.bincount(y[result.labels == c]).argmax()].mean(axis=0)
        assert np.linalg.norm(result.centers[c] - planted) < 0.5


def test_hdbscan_marks_noise_minus_one_and_does_not_count_it(make_blobs):
    X, _ = make_blobs(n=500, k=4, d=5, std=0.5, seed=1)
    outliers = np.random.default_rng(1).uniform(-60, 60, size=(25, 5)).astype(np.float32)
    Z = np.vstack([X, outliers])
    result = cluster(Z, ClusterConfig(method="hdbscan", min_cluster_size=15))
    assert result.k == 4
    assert set(np.unique(result.labels)) == {-1, 0, 1, 2, 3}
    assert (result.labels[-25:] == -1).mean() > 0.8
    assert result.info["n_noise"] == int((result.labels == -1).sum())
    assert result.centers.shape == (4, 5)
    sizes = cluster_sizes(result.labels)
    assert sizes["cluster"].iloc[0] == -1 and sizes["size"].iloc[0] == result.info["n_noise"]


def test_hdbscan_ignores_k_and_uses_default_min_cluster_size(blobs):
    X, _y = blobs
    result = cluster(X, ClusterConfig(method="hdbscan", k=3))
    assert result.k == 5 and result.sweep is None
    assert result.info["min_cluster_size"] == 5  # max(5, 600 // 200)


@pytest.mark.parametrize("k", [3, 7])
def test_sweep_suggests_the_planted_k(k, make_blobs):
    X, _ = make_blobs(n=70 * k, k=k, d=8, seed=k)
    sweep = sweep_k(X, (2, 10))
    assert sweep.suggested == k
    assert sweep.ks == list(range(2, 11))
    assert len(sweep.silhouette) == len(sweep.bic) == 9
    assert sweep.criterion.startswith("silhouette")
    json.dumps(sweep.to_dict(), allow_nan=False)


def test_sweep_samples_large_data_reproducibly(make_blobs):
    X, _ = make_blobs(n=2000, k=4, d=6, seed=3)
    a = sweep_k(X, (2, 6), sample_size=300, random_state=5)
    b = sweep_k(X, (2, 6), sample_size=300, random_state=5)
    assert a == b and a.suggested == 4


def test_sweep_caps_the_range_at_n_minus_1(make_blobs):
    X, _ = make_blobs(n=8, k=2, d=3)
    assert sweep_k(X, (2, 15)).ks == list(range(2, 8))
    with pytest.raises(InputError, match="k_range"):
        sweep_k(X, (9, 12))


def test_sweep_stops_early_and_reports_progress(blobs):
    X, _ = blobs
    seen = []
    sweep = sweep_k(X, (2, 6), should_stop=lambda: len(seen) >= 2, on_progress=lambda f, m: seen.append(f))
    assert sweep.ks == [2, 3] and sweep.stopped_early
    assert seen == sorted(seen) and seen[-1] == pytest.approx(2 / 5)


def test_k_none_uses_the_sweep(blobs):
    X, y = blobs
    progress = []
    result = cluster(X, ClusterConfig(method="gmm", k_range=(2, 8)), on_progress=lambda f, m: progress.append(f))
    assert result.sweep is not None and result.sweep.suggested == 5
    assert result.k == 5 and result.info["k_from_sweep"]
    assert adjusted_rand_score(y, result.labels) >= 0.9
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_same_seed_same_labels(blobs):
    X, _ = blobs
    cfg = ClusterConfig(method="gmm", k=6, random_state=3)
    np.testing.assert_array_equal(cluster(X, cfg).labels, cluster(X, cfg).labels)


@pytest.mark.parametrize("method", ["dec", "idec"])
def test_dec_and_idec_point_to_deep_cluster(method, blobs):
    with pytest.raises(InputError, match=r"explorer\.cluster\.deep\.refine"):
        cluster(blobs[0], ClusterConfig(method=method, k=5))


@pytest.mark.parametrize(
    "field, value",
    [
        ("method", "spectral"),
        ("k", 1),
        ("k", 600),
        ("k", 2.5),
        ("k_range", (1, 5)),
        ("k_range", (6, 3)),
        ("min_cluster_size", 1),
        ("min_cluster_size", 601),
        ("min_samples", 0),
        ("linkage", "median"),
        ("covariance_type", "banded"),
        ("n_init", 0),
        ("umap_dim", 0),
        ("umap_neighbors", 1),
        ("umap_min_dist", -0.1),
        ("dec_max_iter", 0),
        ("dec_tol", 1.5),
        ("dec_update_interval", 0),
        ("idec_gamma", -1.0),
        ("random_state", -1),
    ],
)
def test_bad_options_name_the_field(field, value, blobs):
    cfg = ClusterConfig(method="kmeans", k=5)
    setattr(cfg, field, value)
    with pytest.raises(InputError, match=rf"\b{field}\b"):
        cluster(blobs[0], cfg)


def test_bad_data_raise_input_error():
    with pytest.raises(InputError, match="NaN"):
        cluster(np.array([[0.0, 1.0]] * 5 + [[np.nan, 0.0]]), ClusterConfig(method="kmeans", k=2))
    with pytest.raises(InputError, match="2-D"):
        cluster(np.zeros(10), ClusterConfig(method="kmeans", k=2))


def test_agglomerative_refuses_data_too_large(blobs):
    declared = registry.spec("agglomerative")
    assert declared.max_rows == AGGLOMERATIVE_MAX_ROWS
    registry.register(replace(declared, max_rows=100), replace=True)
    try:
        with pytest.raises(LimitError, match="agglomerative"):
            cluster(blobs[0], ClusterConfig(method="agglomerative", k=5))
    finally:
        registry.register(declared, replace=True)


def test_umap_embed_caps_neighbours(warm_umap, make_blobs):
    X, _ = make_blobs(n=30, k=2, d=4)
    Y = umap_embed(X, 2, n_neighbors=100, min_dist=0.1, random_state=0)
    assert Y.shape == (30, 2) and Y.dtype == np.float32


@pytest.mark.parametrize("labels", [[2, 0, 2, -1, 2, 0], [7, 7], [-1, -1, 3], [], [40, -5, 12, 40]])
def test_labels_are_counted_and_indexed_as_unique_would(labels):
    labels = np.array(labels, np.int64)
    values, counts = np.unique(labels, return_counts=True)
    _, inverse = np.unique(labels, return_inverse=True)
    got_values, got_counts = label_counts(labels)
    np.testing.assert_array_equal(got_values, values)
    np.testing.assert_array_equal(got_counts, counts)
    distinct, which = label_index(labels)
    np.testing.assert_array_equal(distinct, values)
    np.testing.assert_array_equal(which, inverse.reshape(-1))


def test_cluster_sizes():
    sizes = cluster_sizes(np.array([2, 0, 2, -1, 2, 0]))
    assert list(sizes.columns) == ["cluster", "size", "fraction"]
    assert sizes["cluster"].tolist() == [-1, 0, 2]
    assert sizes["size"].tolist() == [1, 2, 3]
    assert sizes["fraction"].sum() == pytest.approx(1.0)
