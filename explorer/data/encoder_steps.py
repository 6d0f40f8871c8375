"""The table encoder's steps on one column at a time: a column's values as numbers, days or level codes
(filled, and counted in the report), and the scaling decided for the numbers at fit.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from explorer.data.encoder_columns import CategoricalColumn, EncodedColumn, NumericColumn
from explorer.data.encoder_dates import DateColumn, parse_dates
from explorer.data.encoder_report import TransformReport
from explorer.data.encoder_text import resolve_embedding
from explorer.data.profiles import as_strings, parse_numbers
from explorer.data.scaling import SCALINGS, fit_scaling, ranges_shared, scaling_sentence
from explorer.data.words import plural
from explorer.dataset import LoadReport
from explorer.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

CATEGORY_WEIGHT = 1 / np.sqrt(2)  # a one-hot indicator's value: rows of two levels differ by 1, one std of a number
UNSEEN_SHOWN = 50  # unseen levels counted by name per column (the most frequent)
SKEW_LOG = 1.0  # "auto" scaling takes log(1 + x) of non-negative columns more skewed than this
SKEW_MIN_VALUES = 10  # ... that have more distinct values than this (small counts and scales stay as they are)
SKEW_SAMPLE_ROWS = 50_000  # distinct values are counted among the first rows
ROW_NUMBER_NAMES = {
    "",
    "#",
    "index",
    "idx",
    "id",
    "row",
    "rows",
    "rownames",
    "row_number",
    "rownum",
    "no",
    "unnamed: 0",
}


def check_table_options(
    scaling: str,
    max_categories: int,
    min_category_fraction: float,
    text_embedding: str = "auto",
    text_weight: float = 1,
) -> None:
    """The encoder's options, checked once (by :meth:`TableEncoder.fit` and ``TableOptions.validate``)."""
    resolve_embedding(text_embedding)
    if not text_weight > 0:
        raise InputError(f"text_weight must be above 0, got {text_weight}; leave the column out to ignore it.")
    if scaling not in SCALINGS:
        raise InputError(f"scaling '{scaling}' is not known; choose one of: {', '.join(SCALINGS)}.")
    if max_categories < 1:
        raise InputError(f"max_categories must be at least 1, got {max_categories}.")
    if not 0 <= min_category_fraction < 1:
        raise InputError(f"min_category_fraction must be in [0, 1), got {min_category_fraction}.")


def is_skewed(values: np.ndarray) -> bool:
    """The "auto" rule for log(1 + x): filled values (n,) that are non-negative, have more than
    ``SKEW_MIN_VALUES`` distinct values among the first rows and a skewness above ``SKEW_LOG``."""
    from scipy.stats import skew

    if not len(values) or float(values.min()) < 0:
        return False
    return bool(len(np.unique(values[:SKEW_SAMPLE_ROWS])) > SKEW_MIN_VALUES and skew(values) > SKEW_LOG)


def is_row_number(name: str, values: np.ndarray) -> bool:
    """A column named like an index (or left unnamed) whose values (n,) count 0, 1, 2, ... or 1, 2, 3, ..."""
    if name.lower() not in ROW_NUMBER_NAMES and not re.fullmatch(r"column_1|unnamed: ?0", name.lower()):
        return False
    if np.isnan(values).any() or not np.all(values == np.floor(values)):
        return False
    start = np.arange(len(values), dtype=np.float64)
    return bool(np.array_equal(values, start) or np.array_equal(values, start + 1))


def column_numbers(
    column: NumericColumn, frame: pd.DataFrame, parsed: tuple[np.ndarray, int] | None, report: TransformReport
) -> np.ndarray:
    """One numeric column's values (n,) float64 before scaling: parsed, filled, log(1 + x) if so fitted."""
    if column.name in frame.columns:
        values, junk = parsed if parsed is not None else parse_numbers(frame[column.name], frame.attrs.get("delimiter"))
        if junk:
            report.not_numbers[column.name] = junk
        gaps = np.isnan(values)
        if gaps.any():
            report.imputed[column.name] = int(gaps.sum())
            values = np.where(gaps, column.fill, values)
    else:
        values = np.full(len(frame), column.fill, np.float64)
    if column.transform == "log1p":
        values = np.log1p(np.maximum(values, -1 + 1e-12))
    return values


