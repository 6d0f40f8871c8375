"""Two clusterings of the same rows, side by side: which clusters correspond, which split or merge.

:func:`compare_labels` compares two labelings (n,) row for row; :func:`compare_runs` does it for two
runs (:class:`~explorer.pipeline.RunResult`) after checking that they cover the same rows (by row id,
realigning when the order differs). Both return a :class:`RunComparison`: the contingency table
(A's clusters by B's, HDBSCAN noise -1 as its own row / column "noise"), ARI and NMI, the Hungarian
matching with each pair's Jaccard index, the splits and merges, the clusters left unmatched, and one
plain sentence per finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult

NOISE = -1
NOISE_NAME = "noise"
DEFAULT_MIN_SHARE = 0.2  # a part of a split / merge holds at least this share of the cluster it comes from
SIDES = ("A", "B")


@dataclass(frozen=True)
class MatchedPair:
    """A's cluster ``a`` matched one-to-one with B's cluster ``b`` (Hungarian, most shared rows).

    ``share_of_a``: the share of A's cluster found in B's; ``share_of_b`` the reverse;
    ``jaccard``: shared rows / rows in either."""

    a: int
    b: int
    rows: int
    jaccard: float
    share_of_a: float
    share_of_b: float


@dataclass(frozen=True)
class Part:
    """One piece of a split or merge: a cluster of the other side and the share of the whole it holds."""

    cluster: int
    rows: int
    share: float


@dataclass(frozen=True)
class Split:
    """A cluster of one side whose rows go to 2+ clusters of the other side, each part holding at
    least ``min_share`` of it. In ``splits`` the cluster is A's and the parts B's; in ``merges``
    the cluster is B's and the parts A's. Parts largest first; noise is never a part."""

    cluster: int
    rows: int
    parts: tuple[Part, ...]


@dataclass
class RunComparison:
    """Everything :func:`compare_labels` found. ``counts`` is (k_a, k_b) rows in both: rows
    ``labels_a`` (A's clusters), columns ``labels_b`` (B's), ordered so the matched pairs lie on the
    diagonal (``pairs[i]`` is row i and column i), then each side's unmatched clusters, noise last."""

    n: int
    labels_a: list[int]
    labels_b: list[int]
    counts: np.ndarray  # (k_a, k_b) int64
    ari: float
    nmi: float
    pairs: list[MatchedPair]
    splits: list[Split]
    merges: list[Split]
    unmatched_a: list[int]
    unmatched_b: list[int]
    findings: list[str]
    min_share: float = DEFAULT_MIN_SHARE
    names_a: dict[int, str] = field(default_factory=dict)
    names_b: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # how the rows were lined up, in sentences
    run_a: str | None = None  # the runs' ids, when they came from runs
    run_b: str | None = None

    def name_a(self, cluster: int) -> str:
        return _name(cluster, self.names_a)

    def name_b(self, cluster: int) -> str:
        return _name(cluster, self.names_b)

    @property
    def row_names(self) -> list[str]:
        return [self.name_a(c) for c in self.labels_a]

    @property
    def column_names(self) -> list[str]:
        return [self.name_b(c) for c in self.labels_b]

    def pair_sentence(self, pair: MatchedPair) -> str:
        return (
            f"A's {self.name_a(pair.a)} matches B's {self.name_b(pair.b)}: {pair.rows:,} rows in both, "
            f"{_pct(pair.share_of_a)} of A's {self.name_a(pair.a)}, Jaccard {pair.jaccard:.2f}."
        )

    def frame(self) -> pd.DataFrame:
        """The contingency table as a DataFrame: index A's cluster names, columns B's."""
        import pandas as pd

        return pd.DataFrame(
            self.counts, index=pd.Index(self.row_names, name="A"), columns=pd.Index(self.column_names, name="B")
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (plain ints, floats, strings and lists)."""

        def split(s: Split) -> dict[str, Any]:
            return {
                "cluster": s.cluster,
                "rows": s.rows,
                "parts": [{"cluster": p.cluster, "rows": p.rows, "share": p.share} for p in s.parts],
            }

        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "n": self.n,
            "ari": self.ari,
            "nmi": self.nmi,
            "min_share": self.min_share,
            "contingency": {
                "rows": self.labels_a,
                "columns": self.labels_b,
                "row_names": self.row_names,
                "column_names": self.column_names,
                "counts": self.counts.tolist(),
            },
            "pairs": [
                {
                    "a": p.a,
                    "b": p.b,
                    "rows": p.rows,
                    "jaccard": p.jaccard,
                    "share_of_a": p.share_of_a,
                    "share_of_b": p.share_of_b,
                }
                for p in self.pairs
            ],
            "splits": [split(s) for s in self.splits],
            "merges": [split(s) for s in self.merges],
            "unmatched_a": self.unmatched_a,
            "unmatched_b": self.unmatched_b,
            "findings": list(self.findings),
            "notes": list(self.notes),
        }


def _name(cluster: int, names: Mapping[int, str]) -> str:
    """'cluster 3 "high age, plan premium"', or "cluster 3" without a name (the number stays: names
    can repeat across runs)."""
    if cluster == NOISE:
        return NOISE_NAME
    name = names.get(cluster)
    return f'cluster {cluster} "{name}"' if name and name != f"cluster {cluster}" else f"cluster {cluster}"


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _as_labels(labels: Any, side: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise InputError(f"{side}'s cluster labels must be one label per row (1-D); got shape {arr.shape}.")
    if arr.dtype.kind not in "iub" and not (
        arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
    ):
        raise InputError(f"{side}'s cluster labels must be whole numbers (-1 for noise); got {arr.dtype} values.")
    arr = arr.astype(np.int64)
    if (arr < NOISE).any():
        raise InputError(f"{side}'s cluster labels must be 0 or more, or -1 for noise; got {int(arr.min())}.")
    return arr


def compare_labels(
    labels_a: Any,
    labels_b: Any,
    *,
    names_a: Mapping[int, str] | None = None,
    names_b: Mapping[int, str] | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
) -> RunComparison:
    """Compare two clusterings of the same n rows, row for row.

    Args:
        labels_a, labels_b: (n,) whole numbers, -1 for noise.
        names_a, names_b: optional cluster -> name, used in the sentences and the table (default "cluster N").
        min_share: a cluster splits when 2+ clusters of the other side each take at least this share of it.
    """
    a, b = _as_labels(labels_a, "A"), _as_labels(labels_b, "B")
    if len(a) != len(b):
        raise InputError(
            f"A has labels for {len(a):,} rows and B for {len(b):,}; compare two clusterings of the same rows."
        )
    if len(a) == 0:
        raise InputError("there are no rows to compare.")
    if not 0.0 < float(min_share) <= 0.5:
        raise InputError(f"min_share must be above 0 and at most 0.5 (a part of a split); got {min_share}.")
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    ids_a, codes_a = np.unique(a, return_inverse=True)
    ids_b, codes_b = np.unique(b, return_inverse=True)
    counts = np.bincount(codes_a * len(ids_b) + codes_b, minlength=len(ids_a) * len(ids_b)).reshape(
        len(ids_a), len(ids_b)
    )
    pairs = _match(counts, ids_a, ids_b)
    partner = {p.a: p.b for p in pairs}
    matched_a = sorted(partner)
    matched_b = [partner[c] for c in matched_a]
    order_a = (
        matched_a + [int(c) for c in ids_a if c != NOISE and c not in partner] + ([NOISE] if NOISE in ids_a else [])
    )
    order_b = (
        matched_b + [int(c) for c in ids_b if c != NOISE and c not in matched_b] + ([NOISE] if NOISE in ids_b else [])
    )
    rows = [int(np.searchsorted(ids_a, c)) for c in order_a]
    cols = [int(np.searchsorted(ids_b, c)) for c in order_b]
    counts = counts[np.ix_(rows, cols)].astype(np.int64)
    pairs.sort(key=lambda p: p.a)

    splits = _splits(counts, order_a, order_b, min_share)
    merges = _splits(counts.T, order_b, order_a, min_share)
    unmatched_a = [c for c in order_a if c != NOISE and c not in partner]
    unmatched_b = [c for c in order_b if c != NOISE and c not in set(matched_b)]
    result = RunComparison(
        n=len(a),
        labels_a=order_a,
        labels_b=order_b,
        counts=counts,
        ari=float(adjusted_rand_score(a, b)),
        nmi=float(normalized_mutual_info_score(a, b)),
        pairs=pairs,
        splits=splits,
        merges=merges,
        unmatched_a=unmatched_a,
        unmatched_b=unmatched_b,
        findings=[],
        min_share=float(min_share),
        names_a={int(k): str(v) for k, v in (names_a or {}).items()},
        names_b={int(k): str(v) for k, v in (names_b or {}).items()},
    )
    result.findings = _findings(result)
    return result


def _match(counts: np.ndarray, ids_a: np.ndarray, ids_b: np.ndarray) -> list[MatchedPair]:
    """The one-to-one matching of A's and B's clusters (noise left out) that keeps the most rows
    together; pairs sharing no row are dropped."""
    from scipy.optimize import linear_sum_assignment

    keep_a = np.flatnonzero(ids_a != NOISE)
    keep_b = np.flatnonzero(ids_b != NOISE)
    if len(keep_a) == 0 or len(keep_b) == 0:
        return []
    sub = counts[np.ix_(keep_a, keep_b)]
    size_a, size_b = counts.sum(axis=1), counts.sum(axis=0)
    pairs = []
    for i, j in zip(*linear_sum_assignment(sub, maximize=True), strict=True):
        shared = int(sub[i, j])
        if shared == 0:
            continue
        ra, cb = keep_a[i], keep_b[j]
        pairs.append(
            MatchedPair(
                a=int(ids_a[ra]),
                b=int(ids_b[cb]),
                rows=shared,
                jaccard=shared / float(size_a[ra] + size_b[cb] - shared),
                share_of_a=shared / float(size_a[ra]),
                share_of_b=shared / float(size_b[cb]),
            )
        )
    return pairs


def _splits(counts: np.ndarray, rows: list[int], cols: list[int], min_share: float) -> list[Split]:
    """The row clusters (noise aside) whose rows go to 2+ column clusters (noise aside), each at least
    ``min_share`` of the row cluster."""
    out = []
    for i, c in enumerate(rows):
        total = int(counts[i].sum())
        if c == NOISE or total == 0:
            continue
        parts = [
            Part(int(cols[j]), int(counts[i, j]), counts[i, j] / total)
            for j in range(len(cols))
            if cols[j] != NOISE and counts[i, j] / total >= min_share
        ]
        if len(parts) >= 2:
            out.append(Split(int(c), total, tuple(sorted(parts, key=lambda p: -p.rows))))
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _findings(r: RunComparison) -> list[str]:
    """One plain sentence per split, merge, unmatched cluster and noticeable share of noise."""
    out = []
    for s in r.splits:
        parts = _join([f"{r.name_b(p.cluster)} ({_pct(p.share)})" for p in s.parts])
        out.append(f"A's {r.name_a(s.cluster)} splits into B's {parts}.")
    for s in r.merges:
        parts = _join([f"{r.name_a(p.cluster)} ({_pct(p.share)})" for p in s.parts])
        out.append(f"B's {r.name_b(s.cluster)} merges A's {parts}.")
    col_sizes, row_sizes = r.counts.sum(axis=0), r.counts.sum(axis=1)
    for c in r.unmatched_a:
        i = r.labels_a.index(c)
        j = int(np.argmax(r.counts[i]))
        out.append(
            f"A's {r.name_a(c)} ({row_sizes[i]:,} rows) has no counterpart in B; most of it "
            f"({_pct(r.counts[i, j] / row_sizes[i])}) is in B's {r.name_b(r.labels_b[j])}."
        )
    for c in r.unmatched_b:
        j = r.labels_b.index(c)
        i = int(np.argmax(r.counts[:, j]))
        out.append(
            f"B's {r.name_b(c)} ({col_sizes[j]:,} rows) has no counterpart in A; most of it "
            f"({_pct(r.counts[i, j] / col_sizes[j])}) comes from A's {r.name_a(r.labels_a[i])}."
        )
    if NOISE in r.labels_b:  # A's clusters that B leaves largely as noise, and the reverse
        j = r.labels_b.index(NOISE)
        for i, c in enumerate(r.labels_a):
            if c != NOISE and row_sizes[i] and r.counts[i, j] / row_sizes[i] >= r.min_share:
                out.append(f"B leaves {_pct(r.counts[i, j] / row_sizes[i])} of A's {r.name_a(c)} as noise.")
    if NOISE in r.labels_a:
        i = r.labels_a.index(NOISE)
        for j, c in enumerate(r.labels_b):
            if c != NOISE and col_sizes[j] and r.counts[i, j] / col_sizes[j] >= r.min_share:
                out.append(f"{_pct(r.counts[i, j] / col_sizes[j])} of B's {r.name_b(c)} is noise in A.")
    if not out:
        if r.pairs and all(p.jaccard == 1.0 for p in r.pairs):
            out.append(
                "The two clusterings are the same: every cluster of A has a counterpart in B with exactly its rows."
            )
        else:
            weakest = min(r.pairs, key=lambda p: p.jaccard) if r.pairs else None
            tail = (
                f" (the weakest pair, A's {r.name_a(weakest.a)} and B's {r.name_b(weakest.b)}, "
                f"has Jaccard {weakest.jaccard:.2f})"
                if weakest
                else ""
            )
            out.append(f"Every cluster of A has one counterpart in B, with no split or merge{tail}.")
    return out


# -- runs ------------------------------------------------------------------------------------------------
def align_rows(ids_a: Any, ids_b: Any) -> tuple[np.ndarray | None, list[str]]:
    """Where each of A's rows is in B: (index into B's rows (n,) or None when the order is the same,
    notes). An InputError that says what differs when the two do not hold the same row ids."""
    import pandas as pd

    a, b = np.asarray(ids_a).astype(str), np.asarray(ids_b).astype(str)
    if len(a) != len(b):
        raise InputError(
            f"run A has {len(a):,} rows and run B {len(b):,}: runs can be compared only on the same "
            "data; pick two runs of one dataset."
        )
    if np.array_equal(a, b):
        return None, []
    index_b = pd.Index(b)
    if not index_b.is_unique or not pd.Index(a).is_unique:
        raise InputError(
            "the row ids of a run repeat, so its rows cannot be lined up with the other run's; "
            "load the data with a column of unique ids."
        )
    where = index_b.get_indexer(a)
    missing = a[where < 0]
    if len(missing):
        examples = ", ".join(repr(str(x)) for x in missing[:3])
        extra = b[~index_b.isin(a)]
        raise InputError(
            f"the runs are on different data: {len(missing):,} of run A's {len(a):,} row ids are "
            f"not in run B (e.g. {examples}), and B has {len(extra):,} ids A lacks; "
            "compare two runs of the same data."
        )
    return where, ["Run B lists the same rows in another order; its rows were lined up with A's by id."]


def compare_runs(
    a: RunResult,
    b: RunResult,
    *,
    names_a: Mapping[int, str] | None = None,
    names_b: Mapping[int, str] | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
) -> RunComparison:
    """Compare the clusterings of two runs on the same data (same rows, by ``dataset.ids``).

    Rows listed in another order are lined up by id (and a note says so); runs on different rows
    raise an InputError naming what differs. The clusters' names default to the runs' own (their
    explanations, as made or as a person renamed them). See :func:`compare_labels` for the rest."""
    explained_a, explained_b = getattr(a, "explanation", None), getattr(b, "explanation", None)
    if names_a is None and explained_a is not None:
        names_a = explained_a.names
    if names_b is None and explained_b is not None:
        names_b = explained_b.names
    where, notes = align_rows(a.dataset.ids, b.dataset.ids)
    labels_b = b.clusters.labels if where is None else np.asarray(b.clusters.labels)[where]
    result = compare_labels(a.clusters.labels, labels_b, names_a=names_a, names_b=names_b, min_share=min_share)
    if a.dataset.name != b.dataset.name:
        notes.append(
            f"The data are named differently ('{a.dataset.name}' and '{b.dataset.name}') but hold the same rows."
        )
    result.notes, result.run_a, result.run_b = notes, a.run_id, b.run_id
    return result
