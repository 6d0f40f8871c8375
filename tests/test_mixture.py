"""The mixture for numbers and categories recovers planted segments, refines k-means, and keeps its
guard's promise; the "mixture" clustering method wires it up with the table's categorical columns."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from explorer.cluster.methods import cluster
from explorer.cluster.mixture import MixedMixture, predict_proba_from_state
from explorer.cluster.types import ClusterConfig
from explorer.errors import InputError

ONE_HOT_WEIGHT = 1 / np.sqrt(2)  # the loader's value of a one-hot indicator


def mixed_segments(n=900, seed=0, weight=ONE_HOT_WEIGHT):
    """(X, groups, y): 3 segments that differ in 2 numbers (one skewed within its segment) and in a
    3-level category; plus a noise number and a noise category."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    num = np.column_stack(
        [
            np.array([-2.0, 0.0, 2.0])[y] + rng.normal(0, 0.7, n),
            np.array([1.0, -1.0, 0.5])[y] + rng.gamma(2.0, 0.3, n),
            rng.normal(0, 1, n),
        ]
    )
    num = (num - num.mean(0)) / num.std(0)
    level = np.where(rng.random(n) < 0.8, y, rng.integers(0, 3, n))
    noise = rng.integers(0, 4, n)
    X = np.column_stack([num, np.eye(3)[level] * weight, np.eye(4)[noise] * weight]).astype(np.float32)
    groups = [np.array([3, 4, 5]), np.array([6, 7, 8, 9])]
    return X, groups, y


def test_refines_a_rough_start_to_the_planted_segments():
    X, groups, y = mixed_segments()
    rng = np.random.default_rng(1)
    rough = np.where(rng.random(len(y)) < 0.3, rng.integers(0, 3, len(y)), y)  # 30% of the start relabelled
    model = MixedMixture(3, groups).fit(X, rough)
    assert adjusted_rand_score(y, model.predict(X)) > 0.9 > adjusted_rand_score(y, rough)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert proba.dtype == np.float32 and model.converged_
    assert [p.shape for p in model.level_probs_] == [(3, 3), (3, 4)]
    assert np.isfinite(model.bic(X)) and model.n_parameters() > 0


def test_em_never_lowers_the_likelihood_of_its_start():
    X, groups, y = mixed_segments(seed=2)
    one_step = MixedMixture(3, groups, max_iter=1).fit(X, y)
    full = MixedMixture(3, groups).fit(X, y)
    assert full.log_likelihood_ >= one_step.log_likelihood_ - 1e-6


def test_categories_only_and_numbers_only():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200)
    cats = np.column_stack(
        [np.eye(3)[np.where(rng.random(400) < 0.9, y, 2)], np.eye(2)[np.where(rng.random(400) < 0.9, y, 1 - y)]]
    )
    model = MixedMixture(2, [np.array([0, 1, 2]), np.array([3, 4])]).fit(
        cats.astype(np.float32), rng.integers(0, 2, 400)
    )
    assert model.means_.shape == (2, 0) and adjusted_rand_score(y, model.predict(cats)) > 0.8
    numbers = np.concatenate([rng.normal(-3, 1, (200, 2)), rng.normal(3, 1, (200, 2))])
    fitted = MixedMixture(2).fit(numbers, (numbers[:, 0] > 0).astype(int))
    assert fitted.covariances_.shape == (2, 2, 2) and adjusted_rand_score(y, fitted.predict(numbers)) > 0.95


def test_bad_start_or_groups_are_clear_errors():
    X, groups, y = mixed_segments(n=60)
    with pytest.raises(InputError, match="init_labels"):
        MixedMixture(3, groups).fit(X, np.full(len(X), 5))
    with pytest.raises(InputError, match="outside"):
        MixedMixture(3, [np.array([8, 20])]).fit(X, y)


def test_the_mixture_method_uses_the_groups_and_records_its_guard():
    X, groups, y = mixed_segments()
    result = cluster(X, ClusterConfig(method="mixture", k=3), groups=groups)
    assert result.method == "mixture" and result.k == 3
    assert adjusted_rand_score(y, result.labels) > 0.9
    info = result.info
    assert info["kept"] == "mixture" and info["why_kmeans"] is None and info["categorical_columns"] == 2
    assert info["smallest_variance"] > 0.01
    assert result.proba is not None and result.proba.shape == (len(X), 3)


def test_the_guard_falls_back_to_kmeans_when_a_component_collapses_onto_a_value():
    """A group of rows that all hold the same values (a lattice point of small integers, as party size 2
    in a tips table): its component's covariance collapses to the regularization, so k-means' partition
    is kept and the run says why."""
    rng = np.random.default_rng(4)
    X = np.concatenate(
        [rng.normal([0, 0], 1.0, (400, 2)), rng.normal([8, 0], 1.0, (400, 2)), np.tile([4.0, 6.0], (200, 1))]
    ).astype(np.float32)
    result = cluster(X, ClusterConfig(method="mixture", k=3))
    km = cluster(X, ClusterConfig(method="kmeans", k=3))
    assert result.info["kept"] == "kmeans" and "collapsed" in result.info["why_kmeans"]
    assert result.proba is None and adjusted_rand_score(km.labels, result.labels) == 1.0
    assert result.state is None  # new rows then join the nearest of k-means' centres


def test_a_component_thin_in_a_direction_is_a_group_not_a_collapse():
    """A group whose rows lie on a plane (a topic's texts span fewer directions of a text embedding than all texts
    do): its covariance is singular there too, but its rows hold many values along that direction, so the mixture
    is kept, while a point mass (the test above) is not."""
    rng = np.random.default_rng(5)
    flat = rng.normal([8, 0], 1.0, (400, 2))
    X = np.concatenate(
        [
            rng.normal([0, 0, 0], 1.0, (400, 3)),
            np.c_[flat, 0.5 * flat[:, 0] - 0.25 * flat[:, 1]],  # on a plane: no spread across it
            rng.normal([0, 8, 0], 1.0, (400, 3)),
        ]
    ).astype(np.float32)
    y = np.repeat([0, 1, 2], 400)
    result = cluster(X, ClusterConfig(method="mixture", k=3))
    assert result.info["kept"] == "mixture" and result.info["smallest_variance"] < 2e-3  # singular, yet a group
    assert adjusted_rand_score(y, result.labels) == 1.0


def test_the_fitted_mixture_assigns_new_rows_from_its_state_alone():
    X, groups, y = mixed_segments()
    model = MixedMixture(3, groups).fit(X, y)
    state = model.assign_state()
    assert all(isinstance(v, np.ndarray) and v.dtype.kind in "if" for v in state.values())
    np.testing.assert_allclose(predict_proba_from_state(state, X), model.predict_proba(X), atol=1e-6)
    again = MixedMixture(3, groups).from_responsibilities(X, model.predict_proba(X))  # converged: one M-step stays
    np.testing.assert_allclose(again.means_, model.means_, atol=1e-3)
    unseen = X[:5].copy()
    unseen[:, groups[0]] = 0  # a level the training rows never had: no evidence from that column
    without = MixedMixture(3, [np.array([3, 4, 5, 6])])  # the same model without that column
    without.weights_, without.means_, without.covariances_ = model.weights_, model.means_, model.covariances_
    without.level_probs_ = model.level_probs_[1:]
    expected = without.predict_proba(np.delete(unseen, groups[0], axis=1))
    np.testing.assert_allclose(predict_proba_from_state(state, unseen), expected, atol=1e-5)
