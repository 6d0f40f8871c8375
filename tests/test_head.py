"""The clustering head on frozen features (explorer.cluster.head): on planted groups whose members are each
other's neighbours it finds the groups, a seed gives one answer, and new rows go by the saved heads."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.cluster.head import HEAD, head_proba, train_heads
from explorer.cluster.methods import cluster
from explorer.cluster.types import ClusterConfig
from explorer.errors import Stopped
from explorer.metrics import external_metrics

pytestmark = pytest.mark.usefixtures("single_thread")


def _features(n_per: int = 60, k: int = 4, d: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length rows around k random directions (as an encoder's L2-normalized features), labels (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    y = np.repeat(np.arange(k), n_per)
    X = centres[y] + rng.normal(scale=1.2, size=(len(y), d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


def test_the_head_finds_planted_groups_and_assigns_new_rows_with_its_saved_heads():
    X, y = _features()
    result = cluster(X, ClusterConfig(method="head", k=4, random_state=0))
    assert external_metrics(y, result.labels)["ari"] > 0.95
    assert result.proba is not None and np.allclose(result.proba.sum(1), 1, atol=1e-5)
    assert result.state is not None and result.state["weights"].shape == (HEAD.heads // 2, 4, X.shape[1])
    # new rows close to each group's members: the saved heads alone put them with their group
    rng = np.random.default_rng(2)
    centres = np.stack([X[y == c].mean(0) for c in range(4)])
    fresh = centres[y[::4]] + rng.normal(scale=0.02, size=(len(y[::4]), X.shape[1]))
    proba = head_proba(result.state, fresh.astype(np.float32))
    np.testing.assert_array_equal(proba.argmax(1), result.labels[::4])


def test_a_seed_gives_one_answer_and_another_seed_trains_other_heads():
    X, _ = _features(n_per=30)
    a = train_heads(X, 4, seed=3)
    b = train_heads(X, 4, seed=3)
    c = train_heads(X, 4, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], c[0])


def test_stop_ends_the_training():
    X, _ = _features(n_per=30)
    with pytest.raises(Stopped):
        train_heads(X, 4, seed=0, should_stop=lambda: True)


def test_the_heads_own_sweep_picks_the_planted_number_of_groups_and_says_how():
    from explorer.cluster.head import MODULARITY

    X, y = _features(n_per=50, k=4)
    result = cluster(X, ClusterConfig(method="head", k_range=(2, 8), random_state=0))
    assert result.sweep is not None and result.sweep.criterion == MODULARITY
    assert result.k == 4 and result.sweep.suggested == 4
    assert result.sweep.modularity is not None and len(result.sweep.modularity) == 7
    assert "k = 4" in result.sweep.reason and "modularity" in result.sweep.reason
    assert external_metrics(y, result.labels)["ari"] > 0.95


def test_modularity_is_high_for_clusters_that_keep_neighbours_and_zero_for_one_cluster():
    from explorer.cluster.head import modularity

    # two groups of 10 rows, each row's neighbours in its own group
    nb = np.array([[(i // 10) * 10 + (i + j) % 10 for j in range(1, 4)] for i in range(20)])
    halves = np.repeat([0, 1], 10)
    assert modularity(nb, halves) == pytest.approx(0.5)
    assert modularity(nb, np.zeros(20, int)) == pytest.approx(0.0)
    assert modularity(nb, np.arange(20) % 2) < 0.1  # a cut across the groups


def test_no_groups_stays_an_answer_for_the_heads_sweep():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 16))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    result = cluster(X, ClusterConfig(method="head", k_range=(2, 6), no_groups=True, random_state=0))
    assert result.k == 1 and result.sweep is not None and "modularity" in result.sweep.reason


def test_the_stability_refit_is_a_lighter_head_that_still_finds_the_groups():
    from explorer.cluster.head import HEAD, HEAD_REFIT
    from explorer.explain.resample import refitter

    assert HEAD_REFIT.heads * HEAD_REFIT.steps <= HEAD.heads * HEAD.steps / 3  # a third of the work or less
    X, y = _features(n_per=40)
    fit, what = refitter(ClusterConfig(method="head"), 4)
    assert f"{HEAD_REFIT.heads} heads" in what
    assert external_metrics(y, fit(X, 1))["ari"] > 0.95
