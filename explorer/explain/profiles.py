"""What each cluster is, in the data's own columns: its size, its profile beside the rest, and the
columns that set it apart.

Computed from the columns as read (before imputation, log transforms, scaling and one-hot encoding),
so a person reads "age 71 (65-76) vs 41", not a z-score. Missing values are counted, never filled.

One yardstick ranks numbers and categories together: the **separation** of a column, how well that
column alone tells a member of the cluster from a row of the rest, ``2 * AUC - 1`` in [0, 1]
(0: no better than chance, 1: perfectly). For a number it is the absolute value of Cliff's delta (the
rank-biserial effect: the share of (member, other) pairs where the member's value is higher, minus the
share where it is lower; Cliff 1993), so skewed columns and outliers do not inflate it the way a mean
difference would. For a category it is the same AUC with each level scored by the share of its rows
that are in the cluster, the best a single category can do. Missing is a level of its own for
categories; for numbers the rank effect is taken over the rows that have a value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.data.encoder_dates import DAY_NS, day_text
from explorer.errors import InputError
from explorer.explain.words import TEXT_NAME_TERMS, TermShare, TextProfile, text_profiles
from explorer.sampling import sample_rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MISSING = "(missing)"  # the level a missing categorical value is counted under
PROFILE_SAMPLE = 200_000  # more rows than this: profiles and effects on a seeded sample of this many
MAX_LEVELS_SHOWN = 8  # levels listed per categorical column and cluster (the over-represented first)


@dataclass
class NumericSummary:
    """Median and interquartile range of the rows that have a value; ``missing``: rows without."""

    median: float
    q1: float
    q3: float
    missing: int
    unit: str = ""  # "date": the values are days since 1970-01-01, shown as dates

    def text(self) -> str:
        if math.isnan(self.median):
            return "all missing"
        if self.unit == "date":  # "2026-09 (2026-08 to 2026-11)": to the day, month or year as the spread asks
            spread = self.q3 - self.q1
            precision = "year" if spread > 3 * 365 else "month" if spread > 60 else "day"
            return (
                f"{day_text(self.median, precision)} ({day_text(self.q1, precision)} to {day_text(self.q3, precision)})"
            )
        return f"{number(self.median)} ({number(self.q1)}-{number(self.q3)})"


@dataclass
class NumericProfile:
    column: str
    cluster: NumericSummary
    rest: NumericSummary
    effect: float  # Cliff's delta of the cluster against the rest, in [-1, 1] (> 0: higher in the cluster)

    @property
    def separation(self) -> float:
        return abs(self.effect)


@dataclass
class LevelShare:
    """One level of a categorical column in one cluster: its count and share there, its share
    overall, and the lift (share in the cluster / share overall)."""

    level: str
    count: int
    share: float
    overall: float
    lift: float


@dataclass
class CategoricalProfile:
    column: str
    levels: list[LevelShare]  # over-represented first (by lift), at most MAX_LEVELS_SHOWN
    missing: int
    separation: float  # 2 * AUC - 1 of the column's levels as a score for membership, in [0, 1]


@dataclass
class Distinction:
    """A column that sets a cluster apart: how much (``separation``), which way (``direction``:
    "higher" / "lower" for numbers, the over-represented level for categories) and a sentence."""

    column: str
    kind: str  # "numeric" | "categorical" | "text"
    separation: float
    direction: str
    sentence: str


@dataclass
class ClusterProfile:
    cluster: int
    size: int
    share: float
    numeric: list[NumericProfile] = field(default_factory=list)
    categorical: list[CategoricalProfile] = field(default_factory=list)
    text: list[TextProfile] = field(default_factory=list)
    distinctions: list[Distinction] = field(default_factory=list)  # every column, most distinguishing first


def number(x: float) -> str:
    """A number as a person writes it: 71, 41.5, 55,300, 0.034."""
    if x is None or not math.isfinite(x):
        return "-"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100 or float(x).is_integer():
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def column_kinds(frame: pd.DataFrame, categorical: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(numeric columns, categorical columns) of ``frame``: the ``categorical`` ones and every column
    that is not numbers or dates are categories; booleans are categories; dates count as numbers."""
    import pandas as pd

    cats = set(categorical)
    numeric, categories = [], []
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col) and c not in cats:
            numeric.append(c)
        elif c in cats or pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            categories.append(c)
        else:
            numeric.append(c)
    return numeric, categories


