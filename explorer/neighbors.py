"""Large data and new data: which rows the costly stages fit on, one nearest-neighbour graph per run,
and the one rule that places and assigns a row by its nearest fitted rows.

Loading, PCA, k-means, the autoencoder's encoder and the scores grow linearly with the rows (or are
computed on a sample already). The stages that grow faster (UMAP, t-SNE, GMM restarts, HDBSCAN,
agglomerative clustering, the k sweep) fit on a seeded sample of ``FIT_ROWS`` rows once the data
hold more than ``EXACT_ROWS``; every other row is then *placed*. Below ``EXACT_ROWS`` every stage
sees every row; the graph is still built once and shared by the clustering UMAP (N2D) and the map.

The rule, the same for a large run's placed rows and for rows applied to a saved run later
(:mod:`explorer.apply`): a row's ``PLACE_NEIGHBORS`` nearest fitted rows in the latent space
(:class:`Search`), weighted by inverse distance (a row identical to a fitted row takes that row
alone); its place on a map (or in n2d's UMAP space) is their weighted mean position (:func:`place`),
its cluster their weighted vote (:func:`vote`: HDBSCAN's noise votes too; soft assignments are
averaged where the clustering gives them).

The run records the choice: ``RunResult.fitted`` is the mask of fitted rows and
``metrics["rows_fitted"]`` their number.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

EXACT_ROWS = 100_000  # up to this many rows every stage fits on every row
FIT_ROWS = 25_000  # above EXACT_ROWS the non-linear stages fit on a seeded sample of this many rows
PLACE_NEIGHBORS = 10  # a placed or applied row's position and cluster come from this many nearest fitted rows
EXACT_GRAPH_ROWS = 30_000  # the shared graph is exact (brute force, no compilation) up to this many rows
BLOCK = 1 << 23  # elements of one (rows, neighbours, dims) block of the search's exact distances
CHUNK = 100_000  # rows placed at once: bounds the (rows, neighbours, dims) gather

__all__ = [
    "EXACT_ROWS",
    "FIT_ROWS",
    "PLACE_NEIGHBORS",
    "Neighbors",
    "RowPlan",
    "Search",
    "plan_rows",
    "place",
    "vote",
    "vote_shares",
]


@dataclass
class RowPlan:
    """Which rows the costly stages fit on: ``fit`` are sorted row indices (every row when the data
    are small), ``rest`` the rows placed afterwards (empty when small)."""

    n: int
    fit: np.ndarray
    rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def sampled(self) -> bool:
        return len(self.rest) > 0

    def mask(self) -> np.ndarray:
        """(n,) bool: True for the fitted rows."""
        out = np.zeros(self.n, bool)
        out[self.fit] = True
        return out

    def sentence(self) -> str:
        if not self.sampled:
            return f"All {self.n:,} rows fitted."
        return (
            f"{self.n:,} rows: UMAP, the clustering and the map fitted on a seeded sample of {len(self.fit):,}; "
            f"the other {len(self.rest):,} placed by their {PLACE_NEIGHBORS} nearest fitted rows."
        )


def plan_rows(n: int, seed: int | None = 0, *, exact_rows: int = EXACT_ROWS, fit_rows: int = FIT_ROWS) -> RowPlan:
    """Every row up to ``exact_rows``; above, a seeded sample of ``fit_rows`` rows to fit on."""
    if n <= exact_rows:
        return RowPlan(n, np.arange(n))
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(n, min(fit_rows, n), replace=False))
    rest = np.setdiff1d(np.arange(n), fit, assume_unique=True)
    return RowPlan(n, fit, rest)


class Neighbors:
    """The k-nearest-neighbour graph of the fitted rows of Z, built once, with the search that finds
    each other row's nearest fitted rows.

    ``graph(k)`` -> (indices, distances), each (n_fit, k), the row itself first, in the form UMAP
    takes as ``precomputed_knn``. Exact up to ``EXACT_GRAPH_ROWS`` rows (brute force: 25,000 rows in
    40 dimensions take seconds, where nearest-neighbour descent first spends half a minute compiling),
    else nearest-neighbour descent (pynndescent, with UMAP's own settings).

    ``query(Z_rest)`` -> (indices into the fitted rows, distances), each (m, ``PLACE_NEIGHBORS``): the
    exact :class:`Search` over the fitted rows, which apply runs too, so a row gets the same neighbours
    as a placed row and as an applied one.
    """

    def __init__(self, Z_fit: np.ndarray, k: int, random_state: int | None = 0, device: str = "cpu") -> None:
        self.n = int(Z_fit.shape[0])
        self.k = int(min(k, self.n - 1))
        self.random_state = random_state
        self.device = device
        self._Z = Z_fit
        self.index = None
        self._search: Search | None = None
        self.placed: tuple[np.ndarray, np.ndarray] | None = None  # the run's placed rows' neighbours, once found
        if device != "cpu":  # a GPU: exact, by brute force in torch, at every size
            idx, dist = torch_knn(Z_fit, Z_fit, self.k, device)
        elif self.n <= EXACT_GRAPH_ROWS:
            from sklearn.neighbors import NearestNeighbors

            dist, idx = NearestNeighbors(n_neighbors=self.k, algorithm="brute").fit(Z_fit).kneighbors(Z_fit)
        else:
            from pynndescent import NNDescent

            n_trees = min(64, 5 + round(self.n**0.5 / 20.0))  # UMAP's choice for its own graph
            n_iters = max(5, round(math.log2(self.n)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.index = NNDescent(
                    Z_fit,
                    n_neighbors=self.k,
                    metric="euclidean",
                    random_state=random_state,
                    n_trees=n_trees,
                    n_iters=n_iters,
                    max_candidates=60,
                    low_memory=True,
                    n_jobs=1 if random_state is not None else -1,
                    compressed=False,
                    verbose=False,
                )
            idx, dist = self.index.neighbor_graph
        # int32 / float32, as pynndescent gives them: the dtypes UMAP's compiled (and cached) kernels were
        # compiled for; int64 indices would make numba compile them afresh, minutes on a busy machine
        self.indices = np.ascontiguousarray(idx, dtype=np.int32)
        self.distances = np.ascontiguousarray(dist, dtype=np.float32)

    def graph(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = int(min(k, self.k))
        return self.indices[:, :k], self.distances[:, :k]

    def precomputed(self, k: int) -> tuple:
        """``precomputed_knn`` for a UMAP of the fitted rows with ``k`` neighbours."""
        idx, dist = self.graph(k)
        return (idx, dist, self.index) if self.index is not None else (idx, dist)

    def query(self, Z_rest: np.ndarray, k: int = PLACE_NEIGHBORS) -> tuple[np.ndarray, np.ndarray]:
        """(indices (m, k) into the fitted rows, distances (m, k)) of the rows ``Z_rest`` (m, d):
        :meth:`Search.query`."""
        if self._search is None:
            self._search = Search(self._Z, self.device)
        return self._search.query(Z_rest, k)


class Search:
    """The nearest reference rows (a run's fitted rows) of other rows: the one search behind placing and
    assigning by neighbours, for a large run's placed rows and for rows applied to a run later.

    Exact, so a row finds the same neighbours wherever it is searched (an approximate index would
    miss a share of them, and differently on each machine): on the CPU by brute force (scikit-learn's
    k-smallest selection), on a GPU (``device``) by brute force in torch (:func:`torch_knn`). The
    distances returned are computed again from differences for the neighbours found (float64): 0 for a
    row identical to a reference row, which then takes that row's place and vote alone.
    """

    def __init__(self, Z_ref: np.ndarray, device: str = "cpu") -> None:
        self.F = np.ascontiguousarray(Z_ref, dtype=np.float32)
        self.n = len(self.F)
        self.device = device

    def query(self, Z_new: np.ndarray, k: int = PLACE_NEIGHBORS) -> tuple[np.ndarray, np.ndarray]:
        """(indices (m, k) int64 into the reference rows, distances (m, k) float32), nearest first, of
        each row of ``Z_new`` (m, d)."""
        k = int(min(k, self.n))
        Q = np.ascontiguousarray(Z_new, dtype=np.float32)
        if len(Q) == 0:
            return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
        if self.device != "cpu":
            return torch_knn(Q, self.F, k, self.device)
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(self.F)
        out_i = np.empty((len(Q), k), np.int64)
        out_d = np.empty((len(Q), k), np.float32)
        step = max(1, BLOCK // (k * Q.shape[1]))  # bounds the (rows, neighbours, dims) block of exact_distances
        for s in range(0, len(Q), step):
            top = nn.kneighbors(Q[s : s + step], return_distance=False)
            out_i[s : s + step], out_d[s : s + step] = exact_distances(Q[s : s + step], self.F, top)
        return out_i, out_d


def exact_distances(Q: np.ndarray, F: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(idx, distances (m, k) float32) of each row of Q (m, d) to its candidate rows ``idx`` (m, k) of F,
    from differences in float64 (exactly 0 for identical rows), both sorted nearest first."""
    diff = F[idx].astype(np.float64)
    diff -= Q[:, None, :]
    d = np.sqrt(np.einsum("mkd,mkd->mk", diff, diff))
    order = np.argsort(d, axis=1, kind="stable")
    return np.take_along_axis(idx, order, 1).astype(np.int64), np.take_along_axis(d, order, 1).astype(np.float32)


def torch_knn(Q: np.ndarray, F: np.ndarray, k: int, device: str, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of F for each row of Q, by brute force in torch on ``device`` (a GPU: the
    distances are one matrix product per chunk of queries and ``topk`` selects; the chosen ones are
    then computed from differences, 0 for identical rows): (indices, distances), nearest first."""
    import torch

    dev = torch.device(device)
    Ft = torch.from_numpy(np.ascontiguousarray(F, dtype=np.float32)).to(dev)
    norms = (Ft * Ft).sum(1)
    out_i, out_d = [], []
    for s in range(0, len(Q), chunk):
        q = torch.from_numpy(np.ascontiguousarray(Q[s : s + chunk], dtype=np.float32)).to(dev)
        d2 = torch.addmm(norms[None, :], q, Ft.T, alpha=-2.0) + (q * q).sum(1, keepdim=True)
        idx = torch.topk(d2, k, dim=1, largest=False).indices
        dist = (Ft[idx] - q[:, None, :]).pow_(2).sum(-1).sqrt_()
        dist, order = torch.sort(dist, dim=1, stable=True)
        out_d.append(dist.cpu().numpy())
        out_i.append(torch.gather(idx, 1, order).cpu().numpy().astype(np.int64))
    return np.concatenate(out_i), np.concatenate(out_d).astype(np.float32)


def _weights(dist: np.ndarray) -> np.ndarray:
    """(m, k) distances -> (m, k) weights summing to 1 per row: inverse distance; a row at distance 0
    from some of its neighbours (a reference row itself, a duplicate) takes those alone, equally."""
    d = np.asarray(dist, np.float64)
    hit = d <= 0.0
    w = np.where(hit.any(axis=1, keepdims=True), hit, 1.0 / np.maximum(d, np.finfo(np.float64).tiny))
    return w / w.sum(axis=1, keepdims=True)


def place(values: np.ndarray, idx: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(m, q) float32: each row's inverse-distance-weighted mean of its neighbours' ``values`` (n, q)
    (a map's positions, n2d's UMAP space, soft assignments); ``idx``, ``dist`` (m, k) from a search."""
    out = np.empty((len(idx), values.shape[1]), np.float32)
    for s in range(0, len(idx), CHUNK):
        w = _weights(dist[s : s + CHUNK])
        out[s : s + CHUNK] = np.einsum("mk,mkd->md", w, np.asarray(values)[idx[s : s + CHUNK]].astype(np.float64))
    return out


def vote_shares(labels_fit: np.ndarray, idx: np.ndarray, dist: np.ndarray, k: int) -> np.ndarray:
    """(m, k + 1) each candidate's share of a row's inverse-distance-weighted vote of its neighbours'
    labels (``labels_fit`` (n,), -1 noise): columns 0..k-1 the clusters, the last noise; rows sum to 1."""
    m, nb = idx.shape
    lab = np.asarray(labels_fit)[idx]
    cols = np.where(lab >= 0, lab, k).ravel()
    rows = np.repeat(np.arange(m), nb)
    return np.bincount(rows * (k + 1) + cols, weights=_weights(dist).ravel(), minlength=m * (k + 1)).reshape(m, k + 1)


def vote(
    labels_fit: np.ndarray, idx: np.ndarray, dist: np.ndarray, proba_fit: np.ndarray | None = None, k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(labels (m,), proba (m, k)) of rows by their neighbours: the weighted mean of the neighbours' soft
    assignments ``proba_fit`` where the clustering gives them, else the weighted vote of their labels
    (:func:`vote_shares`; a noise label (-1) is a candidate of its own: a row whose neighbours are
    mostly noise is noise; ties go to the lowest cluster)."""
    k = int(k if k is not None else labels_fit.max() + 1)
    if proba_fit is not None:
        proba = place(proba_fit, idx, dist)
        return proba.argmax(1).astype(np.int64), proba
    shares = vote_shares(labels_fit, idx, dist, k)
    labels = shares.argmax(1)
    labels = np.where(labels == k, -1, labels).astype(np.int64)
    proba = shares[:, :k] / np.maximum(shares[:, :k].sum(1, keepdims=True), 1e-12)
    return labels, proba.astype(np.float32)


def neighbours(X: np.ndarray, k: int) -> np.ndarray:
    """(n, k) int64: each row's k nearest other rows of X (n, d), exact (k at most n - 1)."""
    k = min(k, len(X) - 1)
    idx, _ = torch_knn(X, X, min(k + 1, len(X)), "cpu", chunk=2048)
    own = idx == np.arange(len(X))[:, None]
    keep = np.where(own.any(1, keepdims=True), ~own, np.arange(idx.shape[1])[None, :] < idx.shape[1] - 1)
    return idx[keep].reshape(len(X), -1)[:, :k]


def neighbour_means(X: np.ndarray, m: int, knn: Neighbors | None = None) -> np.ndarray:
    """(n, d): each row of X (n, d) averaged with its ``m`` nearest other rows; the documents' k-means with many
    clusters runs on these (``ClusterConfig.neighbour_means``). From the run's graph ``knn`` where it holds these
    rows and enough neighbours (the row itself first: no n^2 search on a large set), else :func:`neighbours`."""
    if knn is not None and knn.n == len(X) and knn.k > m:
        return X[knn.graph(m + 1)[0]].mean(axis=1)
    return (X + X[neighbours(X, m)].sum(axis=1)) / (m + 1)
