"""Groups with shapes (Genie) and tables with no groups at all (issue 28)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from explorer.cluster import ClusterConfig, cluster
from explorer.cluster.registry import spec

pytestmark = pytest.mark.usefixtures("single_thread")


def _shapes(name: str, n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_circles, make_moons

    if name == "moons":
        X, y = make_moons(n, noise=0.06, random_state=seed)
    else:
        X, y = make_circles(n, noise=0.04, factor=0.5, random_state=seed)
    return X.astype(np.float32), y


@pytest.mark.parametrize("shape", ["moons", "circles"])
def test_genie_follows_curved_groups_where_kmeans_cuts_them(shape):
    X, y = _shapes(shape)
    genie = cluster(X, ClusterConfig(method="genie", k=2))
    kmeans = cluster(X, ClusterConfig(method="kmeans", k=2))
    assert adjusted_rand_score(y, genie.labels) > 0.9
    assert adjusted_rand_score(y, kmeans.labels) < 0.5
    assert genie.method == "genie" and genie.k == 2 and genie.centers.shape == (2, 2)


def test_genie_is_a_registered_method_with_the_neighbour_vote_and_a_refit():
    from explorer.cluster.types import METHOD_LABELS

    s = spec("genie")
    assert s.needs_k and not s.soft and not s.noise and s.assign is None and s.max_rows
    assert "Genie" in METHOD_LABELS["genie"]
    X, y = _shapes("moons", n=600)
    again, what = s.refit(ClusterConfig(method="genie", k=2), ())
    assert "Genie" in what
    assert adjusted_rand_score(y[::2], again(X[::2], 1)) > 0.9


def test_genie_with_k_from_the_sweep():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(600, centers=4, n_features=3, cluster_std=0.5, random_state=0)
    result = cluster(X.astype(np.float32), ClusterConfig(method="genie"))
    assert result.k == 4 and result.sweep is not None
    assert adjusted_rand_score(y, result.labels) > 0.95


def test_cli_offers_genie():
    import argparse

    from explorer.cli.run import add_parser  # its --cluster choices come from the registry

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_parser(sub)
    args = parser.parse_args(["run", "data.csv", "--cluster", "genie"])
    assert args.cluster == "genie"


def _noise(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, d)) if kind == "uniform" else rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32)


@pytest.mark.parametrize("kind, n, d, seed", [("uniform", 1000, 3, 0), ("gauss", 1200, 4, 1), ("uniform", 2000, 6, 2)])
def test_pure_noise_has_no_groups(kind, n, d, seed):
    from explorer.cluster.stability import NO_GROUPS, stability_sweep

    sweep = stability_sweep(_noise(kind, n, d, seed), (2, 6), random_state=seed)
    assert sweep.suggested == 1 and sweep.criterion == NO_GROUPS
    assert sweep.reason.startswith("no stable groups") and "k = 1" in sweep.reason


def test_noise_categories_are_not_groups():
    from explorer.cluster.stability import NO_GROUPS, stability_sweep

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, 1500)
    onehot = np.eye(4, dtype=np.float32)[codes]
    Z = np.hstack([_noise("uniform", 1500, 4, 3), onehot])
    sweep = stability_sweep(Z, (2, 6), random_state=0, groups=[np.arange(4, 8)])
    assert sweep.suggested == 1 and sweep.criterion == NO_GROUPS


def test_weak_but_real_groups_keep_their_k():
    from sklearn.datasets import load_wine

    from explorer.cluster.stability import stability_sweep

    X, _ = load_wine(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    sweep = stability_sweep(X, (2, 6), random_state=0)
    assert sweep.suggested == 3  # no k reaches the stability bar, but k = 3 has real valleys
    assert "Still, groups rather than none" in sweep.reason


def test_a_run_with_no_groups_saves_loads_explains_and_applies(tmp_path):
    import pandas as pd

    from explorer.apply import apply_run
    from explorer.dataset import Dataset, LoadReport
    from explorer.explain import explain
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.files import load_run, save_run

    X = _noise("gauss", 800, 4, 1)
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    ds = Dataset(
        X=X,
        feature_names=list(table.columns),
        ids=np.array([str(i) for i in range(len(X))]),
        report=LoadReport(source="noise", kind="table", n_rows=len(X), n_features=4),
        kind="table",
        name="noise",
        table=table,
    )
    result = run_pipeline(ds, default_config(ds, cluster_k_range=(2, 4), projection_method="pca"))
    assert result.clusters.k == 1 and set(np.unique(result.labels)) == {0}
    assert result.metrics["no_groups"] == "no stable groups" and result.metrics["k"] == 1
    sentences = [d.sentence for d in result.explanation.clusters[0].distinctions]
    assert sentences and not any(" vs " in s for s in sentences)  # the data described, not a cut
    back = load_run(save_run(result, tmp_path))
    assert back.clusters.k == 1 and back.clusters.sweep.suggested == 1
    assert explain(back).clusters[0].size == len(X)
    applied = apply_run(back, table.iloc[:40])
    assert set(np.unique(applied.assignment.labels)) == {0}


def test_the_table_default_keeps_genie_for_chained_groups_and_the_mixture_for_round_ones():
    from sklearn.datasets import make_blobs

    X, y = _shapes("moons")
    chained = cluster(X, ClusterConfig(method="mixture", k=2, shapes=True))
    assert chained.method == "genie" and chained.info["shape"]["kept"] == "genie"
    assert "chained" in chained.info["shape"]["why"] and adjusted_rand_score(y, chained.labels) > 0.9
    B, _ = make_blobs(900, centers=3, n_features=4, cluster_std=1.5, random_state=0)
    round_ = cluster(B.astype(np.float32), ClusterConfig(method="mixture", k=3, shapes=True))
    assert round_.method == "mixture" and round_.info["shape"]["kept"] == "mixture"
    assert "round" in round_.info["shape"]["why"]
    assert cluster(X, ClusterConfig(method="mixture", k=2)).method == "mixture"  # shapes off: as before
    from explorer.cluster.shapes import SHAPE_SAMPLE

    M, ym = _shapes("moons", n=SHAPE_SAMPLE + 1000)
    large = cluster(M, ClusterConfig(method="mixture", k=2, shapes=True))  # compared on a sample, kept on every row
    assert large.method == "genie" and large.info["shape"]["rows_compared"] == SHAPE_SAMPLE
    assert len(large.labels) == len(M) and adjusted_rand_score(ym, large.labels) > 0.9


def test_a_default_run_on_chained_groups_says_why_saves_and_applies(tmp_path):
    import pandas as pd

    from explorer.apply import apply_run
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import default_config, default_reason, run_pipeline
    from explorer.runs.files import load_run, save_run

    X, y = _shapes("circles", n=800)
    table = pd.DataFrame(X, columns=["x", "y"])
    ds = Dataset(
        X=X,
        feature_names=["x", "y"],
        ids=np.array([str(i) for i in range(len(X))]),
        report=LoadReport(source="circles", kind="table", n_rows=len(X), n_features=2),
        kind="table",
        name="circles",
        table=table,
    )
    cfg = default_config(ds, k=2, projection_method="pca", explain=False)
    assert cfg.cluster.method == "mixture" and cfg.cluster.shapes
    assert "Genie" in default_reason(ds)
    result = run_pipeline(ds, cfg)
    assert result.clusters.method == "genie" and adjusted_rand_score(y, result.labels) > 0.9
    assert any("Genie" in note and "chained" in note for note in result.notes)
    back = load_run(save_run(result, tmp_path))
    assert back.clusters.method == "genie"
    applied = apply_run(back, table.iloc[:100])
    assert adjusted_rand_score(y[:100], applied.assignment.labels) > 0.9  # new rows by their neighbours' vote


@pytest.mark.parametrize("kind", ["uniform", "gauss", "blobs"])
def test_the_silhouette_sweep_too_says_no_groups_on_noise_and_keeps_planted_blobs(kind):
    """Numbers on one scale go to N2D, whose silhouette in the UMAP picks some k even in noise: with ``no_groups``
    (the table default) the stability sweep's rule judges that k on the rows themselves."""
    from sklearn.datasets import make_blobs

    from explorer.cluster.stability import NO_GROUPS

    rng = np.random.default_rng(4)
    cfg = ClusterConfig(method="n2d", k_range=(2, 6), no_groups=True)
    if kind == "blobs":
        B, y = make_blobs(600, centers=4, n_features=4, cluster_std=0.6, random_state=1)
        blobs = cluster(B.astype(np.float32), cfg)
        assert blobs.k == 4 and adjusted_rand_score(y, blobs.labels) > 0.95
        assert "groups rather than none" in blobs.sweep.reason
        return
    X = (rng.uniform(size=(600, 4)) if kind == "uniform" else rng.normal(size=(600, 4))).astype(np.float32)
    noise = cluster(X, cfg)
    assert noise.k == 1 and noise.sweep.suggested == 1 and noise.sweep.criterion == NO_GROUPS
    assert set(np.unique(noise.labels)) == {0} and "silhouette" in noise.sweep.reason
    assert noise.sweep.runner_up >= 2  # the silhouette's pick, set aside
    assert cluster(X, ClusterConfig(method="n2d", k_range=(2, 6))).k >= 2  # without it: a cut through noise


