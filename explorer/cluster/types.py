"""What clustering takes and gives: :class:`ClusterConfig`, :class:`KSweep`, :class:`ClusterResult`.

The methods themselves are registered in :mod:`explorer.cluster.registry`; ``METHODS``, ``METHOD_LABELS``
and ``DEEP_METHODS`` here are read from it (kept for code written before the registry).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from explorer.cluster.registry import RegisteredMethod, method_labels, method_names, spec, specs
from explorer.errors import InputError, LimitError
from explorer.project import UMAP_MIN_DIST, UMAP_NEIGHBORS
from explorer.validation import (
    RANDOM_STATE,
    Flag,
    OneOf,
    Optional,
    Real,
    Whole,
    check_params,
    is_whole,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MAX_DEC_BATCHES = 100_000  # the most DEC / IDEC / refinement batches a run may ask for (a job of hours on a CPU)
LINKAGES = ("ward", "average", "complete", "single")
COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
AGGLOMERATIVE_MAX_ROWS = 20_000  # it needs all n^2 / 2 pairwise distances: 20k rows is ~1.6 GB already
N2D_SWEEP_DIM = 10  # UMAP dimension for n2d when k is unknown (N2D uses k; 10 covers the sweep's usual range)
GMM_N_INIT = (
    10  # GMM restarts (each from its own k-means): on UMAP embeddings a single start now and then merges two digits
)
SILHOUETTE_TIE = 0.01  # sweep: silhouettes this close to the best count as a tie, broken by BIC
MIXTURE_COLLAPSED = 2.0  # a component whose covariance has an eigenvalue under this x reg_covar has collapsed
FINE_K = 8  # neighbour_means: from this many clusters the mixture's k-means runs on each row's neighbour mean; with
# k given, on Banking77's intents (test and training queries, 8 to 77 of them) NMI rose by 0.01 to 0.03, on AG News'
# 4 broad topics (200 to 2,000 news: k-means kept) it fell by up to 0.07 and 4 intents gained nothing
NEIGHBOUR_MEAN_ROWS = 5  # ... the mean of a row and its this many nearest rows (3 to 10 within 0.006 NMI on
# Banking77's test queries; 5 the best on its 10,003 training queries, 0.737 against 0.715 on the rows)
K_CRITERIA = ("silhouette", "stability")


def __getattr__(name: str) -> Any:
    """``METHODS``, ``METHOD_LABELS``, ``DEEP_METHODS``: read from the registry when asked (it is filled as
    explorer.cluster is imported, after this module)."""
    if name == "METHODS":
        return method_names()
    if name == "METHOD_LABELS":
        return method_labels()
    if name == "DEEP_METHODS":
        return tuple(s.name for s in specs() if s.refines_model)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class ClusterConfig:
    """How to cluster. Every field is recorded in a run's config."""

    method: str = "n2d"  # a registered method (explorer.cluster.registry.method_names())
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
    selftrain: bool = (
        False  # images: self-labelling on augmented copies after the clustering (explorer.cluster.selftrain)
    )
    refine: bool = False  # images + autoencoder: IDEC on shifted / rotated copies from these clusters, then this method
    # again on the refined code (DEC-DA; explorer.cluster.deep.refine); its batches: dec_max_iter, dec_update_interval
    refine_seconds: float | None = None  # the refinement's batches planned to fit in this on a slow machine; None: all
    shapes: bool = False  # the mixture: Genie's clusters instead where the groups are chained (cluster.shapes)
    nested_k: bool = False  # the stability sweep's documents rule: of the first run of ks that come back, the finest
    # (the finest crisp one where there is one), no valley checks (explorer.cluster.stability.suggest_nested_k)
    neighbour_means: bool = False  # documents: from FINE_K clusters the mixture's k-means start clusters each row's
    # mean with its NEIGHBOUR_MEAN_ROWS nearest rows (explorer.cluster.methods._fit_mixture)
    no_groups: bool = False  # a k from the silhouette sweep may also become k = 1 where the rows show no groups (the
    # stability sweep's rule always may: explorer.cluster.stability.settle_no_groups)
    random_state: int | None = 0  # None: unseeded, a different result each run (a UMAP inside runs in parallel)

    def validate(self, n_rows: int | None = None) -> None:
        """Raise :class:`InputError` naming the first bad field and its allowed values.

        With ``n_rows`` the checks that depend on the data size run too (k < n, and so on).
        """
        check_params(self, CLUSTER_CONSTRAINTS)
        check_k_range(self.k_range)
        if n_rows is None:
            return
        if self.k is not None and self.k >= n_rows:
            raise InputError(f"k (number of clusters) must be less than the number of rows ({n_rows}); got {self.k}.")
        if self.min_cluster_size is not None and self.min_cluster_size > n_rows:
            raise InputError(
                f"min_cluster_size must be at most the number of rows ({n_rows}); got {self.min_cluster_size}."
            )
        method = spec(self.method)
        if method.max_rows is not None and n_rows > method.max_rows:
            others = [s.name for s in specs() if s.max_rows is None and not s.refines_model]
            raise LimitError(
                f"{method.short} is limited to {method.max_rows:,} rows; the data have {n_rows:,}. "
                f"Use {', '.join(others[:-1])} or {others[-1]}, or cluster a sample."
            )
        if "umap_dim" in method.settings and self.umap_dim is not None and self.umap_dim > n_rows - 2:
            raise InputError(f"umap_dim must be at most n - 2 = {n_rows - 2} for {n_rows} rows; got {self.umap_dim}.")


