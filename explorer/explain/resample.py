"""Would each cluster come back? Per-cluster stability over resampling, as in Hennig's clusterboot
(Hennig 2007, "Cluster-wise assessment of cluster stability").

The rows are subsampled (``fraction`` of them, without replacement, ``resamples`` times); each sample
is clustered again with the run's own method and k, in the space the run clustered; each original
cluster is matched to the new cluster it overlaps most (Jaccard of the sampled members). A cluster's
stability is its mean Jaccard. Hennig's reading: below 0.6 the cluster dissolves ("unstable"); from
0.6 it is a pattern in the data whose members would change ("doubtful"); from about 0.85 it is highly
stable. This product flags every cluster below ``DOUBTFUL`` (0.85, Hennig's "highly stable" line): on
planted blobs a blob forced into two clusters, or two blobs that touch, fall below it and well-separated
clusters stay above it (docs/BENCHMARKS.md; tests/test_explain.py checks the split blob and the separated
ones). A row's co-assignment is the share of the samples that held it in which it stayed in its cluster's
match.

What is re-fitted: the run's own method with the run's own configuration (k: the clusters it found;
covariance type, linkage, restarts, HDBSCAN's sizes as configured, its rule where they were left to it),
through the method's ``refit`` in :mod:`explorer.cluster.registry`: the mixture as k-means then the
mixture, with its guard; N2D as its GMM on the run's own UMAP embedding (the UMAP itself is not re-run:
that would cost a UMAP per sample); DEC and IDEC as k-means on their codes (their own refinement starts
from it); the clustering head as a lighter head, fewer heads and steps (``explorer.cluster.head.HEAD_REFIT``).
Subsamples are capped at ``MAX_SAMPLE`` rows, which also bounds agglomerative (its cost grows with the square
of the rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from explorer.cluster.registry import Refit, spec
from explorer.cluster.types import ClusterConfig
from explorer.events import StopCheck

UNSTABLE = 0.6  # mean Jaccard below this: the cluster dissolves on resampling
DOUBTFUL = 0.85  # below this (and from UNSTABLE): a pattern whose members would change; flagged too
RESAMPLES = 20
FRACTION = 0.8
MAX_SAMPLE = 5_000  # rows per resample: "would it come back from 5,000 rows" (bounds the cost at any size)


@dataclass
class ClusterStability:
    """``jaccard``: cluster -> mean Jaccard over the resamples (NaN for a cluster too small to
    match); ``co_assignment`` (n,): per row, the share of the samples holding it where it stayed with
    its cluster (NaN for rows never drawn); ``method``: what was re-fitted."""

    jaccard: dict[int, float]
    co_assignment: np.ndarray
    resamples: int
    fraction: float
    method: str

    def flagged(self, below: float = DOUBTFUL) -> list[int]:
        """The clusters whose stability is below ``below`` (doubtful or unstable)."""
        return [c for c, j in self.jaccard.items() if j == j and j < below]

    def to_dict(self) -> dict:
        return {
            "jaccard": {str(c): j for c, j in self.jaccard.items()},
            "resamples": self.resamples,
            "fraction": self.fraction,
            "method": self.method,
            "unstable_below": UNSTABLE,
            "doubtful_below": DOUBTFUL,
        }


def stability_level(jaccard: float | None) -> str | None:
    """ "stable", "doubtful" or "unstable" (Hennig's reading of a mean Jaccard); None if not measured."""
    if jaccard is None or jaccard != jaccard:
        return None
    return "unstable" if jaccard < UNSTABLE else "doubtful" if jaccard < DOUBTFUL else "stable"


def refitter(cfg: ClusterConfig | str, k: int, groups: Sequence[np.ndarray] = ()) -> tuple[Refit, str]:
    """(a function (sample (m, d), seed) -> labels (m,) that clusters like the run, what it fits in words):
    the run's method with the run's clustering config ``cfg`` (a method's name: its defaults), ``k`` fixed
    to the clusters the run found. ``groups``: the one-hot columns of each categorical column of the space
    (the mixture's)."""
    cfg = ClusterConfig(method=cfg) if isinstance(cfg, str) else cfg
    return spec(cfg.method).refit(replace(cfg, k=int(k)), groups)


def cluster_stability(
    space: np.ndarray,
    labels: np.ndarray,
    fit: Callable[[np.ndarray, int], np.ndarray],
    *,
    method: str,
    resamples: int = RESAMPLES,
    fraction: float = FRACTION,
    random_state: int = 0,
    max_sample: int = MAX_SAMPLE,
    should_stop: StopCheck | None = None,
) -> ClusterStability:
    """Per-cluster Jaccard and per-row co-assignment of ``labels`` (n,) over ``resamples`` subsamples of
    ``space`` (n, d), each re-clustered by ``fit`` (see :func:`refitter`). Noise (label -1) is not a
    cluster here. ``should_stop`` ends the resampling early (the result then rests on fewer samples)."""
    from threadpoolctl import threadpool_limits

    labels = np.asarray(labels)
    n = len(labels)
    rng = np.random.default_rng(random_state)
    clusters = [int(c) for c in np.unique(labels) if c >= 0]
    m = min(max(round(fraction * n), 2), max_sample)
    totals = {c: 0.0 for c in clusters}
    counted = {c: 0 for c in clusters}
    stayed = np.zeros(n)
    drawn = np.zeros(n)
    done = 0
    for _ in range(resamples):
        if done and should_stop is not None and should_stop():
            break
        rows = np.sort(rng.choice(n, m, replace=False))
        with threadpool_limits(limits=1):  # small fits: one thread is faster, and never spin-waits beside other work
            new = fit(space[rows], int(rng.integers(2**31 - 1)))
        old = labels[rows]
        drawn[rows] += 1
        new_ids = [int(c) for c in np.unique(new) if c >= 0]
        for c in clusters:
            mine = old == c
            if mine.sum() < 2:
                continue
            best, best_j = None, 0.0
            for d in new_ids:
                theirs = new == d
                inter = int((mine & theirs).sum())
                if not inter:
                    continue
                j = inter / int((mine | theirs).sum())
                if j > best_j:
                    best, best_j = d, j
            totals[c] += best_j
            counted[c] += 1
            if best is not None:
                stayed[rows[mine & (new == best)]] += 1
        done += 1
    jaccard = {c: (totals[c] / counted[c] if counted[c] else float("nan")) for c in clusters}
    with np.errstate(invalid="ignore", divide="ignore"):
        co = np.where(drawn > 0, stayed / np.maximum(drawn, 1), np.nan).astype(np.float32)
    co[labels < 0] = np.nan
    return ClusterStability(jaccard, co, done, fraction, method)
