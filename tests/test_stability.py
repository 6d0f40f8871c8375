"""k by stability: planted groups come back on disjoint halves of the data and the sweep picks their
number; structureless data has no groups (k = 1); the pick comes with a runner-up and a reason."""

from __future__ import annotations

import numpy as np

from explorer.cluster.methods import cluster
from explorer.cluster.stability import NO_GROUPS, STABLE, VALLEY, stability_sweep, suggest_stable_k, valley_ratio
from explorer.cluster.types import ClusterConfig


def test_planted_blobs_are_stable_at_their_number(make_blobs, single_thread):
    X, _y = make_blobs(n=1200, k=4, d=6, std=0.8, seed=1)
    sweep = stability_sweep(X, (2, 7), random_state=0)
    assert sweep.suggested == 4 and sweep.criterion == "stability"
    by_k = dict(zip(sweep.ks, sweep.stability, strict=True))
    assert by_k[4] >= STABLE and by_k[6] < by_k[4]
    assert sweep.runner_up is not None and sweep.runner_up != 4
    assert "k = 4" in sweep.reason and "runner-up" in sweep.reason
    assert all(np.isnan(sweep.bic)) and len(sweep.silhouette) == len(sweep.ks)


def test_one_round_cloud_has_no_groups(single_thread):
    X = np.random.default_rng(0).normal(size=(1500, 5)).astype(np.float32)
    sweep = stability_sweep(X, (2, 6), random_state=0)
    assert sweep.criterion == NO_GROUPS and sweep.suggested == 1
    assert "no stable groups" in sweep.reason and "k = 1" in sweep.reason


def test_the_rule_takes_the_finest_stable_k():
    k, criterion, runner_up, reason = suggest_stable_k([2, 3, 4, 5, 6], [0.99, 1.0, 0.97, 0.8, 0.96])
    assert (k, criterion, runner_up) == (6, "stability", 4)
    assert "k = 6" in reason
    k, criterion, runner_up, _ = suggest_stable_k([2, 3, 4], [0.5, 0.7, 0.6])
    assert (k, criterion, runner_up) == (3, "stability (none stable)", 4)


def flat_slab_and_blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three round groups and one large group spread evenly (no dip) along x: k-means cuts the slab in
    two the same way on every half, so stability alone also rewards k = 5."""
    rng = np.random.default_rng(seed)
    blobs = [rng.normal([c, 12.0], 0.6, (700, 2)) for c in (-10.0, 0.0, 10.0)]
    slab = np.column_stack([rng.uniform(-5, 5, 3000), rng.normal(-6.0, 0.6, 3000)])
    X = np.concatenate([*blobs, slab]).astype(np.float32)
    return X, np.repeat([0, 1, 2, 3], [700, 700, 700, 3000])


def test_a_cut_through_an_even_spread_has_no_valley_and_a_real_boundary_has_one():
    X, y = flat_slab_and_blobs()
    slab = X[y == 3]
    halves = (slab[:, 0] > 0).astype(int)
    centers = np.stack([slab[halves == 0].mean(0), slab[halves == 1].mean(0)])
    flat, near = valley_ratio(slab, halves, centers, 0, 1)
    assert flat >= VALLEY and near > 100
    pair = X[y < 2]
    gap, _ = valley_ratio(pair, y[y < 2], np.stack([pair[y[y < 2] == c].mean(0) for c in (0, 1)]), 0, 1)
    assert gap < 0.1


def test_the_sweep_does_not_cut_an_even_spread_that_comes_back_on_every_half(single_thread):
    X, _ = flat_slab_and_blobs()
    sweep = stability_sweep(X, (2, 7), random_state=0)
    by_k = dict(zip(sweep.ks, sweep.stability, strict=True))
    assert by_k[5] >= STABLE  # the trap is there: the slab's halves come back
    assert sweep.suggested == 4
    assert "does not thin out" in sweep.reason and "k = 5" in sweep.reason


def test_passed_over_ks_are_named_and_when_all_are_flat_the_coarsest_is_taken():
    k, _, _, reason = suggest_stable_k([2, 3, 4, 5], [1.0, 1.0, 0.99, 0.6], {4: 0.97})
    assert k == 3 and "k = 4 also comes back" in reason
    k, criterion, _, reason = suggest_stable_k([2, 3, 4], [0.99, 0.98, 0.5], {2: 1.0, 3: 0.9})
    assert (k, criterion) == (2, "stability") and "continuum" in reason


def test_the_mixture_method_sweeps_by_stability_and_saves_it(make_blobs, single_thread, tmp_path):
    from explorer.metrics import json_float

    X, _ = make_blobs(n=900, k=3, d=4, std=0.7, seed=2)
    result = cluster(X, ClusterConfig(method="mixture", k_range=(2, 6)))
    assert result.k == 3 and result.sweep.stability is not None
    as_json = result.sweep.to_dict()
    assert as_json["stability"] == [json_float(v) for v in result.sweep.stability] and as_json["reason"]
    other = cluster(X, ClusterConfig(method="kmeans", k_range=(2, 6), k_criterion="stability"))
    assert other.sweep.criterion.startswith("stability")


def test_the_mixture_is_asked_whether_its_own_clusters_come_back(single_thread):
    """Issue 27: 4 segments in a message and a sign-up date only, beside numbers and categories of noise. k-means on
    every column cuts the noise and comes back only at k = 2 (stability 0.78 at k = 4); the mixture, whose covariances
    let the tight text columns count, finds the 4 segments from either half, and its sweep now asks about it."""
    from sklearn.metrics import adjusted_rand_score

    from bench.suites.words_dates import ID, LABEL, planted_words_dates
    from explorer.cluster.registry import spec, sweep_partition
    from explorer.data import TableOptions, load

    frame = planted_words_dates(3200, seed=0)  # fewer rows: the halves hold too few for the mixture's covariances
    ds = load(frame.to_csv(index=False).encode(), name="c.csv", table=TableOptions(label_column=LABEL, id_column=ID))
    result = cluster(ds.X, ClusterConfig(method="mixture", k_range=(2, 5)), groups=ds.categorical_groups())
    assert result.k == 4 and result.sweep.criterion == "stability"
    assert adjusted_rand_score(ds.labels, result.labels) > 0.95
    assert dict(zip(result.sweep.ks, result.sweep.stability, strict=True))[4] >= STABLE
    # k-means stays the sweep's clustering elsewhere: k-means itself, and the documents' rule (calibrated on it)
    assert sweep_partition(spec("kmeans"), ClusterConfig()) is None
    assert sweep_partition(spec("mixture"), ClusterConfig(method="mixture", nested_k=True)) is None
