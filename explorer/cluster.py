"""Clustering the latent space ``Z``: k-means, GMM, HDBSCAN, agglomerative and n2d, plus the k sweep.

``cluster(Z, cfg) -> ClusterResult``. When ``cfg.k`` is None the number of clusters comes from
:func:`sweep_k`. DEC and IDEC refine an autoencoder and so live in ``explorer.deep_cluster``; they share
:class:`ClusterConfig` (its ``dec_*`` / ``idec_*`` fields) and use :func:`cluster` for their k-means start.

n2d (McConville et al. 2020, "N2D: (Not Too) Deep Clustering via Clustering the Local Manifold of an
Autoencoded Embedding"): UMAP of ``Z`` to a few dimensions (as many as clusters by default), then a
full-covariance Gaussian mixture on that embedding.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np

from .errors import InputError, LimitError
from .events import StepCallback, StopCheck
from .project import UMAP_MIN_DIST, UMAP_NEIGHBORS, umap_embed
from .validation import (
    MIN_ROWS, RANDOM_STATE, Flag, OneOf, Optional, Real, Whole, check_array, check_params, check_value, is_whole,
)

if TYPE_CHECKING:  # pragma: no cover
    from .scale import Neighbors

METHODS = ("kmeans", "gmm", "mixture", "hdbscan", "agglomerative", "n2d", "dec", "idec")
DEEP_METHODS = ("dec", "idec")  # refine an autoencoder: implemented by explorer.deep_cluster.refine
MAX_DEC_BATCHES = 100_000  # the most DEC / IDEC / refinement batches a run may ask for (a job of hours on a CPU)
METHOD_LABELS = {
    "kmeans": "k-means", "gmm": "Gaussian mixture (GMM)",
    "mixture": "mixture for numbers and categories (k-means, refined)",
    "hdbscan": "HDBSCAN (finds k itself, marks noise)",
    "agglomerative": "agglomerative", "n2d": "N2D: UMAP then GMM",
    "dec": "DEC (refines the autoencoder)", "idec": "IDEC (DEC that keeps reconstructing)",
}
LINKAGES = ("ward", "average", "complete", "single")
COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
AGGLOMERATIVE_MAX_ROWS = 20_000  # it needs all n^2 / 2 pairwise distances: 20k rows is ~1.6 GB already
N2D_SWEEP_DIM = 10  # UMAP dimension for n2d when k is unknown (N2D uses k; 10 covers the sweep's usual range)
GMM_N_INIT = 10  # GMM restarts (each from its own k-means): on UMAP embeddings a single start merges two digits in ~1 of 3 seeds
SILHOUETTE_TIE = 0.01  # sweep: silhouettes this close to the best count as a tie, broken by BIC
MIXTURE_COLLAPSED = 2.0  # a component whose covariance has an eigenvalue under this x reg_covar has collapsed
K_CRITERIA = ("silhouette", "stability")


__all__ = [
    "ClusterConfig", "ClusterResult", "KSweep", "cluster", "sweep_k", "cluster_sizes", "umap_embed",
]


@dataclass
class ClusterConfig:
    """How to cluster. Every field is recorded in a run's config."""

    method: Literal["kmeans", "gmm", "mixture", "hdbscan", "agglomerative", "n2d", "dec", "idec"] = "n2d"
    k: int | None = None  # None -> suggested by a sweep (every method but hdbscan, which ignores k)
    k_criterion: Literal["silhouette", "stability"] | None = None  # the sweep's rule; None: stability for mixture
    k_range: tuple[int, int] = (2, 15)  # inclusive range for the sweep; the top is capped at n - 1
    min_cluster_size: int | None = None  # HDBSCAN; None -> max(5, n // 200)
    min_samples: int | None = None  # HDBSCAN; None -> min_cluster_size
    linkage: Literal["ward", "average", "complete", "single"] = "ward"  # agglomerative
    covariance_type: Literal["full", "diag", "tied", "spherical"] = "full"  # GMM (n2d always uses full)
    n_init: int = 10  # k-means restarts (GMM uses GMM_N_INIT)
    umap_dim: int | None = None  # n2d: UMAP target dims; None -> k
    umap_neighbors: int = 20  # n2d
    umap_min_dist: float = 0.0  # n2d
    dec_max_iter: int = 2000  # DEC/IDEC batches
    dec_tol: float = 0.001  # stop when fewer than this fraction of labels change
    dec_update_interval: int = 140
    idec_gamma: float = 0.1
    selftrain: bool = False  # images: self-labelling on augmented copies after the clustering (explorer.selftrain)
    refine: bool = False  # images + autoencoder: IDEC on shifted / rotated copies from these clusters, then this method
    # again on the refined code (DEC-DA; explorer.deep_cluster.refine); its batches: dec_max_iter, dec_update_interval
    refine_seconds: float | None = None  # the refinement's batches planned to fit in this on a slow machine; None: all
    random_state: int = 0

    def validate(self, n_rows: int | None = None) -> None:
        """Raise :class:`InputError` naming the first bad field and its allowed values.

        With ``n_rows`` the checks that depend on the data size run too (k < n, and so on).
        """
        check_params(self, CLUSTER_CONSTRAINTS)
        _check_k_range(self.k_range)
        if n_rows is None:
            return
        if self.k is not None and self.k >= n_rows:
            raise InputError(f"k (number of clusters) must be less than the number of rows ({n_rows}); got {self.k}.")
        if self.min_cluster_size is not None and self.min_cluster_size > n_rows:
            raise InputError(f"min_cluster_size must be at most the number of rows ({n_rows}); got {self.min_cluster_size}.")
        if self.method == "agglomerative" and n_rows > AGGLOMERATIVE_MAX_ROWS:
            raise LimitError(
                f"agglomerative clustering needs all pairwise distances and is limited to {AGGLOMERATIVE_MAX_ROWS:,} "
                f"rows; the data have {n_rows:,}. Use kmeans, gmm, hdbscan or n2d, or cluster a sample."
            )
        if self.method == "n2d" and self.umap_dim is not None and self.umap_dim > n_rows - 2:
            raise InputError(f"umap_dim must be at most n - 2 = {n_rows - 2} for {n_rows} rows; got {self.umap_dim}.")


