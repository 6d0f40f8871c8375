"""How good is a clustering or a projection.

External scores compare cluster labels with known classes (ACC with the Hungarian matching, NMI, ARI,
AMI); internal scores need only the latent space (silhouette, Davies-Bouldin, Calinski-Harabasz);
trustworthiness says how well a 2-D / 3-D projection keeps each point's neighbours.

Class labels may be any hashable values (strings, ints); rows whose class is missing (None or NaN)
are left out of the external scores. Cluster label -1 (HDBSCAN's noise) is one more cluster for the
external scores and is left out of the internal ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import InputError
from explorer.sampling import sample_rows
from explorer.validation import check_array

if TYPE_CHECKING:
    import pandas as pd

NOISE = -1


@dataclass(frozen=True)
class Metric:
    """How a score is named and read: its short label and a sentence on what it means."""

    label: str
    help: str


# Every score a run records, in the order they are shown (CLI, Evaluate page, the run table).
METRICS = {
    "acc": Metric("ACC (Hungarian)", "share of rows right after matching clusters to classes one-to-one (Hungarian)"),
    "nmi": Metric("NMI", "normalized mutual information, 0 to 1"),
    "ari": Metric("ARI", "adjusted Rand index; 0 is chance, 1 is perfect"),
    "ami": Metric("AMI", "adjusted mutual information"),
    "k": Metric("clusters", "number of clusters found (noise not counted)"),
    "n": Metric("rows", "rows clustered"),
    "n_noise": Metric("noise points", "rows HDBSCAN left in no cluster"),
    "silhouette": Metric("silhouette", "-1 to 1, higher is better: points closer to their own cluster than to others"),
    "davies_bouldin": Metric("Davies-Bouldin", "lower is better: cluster spread relative to their separation"),
    "calinski_harabasz": Metric("Calinski-Harabasz", "higher is better: between- vs within-cluster dispersion"),
    "trustworthiness": Metric("trustworthiness (2-D)", "0 to 1: how well the 2-D map keeps each point's neighbours"),
}
EXTERNAL_METRICS = ("acc", "nmi", "ari", "ami")  # need labels
INTERNAL_METRICS = ("silhouette", "davies_bouldin", "calinski_harabasz", "trustworthiness")  # need none


def json_float(value: Any) -> float | None:
    """``value`` as a plain float, or None when it is NaN or infinite (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _paired(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Encode classes and clusters as integer codes: (true_codes, classes, pred_codes, clusters).

    Rows with a missing class are dropped. ``classes`` and ``clusters`` are the sorted distinct values
    (sorted as strings when the values cannot be compared, e.g. mixed ints and strings).
    """
    import pandas as pd

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise InputError(f"labels must be 1-D arrays; got shapes {y_true.shape} and {y_pred.shape}.")
    if len(y_true) != len(y_pred):
        raise InputError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}; they must match row for row.")
    keep = ~pd.isna(y_true)
    y_true, y_pred = y_true[keep], y_pred[keep]
    if len(y_true) == 0:
        raise InputError("no row has a known class to compare the clusters with.")
    return (*_codes(y_true), *_codes(y_pred))


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes (n,) int64, uniques) with uniques sorted."""
    try:
        uniques, codes = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types that do not compare: order them by their text
        as_text = np.array([str(v) for v in values], dtype=object)
        text_uniques, codes = np.unique(as_text, return_inverse=True)
        first = {t: v for v, t in zip(values[::-1], as_text[::-1], strict=True)}
        uniques = np.array([first[t] for t in text_uniques], dtype=object)
    return codes.astype(np.int64).ravel(), uniques


def _counts(true_codes: np.ndarray, pred_codes: np.ndarray, n_classes: int, n_clusters: int) -> np.ndarray:
    """(n_classes, n_clusters) int64 contingency counts."""
    flat = np.bincount(true_codes * n_clusters + pred_codes, minlength=n_classes * n_clusters)
    return flat.reshape(n_classes, n_clusters).astype(np.int64)


def _matching(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian one-to-one matching maximising matched rows: (class indices, cluster indices)."""
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(counts, maximize=True)


def _accuracy(counts: np.ndarray) -> float:
    rows, cols = _matching(counts)
    return float(counts[rows, cols].sum() / counts.sum())


def _table(y_true: Any, y_pred: Any):
    true_codes, classes, pred_codes, clusters = _paired(y_true, y_pred)
    counts = _counts(true_codes, pred_codes, len(classes), len(clusters))
    return counts, classes, clusters


def hungarian_accuracy(y_true: Any, y_pred: Any) -> float:
    """Clustering accuracy (ACC): the fraction of rows right under the best one-to-one cluster -> class map.

    y_true (n,), y_pred (n,). The map comes from the Hungarian algorithm on the contingency table; with
    more clusters than classes the extra clusters count as wrong, with fewer the extra classes do.
    """
    return _accuracy(_table(y_true, y_pred)[0])


def match_clusters(y_true: Any, y_pred: Any) -> dict:
    """Cluster id -> class, for every cluster in ``y_pred``.

    Clusters in the Hungarian one-to-one matching (the one :func:`hungarian_accuracy` scores) map to
    their matched class. A cluster left out of it (more clusters than classes) maps to its majority
    class, so several clusters can then share a class; the mapping is one-to-one only on the matched
    part. Keys and values are plain Python values (int, str, ...).
    """
    counts, classes, clusters = _table(y_true, y_pred)
    mapping = {_plain(c): _plain(classes[counts[:, j].argmax()]) for j, c in enumerate(clusters)}
    for r, c in zip(*_matching(counts), strict=True):
        mapping[_plain(clusters[c])] = _plain(classes[r])
    return mapping


def contingency(y_true: Any, y_pred: Any) -> pd.DataFrame:
    """Counts of rows per (class, cluster): a (classes x clusters) DataFrame, index "class", columns "cluster".

    Ordered so that the diagonal is the Hungarian match: row i and column i are a matched pair for
    i < number of matched pairs. Matched classes come first in sorted order; classes left unmatched (more
    classes than clusters) follow, then the unmatched clusters in label order.
    """
    import pandas as pd

    counts, classes, clusters = _table(y_true, y_pred)
    rows, cols = _matching(counts)  # rows come back sorted
    row_order = list(rows) + sorted(set(range(len(classes))) - set(rows))
    col_order = list(cols) + sorted(set(range(len(clusters))) - set(cols))
    return pd.DataFrame(
        counts[np.ix_(row_order, col_order)],
        index=pd.Index([_plain(classes[r]) for r in row_order], name="class"),
        columns=pd.Index([_plain(clusters[c]) for c in col_order], name="cluster"),
    )


def external_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """{"acc", "nmi", "ari", "ami"} comparing clusters (n,) with classes (n,); noise -1 is its own cluster."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

    true_codes, classes, pred_codes, clusters = _paired(y_true, y_pred)
    counts = _counts(true_codes, pred_codes, len(classes), len(clusters))
    return {
        "acc": _accuracy(counts),
        "nmi": float(normalized_mutual_info_score(true_codes, pred_codes)),
        "ari": float(adjusted_rand_score(true_codes, pred_codes)),
        "ami": float(adjusted_mutual_info_score(true_codes, pred_codes)),
    }


def internal_metrics(
    Z: np.ndarray, labels: np.ndarray, *, sample_size: int = 5000, random_state: int | None = 0
) -> dict[str, float]:
    """{"silhouette", "davies_bouldin", "calinski_harabasz"} of ``labels`` (n,) on ``Z`` (n, d).

    Noise rows (-1) are left out. Every score is NaN when fewer than 2 clusters remain (or every row is
    its own cluster). The silhouette is computed on a seeded sample of ``sample_size`` rows when there
    are more (it costs n^2); the other two use all rows.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    Z, labels = _check_labels(Z, labels)
    keep = labels != NOISE
    Zk, lk = Z[keep], labels[keep]
    nan = {"silhouette": math.nan, "davies_bouldin": math.nan, "calinski_harabasz": math.nan}
    if not 2 <= len(np.unique(lk)) < len(lk):
        return nan
    idx = sample_rows(len(lk), sample_size, random_state)
    sil = math.nan
    if 2 <= len(np.unique(lk[idx])) < len(idx):
        sil = float(silhouette_score(Zk[idx], lk[idx]))
    return {
        "silhouette": sil,
        "davies_bouldin": float(davies_bouldin_score(Zk, lk)),
        "calinski_harabasz": float(calinski_harabasz_score(Zk, lk)),
    }


def trustworthiness(
    Z: np.ndarray, Y2: np.ndarray, *, n_neighbors: int = 10, sample_size: int = 5000, random_state: int | None = 0
) -> float:
    """How well the projection ``Y2`` (n, 2 or 3) keeps the neighbours of ``Z`` (n, d), in [0, 1].

    scikit-learn's trustworthiness on a seeded sample of ``sample_size`` rows (it costs n^2).
    ``n_neighbors`` is capped below half the sample, as scikit-learn requires; NaN for fewer than 3 rows.
    """
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    Z = check_array(Z)
    Y2 = check_array(Y2)
    if len(Z) != len(Y2):
        raise InputError(f"Z has {len(Z)} rows but the projection has {len(Y2)}; they must match row for row.")
    if not (isinstance(n_neighbors, (int, np.integer)) and n_neighbors >= 1):
        raise InputError(f"n_neighbors must be a whole number >= 1, got {n_neighbors!r}.")
    idx = sample_rows(len(Z), sample_size, random_state)
    m = len(idx)
    if m < 3:
        return math.nan
    k = min(int(n_neighbors), (m - 1) // 2)
    return float(sk_trustworthiness(Z[idx], Y2[idx], n_neighbors=k))


def evaluate(
    Z: np.ndarray,
    labels: np.ndarray,
    *,
    y_true: Any = None,
    embedding: np.ndarray | None = None,
    n_neighbors: int = 10,
    sample_size: int = 5000,
    random_state: int | None = 0,
) -> dict[str, float | int | None]:
    """Every score that applies, as one flat JSON-ready dict (NaN -> None).

    Always: ``n_clusters`` (noise not counted), ``n_noise``, ``noise_fraction``, ``silhouette``,
    ``davies_bouldin``, ``calinski_harabasz``. With ``y_true`` (n,): ``acc``, ``nmi``, ``ari``, ``ami``.
    With ``embedding`` (n, 2 or 3): ``trustworthiness`` of it with respect to ``Z``.
    """
    Z, labels = _check_labels(Z, labels)
    n_noise = int((labels == NOISE).sum())
    scores: dict[str, Any] = {
        "n_clusters": len(np.unique(labels[labels != NOISE])),
        "n_noise": n_noise,
        "noise_fraction": n_noise / len(labels),
    }
    scores.update(internal_metrics(Z, labels, sample_size=sample_size, random_state=random_state))
    if y_true is not None:
        scores.update(external_metrics(y_true, labels))
    if embedding is not None:
        scores["trustworthiness"] = trustworthiness(
            Z, embedding, n_neighbors=n_neighbors, sample_size=sample_size, random_state=random_state
        )
    return {k: v if isinstance(v, int) else json_float(v) for k, v in scores.items()}


def _check_labels(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Z = check_array(Z)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(Z):
        raise InputError(f"labels must be 1-D with one entry per row of Z ({len(Z)}); got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"cluster labels must be integers (-1 for noise); got dtype {labels.dtype}.")
    return Z, labels.astype(np.int64)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (JSON- and dict-key-friendly)."""
    return value.item() if isinstance(value, np.generic) else value