def column_values(series: pd.Series) -> np.ndarray:
    """A numeric column (n,) as float64, NaN missing; a column of dates (datetime64) as days since 1970-01-01."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
        days = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64) / DAY_NS
        return np.where(stamps.isna().to_numpy(), np.nan, days)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _summary(values: np.ndarray, unit: str = "") -> NumericSummary:
    have = values[np.isfinite(values)]  # an infinite value counts as missing, as in the rules (no quartile of +-inf)
    missing = int(len(values) - len(have))
    if not len(have):
        return NumericSummary(math.nan, math.nan, math.nan, missing, unit)
    q1, med, q3 = np.percentile(have, [25, 50, 75])
    return NumericSummary(float(med), float(q1), float(q3), missing, unit)


def cliffs_delta(ranks: np.ndarray, member: np.ndarray) -> float:
    """Cliff's delta of the members against the others from the (average) ranks of all values."""
    n1 = int(member.sum())
    n0 = len(member) - n1
    if n1 == 0 or n0 == 0:
        return 0.0
    u = float(ranks[member].sum()) - n1 * (n1 + 1) / 2
    return 2 * u / (n1 * n0) - 1


def level_separation(inside: np.ndarray, outside: np.ndarray) -> float:
    """2 * AUC - 1 of levels as a membership score, from per-level counts inside and outside the cluster."""
    a_tot, b_tot = float(inside.sum()), float(outside.sum())
    if a_tot == 0 or b_tot == 0:
        return 0.0
    score = inside / np.maximum(inside + outside, 1)
    order = np.argsort(score)  # ascending: the outside rows of lower-scored levels lie below
    below, auc = 0.0, 0.0
    s_sorted = score[order]
    i = 0
    while i < len(order):  # levels with equal scores tie
        j = i
        while j + 1 < len(order) and s_sorted[j + 1] == s_sorted[i]:
            j += 1
        tie = order[i : j + 1]
        a, b = inside[tie].sum(), outside[tie].sum()
        auc += a * (below + 0.5 * b)
        below += b
        i = j + 1
    return float(max(0.0, 2 * auc / (a_tot * b_tot) - 1))


def profile_clusters(
    frame: pd.DataFrame,
    labels: np.ndarray,
    *,
    categorical: Sequence[str] = (),
    text: Sequence[str] = (),
    random_state: int = 0,
) -> list[ClusterProfile]:
    """One :class:`ClusterProfile` per cluster of ``labels`` (n,) over the columns of ``frame`` (n rows,
    as read); the ``text`` columns by their words (:mod:`explorer.explain.words`). Labels below 0 (HDBSCAN's
    noise) are profiled too, as their own group. Above
    ``PROFILE_SAMPLE`` rows the profiles are computed on a seeded sample of that many rows."""
    import pandas as pd
    from scipy.stats import rankdata

    labels = np.asarray(labels)
    if len(frame) != len(labels):
        raise InputError(f"the table has {len(frame)} rows but there are {len(labels)} cluster labels.")
    if len(labels) > PROFILE_SAMPLE:
        keep = sample_rows(len(labels), PROFILE_SAMPLE, random_state)
        frame, labels = frame.iloc[keep], labels[keep]
    n = len(labels)
    clusters = [int(c) for c in np.unique(labels)]
    profiles = {c: ClusterProfile(c, int((labels == c).sum()), float((labels == c).mean())) for c in clusters}
    numeric, categories = column_kinds(frame.drop(columns=list(text)), categorical)
    for col in text:
        for c, words in text_profiles(frame[col], labels, clusters).items():
            profiles[c].text.append(words)
    for col in numeric:
        values = column_values(frame[col])
        unit = "date" if pd.api.types.is_datetime64_any_dtype(frame[col]) else ""
        have = ~np.isnan(values)
        ranks = rankdata(values[have])
        for c in clusters:
            member = labels == c
            delta = cliffs_delta(ranks, member[have])
            profiles[c].numeric.append(
                NumericProfile(col, _summary(values[member], unit), _summary(values[~member], unit), delta)
            )
    for col in categories:
        raw = frame[col]
        missing = raw.isna().to_numpy()
        written = raw.astype(str).to_numpy(dtype=object)
        written[missing] = MISSING
        levels, codes = np.unique(written.astype(str), return_inverse=True)
        overall = np.bincount(codes, minlength=len(levels)).astype(float)
        for c in clusters:
            member = labels == c
            inside = np.bincount(codes[member], minlength=len(levels)).astype(float)
            outside = overall - inside
            size = max(float(member.sum()), 1.0)
            shares = [
                LevelShare(
                    str(levels[i]),
                    int(inside[i]),
                    inside[i] / size,
                    overall[i] / n,
                    (inside[i] / size) / (overall[i] / n),
                )
                for i in range(len(levels))
                if inside[i] > 0
            ]
            shares.sort(key=lambda s: (-s.lift, -s.count))
            profiles[c].categorical.append(
                CategoricalProfile(
                    col, shares[:MAX_LEVELS_SHOWN], int(missing[member].sum()), level_separation(inside, outside)
                )
            )
    for p in profiles.values():
        p.distinctions = distinctions(p)
    return [profiles[c] for c in clusters]


