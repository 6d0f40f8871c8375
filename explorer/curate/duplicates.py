"""Near-duplicates: pairs of rows closer than a threshold in the space the run clustered (``run.Z``),
grouped into connected groups.

Each row's ``neighbors`` nearest rows are found once (:func:`explorer.curate.search.row_search`, the exact
search of :class:`explorer.neighbors.Search`), so the memory grows
with n, not with the n^2 / 2 pairs; a pair is two rows each within the other's nearest (either way) and
closer than the threshold. A group larger than ``neighbors`` rows is still found whole (its rows link up),
though not every pair of it is listed.

The default threshold is ``DUPLICATE_SCALE`` times the median distance from a row to its ``neighbors``-th
nearest row: the scale of the data's neighbourhoods, which duplicates do not shrink (a duplicated row's
farther neighbours are as far as anyone's). Rows that close are far closer than rows ever are by chance in
more than a few dimensions, so data without duplicates give none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.curate.search import row_search
from explorer.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from explorer.pipeline.types import RunResult

DUPLICATE_NEIGHBORS = 5  # the nearest rows each row is compared with
DUPLICATE_SCALE = 0.05  # the default threshold, as a share of the median distance to the DUPLICATE_NEIGHBORS-th row


@dataclass
class DuplicateConfig:
    """threshold: the largest distance in ``run.Z`` of a duplicate pair (None: the default rule above);
    neighbors: how many nearest rows of each row are compared with it."""

    threshold: float | None = None
    neighbors: int = DUPLICATE_NEIGHBORS


@dataclass
class Duplicates:
    """pairs: (m, 2) int64 row indices (i < j), closest first; distances: (m,) float32; groups: the
    connected groups of the pairs, each a sorted (g,) int64 array of rows (g >= 2), largest first;
    threshold: the distance used; scale: the median distance to the ``neighbors``-th nearest row."""

    pairs: np.ndarray
    distances: np.ndarray
    groups: list[np.ndarray]
    threshold: float
    scale: float
    rule: str = ""

    def to_dict(self, ids: np.ndarray | None = None) -> dict:
        """JSON-ready; with ``ids`` (n,) the rows are also named by their ids."""
        name = (lambda r: str(ids[r])) if ids is not None else str
        return {
            "threshold": self.threshold,
            "scale": self.scale,
            "rule": self.rule,
            "pairs": [
                {"a": int(a), "b": int(b), "distance": float(d), "id_a": name(a), "id_b": name(b)}
                for (a, b), d in zip(self.pairs, self.distances, strict=True)
            ],
            "groups": [{"rows": [int(r) for r in g], "ids": [name(r) for r in g]} for g in self.groups],
        }


def find_duplicates(run: RunResult, cfg: DuplicateConfig | None = None) -> Duplicates:
    """The near-duplicate pairs and groups of ``run`` (its ``Z`` (n, d)); see the module's docstring."""
    return duplicates_of(np.asarray(run.Z), cfg)


def duplicates_of(Z: np.ndarray, cfg: DuplicateConfig | None = None) -> Duplicates:
    """:func:`find_duplicates` on an array ``Z`` (n, d)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cfg = cfg or DuplicateConfig()
    n = len(Z)
    if cfg.threshold is not None and not (np.isfinite(cfg.threshold) and cfg.threshold >= 0):
        raise InputError(f"threshold must be a number >= 0; got {cfg.threshold!r}.")
    if not isinstance(cfg.neighbors, int) or cfg.neighbors < 1:
        raise InputError(f"neighbors must be a whole number >= 1; got {cfg.neighbors!r}.")
    if n < 2:
        return Duplicates(np.zeros((0, 2), np.int64), np.zeros(0, np.float32), [], float(cfg.threshold or 0.0), 0.0)
    k = min(cfg.neighbors + 1, n)  # + the row itself
    idx, dist = row_search(Z).query(Z, k)
    scale = float(np.median(dist[:, -1]))
    if cfg.threshold is None:
        threshold, rule = (
            DUPLICATE_SCALE * scale,
            (f"{DUPLICATE_SCALE:g} x the median distance to the {k - 1}th nearest row ({scale:.4g})"),
        )
    else:
        threshold, rule = float(cfg.threshold), "given"
    rows = np.repeat(np.arange(n), k)
    cols, d = idx.ravel(), dist.ravel()
    keep = (cols != rows) & (d <= threshold)
    a, b, d = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep]), d[keep]
    key = a * np.int64(n) + b
    key, first = np.unique(key, return_index=True)
    a, b, d = a[first], b[first], d[first]
    order = np.lexsort((b, a, d))
    pairs, d = np.stack([a[order], b[order]], 1).astype(np.int64), d[order].astype(np.float32)
    groups: list[np.ndarray] = []
    if len(pairs):
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        linked = np.unique(pairs)
        labels = comp[linked]
        order_c = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order_c])) + 1
        groups = [np.sort(g).astype(np.int64) for g in np.split(linked[order_c], bounds)]
        groups.sort(key=lambda g: (-len(g), int(g[0])))
    return Duplicates(pairs, d, groups, float(threshold), scale, rule)
