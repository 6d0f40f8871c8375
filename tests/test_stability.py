"""k by stability: planted groups come back on disjoint halves of the data and the sweep picks their
number; structureless data is said to be weak; the pick comes with a runner-up and a reason."""
from __future__ import annotations

import numpy as np

from explorer.cluster import ClusterConfig, cluster
from explorer.stability import STABLE, stability_sweep, suggest_stable_k


def test_planted_blobs_are_stable_at_their_number(make_blobs, single_thread):
    X, y = make_blobs(n=1200, k=4, d=6, std=0.8, seed=1)
    sweep = stability_sweep(X, (2, 7), random_state=0)
    assert sweep.suggested == 4 and sweep.criterion == "stability"
    by_k = dict(zip(sweep.ks, sweep.stability))
    assert by_k[4] >= STABLE and by_k[6] < by_k[4]
    assert sweep.runner_up is not None and sweep.runner_up != 4
    assert "k = 4" in sweep.reason and "runner-up" in sweep.reason
    assert all(np.isnan(sweep.bic)) and len(sweep.silhouette) == len(sweep.ks)


def test_one_round_cloud_has_no_stable_split(single_thread):
    X = np.random.default_rng(0).normal(size=(1500, 5)).astype(np.float32)
    sweep = stability_sweep(X, (2, 6), random_state=0)
    assert sweep.criterion == "stability (none stable)"
    assert "weak" in sweep.reason


def test_the_rule_takes_the_finest_stable_k():
    k, criterion, runner_up, reason = suggest_stable_k([2, 3, 4, 5, 6], [0.99, 1.0, 0.97, 0.8, 0.96])
    assert (k, criterion, runner_up) == (6, "stability", 4)
    assert "k = 6" in reason
    k, criterion, runner_up, _ = suggest_stable_k([2, 3, 4], [0.5, 0.7, 0.6])
    assert (k, criterion, runner_up) == (3, "stability (none stable)", 4)


def test_the_mixture_method_sweeps_by_stability_and_saves_it(make_blobs, single_thread, tmp_path):
    from explorer.metrics import json_float

    X, _ = make_blobs(n=900, k=3, d=4, std=0.7, seed=2)
    result = cluster(X, ClusterConfig(method="mixture", k_range=(2, 6)))
    assert result.k == 3 and result.sweep.stability is not None
    as_json = result.sweep.to_dict()
    assert as_json["stability"] == [json_float(v) for v in result.sweep.stability] and as_json["reason"]
    other = cluster(X, ClusterConfig(method="kmeans", k_range=(2, 6), k_criterion="stability"))
    assert other.sweep.criterion.startswith("stability")
