"""Self-labelling on augmented images (explorer.cluster.selftrain): it corrects the rows the clustering got
wrong and was unsure of, keeps the start when it would collapse a cluster, and runs in the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.cluster.selftrain import SelfTrainConfig, self_train, surest_rows
from explorer.pipeline import ClusterConfig, ModelConfig, PipelineConfig, ProjectionConfig, run_pipeline


@pytest.fixture(scope="module")
def trained(bars):
    from explorer.reducers import make_reducer

    X, y, shape = bars()
    ae = make_reducer(
        ModelConfig(kind="ae", latent_dim=4, hidden=(64,), epochs=15, batch_size=32, lr=3e-3),
        device="cpu",
        random_state=0,
    )
    ae.fit(X)
    return ae, X, y, shape


def test_surest_rows_takes_the_same_share_of_every_cluster():
    labels = np.array([0] * 10 + [1] * 4)
    conf = np.linspace(0, 1, 14)
    rows = surest_rows(labels, conf, 2, 0.5)
    assert (labels[rows] == 0).sum() == 5 and (labels[rows] == 1).sum() == 2
    assert set(rows[labels[rows] == 0]) == {5, 6, 7, 8, 9}  # the most confident of cluster 0


def test_self_labelling_corrects_unsure_mistakes(trained):
    ae, X, y, shape = trained
    rng = np.random.default_rng(1)
    wrong = rng.random(len(y)) < 0.2
    start = np.where(wrong, 1 - y, y)
    confidence = np.where(wrong, 0.55, 0.95).astype(np.float32)  # the clustering was unsure where it erred
    labels, proba, info = self_train(
        ae, X, shape, start, confidence, 2, SelfTrainConfig(rounds=2, steps=150, batch_size=32, lr=1e-3), seed=0
    )
    assert info["kept"] == "selftrain" and proba.shape == (len(y), 2)
    assert (labels == y).mean() > (start == y).mean() + 0.1  # 0.8 at the start
    assert info["moved"] > 0


def test_self_labelling_keeps_the_start_when_a_cluster_would_vanish(trained, monkeypatch):
    import explorer.cluster.selftrain as st

    ae, X, y, shape = trained
    monkeypatch.setattr(st, "MIN_SHARE", 1.01)  # any shrinking counts as collapse
    start = np.where(np.arange(len(y)) % 3 == 0, 1 - y, y)
    labels, proba, info = self_train(
        ae,
        X,
        shape,
        start,
        np.ones(len(y), np.float32),
        2,
        SelfTrainConfig(rounds=1, steps=30, batch_size=32, lr=1e-3),
        seed=0,
    )
    assert info["kept"] == "start" and "shrank" in info["why"] and proba is None
    assert np.array_equal(labels, start)


def test_pipeline_self_labels_images_and_skips_tables(make_blobs, make_dataset, bars_dataset):
    ds = bars_dataset(n=300)
    cfg = PipelineConfig(
        model=ModelConfig(kind="ae", latent_dim=4, hidden=(64,), epochs=10, batch_size=32, lr=3e-3),
        cluster=ClusterConfig(method="kmeans", k=2, selftrain=True),
        projection=ProjectionConfig(method="pca"),
        explain=None,
    )
    result = run_pipeline(ds, cfg)
    assert "selftrain" in result.clusters.info and "selftrain" in result.timings
    assert set(np.unique(result.labels)) <= {0, 1}
    Xt, yt = make_blobs(n=200, k=2, d=5)
    table = run_pipeline(
        make_dataset(Xt, labels=yt),
        PipelineConfig(
            model=ModelConfig(kind="pca", latent_dim=3),
            cluster=ClusterConfig(method="kmeans", k=2, selftrain=True),
            projection=ProjectionConfig(method="pca"),
            explain=None,
        ),
    )
    assert any("Self-labelling skipped: it needs images" in note for note in table.notes)
