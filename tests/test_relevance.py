"""Columns unrelated to every other column are noise: they are found, left out of the mixture's
clustering (and its map), and named; columns that carry the groups are kept."""
from __future__ import annotations

import numpy as np

from explorer.cluster import ClusterConfig, cluster
from explorer.relevance import column_units, unrelated_units


def segments_with_noise(n=3000, seed=0):
    """3 segments in 3 numbers and a category (one-hot at columns 3-5); noise: a uniform integer
    (column 6) and a 4-level category (columns 7-10)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    means = np.array([[0, 0, 0], [3, -2, 1], [-3, 2, 2]], float)
    num = means[y] + rng.normal(0, 1, (n, 3))
    level = np.where(rng.random(n) < 0.8, y, rng.integers(0, 3, n))
    lucky = rng.integers(0, 10, n).astype(float)
    colour = rng.integers(0, 4, n)
    X = np.column_stack([num, np.eye(3)[level] * 0.7, (lucky - lucky.mean()) / lucky.std(), np.eye(4)[colour] * 0.7])
    groups = [np.array([3, 4, 5]), np.array([7, 8, 9, 10])]
    return X.astype(np.float32), groups, y


def test_noise_columns_are_found_and_the_rest_kept():
    X, groups, _ = segments_with_noise()
    units = column_units(X.shape[1], groups)
    assert [u.tolist() for u in units] == [[0], [1], [2], [3, 4, 5], [6], [7, 8, 9, 10]]
    noise = unrelated_units(X, groups)
    assert sorted(u.tolist() for u in noise) == [[6], [7, 8, 9, 10]]


def test_never_everything_and_not_on_tiny_tables():
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(2000, 4)).astype(np.float32)
    assert unrelated_units(independent) == []  # all unrelated: nothing to prefer, keep them all
    assert unrelated_units(independent[:, :2]) == []


def test_the_mixture_clusters_without_the_noise_and_says_so(single_thread):
    from sklearn.metrics import adjusted_rand_score

    X, groups, y = segments_with_noise()
    result = cluster(X, ClusterConfig(method="mixture", k=3), groups=groups)
    assert result.info["columns_left_out"] == [6, 7, 8, 9, 10]
    assert result.info["columns_used"] == [0, 1, 2, 3, 4, 5]
    assert result.centers.shape == (3, X.shape[1])  # centres in the space of all columns
    assert adjusted_rand_score(y, result.labels) > 0.9
