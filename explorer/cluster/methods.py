"""Clustering the latent space ``Z``: k-means, GMM, the mixture, HDBSCAN, agglomerative and n2d, each
registered once (:mod:`explorer.cluster.registry`) beside its fit function, and ``cluster()``.

``cluster(Z, cfg) -> ClusterResult``. When ``cfg.k`` is None the number of clusters comes from
:func:`sweep_k`. DEC and IDEC refine an autoencoder and so live in ``explorer.cluster.deep``; they share
:class:`ClusterConfig` (its ``dec_*`` / ``idec_*`` fields) and use :func:`cluster` for their k-means start.

n2d (McConville et al. 2020, "N2D: (Not Too) Deep Clustering via Clustering the Local Manifold of an
Autoencoded Embedding"): UMAP of ``Z`` to a few dimensions (as many as clusters by default), then a
full-covariance Gaussian mixture on that embedding.

What each method keeps to assign new rows: k-means its centres (a new row joins the nearest); GMM and
n2d the fitted mixture's weights, means and precision Cholesky factors (n2d's in its UMAP space);
the mixture its parameters (:meth:`~explorer.cluster.mixture.MixedMixture.assign_state`), or k-means'
centres where it kept k-means' partition; HDBSCAN and agglomerative nothing (no rule for a new point:
their new rows go by their neighbours' vote).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from explorer.cluster.mixture import (
    FULL_COVARIANCE_MAX_DIM,
    POINT_SHARE,
    MixedMixture,
    collapsed_share,
    mixture_parameters,
    predict_proba_from_state,
)
from explorer.cluster.predict import (
    fitted_gaussian_state,
    gaussian_m_step,
    gaussian_posterior,
    gaussian_state,
    nearest_centre,
    precision_cholesky,
)
from explorer.cluster.registry import Assigned, FitInputs, MethodSpec, Refit, State, register, spec, sweep_partition
from explorer.cluster.shapes import prefer_shape
from explorer.cluster.sweep import sweep_k
from explorer.cluster.types import (
    AGGLOMERATIVE_MAX_ROWS,
    FINE_K,
    GMM_N_INIT,
    MIXTURE_COLLAPSED,
    N2D_SWEEP_DIM,
    NEIGHBOUR_MEAN_ROWS,
    ClusterConfig,
    ClusterResult,
    KSweep,
)
from explorer.errors import InputError
from explorer.events import StepCallback, StopCheck
from explorer.project import umap_embed
from explorer.validation import MIN_ROWS, check_array

if TYPE_CHECKING:  # pragma: no cover
    from explorer.neighbors import Neighbors

__all__ = ["cluster", "member_means", "sweep_k", "umap_embed"]


def cluster(
    Z: np.ndarray,
    cfg: ClusterConfig | None = None,
    *,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
    groups: Sequence[np.ndarray] = (),
    knn: Neighbors | None = None,
) -> ClusterResult:
    """Cluster ``Z`` (n, d) as ``cfg`` says.

    When ``cfg.k`` is None (and the method takes a k) a sweep over ``cfg.k_range`` picks it first:
    :func:`sweep_k` (silhouette, ties broken by BIC) on ``Z`` itself, except for a method that clusters
    its own UMAP of Z (n2d), whose sweep runs on a UMAP embedding of fixed dimension (``umap_dim`` or 10)
    that the method then clusters (the manifold is where N2D's clusters separate); with the stability
    rule (the mixture's own, or ``k_criterion="stability"``) :func:`explorer.cluster.stability.stability_sweep`,
    the largest k whose clusters come back on disjoint halves of the data; a method with a sweep of its own uses
    it (the clustering head: :func:`explorer.cluster.head.sweep_head_k`). ``should_stop`` is checked
    between the sweep's steps and ends the sweep early, clustering with the best k found so far (like
    training, which stops and keeps the best weights). The single fits themselves cannot be
    interrupted. ``on_progress(fraction, message)`` reports each step.

    ``groups`` (for "mixture"): the one-hot columns of each categorical column of Z
    (:meth:`explorer.dataset.Dataset.categorical_groups`); the other columns are numbers.
    ``knn`` (for n2d): the run's nearest-neighbour graph of these rows (:class:`explorer.neighbors.Neighbors`).
    ``cfg.shapes`` (the mixture): Genie's clusters at the same k instead where they follow chained or curved
    groups (:func:`explorer.cluster.shapes.prefer_shape`; the result's method is then "genie").
    ``cfg.no_groups``: the silhouette sweep's k too becomes k = 1 where the rows of Z show no groups at that k,
    by the stability sweep's own rule (:func:`explorer.cluster.stability.settle_no_groups`).
    """
    cfg = cfg or ClusterConfig()
    method = spec(cfg.method)
    if method.fit is None:
        raise InputError(f"{method.short} refines an autoencoder: use explorer.cluster.deep.refine(...)")
    Z = check_array(Z, min_rows=MIN_ROWS)
    n = Z.shape[0]
    cfg.validate(n)
    report = on_progress or (lambda fraction, message: None)
    sweep, k = None, None if method.finds_k else cfg.k
    space, embedding = Z, None
    stop = _stop_from_now(should_stop) if method.embeds else None
    if method.embeds and method.needs_k and k is None:
        # the manifold is where the clusters separate: sweep k there, with a fixed UMAP dimension
        report(0.0, "UMAP of the latent space")
        dim = min(cfg.umap_dim or N2D_SWEEP_DIM, n - 2)
        embedding = umap_embed(
            Z, dim, cfg.umap_neighbors, cfg.umap_min_dist, cfg.random_state, should_stop=stop, knn=knn
        )
        space = embedding
    if method.needs_k and k is None:
        half = lambda f, m: report(0.5 * f, m)
        criterion = cfg.k_criterion or method.k_criterion
        if method.sweep is not None and criterion == method.k_criterion:  # the method's own (the head's)
            sweep = method.sweep(
                space, cfg.k_range, random_state=cfg.random_state, should_stop=should_stop, on_progress=half
            )
            if cfg.no_groups:
                sweep = _settle_silhouette(Z, sweep, cfg, groups, embedded=False)
        elif criterion == "stability":
            from explorer.cluster.stability import stability_sweep

            sweep = stability_sweep(
                space,
                cfg.k_range,
                random_state=cfg.random_state,
                should_stop=should_stop,
                on_progress=lambda f, m: report(0.5 * f, m),
                groups=groups if space is Z else (),
                nested=cfg.nested_k,
                partition=sweep_partition(method, cfg, groups) if space is Z else None,  # the mixture: its own fits
            )
        else:
            sweep = sweep_k(
                space,
                cfg.k_range,
                random_state=cfg.random_state,
                should_stop=should_stop,
                on_progress=lambda f, m: report(0.5 * f, m),
            )
            if cfg.no_groups:
                sweep = _settle_silhouette(Z, sweep, cfg, groups, embedded=space is not Z)
        k = sweep.suggested
        report(0.5, f"sweep suggests k = {k}; running {cfg.method}")
    else:
        report(0.0, f"running {cfg.method}")
    result = method.fit(Z, k, cfg, FitInputs(groups=groups, knn=knn, embedding=embedding, should_stop=stop))
    result.sweep = sweep
    if cfg.shapes and method.name == "mixture":
        report(0.9, "Genie: are the groups chained rather than round?")
        result = prefer_shape(Z, result, cfg)
    result.info["k_from_sweep"] = sweep is not None
    report(1.0, f"{cfg.method}: {result.k} clusters")
    return result


def _settle_silhouette(
    Z: np.ndarray, sweep: KSweep, cfg: ClusterConfig, groups: Sequence[np.ndarray], embedded: bool
) -> KSweep:
    """The silhouette sweep's k, or k = 1 where the rows of Z (n, d) show no groups at that k (the stability
    sweep's rule, :func:`explorer.cluster.stability.settle_no_groups`): the silhouette always picks some k."""
    from explorer.cluster.stability import settle_no_groups

    where = "the UMAP of the rows (which draws clumps in any data)" if embedded else "the rows"
    score = "the silhouette of k-means" if sweep.modularity is None else "the modularity of the head's clusters"
    weak = (
        f"{score} on {where} is highest at k = {sweep.suggested} of {sweep.ks[0]} to "
        f"{sweep.ks[-1]}, but {score.split(' of ')[0]} always prefers some k"
    )
    return settle_no_groups(Z, sweep, weak, np.random.default_rng(cfg.random_state), groups=groups)


def _fit_kmeans(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=cfg.n_init, random_state=cfg.random_state).fit(Z)
    info = {"inertia": float(km.inertia_), "n_iter": int(km.n_iter_)}
    return ClusterResult(km.labels_.astype(np.int64), k, "kmeans", km.cluster_centers_.astype(np.float32), info=info)


def _gmm(X: np.ndarray, k: int, covariance_type: str, random_state: int | None):
    """Fit a GMM: (labels (n,) int64, proba (n, k) float32, means (k, d) float32, info, the fitted mixture's
    state (:func:`explorer.cluster.predict.fitted_gaussian_state`))."""
    from sklearn.mixture import GaussianMixture

    X64 = X.astype(np.float64)  # full covariances in float32 lose too much precision
    gm = GaussianMixture(k, covariance_type=covariance_type, n_init=GMM_N_INIT, random_state=random_state).fit(X64)
    proba = gm.predict_proba(X64)
    labels = proba.argmax(axis=1).astype(np.int64)
    info = {"bic": float(gm.bic(X64)), "converged": bool(gm.converged_), "n_iter": int(gm.n_iter_)}
    n_empty = k - len(np.unique(labels))
    if n_empty:
        info["n_empty_clusters"] = int(n_empty)
    return labels, proba.astype(np.float32), gm.means_.astype(np.float32), info, fitted_gaussian_state(gm)


def _fit_gmm(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
    labels, proba, means, info, state = _gmm(Z, k, cfg.covariance_type, cfg.random_state)
    return ClusterResult(labels, k, "gmm", means, proba, info=info, state=state)


def _fit_mixture(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
    """k-means, then the mixture for numbers and categories (:class:`explorer.cluster.mixture.MixedMixture`)
    started from its partition, on the categorical columns ``inputs.groups``. The guard that falls back
    to the simpler model: k-means' partition is kept when the mixture degenerates, i.e. a cluster
    empties, or a component's covariance collapses (an eigenvalue within ``MIXTURE_COLLAPSED`` of the
    regularization, with ``POINT_SHARE`` of its rows on one value in that direction: the component sits on a
    single value of some combination of columns, a lattice point of small-integer columns rather than a group of
    rows; a component only thin in a direction, as a topic is in a text embedding, is kept); and k-means'
    partition is kept without fitting the mixture where its full covariances would make more free parameters
    than Z has rows
    (:func:`explorer.cluster.mixture.mixture_parameters`: many correlated columns, few rows; EM then follows
    the noise, below k-means). ``info`` says which was kept and why.

    Not the silhouette: it scores partitions by k-means' own spherical yardstick, and on the table
    suite it rejected a mixture that found the classes better (gapminder: NMI 0.25 against 0.20) while
    catching the one real failure (tips: a component collapsed onto party size 2) no better than this.

    ``cfg.neighbour_means`` (documents) with ``FINE_K`` clusters or more: k-means clusters each row's mean with its
    ``NEIGHBOUR_MEAN_ROWS`` nearest rows, not the row (its centres are still its members' means in Z). With many
    fine topics (a bank's 77 intents) nearby topics' centres lie within one text's own wording noise, which a
    row's nearest texts, mostly of its topic, average out (Banking77: NMI 0.754 against 0.738); a few broad
    topics' k-means lost by it (AG News' 4 in 200 to 2,000 news)."""
    from explorer.neighbors import neighbour_means

    groups = inputs.groups
    fine = cfg.neighbour_means and k >= FINE_K and len(Z) > NEIGHBOUR_MEAN_ROWS
    start = _fit_kmeans(neighbour_means(Z, NEIGHBOUR_MEAN_ROWS, inputs.knn) if fine else Z, k, cfg)
    if fine:
        start.centers = member_means(Z, start.labels, k)
    means = {"neighbour_means": NEIGHBOUR_MEAN_ROWS} if fine else {}  # info: k-means clustered neighbour means
    levels = [len(g) for g in groups]
    numeric = Z.shape[1] - sum(levels)
    parameters = mixture_parameters(k, numeric, levels)
    if 0 < numeric <= FULL_COVARIANCE_MAX_DIM and parameters > len(Z):
        # full covariances grow as columns^2: past the rows, EM follows the noise (many correlated columns, few rows);
        # diagonal ones (wider data) have twice k-means' own parameters and are left to the fit
        many = (
            f"the mixture would have {parameters:,} free parameters (a mean and a covariance over "
            f"{numeric} numeric columns per cluster) for {len(Z):,} rows, too many to estimate"
        )
        info_km = {"kept": "kmeans", "why_kmeans": many, "parameters": parameters, "categorical_columns": len(groups)}
        info_km.update(means)
        return ClusterResult(start.labels, k, "mixture", start.centers, None, info=info_km)
    model = MixedMixture(k, groups, max_iter=inputs.em_steps).fit(Z, start.labels)
    proba = model.predict_proba(Z)
    labels = proba.argmax(axis=1).astype(np.int64)
    cov = model.covariances_
    smallest = (
        float(min(np.linalg.eigvalsh(c).min() for c in cov))
        if cov.ndim == 3 and cov.shape[1]
        else float(cov.min())
        if cov.size
        else math.inf
    )
    found = len(np.unique(labels))
    why = None
    if found < k:
        why = f"the mixture left {k - found} of the {k} clusters empty"
    elif (on_point := collapsed_share(model, Z, labels, MIXTURE_COLLAPSED * model.reg_covar)) >= POINT_SHARE:
        why = (
            f"a mixture component collapsed onto a single value of some columns ({on_point:.0%} of its rows hold it) "
            f"(smallest variance {smallest:.2g}), a lattice point rather than a group"
        )
    info = {
        "kept": "kmeans" if why else "mixture",
        "why_kmeans": why,
        "smallest_variance": smallest,
        "log_likelihood": model.log_likelihood_,
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "categorical_columns": len(groups),
        "moved_by_mixture": int((labels != start.labels).sum()),
        **means,
    }
    if why:
        return ClusterResult(start.labels, k, "mixture", start.centers, None, info=info)
    return ClusterResult(labels, k, "mixture", member_means(Z, labels, k), proba, info=info, state=model.assign_state())


def _fit_hdbscan(Z: np.ndarray, k: int | None, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
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


def _fit_agglomerative(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
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


def _fit_n2d(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
    n = Z.shape[0]
    embedding = inputs.embedding
    if embedding is None:
        dim = cfg.umap_dim or min(k, n - 2)
        embedding = umap_embed(
            Z,
            dim,
            cfg.umap_neighbors,
            cfg.umap_min_dist,
            cfg.random_state,
            should_stop=inputs.should_stop,
            knn=inputs.knn,
        )
    dim = embedding.shape[1]
    labels, proba, _, info, state = _gmm(embedding, k, "full", cfg.random_state)
    info.update(
        umap_dim=int(dim), umap_neighbors=int(min(cfg.umap_neighbors, n - 1)), umap_min_dist=float(cfg.umap_min_dist)
    )
    return ClusterResult(labels, k, "n2d", member_means(Z, labels, k), proba, embedding, info=info, state=state)


def member_means(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, d) float32: the mean of each cluster's rows (noise ignored; NaN for an empty cluster)."""
    centers = np.full((k, Z.shape[1]), np.nan, dtype=np.float32)
    for c in range(k):
        members = labels == c
        if members.any():
            centers[c] = Z[members].mean(axis=0)
    return centers


# -- the state that assigns new rows (computed at fit time, saved in a run's assign.npz) -------------
def centres_state(result: ClusterResult, Z: np.ndarray, cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> State:
    """k-means (and DEC / IDEC): the centres (k, d)."""
    return {} if result.centers is None else {"centers": np.asarray(result.centers, np.float32)}


def assign_nearest(state: State, Z_new: np.ndarray) -> Assigned:
    """Each new row (m, d) to the nearest saved centre (k-means' own predict)."""
    return Assigned(nearest_centre(state["centers"], Z_new), None, "the nearest saved centre")


def _gaussian_state(result: ClusterResult, X: np.ndarray | None, covariance_type: str) -> State:
    """The fitted mixture's own state, else (a result whose labels are not the fit's: self-labelling; a run
    saved before its state was) the mixture one M-step from the result's soft assignments of X."""
    if result.state is not None:
        return dict(result.state)
    if X is None or result.proba is None:
        return {}
    weights, means, cov = gaussian_m_step(X, result.proba, covariance_type)
    return gaussian_state(weights, means, precision_cholesky(cov, covariance_type), covariance_type)


def _posterior(state: State, X: np.ndarray, how: str) -> Assigned:
    proba = gaussian_posterior(state, X)
    return Assigned(proba.argmax(axis=1).astype(np.int64), proba, how)


def _mixture_state(result: ClusterResult, Z: np.ndarray, cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> State:
    if result.state is not None:
        return dict(result.state)
    if result.proba is None:  # the guard kept k-means' partition
        return centres_state(result, Z, cfg, groups)
    return MixedMixture(result.k, groups).from_responsibilities(Z, result.proba).assign_state()


def _assign_mixture(state: State, Z_new: np.ndarray) -> Assigned:
    if "mix_weights" not in state:
        return assign_nearest(state, Z_new)
    proba = predict_proba_from_state(state, Z_new)
    return Assigned(proba.argmax(axis=1).astype(np.int64), proba, "the saved mixture for numbers and categories")


# -- fitted again on a subsample, as the run configured it (per-cluster stability) -----------------
def refit_with(
    fit: Callable[..., ClusterResult],
    what: Callable[[ClusterConfig], str],
) -> Callable[[ClusterConfig, Sequence[np.ndarray]], tuple[Refit, str]]:
    """A ``MethodSpec.refit`` that runs ``fit`` again with the run's config (``cfg.k``; HDBSCAN's sizes as
    configured, its own rule on the sample where left to it), a new seed per sample."""

    def refit(cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> tuple[Refit, str]:
        def again(X: np.ndarray, seed: int) -> np.ndarray:
            return fit(X, cfg.k, replace(cfg, random_state=seed), FitInputs(groups=groups)).labels

        return again, what(cfg)

    return refit


def _refit_n2d(cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> tuple[Refit, str]:
    # the space is the run's UMAP embedding: a UMAP per sample would cost more than all the rest
    k = cfg.k
    assert k is not None, "a refit is given the run's k"

    def again(X: np.ndarray, seed: int) -> np.ndarray:
        return _gmm(X, k, "full", seed)[0]

    return again, f"its GMM ({GMM_N_INIT} starts) on the run's UMAP embedding (the UMAP is not re-run)"


SETTINGS_UMAP = ("umap_dim", "umap_neighbors", "umap_min_dist")
GMM_RULE = "the saved Gaussian mixture's posterior in the latent space"

for _method in (
    MethodSpec(
        "kmeans",
        "k-means",
        "k-means",
        _fit_kmeans,
        refit_with(_fit_kmeans, lambda c: f"k-means ({c.n_init} starts)"),
        assign_state=centres_state,
        assign=assign_nearest,
        settings=("n_init",),
    ),
    MethodSpec(
        "gmm",
        "Gaussian mixture (GMM)",
        "GMM",
        _fit_gmm,
        refit_with(_fit_gmm, lambda c: f"GMM ({c.covariance_type} covariances, {GMM_N_INIT} starts)"),
        assign_state=lambda result, Z, cfg, groups: _gaussian_state(result, Z, cfg.covariance_type),
        assign=lambda state, Z_new: _posterior(state, Z_new, GMM_RULE),
        soft=True,
        settings=("covariance_type",),
    ),
    MethodSpec(
        "mixture",
        "mixture for numbers and categories (k-means, refined)",
        "the mixture",
        _fit_mixture,
        refit_with(_fit_mixture, lambda c: f"k-means ({c.n_init} starts), then the mixture"),
        assign_state=_mixture_state,
        assign=_assign_mixture,
        soft=True,
        k_criterion="stability",
        settings=("n_init",),
    ),
    MethodSpec(
        "hdbscan",
        "HDBSCAN (finds k itself, marks noise)",
        "HDBSCAN",
        _fit_hdbscan,
        refit_with(_fit_hdbscan, lambda c: "HDBSCAN"),
        needs_k=False,
        finds_k=True,
        noise=True,
        settings=("min_cluster_size", "min_samples"),
    ),
    MethodSpec(
        "agglomerative",
        "agglomerative",
        "agglomerative clustering",
        _fit_agglomerative,
        refit_with(_fit_agglomerative, lambda c: f"agglomerative ({c.linkage})"),
        max_rows=AGGLOMERATIVE_MAX_ROWS,
        settings=("linkage",),
    ),
    MethodSpec(
        "n2d",
        "N2D: UMAP then GMM",
        "N2D",
        _fit_n2d,
        _refit_n2d,
        assign_state=lambda result, Z, cfg, groups: _gaussian_state(result, result.embedding, "full"),
        assign=lambda state, Z_new: _posterior(state, Z_new, "the saved Gaussian mixture"),
        soft=True,
        embeds=True,
        settings=SETTINGS_UMAP,
    ),
):
    register(_method)
