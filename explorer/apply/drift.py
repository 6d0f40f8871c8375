"""Drift: how new data applied to a run differs from the data the run was made on.

Three views, each with a stated rule for "drifted" that a resample of the training data does not meet:

- clusters: each cluster's share then (training) and now (new rows); drifted when the share moved by
  at least ``SHARE_CHANGE`` (5 points) and by more than 3 standard errors of a share of that many rows;
- "like none of the clusters": the share of new rows whose anomaly score is above the run's own 99th
  percentile (1% of the training rows by construction); drifted at 2% or more and above 1% by more
  than 3 standard errors;
- per column (tables): numbers by the two-sample Kolmogorov-Smirnov statistic and the shift of the
  median in training interquartile ranges; categories by the total variation distance between the
  level shares (unseen levels count as their own); drifted at KS >= 0.1 (with p < 0.01) or TVD >= 0.1;
  free text by the total variation distance between the shares of its words (English stop words out; the words
  the explanations find, :mod:`explorer.data.text_terms`), and the share of the new texts' words never seen in
  training; drifted where that distance exceeds the one between a sample of as many training texts and the rest
  of them by ``TEXT_TVD_DRIFT`` or more (a sample's distance is large by itself when the texts are few: words are
  many).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SHARE_CHANGE = 0.05
UNUSUAL_QUANTILE = 0.99
UNUSUAL_DRIFT = 0.02
KS_DRIFT = 0.1
KS_P = 0.01
TVD_DRIFT = 0.1
Z_SIGNIFICANT = 3.0
TEXT_TVD_DRIFT = 0.1
TEXT_ROWS = 50_000  # texts compared at most (a seeded sample of each side)


@dataclass
class ClusterShare:
    cluster: int
    name: str
    then: float
    now: float
    drifted: bool


@dataclass
class ColumnShift:
    column: str
    kind: str  # numeric | categorical | text
    statistic: str  # "KS" | "TVD" | "TVD of words"
    value: float
    median_shift: float | None  # numbers: (median now - median then) / training IQR
    drifted: bool
    missing_then: float = 0.0  # share of missing cells
    missing_now: float = 0.0
    new_words: float | None = None  # text: the share of the new texts' words never seen in training


@dataclass
class DriftReport:
    """Drift of ``n_new`` applied rows against the ``n_train`` rows of the run."""

    n_train: int
    n_new: int
    clusters: list[ClusterShare]
    unusual_threshold: float  # the run's 99th-percentile anomaly score
    unusual_share: float  # share of new rows above it
    unusual_drifted: bool
    columns: list[ColumnShift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return self.unusual_drifted or any(c.drifted for c in self.clusters) or any(c.drifted for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["drifted"] = self.drifted
        return out

    def to_text(self) -> str:
        lines = [
            f"drift of {self.n_new:,} new rows against the run's {self.n_train:,}: "
            + ("something changed" if self.drifted else "nothing drifted by the stated rules")
        ]
        lines.append("  cluster shares (then -> now):")
        for c in self.clusters:
            lines.append(f"    [{c.cluster}] {c.name}: {c.then:.1%} -> {c.now:.1%}{'   DRIFTED' if c.drifted else ''}")
        lines.append(
            f"  like none of the clusters (anomaly above the run's 99th percentile, {self.unusual_threshold:.4g}): "
            f"{self.unusual_share:.1%} of the new rows (1% of the run's){'   DRIFTED' if self.unusual_drifted else ''}"
        )
        if self.columns:
            lines.append("  columns, most shifted first:")
            for s in sorted(self.columns, key=lambda s: -s.value)[:15]:
                med = f", median moved {s.median_shift:+.2f} IQR" if s.median_shift is not None else ""
                med += f", {s.new_words:.1%} of the words new" if s.new_words is not None else ""
                lines.append(
                    f"    {s.column} ({s.kind}): {s.statistic} {s.value:.3f}{med}{'   DRIFTED' if s.drifted else ''}"
                )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _significant(p_then: float, p_now: float, n_now: int) -> bool:
    se = np.sqrt(max(p_then * (1 - p_then), 1e-12) / max(n_now, 1))
    return bool(abs(p_now - p_then) > Z_SIGNIFICANT * se)


def drift_report(
    train_labels: np.ndarray,
    new_labels: np.ndarray,
    names: dict[int, str],
    train_anomaly: np.ndarray,
    new_anomaly: np.ndarray,
    train_columns: dict[str, np.ndarray] | None = None,
    new_columns: dict[str, np.ndarray] | None = None,
    texts: Collection[str] = (),
) -> DriftReport:
    """Compare the training rows with new ones: labels (n,) / (m,), anomaly scores, and optionally raw
    column values by name (float arrays with NaN for numbers, object arrays with None for categories and for the
    columns of free text named in ``texts``)."""
    from scipy.stats import ks_2samp

    n, m = len(train_labels), len(new_labels)
    ks = sorted(set(np.unique(train_labels).tolist()) | set(np.unique(new_labels).tolist()))
    shares = []
    for c in ks:
        then, now = float(np.mean(train_labels == c)), float(np.mean(new_labels == c))
        shares.append(
            ClusterShare(
                int(c),
                names.get(int(c), "noise" if c < 0 else f"cluster {c}"),
                then,
                now,
                bool(abs(now - then) >= SHARE_CHANGE and _significant(then, now, m)),
            )
        )
    threshold = float(np.quantile(train_anomaly, UNUSUAL_QUANTILE)) if len(train_anomaly) else float("inf")
    unusual = float(np.mean(new_anomaly > threshold)) if m else 0.0
    unusual_drifted = unusual >= UNUSUAL_DRIFT and _significant(1 - UNUSUAL_QUANTILE, unusual, m)
    report = DriftReport(n, m, shares, threshold, unusual, bool(unusual_drifted))
    for col, before in (train_columns or {}).items():
        after = (new_columns or {}).get(col)
        if after is None:
            continue
        if col in texts:
            moved = text_shift(col, before, after)
            if moved is not None:
                report.columns.append(moved)
            continue
        if before.dtype.kind == "f":
            b, a = before[~np.isnan(before)], after[~np.isnan(after)]
            if len(b) < 2 or len(a) < 2:
                continue
            res = ks_2samp(b, a)
            q1, q3 = np.quantile(b, [0.25, 0.75])
            iqr = q3 - q1 if q3 > q1 else (np.std(b) or 1.0)
            shift = float((np.median(a) - np.median(b)) / iqr)
            report.columns.append(
                ColumnShift(
                    col,
                    "numeric",
                    "KS",
                    float(res.statistic),
                    shift,
                    bool(res.statistic >= KS_DRIFT and res.pvalue < KS_P),
                    float(np.isnan(before).mean()),
                    float(np.isnan(after).mean()),
                )
            )
        else:
            bm, am = _present(before), _present(after)
            b, a = before[bm].astype(str), after[am].astype(str)
            if not len(b) or not len(a):
                continue
            import pandas as pd

            pb = pd.Series(b).value_counts(normalize=True)
            pa = pd.Series(a).value_counts(normalize=True)
            tvd = float(0.5 * pb.sub(pa, fill_value=0.0).abs().sum())
            report.columns.append(
                ColumnShift(
                    col,
                    "categorical",
                    "TVD",
                    tvd,
                    None,
                    bool(tvd >= TVD_DRIFT),
                    float(1 - bm.mean()),
                    float(1 - am.mean()),
                )
            )
    return report


def _present(values: np.ndarray) -> np.ndarray:
    return np.array([v is not None and v == v for v in values], dtype=bool)


def text_shift(column: str, before: np.ndarray, after: np.ndarray, random_state: int = 0) -> ColumnShift | None:
    """How the words of a text column moved: texts (n,) then and (m,) now, object arrays with None missing.
    None where either side has too few texts with a word."""
    rng = np.random.default_rng(random_state)
    bm, am = _present(before), _present(after)
    b, a = [str(x) for x in before[bm]], [str(x) for x in after[am]]
    b = [b[i] for i in rng.permutation(len(b))[:TEXT_ROWS]]
    a = [a[i] for i in rng.permutation(len(a))[:TEXT_ROWS]]
    if len(b) < 4 or not a:
        return None
    sample = np.zeros(len(b), dtype=bool)  # as many training texts as new ones (at most half), against the rest
    sample[rng.choice(len(b), min(len(a), len(b) // 2), replace=False)] = True
    rest, drawn = [b[i] for i in np.flatnonzero(~sample)], [b[i] for i in np.flatnonzero(sample)]
    now, baseline = word_distance(b, a), word_distance(rest, drawn)
    if now is None or baseline is None:
        return None
    return ColumnShift(
        column,
        "text",
        "TVD of words",
        now[0],
        None,
        bool(now[0] >= baseline[0] + TEXT_TVD_DRIFT),
        float(1 - bm.mean()),
        float(1 - am.mean()),
        new_words=now[1],
    )


def word_distance(then: list[str], now: list[str]) -> tuple[float, float] | None:
    """(total variation distance between the shares of the words (stop words out) of the texts ``then`` and
    ``now``, the share of ``now``'s words that ``then`` never uses); None where either has no word."""
    from explorer.data.encoder_text import TEXT_MAX_CHARS  # each cell read as the encoder reads it
    from explorer.data.text_terms import word_counter  # the words the explanations find too

    then, now = [t[:TEXT_MAX_CHARS] for t in then], [t[:TEXT_MAX_CHARS] for t in now]
    try:
        vectorizer = word_counter().fit(then)
    except ValueError:  # no word in the texts then
        return None
    words = vectorizer.build_analyzer()
    total = sum(len(words(t)) for t in now)
    if not total:
        return None
    p_then = np.asarray(vectorizer.transform(then).sum(axis=0)).ravel().astype(np.float64)
    p_now = np.asarray(vectorizer.transform(now).sum(axis=0)).ravel() / total  # the unseen words' share is the rest
    new = float(1 - p_now.sum())
    return float(0.5 * (np.abs(p_then / p_then.sum() - p_now).sum() + new)), new
