"""The one rule that places and assigns rows by their neighbours (explorer.neighbors), for a large run's
unfitted rows and for rows applied later; the sample-then-place path, the shared neighbour graph, and the
training budget (max_examples), with the thresholds lowered so a few hundred rows take the large-data path."""

from __future__ import annotations

import numpy as np
import pytest

import explorer.neighbors as scale
from explorer.metrics import external_metrics
from explorer.neighbors import Neighbors, Search, place, plan_rows, vote, vote_shares
from explorer.pipeline import ClusterConfig, ModelConfig, PipelineConfig, ProjectionConfig, run_pipeline
from explorer.reducers.train import training_schedule


def test_training_schedule_keeps_small_data_and_caps_large_data():
    assert training_schedule(150, 9_000, 1_500_000) == (150, 9_000)  # MNIST-test: unchanged
    assert training_schedule(150, 9_000, None) == (150, 9_000)
    assert training_schedule(150, 63_000, 1_500_000) == (23, 63_000)  # 70,000 images: fewer full epochs
    epochs, rows = training_schedule(100, 900_000, 500_000)  # a million rows: epochs of a random draw
    assert (epochs, rows) == (10, 50_000) and epochs * rows <= 500_000
    assert training_schedule(3, 900_000, 500_000) == (3, 166_666)  # asked for fewer epochs than the minimum


def test_plan_rows_samples_only_large_data():
    small = plan_rows(500, 0, exact_rows=500)
    assert not small.sampled and len(small.fit) == 500 and small.mask().all()
    big = plan_rows(1000, 0, exact_rows=500, fit_rows=300)
    assert big.sampled and len(big.fit) == 300 and len(big.rest) == 700
    assert np.array_equal(np.sort(np.concatenate([big.fit, big.rest])), np.arange(1000))
    assert np.array_equal(big.fit, plan_rows(1000, 0, exact_rows=500, fit_rows=300).fit)  # seeded
    assert big.mask().sum() == 300 and "300" in big.sentence()


def test_place_and_vote_follow_the_nearest_fitted_rows(make_blobs):
    X, y = make_blobs(n=600, k=3, d=5)
    X = X.astype(np.float32)
    fit, rest = np.arange(0, 600, 2), np.arange(1, 600, 2)
    knn = Neighbors(X[fit], k=10, random_state=0)
    idx, dist = knn.query(X[rest])
    assert idx.shape == (300, scale.PLACE_NEIGHBORS) and (dist[:, 1:] >= dist[:, :-1] - 1e-6).all()
    labels, proba = vote(y[fit], idx, dist)
    assert (labels == y[rest]).mean() > 0.98 and np.allclose(proba.sum(1), 1, atol=1e-5)
    # a placed row sits among its cluster's fitted rows: its nearest fitted position is in its own cluster
    Y_fit = np.stack([y[fit] * 10.0, np.zeros(300)], 1).astype(np.float32)
    Y_rest = place(Y_fit, idx, dist)
    assert (np.abs(Y_rest[:, 0] - y[rest] * 10.0) < 1.0).mean() > 0.98
    # a row on top of a fitted row finds it at distance 0 and takes its position and label alone
    same_idx, same_dist = knn.query(X[fit[:5]])
    assert np.array_equal(same_idx[:, 0], np.arange(5)) and (same_dist[:, 0] == 0).all()
    np.testing.assert_array_equal(place(Y_fit, same_idx, same_dist), Y_fit[:5])
    np.testing.assert_array_equal(vote(y[fit], same_idx, same_dist)[0], y[fit[:5]])


def test_the_search_is_exact(make_blobs):
    """scikit-learn's neighbours and distances (ties aside), nearest first; a reference row finds itself
    at distance exactly 0."""
    from sklearn.neighbors import NearestNeighbors

    X, _ = make_blobs(n=2500, k=6, d=8, std=2.0)
    ref, new = X[:1500], X[1500:]
    d_ref, i_ref = NearestNeighbors(n_neighbors=scale.PLACE_NEIGHBORS).fit(ref).kneighbors(new)
    search = Search(ref)
    idx, dist = search.query(new)
    assert idx.shape == dist.shape == (1000, scale.PLACE_NEIGHBORS) and idx.dtype == np.int64
    np.testing.assert_allclose(dist, d_ref, rtol=1e-5, atol=1e-5)
    assert (idx == i_ref).mean() > 0.999
    assert (dist[:, 1:] >= dist[:, :-1]).all()
    self_idx, self_dist = search.query(ref[:50])
    np.testing.assert_array_equal(self_idx[:, 0], np.arange(50))
    assert (self_dist[:, 0] == 0).all()


