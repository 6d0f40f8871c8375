"""Scores against hand-computed cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from explorer.errors import InputError
from explorer.metrics import (
    contingency,
    evaluate,
    external_metrics,
    hungarian_accuracy,
    internal_metrics,
    match_clusters,
    trustworthiness,
)

pytestmark = pytest.mark.usefixtures("single_thread")


def test_a_permuted_labelling_scores_perfectly():
    y = np.repeat([0, 1, 2, 3], 5)
    permuted = np.array([2, 0, 3, 1])[y]
    assert hungarian_accuracy(y, permuted) == 1.0
    assert external_metrics(y, permuted) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "ami": 1.0})
    assert match_clusters(y, permuted) == {2: 0, 0: 1, 3: 2, 1: 3}


def test_known_two_by_two_case():
    y_true = [0, 0, 0, 1, 1, 1]
    y_pred = [1, 1, 0, 0, 0, 0]
    # counts: class 0 -> {cluster 0: 1, cluster 1: 2}; class 1 -> {cluster 0: 3}; best match 0->1, 1->0
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert match_clusters(y_true, y_pred) == {1: 0, 0: 1}
    table = contingency(y_true, y_pred)
    assert table.columns.tolist() == [1, 0] and table.index.tolist() == [0, 1]
    assert table.to_numpy().tolist() == [[2, 1], [0, 3]]


def test_string_labels():
    y_true = np.array(["cat", "cat", "dog", "dog", "fox", "fox"])
    y_pred = np.array([5, 5, 7, 7, 7, 9])
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert match_clusters(y_true, y_pred) == {5: "cat", 7: "dog", 9: "fox"}
    assert contingency(y_true, y_pred).index.tolist() == ["cat", "dog", "fox"]


def test_mixed_type_and_missing_classes():
    y_true = np.array([1, 1, "b", "b", None, float("nan")], dtype=object)
    y_pred = [0, 0, 1, 1, 0, 1]  # the last two rows have no class and are left out
    assert external_metrics(y_true, y_pred)["acc"] == 1.0


def test_more_clusters_than_classes():
    y_true = ["a", "a", "a", "b", "b"]
    y_pred = [0, 0, 1, 2, 2]
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(4 / 5)  # cluster 1 is unmatched: wrong
    assert match_clusters(y_true, y_pred) == {0: "a", 1: "a", 2: "b"}  # unmatched -> majority class
    assert contingency(y_true, y_pred).columns.tolist() == [0, 2, 1]


def test_fewer_clusters_than_classes():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 0, 0, 1, 1]
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    table = contingency(y_true, y_pred)
    assert table.shape == (3, 2)
    assert np.diag(table.to_numpy()).sum() == 4  # the matched classes come first
    assert table.index[-1] in (0, 1)  # one of the two classes sharing cluster 0 is unmatched


def test_contingency_diagonal_is_the_match():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.8, (y_true + 2) % 5, rng.integers(0, 5, 300))
    table = contingency(y_true, y_pred)
    assert table.to_numpy().sum() == 300
    assert np.trace(table.to_numpy()) / 300 == pytest.approx(hungarian_accuracy(y_true, y_pred))
    mapping = match_clusters(y_true, y_pred)
    for i in range(4):
        assert mapping[table.columns[i]] == table.index[i]


def test_noise_counts_as_its_own_cluster():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [-1, -1, 0, 0, 1, 1]
    assert external_metrics(y_true, y_pred) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "ami": 1.0})


def test_length_mismatch_raises():
    with pytest.raises(InputError, match="match"):
        hungarian_accuracy([0, 1, 1], [0, 1])


def test_internal_metrics_on_blobs(blobs):
    X, y = blobs
    scores = internal_metrics(X, y)
    assert scores["silhouette"] > 0.5
    assert scores["davies_bouldin"] < 1.0
    assert scores["calinski_harabasz"] > 100


def test_internal_metrics_leave_noise_out(blobs):
    X, y = blobs
    outliers = np.random.default_rng(0).uniform(-50, 50, size=(30, 10)).astype(np.float32)
    with_noise = internal_metrics(np.vstack([X, outliers]), np.concatenate([y, np.full(30, -1)]))
    assert with_noise == pytest.approx(internal_metrics(X, y))


@pytest.mark.parametrize("labels", [np.zeros(600, int), np.full(600, -1), np.r_[np.zeros(599, int), -1]])
def test_internal_metrics_are_nan_with_fewer_than_two_clusters(labels, blobs):
    scores = internal_metrics(blobs[0], labels)
    assert all(math.isnan(v) for v in scores.values())


def test_internal_metrics_sample_reproducibly(blobs):
    X, y = blobs
    a = internal_metrics(X, y, sample_size=100, random_state=3)
    assert a == internal_metrics(X, y, sample_size=100, random_state=3)
    assert a["silhouette"] == pytest.approx(internal_metrics(X, y)["silhouette"], abs=0.05)


def test_trustworthiness_of_identity_and_of_noise(make_blobs):
    X, _ = make_blobs(n=300, k=3, d=2)
    assert trustworthiness(X, X) == pytest.approx(1.0)
    noise = np.random.default_rng(0).normal(size=(300, 2))
    assert trustworthiness(X, noise) < 0.7
    assert trustworthiness(X, X, sample_size=100, n_neighbors=200) == pytest.approx(1.0)  # capped


def test_evaluate_is_flat_and_json_ready(blobs):
    X, y = blobs
    scores = evaluate(X, y, y_true=y.astype(str), embedding=X[:, :2])
    assert {
        "n_clusters",
        "n_noise",
        "noise_fraction",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "acc",
        "nmi",
        "ari",
        "ami",
        "trustworthiness",
    } <= set(scores)
    assert scores["acc"] == 1.0 and scores["n_clusters"] == 5
    json.dumps(scores, allow_nan=False)
    single = evaluate(X, np.zeros(600, int))
    assert single["silhouette"] is None and "acc" not in single
    json.dumps(single, allow_nan=False)


def test_evaluate_rejects_bad_labels(blobs):
    with pytest.raises(InputError, match="labels"):
        evaluate(blobs[0], np.zeros(5, int))
    with pytest.raises(InputError, match="integers"):
        evaluate(blobs[0], np.array(["a"] * 600))
