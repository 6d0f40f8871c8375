"""Clustering the latent space ``Z``: k-means, GMM, HDBSCAN, agglomerative and n2d, plus the k sweep.

``cluster(Z, cfg) -> ClusterResult``. When ``cfg.k`` is None the number of clusters comes from
:func:`sweep_k`. DEC and IDEC refine an autoencoder and so live in ``explorer.cluster.deep``; they share
:class:`ClusterConfig` (its ``dec_*`` / ``idec_*`` fields) and use :func:`cluster` for their k-means start.

n2d (McConville et al. 2020, "N2D: (Not Too) Deep Clustering via Clustering the Local Manifold of an
Autoencoded Embedding"): UMAP of ``Z`` to a few dimensions (as many as clusters by default), then a
full-covariance Gaussian mixture on that embedding.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from explorer.errors import InputError
from explorer.events import StepCallback, StopCheck
from explorer.project import umap_embed
from explorer.validation import (
    MIN_ROWS, check_array,
)

if TYPE_CHECKING:  # pragma: no cover
    from explorer.neighbors import Neighbors
from explorer.cluster.types import DEEP_METHODS, GMM_N_INIT, MIXTURE_COLLAPSED, N2D_SWEEP_DIM, ClusterConfig, ClusterResult
from explorer.cluster.sweep import sweep_k

__all__ = ["cluster"]


def cluster(
    Z: np.ndarray,
    cfg: ClusterConfig | None = None,
    *,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
    groups: Sequence[np.ndarray] = (),
    knn: "Neighbors | None" = None,
) -> ClusterResult:
    """Cluster ``Z`` (n, d) as ``cfg`` says.

    When ``cfg.k`` is None (and the method takes a k) a sweep over ``cfg.k_range`` picks it first:
    :func:`sweep_k` (silhouette, ties broken by BIC) on ``Z`` itself, except for n2d, whose sweep runs
    on a UMAP embedding of fixed dimension (``umap_dim`` or 10) that the GMM then clusters (the
    manifold is where N2D's clusters separate); for "mixture" (or ``k_criterion="stability"``)
    :func:`explorer.cluster.stability.stability_sweep`, the largest k whose clusters come back on disjoint
    halves of the data. ``should_stop`` is checked between the sweep's steps and ends the sweep early,
    clustering with the best k found so far (like training, which stops and keeps the best weights).
    The single fits themselves cannot be interrupted. ``on_progress(fraction, message)`` reports each step.

    ``groups`` (for "mixture"): the one-hot columns of each categorical column of Z
    (:meth:`explorer.dataset.Dataset.categorical_groups`); the other columns are numbers.
    ``knn`` (for n2d): the run's nearest-neighbour graph of these rows (:class:`explorer.neighbors.Neighbors`).
    """
    cfg = cfg or ClusterConfig()
    if cfg.method in DEEP_METHODS:
        raise InputError("DEC and IDEC refine an autoencoder: use explorer.cluster.deep.refine(...)")
    Z = check_array(Z, min_rows=MIN_ROWS)
    n = Z.shape[0]
    cfg.validate(n)
    report = on_progress or (lambda fraction, message: None)
    sweep, k = None, cfg.k
    space, embedding = Z, None
    if cfg.method == "n2d" and k is None:
        # N2D's manifold is where the clusters separate: sweep k there, with a fixed UMAP dimension
        report(0.0, "UMAP of the latent space")
        dim = min(cfg.umap_dim or N2D_SWEEP_DIM, n - 2)
        embedding = umap_embed(Z, dim, cfg.umap_neighbors, cfg.umap_min_dist, cfg.random_state,
                               should_stop=_stop_from_now(should_stop), knn=knn)
        space = embedding
    if cfg.method != "hdbscan" and k is None:
        criterion = cfg.k_criterion or ("stability" if cfg.method == "mixture" else "silhouette")
        if criterion == "stability":
            from explorer.cluster.stability import stability_sweep

            sweep = stability_sweep(space, cfg.k_range, random_state=cfg.random_state, should_stop=should_stop,
                                    on_progress=lambda f, m: report(0.5 * f, m))
        else:
            sweep = sweep_k(
                space, cfg.k_range, random_state=cfg.random_state, should_stop=should_stop,
                on_progress=lambda f, m: report(0.5 * f, m),
            )
        k = sweep.suggested
        report(0.5, f"sweep suggests k = {k}; running {cfg.method}")
    else:
        report(0.0, f"running {cfg.method}")
    if embedding is not None or cfg.method == "n2d":
        result = _fit_n2d(Z, k, cfg, embedding=embedding, should_stop=_stop_from_now(should_stop), knn=knn)
    elif cfg.method == "mixture":
        result = _fit_mixture(Z, k, cfg, groups)
    else:
        result = _FITTERS[cfg.method](Z, k, cfg)
    result.sweep = sweep
    result.info["k_from_sweep"] = sweep is not None
    report(1.0, f"{cfg.method}: {result.k} clusters")
    return result


def _fit_kmeans(Z: np.ndarray, k: int, cfg: ClusterConfig) -> ClusterResult:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=cfg.n_init, random_state=cfg.random_state).fit(Z)
    info = {"inertia": float(km.inertia_), "n_iter": int(km.n_iter_)}
    return ClusterResult(km.labels_.astype(np.int64), k, "kmeans", km.cluster_centers_.astype(np.float32), info=info)


def _gmm(X: np.ndarray, k: int, covariance_type: str, random_state: int | None):
    """Fit a GMM: (labels (n,) int64, proba (n, k) float32, means (k, d) float32, info)."""
    from sklearn.mixture import GaussianMixture

    X64 = X.astype(np.float64)  # full covariances in float32 lose too much precision
    gm = GaussianMixture(k, covariance_type=covariance_type, n_init=GMM_N_INIT, random_state=random_state).fit(X64)
    proba = gm.predict_proba(X64)
    labels = proba.argmax(axis=1).astype(np.int64)
    info = {"bic": float(gm.bic(X64)), "converged": bool(gm.converged_), "n_iter": int(gm.n_iter_)}
    n_empty = k - len(np.unique(labels))
    if n_empty:
        info["n_empty_clusters"] = int(n_empty)
    return labels, proba.astype(np.float32), gm.means_.astype(np.float32), info


def _fit_gmm(Z: np.ndarray, k: int, cfg: ClusterConfig) -> ClusterResult:
    labels, proba, means, info = _gmm(Z, k, cfg.covariance_type, cfg.random_state)
    return ClusterResult(labels, k, "gmm", means, proba, info=info)


def _fit_mixture(Z: np.ndarray, k: int, cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> ClusterResult:
    """k-means, then the mixture for numbers and categories (:class:`explorer.cluster.mixture.MixedMixture`)
    started from its partition. The guard that falls back to the simpler model: k-means' partition is
    kept when the mixture degenerates, i.e. a cluster empties, or a component's covariance collapses
    (an eigenvalue within ``MIXTURE_COLLAPSED`` of the regularization: the component sits on a single
    value of some combination of columns, a lattice point of small-integer columns rather than a group
    of rows). ``info`` says which was kept and why.

    Not the silhouette: it scores partitions by k-means' own spherical yardstick, and on the table
    suite it rejected a mixture that found the classes better (gapminder: NMI 0.25 against 0.20) while
    catching the one real failure (tips: a component collapsed onto party size 2) no better than this."""
    from explorer.cluster.mixture import MixedMixture

    start = _fit_kmeans(Z, k, cfg)
    model = MixedMixture(k, groups).fit(Z, start.labels)
    proba = model.predict_proba(Z)
    labels = proba.argmax(axis=1).astype(np.int64)
    cov = model.covariances_
    smallest = (float(min(np.linalg.eigvalsh(c).min() for c in cov)) if cov.ndim == 3 and cov.shape[1]
                else float(cov.min()) if cov.size else math.inf)
    found = len(np.unique(labels))
    why = None
    if found < k:
        why = f"the mixture left {k - found} of the {k} clusters empty"
    elif smallest < MIXTURE_COLLAPSED * model.reg_covar:
        why = ("a mixture component collapsed onto a single value of some columns "
               f"(smallest variance {smallest:.2g}), a lattice point rather than a group")
    info = {
        "kept": "kmeans" if why else "mixture", "why_kmeans": why, "smallest_variance": smallest,
        "log_likelihood": model.log_likelihood_, "n_iter": int(model.n_iter_), "converged": bool(model.converged_),
        "categorical_columns": len(groups), "moved_by_mixture": int((labels != start.labels).sum()),
    }
    if why:
        return ClusterResult(start.labels, k, "mixture", start.centers, None, info=info)
    return ClusterResult(labels, k, "mixture", member_means(Z, labels, k), proba, info=info)


def _fit_hdbscan(Z: np.ndarray, k: int | None, cfg: ClusterConfig) -> ClusterResult:
    from sklearn.cluster import HDBSCAN

    n = Z.shape[0]
    min_cluster_size = cfg.min_cluster_size or min(n, max(5, n // 200))
    hd = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=cfg.min_samples, copy=True).fit(Z)
    labels = hd.labels_.astype(np.int64)
    labels[labels < -1] = -1  # sklearn marks rows with infinite / missing values -2 / -3; count them as noise
    found = int(labels.max()) + 1 if (labels >= 0).any() else 0
    n_noise = int((labels == -1).sum())
    info = {
        "n_noise": n_noise,
        "noise_fraction": n_noise / n,
        "min_cluster_size": int(min_cluster_size),
        "min_samples": int(cfg.min_samples or min_cluster_size),
    }
    return ClusterResult(labels, found, "hdbscan", member_means(Z, labels, found), info=info)


def _fit_agglomerative(Z: np.ndarray, k: int, cfg: ClusterConfig) -> ClusterResult:
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(n_clusters=k, linkage=cfg.linkage).fit_predict(Z).astype(np.int64)
    return ClusterResult(labels, k, "agglomerative", member_means(Z, labels, k), info={"linkage": cfg.linkage})


def _stop_from_now(should_stop: StopCheck | None) -> StopCheck | None:
    """``should_stop`` for a step with no partial result to keep (a UMAP): only a stop asked after this
    moment ends it; one asked before (Stop during training: the run goes on with the best weights)
    does not. A check that raises (a cancelled dashboard job) still ends it."""
    if should_stop is None:
        return None
    already = bool(should_stop())
    return lambda: bool(should_stop()) and not already


def _fit_n2d(Z: np.ndarray, k: int, cfg: ClusterConfig, embedding: np.ndarray | None = None,
             should_stop: StopCheck | None = None, knn: "Neighbors | None" = None) -> ClusterResult:
    n = Z.shape[0]
    if embedding is None:
        dim = cfg.umap_dim or min(k, n - 2)
        embedding = umap_embed(Z, dim, cfg.umap_neighbors, cfg.umap_min_dist, cfg.random_state, should_stop=should_stop,
                               knn=knn)
    dim = embedding.shape[1]
    labels, proba, _, info = _gmm(embedding, k, "full", cfg.random_state)
    info.update(umap_dim=int(dim), umap_neighbors=int(min(cfg.umap_neighbors, n - 1)), umap_min_dist=float(cfg.umap_min_dist))
    return ClusterResult(labels, k, "n2d", member_means(Z, labels, k), proba, embedding, info=info)


_FITTERS = {
    "kmeans": _fit_kmeans,
    "gmm": _fit_gmm,
    "hdbscan": _fit_hdbscan,
    "agglomerative": _fit_agglomerative,
    "n2d": _fit_n2d,
}


def member_means(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, d) float32: the mean of each cluster's rows (noise ignored; NaN for an empty cluster)."""
    centers = np.full((k, Z.shape[1]), np.nan, dtype=np.float32)
    for c in range(k):
        members = labels == c
        if members.any():
            centers[c] = Z[members].mean(axis=0)
    return centers