CLUSTER_CONSTRAINTS = {
    "method": OneOf(METHODS),
    "k": Optional(Whole(2, hint="number of clusters"), "choosing it by a sweep"),
    "k_criterion": Optional(OneOf(K_CRITERIA), "the method's own rule"),
    "min_cluster_size": Optional(Whole(2)),
    "min_samples": Optional(Whole(1)),
    "linkage": OneOf(LINKAGES),
    "covariance_type": OneOf(COVARIANCE_TYPES),
    "n_init": Whole(1),
    "umap_dim": Optional(Whole(1), "using k"),
    "umap_neighbors": UMAP_NEIGHBORS,
    "umap_min_dist": UMAP_MIN_DIST,
    "dec_max_iter": Whole(1, MAX_DEC_BATCHES),
    "dec_tol": Real(0, 1, open_high=True),
    "dec_update_interval": Whole(1),
    "idec_gamma": Real(0),
    "selftrain": Flag(),
    "refine": Flag(),
    "refine_seconds": Optional(Real(0, open_low=True), "no time budget"),
    "random_state": RANDOM_STATE,
}


@dataclass
class KSweep:
    """Scores of k-means (silhouette) and a diagonal GMM (BIC) for each k tried; ``suggested`` is the pick.

    ``silhouette`` and ``bic`` hold NaN where a score could not be computed. ``criterion`` says how
    ``suggested`` was chosen: "silhouette", "silhouette+bic" (a near-tie broken by BIC), "bic" (no
    silhouette could be computed), "stability" / "stability (none stable)"
    (:func:`explorer.stability.stability_sweep`) or "default" (nothing could; the smallest k).
    ``stability`` holds, for a stability sweep, how alike two clusterings of disjoint halves of the
    data are for each k (adjusted Rand index, 1 = the same). ``runner_up`` is the next-best k and
    ``reason`` says in a sentence why ``suggested`` won and how clearly.
    """

    ks: list[int]
    silhouette: list[float]
    bic: list[float]
    suggested: int
    criterion: str
    stopped_early: bool = False  # should_stop() cut the sweep short; the scores cover only ks
    stability: list[float] | None = None
    runner_up: int | None = None
    reason: str = ""

    @property
    def bic_best(self) -> int | None:
        """The k with the lowest BIC, or None when no BIC was computed."""
        bic = np.asarray(self.bic, dtype=float)
        return None if np.isnan(bic).all() else self.ks[int(np.nanargmin(bic))]

    def to_dict(self) -> dict:
        """JSON-ready: NaN becomes None."""
        from .metrics import json_float

        out = asdict(self)
        out["silhouette"] = [json_float(v) for v in self.silhouette]
        out["bic"] = [json_float(v) for v in self.bic]
        if self.stability is not None:
            out["stability"] = [json_float(v) for v in self.stability]
        return out


