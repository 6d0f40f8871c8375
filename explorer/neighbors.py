"""Large data: which rows the costly stages fit on, one nearest-neighbour graph per run, and placing
the other rows.

Loading, PCA, k-means, the autoencoder's encoder and the scores grow linearly with the rows (or are
computed on a sample already). The stages that grow faster (UMAP, t-SNE, GMM restarts, HDBSCAN,
agglomerative clustering, the k sweep) fit on a seeded sample of ``FIT_ROWS`` rows once the data
hold more than ``EXACT_ROWS``; every other row is then *placed*: its ``PLACE_NEIGHBORS`` nearest
fitted rows in the latent space are found once (pynndescent's search index, built with the graph),
and the row takes their distance-weighted mean position on each map and their distance-weighted vote
for the cluster (HDBSCAN's noise votes too). Below ``EXACT_ROWS`` every stage sees every row, as
before; the graph is still built once and shared by the clustering UMAP (N2D) and the map.

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
PLACE_NEIGHBORS = 10  # a placed row's position and cluster come from this many nearest fitted rows
EXACT_GRAPH_ROWS = 30_000  # the shared graph is exact (brute force, no compilation) up to this many rows
PROBE_CELLS = 8  # placing: the fitted rows searched are those of the query's nearest cells, this many

__all__ = ["EXACT_ROWS", "FIT_ROWS", "Neighbors", "RowPlan", "plan_rows", "place", "vote"]


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
        return (f"{self.n:,} rows: UMAP, the clustering and the map fitted on a seeded sample of {len(self.fit):,}; "
                f"the other {len(self.rest):,} placed by their {PLACE_NEIGHBORS} nearest fitted rows.")


def plan_rows(n: int, seed: int | None = 0, *, exact_rows: int = EXACT_ROWS, fit_rows: int = FIT_ROWS) -> RowPlan:
    """Every row up to ``exact_rows``; above, a seeded sample of ``fit_rows`` rows to fit on."""
    if n <= exact_rows:
        return RowPlan(n, np.arange(n))
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(n, min(fit_rows, n), replace=False))
    rest = np.setdiff1d(np.arange(n), fit, assume_unique=True)
    return RowPlan(n, fit, rest)


class Neighbors:
    """The k-nearest-neighbour graph of the fitted rows of Z, built once, with the search index that
    finds each other row's nearest fitted rows.

    ``graph(k)`` -> (indices, distances), each (n_fit, k), the row itself first, in the form UMAP
    takes as ``precomputed_knn``. Exact up to ``EXACT_GRAPH_ROWS`` rows (brute force: 25,000 rows in
    40 dimensions take seconds, where nearest-neighbour descent first spends half a minute compiling),
    else nearest-neighbour descent (pynndescent, with UMAP's own settings).

    ``query(Z_rest)`` -> (indices into the fitted rows, distances), each (m, ``PLACE_NEIGHBORS``): an
    inverted-file search (as FAISS' IVF): the fitted rows are split into about sqrt(n) cells by
    k-means, and a row is compared with the fitted rows of its ``PROBE_CELLS`` nearest cells only.
    Approximate (a true neighbour in a farther cell is missed), which placing tolerates, and about
    20x cheaper than comparing with every fitted row (the row-wise selection is what costs).
    """

    def __init__(self, Z_fit: np.ndarray, k: int, random_state: int | None = 0, device: str = "cpu") -> None:
        self.n = int(Z_fit.shape[0])
        self.k = int(min(k, self.n - 1))
        self.random_state = random_state
        self.device = device
        self._Z = Z_fit
        self.index = None
        self._cells: _Cells | None = None
        self.placed: tuple[np.ndarray, np.ndarray] | None = None  # the run's placed rows' neighbours, once found
        if device != "cpu":  # a GPU: exact, by brute force in torch, at every size
            idx, dist = torch_knn(Z_fit, Z_fit, self.k, device)
        elif self.n <= EXACT_GRAPH_ROWS:
            from sklearn.neighbors import NearestNeighbors

            dist, idx = NearestNeighbors(n_neighbors=self.k, algorithm="brute").fit(Z_fit).kneighbors(Z_fit)
        else:
            from pynndescent import NNDescent

            n_trees = min(64, 5 + int(round(self.n ** 0.5 / 20.0)))  # UMAP's choice for its own graph
            n_iters = max(5, int(round(math.log2(self.n))))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.index = NNDescent(Z_fit, n_neighbors=self.k, metric="euclidean", random_state=random_state,
                                       n_trees=n_trees, n_iters=n_iters, max_candidates=60, low_memory=True,
                                       n_jobs=1 if random_state is not None else -1, compressed=False, verbose=False)
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

    def query(self, Z_rest: np.ndarray, k: int = PLACE_NEIGHBORS, batch: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
        k = int(min(k, self.n))
        if len(Z_rest) == 0:
            return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
        if self.device != "cpu":
            return torch_knn(Z_rest, self._Z, k, self.device)
        if self._cells is None:
            self._cells = _Cells(self._Z, self.random_state)
        out_i, out_d = [], []
        for s in range(0, len(Z_rest), batch):
            i, d = self._cells.search(np.ascontiguousarray(Z_rest[s:s + batch], dtype=np.float32), k)
            out_i.append(i)
            out_d.append(d)
        return np.concatenate(out_i), np.concatenate(out_d)


def torch_knn(Q: np.ndarray, F: np.ndarray, k: int, device: str, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of F for each row of Q, by brute force in torch on ``device`` (a GPU: the
    distances are one matrix product per chunk of queries and ``topk`` selects): (indices, distances)."""
    import torch

    dev = torch.device(device)
    Ft = torch.from_numpy(np.ascontiguousarray(F, dtype=np.float32)).to(dev)
    norms = (Ft * Ft).sum(1)
    out_i, out_d = [], []
    for s in range(0, len(Q), chunk):
        q = torch.from_numpy(np.ascontiguousarray(Q[s:s + chunk], dtype=np.float32)).to(dev)
        d2 = torch.addmm(norms[None, :], q, Ft.T, alpha=-2.0) + (q * q).sum(1, keepdim=True)
        val, idx = torch.topk(d2, k, dim=1, largest=False)
        out_d.append(val.clamp_min_(0).sqrt_().cpu().numpy())
        out_i.append(idx.cpu().numpy().astype(np.int64))
    return np.concatenate(out_i), np.concatenate(out_d).astype(np.float32)


class _Cells:
    """An inverted file over the rows of F: k-means cells, each with its member rows and its
    ``PROBE_CELLS`` nearest cells (itself first)."""

    def __init__(self, F: np.ndarray, random_state: int | None) -> None:
        from sklearn.cluster import KMeans
        from sklearn.metrics import pairwise_distances_argmin

        self.F = np.ascontiguousarray(F, dtype=np.float32)
        self.norms = (self.F ** 2).sum(1)
        n = len(self.F)
        cells = int(np.clip(round(np.sqrt(n)), 1, 1024))
        rng = np.random.default_rng(random_state)
        train = self.F[rng.choice(n, min(n, 50 * cells), replace=False)]
        self.centroids = KMeans(cells, n_init=1, max_iter=25, random_state=random_state).fit(train).cluster_centers_
        owner = pairwise_distances_argmin(self.F, self.centroids)
        self.members = [np.flatnonzero(owner == c) for c in range(cells)]
        cc = ((self.centroids[:, None, :] - self.centroids[None, :, :]) ** 2).sum(-1)
        self.probes = np.argsort(cc, axis=1)[:, :min(PROBE_CELLS, cells)]

    def search(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.metrics import pairwise_distances_argmin

        home = pairwise_distances_argmin(Q, self.centroids)
        out_i = np.empty((len(Q), k), np.int64)
        out_d = np.empty((len(Q), k), np.float32)
        for c in np.unique(home):
            rows = np.flatnonzero(home == c)
            cand = np.concatenate([self.members[p] for p in self.probes[c]])
            if len(cand) < k:  # a tiny neighbourhood: every fitted row is a candidate
                cand = np.arange(len(self.F))
            q = Q[rows]
            rank = q @ self.F[cand].T  # |c|^2 - 2 q.c ranks the candidates as |q - c|^2 does
            rank *= -2.0
            rank += self.norms[cand][None, :]
            part = np.argpartition(rank, k - 1, axis=1)[:, :k]
            top = np.take_along_axis(rank, part, 1)
            order = np.argsort(top, axis=1)
            out_i[rows] = cand[np.take_along_axis(part, order, 1)]
            top = np.take_along_axis(top, order, 1) + (q.astype(np.float64) ** 2).sum(1)[:, None]
            out_d[rows] = np.sqrt(np.maximum(top, 0.0))
        return out_i, out_d


def _weights(dist: np.ndarray) -> np.ndarray:
    """Inverse-distance weights per row, summing to 1; a row on top of a fitted row takes it alone."""
    d = np.asarray(dist, np.float64)
    scale = np.maximum(np.median(d[:, -1]) if d.size else 1.0, 1e-12)
    w = 1.0 / (d / scale + 1e-6)
    return w / w.sum(axis=1, keepdims=True)


CHUNK = 100_000  # rows placed or voted at once: bounds the (rows, neighbours, dims) gather


def place(Y_fit: np.ndarray, idx: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Positions of placed rows: the distance-weighted mean of their neighbours' positions in ``Y_fit``."""
    out = np.empty((len(idx), Y_fit.shape[1]), np.float32)
    for s in range(0, len(idx), CHUNK):
        w = _weights(dist[s:s + CHUNK])
        out[s:s + CHUNK] = np.einsum("mk,mkd->md", w, Y_fit[idx[s:s + CHUNK]].astype(np.float64))
    return out


def vote(labels_fit: np.ndarray, idx: np.ndarray, dist: np.ndarray, proba_fit: np.ndarray | None = None,
         k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels (m,), proba (m, k)) of placed rows: their neighbours' distance-weighted vote; the votes
    are the neighbours' soft assignments where the clustering gives them, else their labels. A noise
    label (-1) is a candidate of its own: a row whose neighbours are mostly noise is noise."""
    k = int(k if k is not None else labels_fit.max() + 1)
    if proba_fit is not None:
        proba = place(proba_fit, idx, dist)  # the same weighted mean, of the neighbours' soft assignments
        return proba.argmax(1).astype(np.int64), proba
    w = _weights(dist)
    lab = labels_fit[idx]
    scores = np.zeros((len(idx), k + 1))  # the last column: noise
    cols = np.where(lab >= 0, lab, k)
    np.add.at(scores, (np.repeat(np.arange(len(idx)), idx.shape[1]), cols.ravel()), w.ravel())
    labels = scores.argmax(1)
    labels = np.where(labels == k, -1, labels).astype(np.int64)
    proba = scores[:, :k] / np.maximum(scores[:, :k].sum(1, keepdims=True), 1e-12)
    return labels, proba.astype(np.float32)