def test_the_table_default_asks_for_no_groups_on_every_path():
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import default_config, default_reason

    X = np.random.default_rng(0).uniform(size=(1200, 4)).astype(np.float32)
    for scaling, method in (("shared", "n2d"), ("standard", "mixture")):
        report = LoadReport(source="t", kind="table", n_rows=len(X), n_features=4, scaling=scaling)
        ids = np.arange(len(X)).astype(str)
        ds = Dataset(X=X, feature_names=list("abcd"), ids=ids, report=report, kind="table", name="t")
        cfg = default_config(ds)
        assert cfg.cluster.method == method and cfg.cluster.no_groups
        assert ("One group when there are none" in default_reason(ds)) == (method == "n2d")


def test_many_correlated_columns_and_few_rows_keep_kmeans_partition():
    """Columns that are noisy copies of a few factors, with the groups planted in the factors: a full covariance
    per cluster over 20 columns is more parameters than 400 rows can carry, so the mixture keeps k-means' partition
    (EM there followed the noise, below k-means) and says why; a narrow table of the same rows still gets it."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    factors = rng.normal(0, 2.0, (4, 3))[y] + rng.normal(0, 1, (400, 3))
    X = factors @ rng.normal(0, 1, (3, 20)) + rng.normal(0, 1, (400, 20))
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    wide = cluster(X, ClusterConfig(method="mixture", k=4))
    kmeans = cluster(X, ClusterConfig(method="kmeans", k=4))
    assert wide.info["kept"] == "kmeans" and "free parameters" in wide.info["why_kmeans"]
    assert wide.info["parameters"] > len(X) and adjusted_rand_score(kmeans.labels, wide.labels) == 1.0
    assert adjusted_rand_score(y, wide.labels) > 0.5
    narrow = cluster(X[:, :3], ClusterConfig(method="mixture", k=4))
    assert narrow.info["kept"] == "mixture"