@dataclass
class ClusterResult:
    """What :func:`cluster` found.

    labels: (n,) int64 in ``range(k)``; HDBSCAN's noise is -1 (kept as its own label, not counted in k).
    k: number of clusters (for HDBSCAN the number found; for the others the k asked for, even if a GMM
       leaves a component empty -- ``info["n_empty_clusters"]`` says so).
    centers: (k, d) float32 in the space of ``Z`` (k-means centres, GMM means, else the mean of the
       members; NaN rows for empty clusters).
    proba: (n, k) float32 soft assignments for GMM and n2d, else None.
    embedding: n2d's UMAP embedding (n, umap_dim) float32, else None.
    sweep: the :class:`KSweep` when k was chosen by it.
    info: JSON-ready extras (bic, n_noise, n_iter, effective parameters, ...).
    """

    labels: np.ndarray
    k: int
    method: str
    centers: np.ndarray | None = None
    proba: np.ndarray | None = None
    embedding: np.ndarray | None = None
    sweep: KSweep | None = None
    info: dict = field(default_factory=dict)


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
    :func:`explorer.stability.stability_sweep`, the largest k whose clusters come back on disjoint
    halves of the data. ``should_stop`` is checked between the sweep's steps and ends the sweep early,
    clustering with the best k found so far (like training, which stops and keeps the best weights).
    The single fits themselves cannot be interrupted. ``on_progress(fraction, message)`` reports each step.

    ``groups`` (for "mixture"): the one-hot columns of each categorical column of Z
    (:meth:`explorer.dataset.Dataset.categorical_groups`); the other columns are numbers.
    ``knn`` (for n2d): the run's nearest-neighbour graph of these rows (:class:`explorer.scale.Neighbors`).
    """
    cfg = cfg or ClusterConfig()
    if cfg.method in DEEP_METHODS:
        raise InputError("DEC and IDEC refine an autoencoder: use explorer.deep_cluster.refine(...)")
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
            from .stability import stability_sweep

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
    """k-means, then the mixture for numbers and categories (:class:`explorer.mixture.MixedMixture`)
    started from its partition. The guard that falls back to the simpler model: k-means' partition is
    kept when the mixture degenerates, i.e. a cluster empties, or a component's covariance collapses
    (an eigenvalue within ``MIXTURE_COLLAPSED`` of the regularization: the component sits on a single
    value of some combination of columns, a lattice point of small-integer columns rather than a group
    of rows). ``info`` says which was kept and why.

    Not the silhouette: it scores partitions by k-means' own spherical yardstick, and on the table
    suite it rejected a mixture that found the classes better (gapminder: NMI 0.25 against 0.20) while
    catching the one real failure (tips: a component collapsed onto party size 2) no better than this."""
    from .mixture import MixedMixture

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
    return ClusterResult(labels, k, "mixture", _member_means(Z, labels, k), proba, info=info)


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
    return ClusterResult(labels, found, "hdbscan", _member_means(Z, labels, found), info=info)


def _fit_agglomerative(Z: np.ndarray, k: int, cfg: ClusterConfig) -> ClusterResult:
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(n_clusters=k, linkage=cfg.linkage).fit_predict(Z).astype(np.int64)
    return ClusterResult(labels, k, "agglomerative", _member_means(Z, labels, k), info={"linkage": cfg.linkage})


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
    return ClusterResult(labels, k, "n2d", _member_means(Z, labels, k), proba, embedding, info=info)


_FITTERS = {
    "kmeans": _fit_kmeans,
    "gmm": _fit_gmm,
    "hdbscan": _fit_hdbscan,
    "agglomerative": _fit_agglomerative,
    "n2d": _fit_n2d,
}


def _member_means(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, d) float32: the mean of each cluster's rows (noise ignored; NaN for an empty cluster)."""
    centers = np.full((k, Z.shape[1]), np.nan, dtype=np.float32)
    for c in range(k):
        members = labels == c
        if members.any():
            centers[c] = Z[members].mean(axis=0)
    return centers


