"""Dates and times of day as features: what the table encoder learns about a column of dates.

A date column gives its **age**: days before the reference date (the latest date of the training
rows, saved, so new rows are measured against the same day), filled, log(1 + x) when skewed, then
scaled like the other numbers; and, where they vary in the training rows, its **cycles** as sin/cos
pairs: the day of the week (when the dates are not all on one day of the month, which would make the
weekday noise), the month (when the dates span a year or more: over a shorter span the month only
repeats the age) and the hour (when the times of day differ). A column of times of day ("14:35")
gives the hour alone. Cycles are sin/cos pairs rather than a category's indicators because they keep
the order and the wrap-around (December is next to January, Sunday to Monday) in two features; each
pair is scaled by ``CYCLE_WEIGHT`` (1/2) so two rows at opposite points of a cycle are 1 apart, as
far as two rows one standard deviation apart in a number. A missing or unparseable date has age the
training median and every cycle 0 (the circle's centre: it pulls toward no phase). Two date columns side by side
also give their **span**, the days from one to the other (a tenure, a delay: :class:`SpanColumn`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.data.profiles import TIME_RE, mostly_match

if TYPE_CHECKING:
    import pandas as pd

CYCLE_WEIGHT = 0.5  # a sin/cos pair's radius: opposite phases are 1 apart, one standard deviation of a number
DAY_NS = 86_400 * 10**9
PERIODS = {"weekday": 7.0, "month": 12.0, "hour": 24.0}
MONTH_SPAN_DAYS = 365  # the month is a cycle only when the dates span this many days
SPAN_PAIRS = 3  # spans between consecutive date columns, at most
NUMERIC_DATE_RE = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b"  # "25/04/2024", "4.5.24", "03-04-2024"
ORDER_SAMPLE = 50_000  # cells read to decide whether dates are written day first


def day_first(text: pd.Series) -> bool:
    """Whether a column of date strings (missing dropped) writes numeric dates day first ("25/04/2024"): some
    first number above 12 and no second one (read month first, as pandas does, where every cell could be either)."""
    parts = text.iloc[:ORDER_SAMPLE].str.extract(NUMERIC_DATE_RE).dropna().astype(int)
    return bool(len(parts)) and bool((parts[0] > 12).any()) and not bool((parts[1] > 12).any())


def parse_dates(series: pd.Series) -> tuple[np.ndarray, bool]:
    """A column of dates (text, datetime64, date/time objects) -> (days since 1970-01-01 (n,) float64,
    NaN where missing or not a date; True when the column holds times of day alone, whose values are
    then hours since midnight in [0, 24)). Time zones are converted to UTC. Numeric dates are read day first for
    the whole column where :func:`day_first` says so, else month first."""
    import datetime

    import pandas as pd
    from pandas.api import types as pdt

    n = len(series)
    if pdt.is_datetime64_any_dtype(series):
        stamps = series
    else:
        present = series[series.notna()]
        sample = present.iloc[:1000]
        if len(sample) and all(isinstance(v, datetime.time) and not isinstance(v, datetime.datetime) for v in sample):
            hours = series.map(
                lambda v: v.hour + v.minute / 60 + v.second / 3600 if isinstance(v, datetime.time) else np.nan
            )
            return hours.to_numpy(dtype=np.float64), True
        strings = (
            series.astype(object).where(series.notna()).map(lambda v: v if v is None or v != v else str(v).strip())
        )
        text = strings.dropna()
        if mostly_match(text, TIME_RE, 0.9):
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
            hours = parsed.dt.hour + parsed.dt.minute / 60 + parsed.dt.second / 3600
            out = np.full(n, np.nan)
            out[series.index.get_indexer(text.index)] = hours.to_numpy(dtype=np.float64)
            return out, True
        stamps = pd.to_datetime(strings, errors="coerce", utc=True, format="mixed")
        if day_first(text):  # one order for the whole column, not a guess per cell ("03/04" beside "25/04")
            numeric = strings.str.match(NUMERIC_DATE_RE, na=False)
            stamps[numeric] = pd.to_datetime(strings[numeric], errors="coerce", utc=True, format="mixed", dayfirst=True)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
    ns[stamps.isna().to_numpy()] = np.nan
    return ns / DAY_NS, False


def day_text(day: float, precision: str = "day") -> str:
    """Days since 1970-01-01 -> "2026-11-30" (``precision`` "day"), "2026-11" ("month") or "2026" ("year")."""
    if not np.isfinite(day):
        return "-"
    stamp = np.datetime64(int(np.floor(day)), "D")
    return str(stamp)[: {"day": 10, "month": 7, "year": 4}[precision]]


def hour_text(hour: float) -> str:
    """Hours since midnight -> "14:35"."""
    if not np.isfinite(hour):
        return "-"
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _cycle_phase(days: np.ndarray, cycle: str) -> np.ndarray:
    """Days since 1970-01-01 (or hours, for "hour" of a time-of-day column) -> the cycle's value in [0, period)."""
    if cycle == "weekday":
        return np.mod(np.floor(days) + 3, 7)  # 1970-01-01 was a Thursday (Monday 0)
    if cycle == "month":
        stamps = np.floor(days).astype("int64").astype("datetime64[D]")
        return (stamps.astype("datetime64[M]").astype(np.int64) % 12).astype(np.float64)
    return np.mod(days, 1.0) * 24.0