def column_days(
    column: DateColumn, frame: pd.DataFrame, parsed: tuple[np.ndarray, int] | None, report: TransformReport
) -> np.ndarray:
    """One date column's days since 1970-01-01 (hours for times of day) (n,) float64, NaN where missing."""
    if column.name not in frame.columns:
        return np.full(len(frame), np.nan)
    if parsed is not None:
        days, bad = parsed
    else:
        days = parse_dates(frame[column.name])[0]
        bad = int((as_strings(frame[column.name]).notna().to_numpy() & np.isnan(days)).sum())
    if bad:
        report.not_dates[column.name] = bad
    if np.isnan(days).any():
        report.imputed[column.name] = int(np.isnan(days).sum())
    return days


def column_codes(
    column: CategoricalColumn,
    frame: pd.DataFrame,
    parsed: tuple[np.ndarray, int] | None,
    report: TransformReport,
) -> np.ndarray:
    """One categorical column's level codes (n,): k for a kept level, ``len(levels)`` for "other",
    -1 for a level not seen in training (counted in the report)."""
    values = None
    if parsed is not None:
        codes, filled = parsed
    else:
        if column.name in frame.columns:
            strings = as_strings(frame[column.name], column.markers)
            filled, values = int(strings.isna().sum()), strings.fillna(column.fill).to_numpy(dtype=object)
        else:
            filled, values = 0, np.full(len(frame), column.fill, dtype=object)
        codes = column.codes(values)
    if filled:
        report.imputed[column.name] = filled
    unseen = codes < 0
    if values is not None and unseen.any():
        levels, counts = np.unique(values[unseen].astype(str), return_counts=True)
        order = np.argsort(-counts, kind="stable")
        report.unseen_levels[column.name] = {str(levels[i]): int(counts[i]) for i in order[:UNSEEN_SHOWN]}
    return codes


def decide_scaling(
    columns: list[EncodedColumn],
    option: str,
    frame: pd.DataFrame,
    ranges: dict[str, tuple[float, float, bool]],
    parsed: dict[str, tuple[np.ndarray, int]],
    report: LoadReport,
) -> tuple[str, float]:
    """The scaling of the numbers (and log(1 + x) of the skewed ones under "auto", the scaling ``option``):
    sets each number's parameters and writes the report's sentences; returns (the scaling, the value of a
    one-hot indicator)."""
    numbers = [c for c in columns if isinstance(c, NumericColumn)]
    has_cat = any(isinstance(c, CategoricalColumn) for c in columns)
    lo = np.array([ranges[c.name][0] for c in numbers])
    hi = np.array([ranges[c.name][1] for c in numbers])
    if option == "auto":
        scaling = "shared" if len(numbers) >= 2 and ranges_shared(lo, hi) else "standard"
    else:
        scaling = option
    auto_standard = option == "auto" and scaling == "standard"
    logged = [c.name for c in numbers if ranges[c.name][2]] if auto_standard else []
    if logged:
        report.transformed.update({c: "log(1 + x)" for c in logged})
        report.note(
            f"Took log(1 + x) of {plural(len(logged), 'right-skewed column')} before scaling "
            f"(their values spread over orders of magnitude): {', '.join(repr(c) for c in logged)}."
        )
    if numbers:
        report.note(
            scaling_sentence(scaling, len(numbers), "numeric feature" if len(numbers) < len(columns) else "feature")
        )
    if has_cat and scaling != "none":
        report.note(
            f"One-hot columns are 0 or {CATEGORY_WEIGHT:.3f}, so a different category counts as much as "
            "one standard deviation of a number, whatever the number of categories."
        )
    shared_lo, shared_hi = (float(lo.min()), float(hi.max())) if len(numbers) else (0.0, 1.0)
    for column in numbers:
        column.transform = "log1p" if column.name in logged else None
        if scaling == "shared":
            column.center = shared_lo
            column.scale = shared_hi - shared_lo if shared_hi > shared_lo else 1.0
            column.constant = ranges[column.name][0] == ranges[column.name][1]
        elif scaling in ("standard", "minmax"):
            values = column_numbers(column, frame, parsed.get(column.name), TransformReport())
            params = fit_scaling(values[:, None], scaling)
            column.peak, column.center = float(params.peak[0]), float(params.center[0])
            column.scale = float(params.scale[0])
    report.scaling = scaling
    return scaling, float(CATEGORY_WEIGHT) if has_cat and scaling != "none" else 1.0