def distinctions(profile: ClusterProfile) -> list[Distinction]:
    """Every column of the profile as a :class:`Distinction`, most distinguishing first. A cluster of every
    row (a run that found no groups, k = 1) has nothing to stand apart from: each column is described."""
    out = []
    whole = profile.share >= 1.0
    for num in profile.numeric:
        way = "typical" if whole else "higher" if num.effect > 0 else "lower"
        if num.cluster.unit == "date" and not whole:
            way = "later" if num.effect > 0 else "earlier"
        out.append(
            Distinction(
                num.column,
                "numeric",
                num.separation,
                way,
                f"{num.column}: {num.cluster.text()}"
                if whole
                else f"{num.column} {way}: {num.cluster.text()} vs {num.rest.text()}",
            )
        )
    for cat in profile.categorical:
        top = (max(cat.levels, key=lambda s: s.count) if whole else cat.levels[0]) if cat.levels else None
        if top is None:
            continue
        what = f"{cat.column} missing" if top.level == MISSING else f"{cat.column} = {top.level}"
        out.append(
            Distinction(
                cat.column,
                "categorical",
                cat.separation,
                top.level,
                f"{what}: {top.share:.0%} of the rows"
                if whole
                else f"{what}: {top.share:.0%} vs {top.overall:.0%} overall",
            )
        )
    for words in profile.text:
        if words.terms:
            terms = ", ".join(t.term for t in words.terms[:TEXT_NAME_TERMS])
            out.append(Distinction(words.column, "text", words.separation, terms, words.text()))
    out.sort(key=lambda d: -d.separation)
    return out


def to_dict(profile: ClusterProfile) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(profile)


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)  # JSON holds NaN as null


def _summary_from(d: dict[str, Any]) -> NumericSummary:
    return NumericSummary(_float(d["median"]), _float(d["q1"]), _float(d["q3"]), int(d["missing"]), d.get("unit", ""))


def from_dict(d: dict[str, Any]) -> ClusterProfile:
    return ClusterProfile(
        cluster=int(d["cluster"]),
        size=int(d["size"]),
        share=float(d["share"]),
        numeric=[
            NumericProfile(n["column"], _summary_from(n["cluster"]), _summary_from(n["rest"]), _float(n["effect"]))
            for n in d.get("numeric", [])
        ],
        categorical=[
            CategoricalProfile(
                c["column"], [LevelShare(**lv) for lv in c["levels"]], int(c["missing"]), float(c["separation"])
            )
            for c in d.get("categorical", [])
        ],
        text=[
            TextProfile(
                t["column"], [TermShare(**x) for x in t["terms"]], float(t["separation"]), list(t.get("examples", []))
            )
            for t in d.get("text", [])
        ],
        distinctions=[Distinction(**x) for x in d.get("distinctions", [])],
    )