def test_weights_are_inverse_distance_and_a_duplicate_takes_its_twin_alone():
    values = np.array([[0.0], [10.0], [20.0]], np.float32)
    idx = np.array([[0, 1], [1, 2], [2, 0]])
    dist = np.array([[1.0, 3.0], [0.0, 2.0], [0.0, 0.0]], np.float32)
    got = place(values, idx, dist)[:, 0]
    assert got[0] == pytest.approx((0.0 * 1 + 10.0 / 3) / (1 + 1 / 3))  # weights 1/d
    assert got[1] == 10.0  # at distance 0 from row 1: row 1 alone
    assert got[2] == 10.0  # at distance 0 from both: their mean
    shares = vote_shares(np.array([0, 1, -1]), idx, dist, k=2)
    np.testing.assert_allclose(shares.sum(1), 1.0)
    np.testing.assert_allclose(shares[0], [0.75, 0.25, 0.0])
    np.testing.assert_allclose(shares[2], [0.5, 0.0, 0.5])  # noise (the last column) votes too


def test_vote_marks_rows_among_noise_as_noise():
    labels_fit = np.array([-1, -1, -1, 0, 0, 0])
    idx = np.array([[0, 1, 2], [3, 4, 5]])
    dist = np.ones((2, 3), np.float32)
    labels, _ = vote(labels_fit, idx, dist, k=1)
    assert labels.tolist() == [-1, 0]


@pytest.fixture
def large_threshold(monkeypatch):
    """Runs over 300 rows take the large-data path, fitting on 200."""
    monkeypatch.setattr(scale, "EXACT_ROWS", 300)
    monkeypatch.setattr(scale, "FIT_ROWS", 200)


@pytest.mark.parametrize("method", ["kmeans", "gmm", "n2d", "hdbscan", "agglomerative"])
def test_sampled_run_assigns_every_row(large_threshold, warm_umap, make_blobs, make_dataset, method):
    X, y = make_blobs(n=900, k=4, d=6)
    ds = make_dataset(X, labels=y)
    cfg = PipelineConfig(
        model=ModelConfig(kind="none", latent_dim=6),
        cluster=ClusterConfig(method=method, k=4),
        projection=ProjectionConfig(method="umap"),
        explain=None,
    )
    result = run_pipeline(ds, cfg)
    assert result.fitted is not None and result.fitted.sum() == 200 and len(result.fitted) == 900
    assert result.metrics["rows_fitted"] == 200 and result.clusters.info["rows_assigned"] == 700
    assert any("placed" in note for note in result.notes)
    placed = ~result.fitted
    nmi = external_metrics(y[placed], result.labels[placed])["nmi"]
    assert nmi > 0.9, nmi  # the placed rows join their blobs as the fitted ones do
    assert result.embedding.shape == (900, 2) and np.isfinite(result.embedding).all()
    # on the map a placed row lies nearest to fitted rows of its own cluster
    from sklearn.neighbors import KNeighborsClassifier

    fit_rows = result.fitted
    knc = KNeighborsClassifier(5).fit(result.embedding[fit_rows], result.labels[fit_rows])
    ok = result.labels[placed] >= 0
    assert (knc.predict(result.embedding[placed][ok]) == result.labels[placed][ok]).mean() > 0.9
    if method in ("gmm", "n2d"):
        assert result.clusters.proba.shape == (900, 4)
    if method == "n2d":
        assert result.clusters.embedding.shape[0] == 900


def test_sampled_run_saves_and_loads_its_fitted_rows(large_threshold, tmp_path, make_blobs, make_dataset):
    from explorer.runs.files import load_run, save_run

    X, y = make_blobs(n=400, k=3, d=4)
    cfg = PipelineConfig(
        model=ModelConfig(kind="none", latent_dim=4),
        cluster=ClusterConfig(method="kmeans", k=3),
        projection=ProjectionConfig(method="pca"),
        explain=None,
    )
    result = run_pipeline(make_dataset(X, labels=y), cfg)
    run_id = save_run(result, tmp_path)
    back = load_run(tmp_path / run_id)
    assert np.array_equal(back.fitted, result.fitted)


@pytest.mark.parametrize("method", ["hdbscan", "agglomerative", "kmeans", "gmm", "n2d"])
def test_a_placed_row_and_the_same_row_applied_get_one_cluster_and_place(
    large_threshold, warm_umap, tmp_path, make_blobs, method
):
    """The one rule: a large run's unfitted row, and the same row applied to the saved run later, get the
    same cluster, map position and anomaly score; a fitted row applied lands on its own point and cluster."""
    from explorer.apply import apply_run, save_applied
    from explorer.data import load
    from explorer.runs.files import load_run, save_run

    X, _ = make_blobs(n=900, k=4, d=6, std=2.5)  # blobs that touch: the votes are not all unanimous
    np.save(tmp_path / "rows.npy", X)
    cfg = PipelineConfig(
        model=ModelConfig(kind="none", latent_dim=6),
        cluster=ClusterConfig(method=method, k=4),
        projection=ProjectionConfig(method="umap"),
        explain=None,
    )
    run = load_run(save_run(run_pipeline(load(tmp_path / "rows.npy"), cfg), tmp_path / "runs"))
    placed, fitted = np.flatnonzero(~run.fitted), np.flatnonzero(run.fitted)
    np.save(tmp_path / "placed.npy", X[placed])
    applied = apply_run(run, tmp_path / "placed.npy")
    np.testing.assert_array_equal(applied.labels, run.labels[placed])
    np.testing.assert_array_equal(applied.embedding, run.embedding[placed])
    np.testing.assert_array_equal(applied.anomaly, run.anomaly[placed])
    saved = load_run(save_applied(applied, run, tmp_path / "applied"))  # a run of its own: every row its own
    assert saved.fitted is None
    np.testing.assert_array_equal(apply_run(saved, tmp_path / "placed.npy").labels, applied.labels)
    if method == "hdbscan":
        assert (applied.labels < 0).any() or not (run.labels < 0).any()
    np.save(tmp_path / "fitted.npy", X[fitted])
    again = apply_run(run, tmp_path / "fitted.npy")
    np.testing.assert_array_equal(again.labels, run.labels[fitted])
    np.testing.assert_array_equal(again.embedding, run.embedding[fitted])
    np.testing.assert_array_equal(again.anomaly, run.anomaly[fitted])
    assert (again.neighbor_distance == 0).all()