@dataclass
class DateColumn:
    """A date (or time-of-day) column: ``reference`` (days since 1970-01-01, the training rows' latest
    date) and the age ``reference - date`` in days, filled with ``fill``, log(1 + x) when ``transform``
    is "log1p", then ``(x - center) / scale``; then a sin/cos pair per cycle in ``cycles``. A time-of-day
    column (``time_of_day``) has no age: its one cycle is the hour."""

    name: str
    reference: float
    fill: float
    cycles: list[str] = field(default_factory=list)
    time_of_day: bool = False
    transform: str | None = None
    center: float = 0.0
    scale: float = 1.0

    @property
    def width(self) -> int:
        return (0 if self.time_of_day else 1) + 2 * len(self.cycles)

    def feature_names(self) -> list[str]:
        age = [] if self.time_of_day else [f"{self.name} (days before {day_text(self.reference)})"]
        return age + [f"{self.name} ({cycle} {part})" for cycle in self.cycles for part in ("sin", "cos")]

    def ages(self, days: np.ndarray) -> np.ndarray:
        """Days since 1970-01-01 (n,) (NaN missing) -> the age (n,) float64 before scaling: filled, logged if fitted."""
        age = np.where(np.isnan(days), self.fill, self.reference - days)
        if self.transform == "log1p":
            age = np.log1p(np.maximum(age, -1 + 1e-12))
        return age

    def features(self, days: np.ndarray) -> np.ndarray:
        """Days since 1970-01-01 (hours for a time-of-day column) (n,), NaN missing -> features (n, width) float64."""
        parts = [] if self.time_of_day else [(self.ages(days) - self.center) / self.scale]
        missing = np.isnan(days)
        for cycle in self.cycles:
            source = days / 24.0 if self.time_of_day else days  # a time of day is a fraction of a day
            angle = 2 * np.pi * _cycle_phase(np.where(missing, 0.0, source), cycle) / PERIODS[cycle]
            parts += [
                np.where(missing, 0.0, CYCLE_WEIGHT * np.sin(angle)),
                np.where(missing, 0.0, CYCLE_WEIGHT * np.cos(angle)),
            ]
        return np.column_stack(parts) if parts else np.zeros((len(days), 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "date",
            "reference": self.reference,
            "fill": self.fill,
            "cycles": list(self.cycles),
            "time_of_day": self.time_of_day,
            "transform": self.transform,
            "center": self.center,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> DateColumn:
        return cls(
            str(spec["name"]),
            float(spec["reference"]),
            float(spec["fill"]),
            [str(c) for c in spec["cycles"]],
            bool(spec["time_of_day"]),
            spec.get("transform"),
            float(spec["center"]),
            float(spec["scale"]),
        )


def fit_date_column(
    name: str, days: np.ndarray, time_of_day: bool, *, is_skewed: Callable[[np.ndarray], bool] | None
) -> DateColumn:
    """Learn a :class:`DateColumn` from the training values (n,) of :func:`parse_dates` (at least one present).
    ``is_skewed``: the encoder's rule for log(1 + x) (None: no log), applied to the filled ages (n,)."""
    have = days[~np.isnan(days)]
    if time_of_day:
        hours = np.unique(np.floor(have))
        return DateColumn(name, 0.0, 0.0, ["hour"] if len(hours) >= 2 else [], True)
    reference = float(np.floor(have.max()))
    whole = np.floor(have)
    cycles = []
    if len(np.unique(_cycle_phase(whole, "weekday"))) >= 2:
        day_of_month = (
            whole.astype("int64").astype("datetime64[D]")
            - whole.astype("int64").astype("datetime64[D]").astype("datetime64[M]")
        ).astype(np.int64)
        if len(np.unique(day_of_month)) >= 2:
            cycles.append("weekday")
    if have.max() - have.min() >= MONTH_SPAN_DAYS:
        cycles.append("month")
    if len(np.unique(np.floor(np.mod(have, 1.0) * 24))) >= 2:
        cycles.append("hour")
    age = reference - have
    fill = float(np.median(age))
    column = DateColumn(name, reference, fill, cycles)
    if is_skewed is not None and is_skewed(column.ages(days)):
        column.transform = "log1p"
    filled = column.ages(days)
    column.center, spread = float(filled.mean()), float(filled.std())
    column.scale = spread if spread > 0 else 1.0
    return column


@dataclass
class SpanColumn:
    """The days from one date column to another (``later`` minus ``earlier``: a tenure, a delay), filled with
    ``fill`` (the training median) where either date is missing, log(1 + x) when ``transform`` is "log1p", then
    ``(x - center) / scale``: one feature, scaled like a number."""

    earlier: str
    later: str
    fill: float
    transform: str | None = None
    center: float = 0.0
    scale: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.later} - {self.earlier}"

    @property
    def width(self) -> int:
        return 1

    def feature_names(self) -> list[str]:
        return [f"days from {self.earlier} to {self.later}"]

    def spans(self, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
        """The two columns' days (n,) each, NaN missing -> the span (n,) float64 before scaling: filled, logged."""
        span = later - earlier
        span = np.where(np.isnan(span), self.fill, span)
        return np.log1p(np.maximum(span, -1 + 1e-12)) if self.transform == "log1p" else span

    def days_between(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows' spans as read (n,) float64 days, NaN where either date is missing (for explanations)."""
        return parse_dates(frame[self.later])[0] - parse_dates(frame[self.earlier])[0]

    def features(self, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
        """The two columns' days (n,) each -> the feature (n, 1) float64."""
        return ((self.spans(earlier, later) - self.center) / self.scale)[:, None]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "span", "name": self.name, **{k: getattr(self, k) for k in SPAN_FIELDS}}

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> SpanColumn:
        return cls(
            str(spec["earlier"]),
            str(spec["later"]),
            float(spec["fill"]),
            spec.get("transform"),
            float(spec["center"]),
            float(spec["scale"]),
        )


SPAN_FIELDS = ("earlier", "later", "fill", "transform", "center", "scale")


def fit_spans(
    dates: list[DateColumn],
    days: dict[str, np.ndarray],
    *,
    is_skewed: Callable[[np.ndarray], bool] | None,
    scaled: bool = True,
) -> list[SpanColumn]:
    """The spans between consecutive date columns (times of day left out), in the table's order, at most
    ``SPAN_PAIRS``, where the span varies by a day or more: each oriented so that it is mostly positive.
    ``days``: each date column's training values (n,) from :func:`parse_dates`; ``is_skewed``: the encoder's
    rule for log(1 + x) (None: no log); ``scaled`` False: no centring and scaling (the encoder's "none")."""
    dated = [d for d in dates if not d.time_of_day]
    out: list[SpanColumn] = []
    for first, second in itertools.pairwise(dated):
        diff = days[second.name] - days[first.name]
        have = diff[~np.isnan(diff)]
        if len(have) < 2 or float(np.ptp(have)) < 1 or len(out) == SPAN_PAIRS:
            continue
        earlier, later = (first, second) if np.median(have) >= 0 else (second, first)
        span = SpanColumn(earlier.name, later.name, float(np.median(np.abs(have))))
        if is_skewed is not None and is_skewed(span.spans(days[earlier.name], days[later.name])):
            span.transform = "log1p"
        filled = span.spans(days[earlier.name], days[later.name])
        if scaled:
            span.center, spread = float(filled.mean()), float(filled.std())
            span.scale = spread if spread > 0 else 1.0
        out.append(span)
    return out


def span_sentence(span: SpanColumn) -> str:
    """The load report's sentence on a span between two date columns."""
    logged = ", log(1 + x) as the spans are skewed" if span.transform == "log1p" else ""
    return (
        f"Took the days from '{span.earlier}' to '{span.later}' as a feature (a span between two dates: median "
        f"{span.fill:,.0f} days{logged})."
    )


def date_sentence(column: DateColumn, days: np.ndarray) -> str:
    """The load report's sentence on what a date column became."""
    names = {"weekday": "day of the week", "month": "month", "hour": "hour of the day"}
    cycles = " and ".join(names[c] for c in column.cycles)
    if column.time_of_day:
        return (
            f"Took '{column.name}' as times of day: the {names['hour']} as a cycle (sin/cos)."
            if column.cycles
            else f"Took '{column.name}' as times of day; they are all in one hour (no feature)."
        )
    have = days[~np.isnan(days)]
    span = f"{day_text(have.min())} to {day_text(have.max())}"
    logged = ", log(1 + x) as the ages are skewed" if column.transform == "log1p" else ""
    cyc = f"; {cycles} as {'cycles' if len(column.cycles) > 1 else 'a cycle'} (sin/cos)" if cycles else ""
    return (
        f"Took '{column.name}' as dates ({span}): its age in days before {day_text(column.reference)}, the latest "
        f"date (recency{logged}){cyc}."
    )