def sweep_k(
    Z: np.ndarray,
    k_range: tuple[int, int] = (2, 15),
    *,
    random_state: int | None = 0,
    sample_size: int = 5000,
    n_init: int = 4,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
) -> KSweep:
    """Score each k in ``k_range`` (inclusive; the top capped at n - 1) and suggest one.

    For each k: k-means on all of ``Z`` (``n_init`` restarts) and its silhouette on a seeded sample of
    ``sample_size`` rows (all rows when n is smaller); then a GMM with *diagonal* covariances, started
    from the k-means centres, fitted on the same sample, and its BIC. Diagonal, not full: a full GMM
    has k * d * (d + 1) / 2 covariance parameters, which on a 32-dimensional latent space makes BIC
    punish every extra cluster so hard it says little, and it is slow and unstable on small samples.

    Rule for ``suggested``: the k with the highest silhouette. Silhouettes within ``SILHOUETTE_TIE``
    (0.01) of the best count as a tie, and the tie goes to the k with the lowest BIC among them. BIC
    only breaks ties: it keeps decreasing with k on real data, so where the two disagree the silhouette
    wins. Without any silhouette, the lowest BIC; without either, the smallest k.

    ``should_stop()`` is checked before each k after the first and ends the sweep early (the scores
    then cover only the ks done and ``stopped_early`` is True). ``on_progress(fraction, message)``.

    Returns a :class:`KSweep`.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture

    Z = check_array(Z, min_rows=MIN_ROWS)
    n = Z.shape[0]
    lo, hi = _check_k_range(k_range)
    if not (is_whole(sample_size) and sample_size >= 100):
        raise InputError(f"sample_size must be a whole number >= 100, got {sample_size!r}.")
    check_value("random_state", random_state, RANDOM_STATE)
    if lo > n - 1:
        raise InputError(f"k_range starts at {lo}, but with {n} rows k must be at most {n - 1}.")
    ks_planned = list(range(lo, min(hi, n - 1) + 1))
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else np.arange(n)
    Zs = Z[sample]
    Zs64 = Zs.astype(np.float64)
    ks: list[int] = []
    silhouette: list[float] = []
    bic: list[float] = []
    stopped = False
    for i, k in enumerate(ks_planned):
        if ks and should_stop is not None and should_stop():
            stopped = True
            break
        km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(Z)
        labels_s = km.labels_[sample]
        n_labels = len(np.unique(labels_s))
        sil = float(silhouette_score(Zs, labels_s)) if 2 <= n_labels < len(sample) else math.nan
        if k < len(sample):
            gm = GaussianMixture(  # started from the k-means centres; k-means++ only for the first E-step
                k, covariance_type="diag", means_init=km.cluster_centers_.astype(np.float64),
                init_params="k-means++", random_state=random_state,
            ).fit(Zs64)
            b = float(gm.bic(Zs64))
        else:
            b = math.nan
        ks.append(k)
        silhouette.append(sil)
        bic.append(b)
        if on_progress is not None:
            on_progress((i + 1) / len(ks_planned), f"k = {k}: silhouette {sil:.3f}, BIC {b:.4g}")
    suggested, criterion = _suggest_k(ks, silhouette, bic)
    runner_up, reason = _silhouette_reason(ks, silhouette, suggested, criterion)
    return KSweep(ks, silhouette, bic, suggested, criterion, stopped, runner_up=runner_up, reason=reason)


def _silhouette_reason(ks: list[int], silhouette: list[float], pick: int, criterion: str) -> tuple[int | None, str]:
    """(runner-up k, the sentence saying why ``pick`` won) for a silhouette sweep."""
    sil = np.asarray(silhouette, dtype=float)
    others = [i for i, k in enumerate(ks) if k != pick and not np.isnan(sil[i])]
    if criterion not in ("silhouette", "silhouette+bic") or not others:
        return None, f"k = {pick} ({criterion})."
    ru = max(others, key=lambda i: sil[i])
    mine = sil[ks.index(pick)]
    margin = mine - sil[ru]
    if criterion == "silhouette+bic":
        why = f"its silhouette ({mine:.3f}) ties with k = {ks[ru]} ({sil[ru]:.3f}, within {SILHOUETTE_TIE}); BIC prefers k = {pick}"
    else:
        why = f"the highest silhouette, {mine:.3f}; runner-up k = {ks[ru]} ({sil[ru]:.3f})"
    clear = "a clear choice" if margin > 0.05 else "a close call" if margin < 0.01 else "a fair margin"
    return ks[ru], f"k = {pick}: {why} — {clear}."


def _suggest_k(ks: list[int], silhouette: list[float], bic: list[float]) -> tuple[int, str]:
    sil = np.asarray(silhouette, dtype=float)
    b = np.asarray(bic, dtype=float)
    if not np.isnan(sil).all():
        best = int(np.nanargmax(sil))
        near = np.flatnonzero(sil >= sil[best] - SILHOUETTE_TIE)  # NaN compares False
        if len(near) > 1 and not np.isnan(b[near]).all():
            pick = int(near[np.nanargmin(b[near])])
            return ks[pick], "silhouette" if pick == best else "silhouette+bic"
        return ks[best], "silhouette"
    if not np.isnan(b).all():
        return ks[int(np.nanargmin(b))], "bic"
    return ks[0], "default"


def _check_k_range(k_range: object) -> tuple[int, int]:
    ok = isinstance(k_range, (tuple, list)) and len(k_range) == 2 and all(is_whole(v) for v in k_range)
    if not (ok and 2 <= k_range[0] <= k_range[1]):
        raise InputError(f"k_range must be two whole numbers (low, high) with 2 <= low <= high; got {k_range!r}.")
    return int(k_range[0]), int(k_range[1])


def cluster_sizes(labels: np.ndarray) -> "pandas.DataFrame":
    """One row per label, sorted by label (noise -1 first): columns ``cluster``, ``size``, ``fraction``."""
    import pandas as pd

    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise InputError(f"labels must be a 1-D array, got shape {labels.shape}.")
    values, counts = np.unique(labels, return_counts=True)
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({"cluster": values, "size": counts.astype(np.int64), "fraction": counts / total})
