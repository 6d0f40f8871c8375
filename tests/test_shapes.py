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
