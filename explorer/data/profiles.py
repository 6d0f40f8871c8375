"""What each column of a table holds (numeric, categorical, text, date, constant, empty, other),
decided once for the preview, the load and new rows alike.

:func:`profile_column` is the one rule; :func:`as_strings` and :func:`parse_numbers` read a column
the way a categorical or numeric feature of it is read, in training and when a saved run is applied
to new rows (:mod:`explorer.data.encoder`).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.data.labels import values_to_str

if TYPE_CHECKING:
    import pandas as pd

NUMERIC_SHARE = 0.9  # a text column is numeric when this share of its values parse as numbers
TEXT_UNIQUE_SHARE = 0.8  # ... and free text when this share of its values are distinct
MATCH_CHUNK = 50_000  # values matched at a time by mostly_match
HUGE = 1e300  # values beyond this are treated as missing (they overflow any statistic)
DATE_RE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$"
)
TIME_RE = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[AaPp]\.?[Mm]\.?)?$")  # a time of day: "14:35", "2:05 pm"
# Words a table writes for a missing value (compared in lower case). In a column otherwise of numbers any
# of them is missing; in a column of categories only those in CATEGORY_MARKERS, and only when at least
# two other levels are left: "none" and "-" stay levels there ("no loan", "no alley" and a sign are
# information), as does a marker that is one of only two levels.
MISSING_MARKERS = frozenset(
    {
        "?",
        "??",
        "unknown",
        "n/a",
        "na",
        "#n/a",
        "null",
        "nan",
        "none",
        "-",
        "--",
        "missing",
        "not available",
        "not known",
        "undefined",
        ".",
    }
)
CATEGORY_MARKERS = frozenset(
    {"?", "??", "unknown", "n/a", "na", "#n/a", "null", "nan", "missing", "not available", "not known", "undefined"}
)
DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d*,\d+$")
THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # "1,000", "12,345.5"


@dataclass
class ColumnProfile:
    """What one column holds, decided once for the preview and the load.

    ``values`` is the cleaned column: float64 with NaN for numeric columns, str with NaN otherwise.
    ``missing`` counts everything that will be imputed (blanks, junk, infinities).
    """

    kind: str  # numeric, categorical, text, date, constant, empty, other
    values: pd.Series
    missing: int
    unique: int
    junk: int = 0  # non-numbers in a numeric column
    nonfinite: int = 0  # +-inf or |v| > 1e300
    decimal_comma: bool = False
    thousands: bool = False  # "1,000" read as 1000
    examples: tuple[str, ...] = ()  # a few junk values, for the note
    markers: dict[str, int] | None = None  # missing markers found (as written) -> cells, counted in ``missing``


def _numbers_with_commas(present: pd.Series, numbers: pd.Series, delimiter: str | None) -> tuple[pd.Series, str]:
    """Text numbers holding a comma -> (numbers, "decimal" | "thousands" | "").

    Spreadsheets pair the two marks by locale: where "3,5" is a decimal, the list separator is ";",
    so a comma-separated file (or a Parquet, which has none) that quotes "1,000" or "12,345.5" means
    thousands; a ";"- or tab-separated one means decimal commas. Each reading is taken only when every
    value with a comma fits it ("1,000" fits both; "3,5" only a decimal; "1,234.5" only thousands)
    and it makes the column numeric; otherwise nothing is guessed (the values stay junk or text).
    """
    import pandas as pd

    with_comma = present[present.str.contains(",", regex=False)]
    fits = {
        "decimal": bool(with_comma.str.match(DECIMAL_COMMA_RE).all()),
        "thousands": bool(with_comma.str.match(THOUSANDS_RE).all()),
    }
    order = ("thousands", "decimal") if delimiter in (",", None) else ("decimal", "thousands")
    for how in order:
        if fits[how]:
            candidate = pd.to_numeric(
                present.str.replace(",", "." if how == "decimal" else "", regex=False), errors="coerce"
            )
            if candidate.notna().mean() >= max(NUMERIC_SHARE, numbers.notna().mean()):
                return candidate, how
    return numbers, ""


def profile_column(series: pd.Series, delimiter: str | None = None, *, count_unique: bool = True) -> ColumnProfile:
    """Decide what a column holds: numeric, categorical, text, date, constant, empty or other.

    ``delimiter`` is the file's column separator (None for Parquet): it decides whether a comma
    inside a number is a decimal comma or groups thousands (see :func:`_numbers_with_commas`).
    ``count_unique=False``: a numeric column's ``unique`` is only 0, 1 or 2 (two or more), which
    decides its kind as well and spares the load hashing every value (the preview counts them)."""
    import pandas as pd
    from pandas.api import types as pdt

    n = len(series)
    if pdt.is_datetime64_any_dtype(series) or pdt.is_timedelta64_dtype(series):
        return ColumnProfile("date", series, int(series.isna().sum()), int(series.nunique()))
    if pdt.is_numeric_dtype(series) and not pdt.is_bool_dtype(series):
        values = series.astype("float64")
        bad = values.notna() & ~np.isfinite(values.fillna(0)) | (values.abs() > HUGE)
        values = values.mask(bad)
        return _numeric(values, int(bad.sum()), count_unique)
    present = series[series.notna()]
    sample = present.iloc[:1000]
    if len(sample) and all(isinstance(v, (datetime.date, datetime.time)) for v in sample):
        return ColumnProfile("date", series, n - len(present), int(present.nunique()))
    if any(isinstance(v, (list, tuple, dict, set, bytes, np.ndarray)) for v in sample):
        return ColumnProfile("other", series, n - len(present), 0)
    strings = _stripped(series)
    present = strings.dropna()
    if len(present) == 0:
        return ColumnProfile("empty", strings, n, 0)
    lowered = present.str.lower()
    marked = lowered.isin(MISSING_MARKERS).to_numpy()
    if not pdt.is_bool_dtype(series) and not marked.all():
        numbers = pd.to_numeric(present[~marked], errors="coerce")
        comma = ""
        unmarked = present[~marked]
        if (numbers.isna() & unmarked.str.contains(",", regex=False)).any():  # "1,500" is no junk, maybe
            numbers, comma = _numbers_with_commas(unmarked, numbers, delimiter)
        if numbers.notna().mean() >= NUMERIC_SHARE:
            junk_mask = numbers.isna()
            bad = numbers.notna() & (~np.isfinite(numbers.fillna(0)) | (numbers.abs() > HUGE))
            values = pd.Series(np.nan, index=series.index, dtype="float64")
            values[numbers.index] = numbers.mask(bad)
            profile = _numeric(values, int(bad.sum()), count_unique)
            profile.junk = int(junk_mask.sum())
            profile.decimal_comma, profile.thousands = comma == "decimal", comma == "thousands"
            profile.examples = tuple(dict.fromkeys(unmarked[junk_mask].astype(str)))[:3]
            if marked.any():
                profile.markers = present[marked].value_counts().to_dict()
            return profile
        if mostly_match(unmarked, DATE_RE, NUMERIC_SHARE) or mostly_match(unmarked, TIME_RE, NUMERIC_SHARE):
            return ColumnProfile("date", strings, n - len(present), int(present.nunique()))
    markers = None
    category_marked = lowered.isin(CATEGORY_MARKERS).to_numpy()
    if category_marked.any() and present[~category_marked].nunique() >= 2:
        markers = present[category_marked].value_counts().to_dict()
        strings = strings.mask(strings.index.isin(present.index[category_marked]))
        present = present[~category_marked]
    unique = int(present.nunique())
    if unique <= 1:
        kind = "constant"
    elif unique > max(10, TEXT_UNIQUE_SHARE * len(present)):
        kind = "text"
    else:
        kind = "categorical"
    return ColumnProfile(kind, strings, n - len(present), unique, markers=markers)


def mostly_match(strings: pd.Series, pattern: re.Pattern[str], share: float) -> bool:
    """Whether at least ``share`` of ``strings`` (present values, str) match ``pattern`` at their start, as
    ``strings.str.match(pattern).mean() >= share`` says; read ``MATCH_CHUNK`` values at a time, stopping as soon as
    more have failed than the share allows (a million cells of free text are not all read to learn they are no
    dates)."""
    n, failed = len(strings), 0
    for start in range(0, n, MATCH_CHUNK):
        failed += int((~strings.iloc[start : start + MATCH_CHUNK].str.match(pattern).astype(bool)).sum())
        if failed > n * (1 - share) + 1:
            return False
    return bool(n) and (n - failed) / n >= share


def _stripped(series: pd.Series) -> pd.Series:
    """The values as stripped text (object), blanks and missing values as missing."""
    strings = series.astype(object).where(series.notna()).map(lambda v: v if v is None or v != v else str(v).strip())
    return strings.mask(strings == "")


def as_strings(series: pd.Series, markers: list[str] | tuple[str, ...] = ()) -> pd.Series:
    """A column as a categorical feature reads it: stripped text (object), blanks and the missing
    ``markers`` (lower case; a category's, as its fit found them) missing; numbers as
    :func:`~explorer.data.labels.values_to_str` writes them (whole floats as integers)."""
    from pandas.api import types as pdt

    if pdt.is_numeric_dtype(series) and not pdt.is_bool_dtype(series):
        out = series.astype(object).where(series.notna())
        mask = series.notna().to_numpy()
        out[mask] = values_to_str(series.to_numpy()[mask])
        return out
    strings = _stripped(series)
    if markers:
        strings = strings.mask(strings.str.lower().isin(set(markers)).fillna(False).astype(bool))
    return strings


def parse_numbers(series: pd.Series, delimiter: str | None = None) -> tuple[np.ndarray, int]:
    """A column as a numeric feature reads it -> (values (n,) float64, NaN where missing or not a
    number; how many present values are not numbers). As :func:`profile_column` reads a numeric
    column (decimal commas, thousands, infinities and |v| > 1e300 missing); a column that does not
    profile as numeric (new rows of a saved run) has each value parsed alone."""
    import pandas as pd

    p = profile_column(series, delimiter, count_unique=False)
    if p.kind == "numeric":
        values, junk = p.values.to_numpy(dtype=np.float64), p.junk
    else:
        strings = as_strings(series)
        strings = strings.mask(strings.str.lower().isin(MISSING_MARKERS).fillna(False).astype(bool))
        values = pd.to_numeric(strings, errors="coerce").to_numpy(dtype=np.float64)
        junk = int((strings.notna().to_numpy() & np.isnan(values)).sum())
    return np.where(np.abs(values) > HUGE, np.nan, values), junk


def _numeric(values: pd.Series, nonfinite: int, count_unique: bool = True) -> ColumnProfile:
    missing = int(values.isna().sum())
    if count_unique:
        unique = int(values.nunique())
    else:  # 0, 1 or 2 ("two or more"): all the load needs, without hashing a million values
        unique = 0 if missing == len(values) else 1 if values.min() == values.max() else 2
    kind = "empty" if missing == len(values) else "constant" if unique <= 1 else "numeric"
    return ColumnProfile(kind, values, missing, unique, nonfinite=nonfinite)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: column, dtype, kind, missing, unique, note."""
    import pandas as pd

    rows = []
    for col in df.columns:
        p = profile_column(df[col], df.attrs.get("delimiter"))
        note = []
        if p.junk:
            note.append(f"{p.junk} non-numeric values")
        if p.nonfinite:
            note.append(f"{p.nonfinite} infinite or huge values")
        if p.markers:
            note.append("missing marked as " + ", ".join(f"'{m}' ({k})" for m, k in p.markers.items()))
        if p.decimal_comma:
            note.append("decimal commas")
        if p.thousands:
            note.append("thousands separators")
        rows.append(
            {
                "column": col,
                "dtype": str(df[col].dtype),
                "kind": p.kind,
                "missing": p.missing,
                "unique": p.unique,
                "note": "; ".join(note),
            }
        )
    return pd.DataFrame(rows, columns=["column", "dtype", "kind", "missing", "unique", "note"])
