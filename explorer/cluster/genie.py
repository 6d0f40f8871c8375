"""Genie (Gagolewski, Bartoszuk & Cena 2016, "Genie: A new, fast and outlier-resistant hierarchical
clustering algorithm"; genieclust): single linkage on the minimum spanning tree of the rows, kept from
chaining by merging the smallest cluster first whenever the Gini index of the cluster sizes exceeds a
threshold. It follows a group's shape — curves, rings, chains — where k-means and the mixture cut round
pieces (two interleaved crescents, concentric circles).

It keeps no model of its own: new rows go by their nearest training rows' vote (:mod:`explorer.neighbors`),
as HDBSCAN's and agglomerative clustering's do. The spanning tree costs about n log n distance
computations with a k-d tree in a few columns, more in many: it is fitted on at most ``GENIE_MAX_ROWS``
rows (the pipeline places the others).
"""

from __future__ import annotations

import numpy as np

from explorer.cluster.methods import member_means, refit_with
from explorer.cluster.registry import FitInputs, MethodSpec, register
from explorer.cluster.types import ClusterConfig, ClusterResult

GENIE_GINI = 0.3  # genieclust's default threshold of the Gini index of the cluster sizes
GENIE_MAX_ROWS = 20_000  # 20,000 rows x 16 columns: ~10 s for the spanning tree on a 2-core CPU


def _fit_genie(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
    """Genie with ``k`` clusters on Z (n, d): labels (n,) 0..k-1, the clusters' means as centres (k, d)."""
    import genieclust  # heavy (Cython extensions, matplotlib): only when Genie runs

    X = np.ascontiguousarray(Z, dtype=np.float64)
    labels = np.asarray(genieclust.Genie(n_clusters=k, gini_threshold=GENIE_GINI).fit_predict(X), dtype=np.int64)
    found = int(labels.max()) + 1 if labels.size else 0
    info = {"gini_threshold": GENIE_GINI}
    if found < k:  # duplicate rows can leave fewer clusters than asked
        info["n_empty_clusters"] = k - found
    return ClusterResult(labels, k, "genie", member_means(Z, labels, k), info=info)


register(
    MethodSpec(
        "genie",
        "Genie (follows curved, ring and chain shapes)",
        "Genie",
        _fit_genie,
        refit_with(_fit_genie, lambda c: f"Genie (Gini threshold {GENIE_GINI})"),
        max_rows=GENIE_MAX_ROWS,
    )
)