def test_a_training_row_applied_to_a_run_of_every_row_lands_on_itself(tmp_path, make_blobs):
    """Without sampling the search is exact over every row: a training row is its own nearest row."""
    from explorer.apply import apply_run
    from explorer.data import load

    X, _ = make_blobs(n=300, k=3, d=5, std=2.0)
    np.save(tmp_path / "rows.npy", X)
    cfg = PipelineConfig(
        model=ModelConfig(kind="none", latent_dim=5),
        cluster=ClusterConfig(method="hdbscan"),
        projection=ProjectionConfig(method="pca"),
        explain=None,
    )
    run = run_pipeline(load(tmp_path / "rows.npy"), cfg)
    applied = apply_run(run, tmp_path / "rows.npy")
    np.testing.assert_array_equal(applied.labels, run.labels)
    np.testing.assert_array_equal(applied.embedding, run.embedding)
    assert (applied.neighbor_distance == 0).all() and (applied.assignment.confidence > 0).all()


def test_small_run_records_no_sample(make_blobs, make_dataset):
    X, y = make_blobs(n=200, k=3, d=4)
    cfg = PipelineConfig(
        model=ModelConfig(kind="none", latent_dim=4),
        cluster=ClusterConfig(method="kmeans", k=3),
        projection=ProjectionConfig(method="pca"),
        explain=None,
    )
    result = run_pipeline(make_dataset(X, labels=y), cfg)
    assert result.fitted is None and "rows_fitted" not in result.metrics


def test_one_neighbour_graph_serves_n2d_and_the_map(warm_umap, make_blobs, make_dataset, monkeypatch):
    built = []
    original = scale.Neighbors.__init__

    def counting(self, *args, **kwargs):
        built.append(kwargs.get("k", args[1] if len(args) > 1 else None))
        original(self, *args, **kwargs)

    monkeypatch.setattr(scale.Neighbors, "__init__", counting)
    X, y = make_blobs(n=500, k=4, d=8)
    cfg = PipelineConfig(
        model=ModelConfig(kind="none", latent_dim=8),
        cluster=ClusterConfig(method="n2d", k=4),
        projection=ProjectionConfig(method="umap", n_neighbors=15),
        explain=None,
    )
    result = run_pipeline(make_dataset(X, labels=y), cfg)
    assert built == [20]  # one graph, as wide as the widest UMAP (n2d's 20 neighbours)
    assert result.metrics["nmi"] > 0.9 and result.metrics["trustworthiness"] > 0.85


def test_training_budget_reported_and_kept(make_blobs, make_dataset):
    X, y = make_blobs(n=1000, k=3, d=12)
    cfg = PipelineConfig(
        model=ModelConfig(
            kind="ae", latent_dim=3, hidden=(16,), epochs=50, max_examples=9000, val_fraction=0.1, patience=100
        ),
        cluster=ClusterConfig(method="kmeans", k=3),
        projection=ProjectionConfig(method="pca"),
        explain=None,
    )
    result = run_pipeline(make_dataset(X, labels=y), cfg)
    info = result.reducer.train_info_
    assert info["epochs"] == 10 and info["rows_per_epoch"] == 900 and len(result.history) == 10
    assert any("max_examples" in note for note in result.notes)


def test_torch_knn_is_exact(make_blobs):
    """The GPU's graph (torch brute force), run here on the CPU: the same neighbours as scikit-learn."""
    from sklearn.neighbors import NearestNeighbors

    from explorer.neighbors import torch_knn

    X, _ = make_blobs(n=500, k=3, d=6)
    idx, dist = torch_knn(X[:100], X, 5, "cpu", chunk=32)
    d_ref, i_ref = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(X[:100])
    assert np.allclose(dist[:, 1:], d_ref[:, 1:], rtol=1e-3, atol=1e-3)
    assert (dist[:, 0] < 0.02).all()  # a row's distance to itself, up to float32 cancellation
    assert (idx[:, 1:] == i_ref[:, 1:]).mean() > 0.99  # ties aside
