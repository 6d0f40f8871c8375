"""Would each cluster come back? Per-cluster stability over resampling, as in Hennig's clusterboot
(Hennig 2007, "Cluster-wise assessment of cluster stability").

The rows are subsampled (``fraction`` of them, without replacement, ``resamples`` times); each sample
is clustered again with the run's own method and k, in the space the run clustered; each original
cluster is matched to the new cluster it overlaps most (Jaccard of the sampled members). A cluster's
stability is its mean Jaccard. Hennig's reading: below 0.6 the cluster dissolves ("unstable"); from
0.6 it is a pattern in the data whose members would change ("doubtful"); from about 0.85 it is highly
stable. This product flags every cluster below ``DOUBTFUL`` (0.85): measured on planted blobs
(tests/test_explain.py, docs/BENCHMARKS.md), one round blob forced into two clusters scores about 0.62
in 2-D, two blobs half a spread apart 0.75-0.8, separated clusters 0.97-1.0. A row's co-assignment is
the share of the samples that held it in which it stayed in its cluster's match.

What is re-fitted: k-means, GMM, HDBSCAN and agglomerative as in the run; the mixture as k-means then
the mixture; N2D as its GMM on the run's own UMAP embedding (the UMAP itself is not re-run: that would
cost a UMAP per sample); DEC and IDEC as k-means on their codes (their own refinement starts from it).
Subsamples are capped at ``MAX_SAMPLE`` rows, which also bounds agglomerative (its cost grows with the
square of the rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

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
        return {"jaccard": {str(c): j for c, j in self.jaccard.items()}, "resamples": self.resamples,
                "fraction": self.fraction, "method": self.method, "unstable_below": UNSTABLE,
                "doubtful_below": DOUBTFUL}


def stability_level(jaccard: float | None) -> str | None:
    """"stable", "doubtful" or "unstable" (Hennig's reading of a mean Jaccard); None if not measured."""
    if jaccard is None or jaccard != jaccard:
        return None
    return "unstable" if jaccard < UNSTABLE else "doubtful" if jaccard < DOUBTFUL else "stable"


def refitter(method: str, k: int, *, covariance_type: str = "full", linkage: str = "ward",
             min_cluster_size: int | None = None, min_samples: int | None = None,
             groups: Sequence[np.ndarray] = ()) -> tuple[Callable[[np.ndarray, int], np.ndarray], str]:
    """(a function (sample (m, d), seed) -> labels (m,) re-clustering like the run, its description)."""

    def kmeans(X: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.cluster import KMeans

        return KMeans(k, n_init=3, random_state=seed).fit_predict(X)

    if method in ("kmeans", "dec", "idec"):
        return kmeans, "k-means" if method == "kmeans" else f"k-means on the codes ({method.upper()} starts from it)"
    if method in ("gmm", "n2d"):
        def gmm(X: np.ndarray, seed: int) -> np.ndarray:
            from sklearn.mixture import GaussianMixture

            cov = covariance_type if method == "gmm" else "full"
            return GaussianMixture(k, covariance_type=cov, random_state=seed, reg_covar=1e-5).fit_predict(X)
        return gmm, "GMM" if method == "gmm" else "GMM on the run's UMAP embedding"
    if method == "mixture":
        def mixture(X: np.ndarray, seed: int) -> np.ndarray:
            from explorer.cluster.mixture import MixedMixture

            start = kmeans(X, seed)
            return MixedMixture(k, groups, max_iter=50).fit(X, start).predict(X)
        return mixture, "k-means, then the mixture"
    if method == "hdbscan":
        def hdbscan(X: np.ndarray, seed: int) -> np.ndarray:
            from sklearn.cluster import HDBSCAN

            size = min_cluster_size or max(5, len(X) // 100)
            return HDBSCAN(min_cluster_size=size, min_samples=min_samples).fit_predict(X)
        return hdbscan, "HDBSCAN"
    if method == "agglomerative":
        def agglomerative(X: np.ndarray, seed: int) -> np.ndarray:
            from sklearn.cluster import AgglomerativeClustering

            return AgglomerativeClustering(k, linkage=linkage).fit_predict(X)
        return agglomerative, f"agglomerative ({linkage})"
    raise ValueError(f"no re-fit for method '{method}'")


def cluster_stability(space: np.ndarray, labels: np.ndarray, fit: Callable[[np.ndarray, int], np.ndarray], *,
                      method: str, resamples: int = RESAMPLES, fraction: float = FRACTION, random_state: int = 0,
                      max_sample: int = MAX_SAMPLE, should_stop: StopCheck | None = None) -> ClusterStability:
    """Per-cluster Jaccard and per-row co-assignment of ``labels`` (n,) over ``resamples`` subsamples of
    ``space`` (n, d), each re-clustered by ``fit`` (see :func:`refitter`). Noise (label -1) is not a
    cluster here. ``should_stop`` ends the resampling early (the result then rests on fewer samples)."""
    from threadpoolctl import threadpool_limits

    labels = np.asarray(labels)
    n = len(labels)
    rng = np.random.default_rng(random_state)
    clusters = [int(c) for c in np.unique(labels) if c >= 0]
    m = min(max(int(round(fraction * n)), 2), max_sample)
    totals = {c: 0.0 for c in clusters}
    counted = {c: 0 for c in clusters}
    stayed = np.zeros(n)
    drawn = np.zeros(n)
    done = 0
    for r in range(resamples):
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