CLUSTER_CONSTRAINTS = {
    "method": RegisteredMethod(),
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
    "shapes": Flag(),
    "no_groups": Flag(),
    "nested_k": Flag(),
    "neighbour_means": Flag(),
    "refine_seconds": Optional(Real(0, open_low=True), "no time budget"),
    "random_state": RANDOM_STATE,
}


@dataclass
class KSweep:
    """Scores of k-means (silhouette) and a diagonal GMM (BIC) for each k tried; ``suggested`` is the pick.

    ``silhouette`` and ``bic`` hold NaN where a score could not be computed. ``criterion`` says how
    ``suggested`` was chosen: "silhouette", "silhouette+bic" (a near-tie broken by BIC), "bic" (no
    silhouette could be computed), "stability" / "stability (none stable)" / "stability (no groups)" (k = 1:
    no groups, :func:`explorer.cluster.stability.stability_sweep`), "modularity" (the clustering head's own:
    :func:`explorer.cluster.head.sweep_head_k`) or "default" (nothing could; the smallest k).
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
    modularity: list[float] | None = None  # the clustering head's own sweep: modularity of its clusters per k

    @property
    def bic_best(self) -> int | None:
        """The k with the lowest BIC, or None when no BIC was computed."""
        bic = np.asarray(self.bic, dtype=float)
        return None if np.isnan(bic).all() else self.ks[int(np.nanargmin(bic))]

    def to_dict(self) -> dict:
        """JSON-ready: NaN becomes None."""
        from explorer.metrics import json_float

        out = asdict(self)
        out["silhouette"] = [json_float(v) for v in self.silhouette]
        out["bic"] = [json_float(v) for v in self.bic]
        if self.stability is not None:
            out["stability"] = [json_float(v) for v in self.stability]
        if self.modularity is not None:
            out["modularity"] = [json_float(v) for v in self.modularity]
        return out


@dataclass
class ClusterResult:
    """What :func:`cluster` found.

    labels: (n,) int64 in ``range(k)``; HDBSCAN's noise is -1 (kept as its own label, not counted in k).
    k: number of clusters (for HDBSCAN the number found; for the others the k asked for, even if a GMM
       leaves a component empty -- ``info["n_empty_clusters"]`` says so).
    centers: (k, d) float32 in the space of ``Z`` (k-means centres, GMM means, else the mean of the
       members; NaN rows for empty clusters).
    proba: (n, k) float32 soft assignments where the method gives them (GMM, n2d, the mixture, DEC / IDEC), else None.
    embedding: n2d's UMAP embedding (n, umap_dim) float32, else None.
    sweep: the :class:`KSweep` when k was chosen by it.
    info: JSON-ready extras (bic, n_noise, n_iter, effective parameters, ...).
    state: the fitted model's own parameters that assign new rows (a GMM's, the mixture's), as plain arrays
       (:mod:`explorer.cluster.registry`); None where the method keeps none beyond ``centers`` or the labels
       are no longer the fit's own (self-labelling): the state is then rebuilt from the result.
    """

    labels: np.ndarray
    k: int
    method: str
    centers: np.ndarray | None = None
    proba: np.ndarray | None = None
    embedding: np.ndarray | None = None
    sweep: KSweep | None = None
    info: dict = field(default_factory=dict)
    state: dict[str, np.ndarray] | None = None


def check_k_range(k_range: object) -> tuple[int, int]:
    if not (
        isinstance(k_range, (tuple, list))
        and len(k_range) == 2
        and all(is_whole(v) for v in k_range)
        and 2 <= k_range[0] <= k_range[1]
    ):
        raise InputError(f"k_range must be two whole numbers (low, high) with 2 <= low <= high; got {k_range!r}.")
    return int(k_range[0]), int(k_range[1])


def label_counts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the labels that occur, ascending, noise -1 first; how many rows each) of integer ``labels``: a count,
    not a sort, so a million rows take milliseconds (``np.unique`` sorts them: ten times the time)."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    low = int(labels.min())
    counts = np.bincount(labels - low)
    present = np.flatnonzero(counts)
    return present + low, counts[present]


def label_index(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the labels that occur, ascending; the index of each row's label among them): ``np.unique``'s
    ``return_inverse`` for integer labels, by a count and a lookup instead of a sort."""
    labels = np.asarray(labels, dtype=np.int64)
    distinct, _ = label_counts(labels)
    if len(distinct) == 0:
        return distinct, np.zeros(0, np.int64)
    low = int(distinct[0])
    lookup = np.zeros(int(distinct[-1]) - low + 1, np.int64)
    lookup[distinct - low] = np.arange(len(distinct))
    return distinct, lookup[labels - low]


def cluster_sizes(labels: np.ndarray) -> pd.DataFrame:
    """One row per label, sorted by label (noise -1 first): columns ``cluster``, ``size``, ``fraction``."""
    import pandas as pd

    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise InputError(f"labels must be a 1-D array, got shape {labels.shape}.")
    values, counts = label_counts(labels) if labels.dtype.kind in "iu" else np.unique(labels, return_counts=True)
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({"cluster": values, "size": counts.astype(np.int64), "fraction": counts / total})
