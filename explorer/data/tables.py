"""Tables (CSV, TSV, Parquet) -> Dataset: typed, imputed, one-hot encoded, scaled; every step reported.

The reading half (bytes -> DataFrame, with delimiter and encoding detection) and the column profile
are shared by :func:`read_table_preview`, which the dashboard calls before the real load, and by
:func:`load_table`; so the preview shows exactly the column kinds the load will use.
"""
from __future__ import annotations

import csv
import datetime
import io
import re
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Iterable, Literal

import numpy as np

from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError, LimitError
from explorer.events import StopCheck
from explorer.limits import Limits
from explorer.validation import MIN_ROWS
from explorer.data.budgets import read_parquet_table
from explorer.data.common import (
    FEATURE_BYTES, SCALINGS, VALUE_BYTES, LoadGuard, Source, check_decoded_bytes, check_min_rows, display_name,
    extension, list_some, plural, ranges_shared, read_source, scale_features, scaling_sentence, source_name,
    usable_labels, values_to_str,
)
from explorer.data import streamed

if TYPE_CHECKING:
    import pandas as pd

Scaling = Literal["auto", "standard", "minmax", "none"]
DELIMITERS = ",;\t|"
NUMERIC_SHARE = 0.9  # a text column is numeric when this share of its values parse as numbers
TEXT_UNIQUE_SHARE = 0.8  # ... and free text when this share of its values are distinct
HUGE = 1e300  # values beyond this are treated as missing (they overflow any statistic)
DATE_RE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$"
)
DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d*,\d+$")
THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # "1,000", "12,345.5"
EXCEL_SEP_RE = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)  # Excel's hint line: sep=;
GUARD_EVERY_ROWS = 20_000  # how often the row scan checks Stop and the time cap


@dataclass
class TableOptions:
    """How to turn a table into features.

    ``label_column`` and ``id_column`` are kept out of the features (labels are for evaluation only).
    ``columns`` picks the feature columns (None: all others). Categorical columns keep their
    ``max_categories`` most frequent values that make up at least ``min_category_fraction`` of the
    rows; the rest fold into "other". ``delimiter`` None detects it; ``encoding`` None tries UTF-8
    (with or without a byte-order mark), then Latin-1.
    """

    label_column: str | None = None
    id_column: str | None = None
    columns: list[str] | None = None
    scaling: Scaling = "auto"
    max_categories: int = 30
    min_category_fraction: float = 0.01
    delimiter: str | None = None
    encoding: str | None = None

    def validate(self) -> None:
        if self.scaling not in SCALINGS:
            raise InputError(f"scaling '{self.scaling}' is not known; choose one of: {', '.join(SCALINGS)}.")
        if self.max_categories < 1:
            raise InputError(f"max_categories must be at least 1, got {self.max_categories}.")
        if not 0 <= self.min_category_fraction < 1:
            raise InputError(f"min_category_fraction must be in [0, 1), got {self.min_category_fraction}.")
        if self.label_column is not None and self.label_column == self.id_column:
            raise InputError(f"'{self.label_column}' can't be both the label and the ID column; pick one.")


@dataclass
class ColumnProfile:
    """What one column holds, decided once for the preview and the load.

    ``values`` is the cleaned column: float64 with NaN for numeric columns, str with NaN otherwise.
    ``missing`` counts everything that will be imputed (blanks, junk, infinities).
    """

    kind: str  # numeric, categorical, text, date, constant, empty, other
    values: "pd.Series"
    missing: int
    unique: int
    junk: int = 0  # non-numbers in a numeric column
    nonfinite: int = 0  # +-inf or |v| > 1e300
    decimal_comma: bool = False
    thousands: bool = False  # "1,000" read as 1000
    examples: tuple[str, ...] = ()  # a few junk values, for the note


# ----------------------------------------------------------------------------------------- reading
def _decode(data: bytes, fname: str, encoding: str | None, report: LoadReport | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as e:
            raise InputError(f"{fname} can't be read as {encoding} text ({e}); give the file's real encoding "
                             "or save it as UTF-8.") from None
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):  # UTF-32's LE mark starts like UTF-16's
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as e:
                raise InputError(f"{fname} starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                                 f"({e}); save it as UTF-8.") from None
    head = data[:65536]
    if b"\x00" in head:
        wide = ""
        if len(head) >= 8 and head[1::2].count(0) > 0.9 * (len(head) // 2) or head[0::2].count(0) > 0.9 * (len(head) // 2):
            wide = " It looks like UTF-16 or UTF-32 text without a byte-order mark: save it as UTF-8."
        raise InputError(f"{fname} does not look like a text table (it holds binary data).{wide} "
                         "Save it as CSV (UTF-8) or Parquet.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if report is not None:
            report.note(f"{fname} is not valid UTF-8; it was read as Latin-1, so check accented characters.")
        return data.decode("latin-1")


def _detect_delimiter(text: str, ext: str) -> str:
    head = "\n".join(text[:65536].splitlines()[:50])
    first = head.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
        if found in first:
            return found
    except csv.Error:
        pass
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)  # type: ignore[arg-type]
    if counts[best] > 0:
        return best
    return "\t" if ext in (".tsv", ".tab") else ","


def _scan_csv(text: "str | Iterable[str]", delimiter: str, fname: str, limits: Limits, nrows: int | None,
              guard: LoadGuard) -> tuple[list[str], int]:
    """Check every row has the header's number of fields (naming the first line that does not) and
    the row and column limits. Returns (the header, the number of rows). ``text``: the whole text, or
    its lines (a text file: the streamed reader names a broken line this way)."""
    reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text, delimiter=delimiter, skipinitialspace=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(f"{fname} is empty; it needs a header line and at least {MIN_ROWS} rows.")
        limits.check("max_columns", len(header), f"{fname} has {len(header):,} columns")
        rows, last_line = 0, reader.line_num
        for row in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
                continue  # blank line
            if len(row) != len(header):
                if last_line > first_line and any("\n" in f or "\r" in f for f in row):
                    raise InputError(
                        f"{fname}: a quoted field starts on line {first_line} and runs on to line {last_line}; "
                        'a quote (") is probably not closed. Close it, or remove the stray quote.'
                    )
                raise InputError(
                    f"{fname}: line {reader.line_num} has {len(row)} fields but the header has {len(header)} "
                    f"(delimiter {delimiter!r}). Fix that line, or quote fields that contain the delimiter."
                )
            rows += 1
            if rows % GUARD_EVERY_ROWS == 0:
                guard.check(f"loading {fname}")
            if nrows is not None and rows >= nrows:
                break
            if rows > limits.max_rows:
                limits.check("max_rows", rows, f"{fname} has over {limits.max_rows:,} rows")
    except csv.Error as e:
        raise InputError(f"{fname}: line {reader.line_num} can't be parsed ({e}). Check that every quote is "
                         f"closed and that no field is longer than {csv.field_size_limit():,} characters.") from None
    if rows == 0:
        raise InputError(f"{fname} has a header but no rows; it needs at least {MIN_ROWS} rows of data.")
    return header, rows


def _unique_names(names: list[str], report: LoadReport | None) -> list[str]:
    """Strip names, name blank ones by position, and make duplicates unique ("a", "a_2")."""
    out: list[str] = []
    seen: set[str] = set()
    renamed: list[str] = []
    for i, raw in enumerate(names):
        base = str(raw).strip() or f"column_{i + 1}"
        name, k = base, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        if name != str(raw).strip():
            renamed.append(f"'{raw}' -> '{name}'")
        seen.add(name)
        out.append(name)
    if renamed and report is not None:
        report.note(f"Renamed {plural(len(renamed), 'column')} that were blank or repeated: {list_some(renamed)}.")
    return out


def _read_frame(data: "bytes | IO[bytes]", fname: str, options: TableOptions, limits: Limits,
                report: LoadReport | None, nrows: int | None = None,
                guard: LoadGuard | None = None) -> "pd.DataFrame":
    """Bytes (or a seekable binary file) of a CSV/TSV/Parquet file -> DataFrame with unique string
    column names.

    The decoded size is checked against ``limits.max_decoded_bytes`` before pandas parses anything:
    from the Parquet footer, or from the CSV's rows x columns counted by the scan. A Parquet file is
    read in batches; a CSV of :data:`~explorer.data.streamed.STREAM_MIN_BYTES` or more (or a file,
    not bytes) is streamed by pyarrow (see ``streamed.py``), smaller ones are read whole.
    """
    import pandas as pd

    guard = guard or LoadGuard(limits)
    if extension(fname) in (".parquet", ".pq"):
        return _read_parquet(data, fname, limits, report, nrows, guard)
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) >= streamed.STREAM_MIN_BYTES:
        return streamed.read_csv_streamed(io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data,
                                 fname, options, limits, report, nrows, guard)
    if not data.strip():
        raise InputError(f"{fname} is empty; it needs a header line and at least {MIN_ROWS} rows.")
    text = _decode(data, fname, options.encoding, report)
    text = _normalize_newlines(text, fname, report)
    text, hinted = _excel_sep_line(text, fname, report)
    delimiter = options.delimiter or hinted or _detect_delimiter(text, extension(fname))
    header, n_rows = _scan_csv(text, delimiter, fname, limits, nrows, guard)
    check_decoded_bytes(limits, n_rows * len(header) * VALUE_BYTES + sys.getsizeof(text),
                        f"{fname} ({n_rows:,} rows x {len(header):,} columns)")
    names = _unique_names(header, report)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, header=0, names=names, nrows=nrows,
                         skipinitialspace=True, engine="c", low_memory=False)
    except (pd.errors.ParserError, ValueError, csv.Error) as e:
        raise InputError(f"{fname} can't be parsed as a table ({str(e).strip()}).") from None
    if report is not None and delimiter != ",":
        report.note(f"Columns are separated by {'a tab' if delimiter == chr(9) else repr(delimiter)}.")
    df.attrs["delimiter"] = delimiter  # decides what a comma inside a number means (profile_column)
    return df


def table_input(source: Source, name: str | None, limits: Limits) -> "tuple[str, bytes | IO[bytes]]":
    """(file name, what :func:`_read_frame` reads). A Parquet file, or a CSV of
    :data:`~explorer.data.streamed.STREAM_MIN_BYTES` or more, given as a path or as a
    :class:`~explorer.data.sources.ServerFile` stays a file, read in batches; anything else is read
    whole by :func:`read_source`. A path is held to ``max_upload_bytes`` (from its size, before it is
    read); a ServerFile (a path or URL the server opened for a user) is not."""
    import os

    from explorer.data.common import is_path, open_regular_file
    from explorer.data.sources import ServerFile

    fname = source_name(source, name)
    parquet = extension(fname) in (".parquet", ".pq")
    if is_path(source):
        from pathlib import Path

        raw = open_regular_file(Path(source))  # type: ignore[arg-type]
        size = os.fstat(raw.fileno()).st_size
        if parquet or size >= streamed.STREAM_MIN_BYTES:
            try:
                limits.check("max_upload_bytes", size, f"{fname} is {size:,} bytes")
            except LimitError:
                raw.close()
                raise
            return fname, ServerFile(raw, fname, str(source), size, limits)
        raw.close()
    if isinstance(source, ServerFile) and (parquet or source.size is None or source.size >= streamed.STREAM_MIN_BYTES):
        return fname, source
    return read_source(source, name, limits)


def _close_opened(source: Source, data: object) -> None:
    """Close the file :func:`table_input` opened for a path (one given open stays open)."""
    from explorer.data.common import is_path

    if is_path(source) and hasattr(data, "close"):
        data.close()  # type: ignore[union-attr]


def _normalize_newlines(text: str, fname: str, report: LoadReport | None) -> str:
    """Lines ended by a lone CR (classic Mac OS, some exports) -> LF, which the csv module needs."""
    if "\r" not in text or not re.search(r"\r(?!\n)", text):
        return text
    if report is not None and "\n" not in text:
        report.note(f"{fname} ends its lines with CR only (old Mac style); they were read as line breaks.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _excel_sep_line(text: str, fname: str, report: LoadReport | None) -> tuple[str, str | None]:
    """Excel's optional first line ``sep=;`` names the delimiter: use it and skip the line."""
    first, _, rest = text.partition("\n")
    found = EXCEL_SEP_RE.match(first.strip("\ufeff"))
    if not found:
        return text, None
    if report is not None:
        report.note(f"The first line of {fname}, {first.strip()!r}, names the delimiter (an Excel hint); "
                    "it was used and skipped.")
    return rest, found.group(1)


def _read_parquet(data: "bytes | IO[bytes]", fname: str, limits: Limits, report: LoadReport | None,
                  nrows: int | None, guard: LoadGuard) -> "pd.DataFrame":
    table = read_parquet_table(data, fname, limits, nrows=nrows, between_batches=lambda: guard.check(f"loading {fname}"))
    df = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    df.columns = _unique_names([str(c) for c in df.columns], report)
    if len(df.columns) == 0:
        raise InputError(f"{fname} has no columns.")
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------------------------- profiles
def _numbers_with_commas(present: "pd.Series", numbers: "pd.Series",
                         delimiter: str | None) -> tuple["pd.Series", str]:
    """Text numbers holding a comma -> (numbers, "decimal" | "thousands" | "").

    Spreadsheets pair the two marks by locale: where "3,5" is a decimal, the list separator is ";",
    so a comma-separated file (or a Parquet, which has none) that quotes "1,000" or "12,345.5" means
    thousands; a ";"- or tab-separated one means decimal commas. Each reading is taken only when every
    value with a comma fits it ("1,000" fits both; "3,5" only a decimal; "1,234.5" only thousands)
    and it makes the column numeric; otherwise nothing is guessed (the values stay junk or text).
    """
    import pandas as pd

    with_comma = present[present.str.contains(",", regex=False)]
    fits = {"decimal": bool(with_comma.str.match(DECIMAL_COMMA_RE).all()),
            "thousands": bool(with_comma.str.match(THOUSANDS_RE).all())}
    order = ("thousands", "decimal") if delimiter in (",", None) else ("decimal", "thousands")
    for how in order:
        if fits[how]:
            candidate = pd.to_numeric(present.str.replace(",", "." if how == "decimal" else "", regex=False),
                                      errors="coerce")
            if candidate.notna().mean() >= max(NUMERIC_SHARE, numbers.notna().mean()):
                return candidate, how
    return numbers, ""


def profile_column(series: "pd.Series", delimiter: str | None = None, *, count_unique: bool = True) -> ColumnProfile:
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
    strings = series.astype(object).where(series.notna()).map(lambda v: v if v is None or v != v else str(v).strip())
    strings = strings.mask(strings == "")
    present = strings.dropna()
    if len(present) == 0:
        return ColumnProfile("empty", strings, n, 0)
    if not pdt.is_bool_dtype(series):
        numbers = pd.to_numeric(present, errors="coerce")
        comma = ""
        if (numbers.isna() & present.str.contains(",", regex=False)).any():  # "1,500" is no junk, maybe
            numbers, comma = _numbers_with_commas(present, numbers, delimiter)
        if numbers.notna().mean() >= NUMERIC_SHARE:
            junk_mask = numbers.isna()
            bad = numbers.notna() & (~np.isfinite(numbers.fillna(0)) | (numbers.abs() > HUGE))
            values = pd.Series(np.nan, index=series.index, dtype="float64")
            values[numbers.index] = numbers.mask(bad)
            profile = _numeric(values, int(bad.sum()), count_unique)
            profile.junk = int(junk_mask.sum())
            profile.decimal_comma, profile.thousands = comma == "decimal", comma == "thousands"
            profile.examples = tuple(dict.fromkeys(present[junk_mask].astype(str)))[:3]
            return profile
        if present.str.match(DATE_RE).mean() >= NUMERIC_SHARE:
            return ColumnProfile("date", strings, n - len(present), int(present.nunique()))
    unique = int(present.nunique())
    if unique <= 1:
        kind = "constant"
    elif unique > max(10, TEXT_UNIQUE_SHARE * len(present)):
        kind = "text"
    else:
        kind = "categorical"
    return ColumnProfile(kind, strings, n - len(present), unique)


def _numeric(values: "pd.Series", nonfinite: int, count_unique: bool = True) -> ColumnProfile:
    missing = int(values.isna().sum())
    if count_unique:
        unique = int(values.nunique())
    else:  # 0, 1 or 2 ("two or more"): all the load needs, without hashing a million values
        unique = 0 if missing == len(values) else 1 if values.min() == values.max() else 2
    kind = "empty" if missing == len(values) else "constant" if unique <= 1 else "numeric"
    return ColumnProfile(kind, values, missing, unique, nonfinite=nonfinite)


def summarize(df: "pd.DataFrame") -> "pd.DataFrame":
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
        if p.decimal_comma:
            note.append("decimal commas")
        if p.thousands:
            note.append("thousands separators")
        rows.append({"column": col, "dtype": str(df[col].dtype), "kind": p.kind, "missing": p.missing,
                     "unique": p.unique, "note": "; ".join(note)})
    return pd.DataFrame(rows, columns=["column", "dtype", "kind", "missing", "unique", "note"])


def read_table_preview(source: Source, name: str | None = None, nrows: int | None = 10_000,
                       options: TableOptions | None = None, limits: Limits | None = None, *,
                       should_stop: StopCheck | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """The first ``nrows`` rows (None: all) and a summary of their columns, before a real load.

    Returns (rows as read, summary with columns [column, dtype, kind, missing, unique, note]) where
    kind is numeric, categorical, text, date, constant, empty or other, as :func:`load_table` will
    treat the column; missing counts what it would fill in (blanks, junk, infinities).
    """
    options, limits = options or TableOptions(), limits or Limits()
    fname, data = table_input(source, name, limits)
    try:
        df = _read_frame(data, fname, options, limits, None, nrows, LoadGuard(limits, should_stop))
    finally:
        _close_opened(source, data)
    return df, summarize(df)


# ---------------------------------------------------------------------------------------- encoding
DROP_SENTENCES = {
    "empty": "Dropped {n} with no values: {cols}.",
    "constant": "Dropped {n} holding a single value: {cols}.",
    "text": "Dropped {n} of text whose values are nearly all different (names, free text), "
            "which can't be encoded as features: {cols}.",
    "date": "Dropped {n} of dates: {cols}.",
    "other": "Dropped {n} holding lists or other objects: {cols}.",
    "rownumber": "Dropped {n} that just number the rows (0, 1, 2, ...): {cols}.",
    "rare": "Dropped {n} whose categories are all rare: {cols}.",
}
DROP_REASONS = {
    "empty": "all values are missing", "constant": "a single value", "text": "free text (nearly all values differ)",
    "date": "dates", "other": "lists or other objects", "rownumber": "a row number", "rare": "every category is rare",
}


ROW_NUMBER_NAMES = {"", "#", "index", "idx", "id", "row", "rows", "rownames", "row_number", "rownum", "no",
                    "unnamed: 0"}


def _is_row_number(name: str, values: "pd.Series") -> bool:
    """A column named like an index (or left unnamed) that counts 0, 1, 2, ... or 1, 2, 3, ..."""
    if name.lower() not in ROW_NUMBER_NAMES and not re.fullmatch(r"column_1|unnamed: ?0", name.lower()):
        return False
    v = values.to_numpy()
    if np.isnan(v).any() or not np.all(v == np.floor(v)):
        return False
    start = np.arange(len(v), dtype=np.float64)
    return bool(np.array_equal(v, start) or np.array_equal(v, start + 1))


@dataclass
class _Feature:
    """One source column's share of X, planned before X is built: a number (its imputed float64
    values, kept only when they can't be taken from the table again cheaply) or a category's codes."""

    column: str
    names: list[str]
    fill: float = 0.0  # the median put in for missing numbers
    lo: float = 0.0  # the numbers' range, after filling
    hi: float = 0.0
    skewed: bool = False  # a log(1 + x) candidate for "auto" scaling
    values: np.ndarray | None = None  # (n,) float64, for numbers parsed from text
    codes: np.ndarray | None = None  # (n,) int16 level index of a categorical column (-1: none of them)

    @property
    def numeric(self) -> bool:
        return self.codes is None


def _numbers(series: "pd.Series") -> np.ndarray:
    """A numeric column as float64 (n,), infinities and huge values made missing (as :func:`profile_column`)."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (np.abs(values) > HUGE)
    if bad.any():
        values = np.where(bad, np.nan, values)
    return values


def _feature_values(df: "pd.DataFrame", feature: _Feature) -> np.ndarray:
    """The filled float64 values (n,) of a numeric feature, from what was kept or from the table."""
    if feature.values is not None:
        return feature.values
    values = _numbers(df[feature.column])
    missing = np.isnan(values)
    return np.where(missing, feature.fill, values) if missing.any() else values


def _plan(df: "pd.DataFrame", feature_cols: list[str], options: TableOptions, report: LoadReport,
          auto: bool, limits: Limits, guard: LoadGuard) -> list[_Feature]:
    """Feature columns -> their plan (d names in all); fills report.dropped_columns/imputed/encoded.

    Each column is profiled once; numbers keep only their fill value, range and skew (their values
    are taken from the table again when X is built), categories their (n,) level codes. So no
    float64 copy of the features is held. One-hot encoding widens the table: X's size (float32) is
    checked against ``limits.max_decoded_bytes`` as each column is added, before it is built."""
    from pandas.api import types as pdt
    from scipy.stats import skew

    n = len(df)
    plan: list[_Feature] = []
    width = 0

    def widen(k: int) -> None:
        check_decoded_bytes(limits, n * (width + k) * FEATURE_BYTES,
                            f"{report.source} encoded ({n:,} rows x {width + k:,} features)")
    drops: dict[str, list[str]] = {}

    def drop(col: str, why: str) -> None:
        drops.setdefault(why, []).append(col)
        report.dropped_columns[col] = DROP_REASONS[why]

    for col in feature_cols:
        guard.check(f"loading {report.source}")
        p = profile_column(df[col], df.attrs.get("delimiter"), count_unique=False)
        if p.kind not in ("numeric", "categorical"):
            drop(col, p.kind)
            continue
        if p.kind == "numeric":
            if auto and p.missing == 0 and _is_row_number(col, p.values):
                drop(col, "rownumber")
                continue
            if p.junk:
                report.note(f"Column '{col}' had {plural(p.junk, 'value')} that are not numbers "
                            f"(e.g. {', '.join(repr(e) for e in p.examples)}); they were treated as missing.")
            if p.nonfinite:
                report.note(f"Column '{col}' had {plural(p.nonfinite, 'infinite or huge value')} "
                            f"(|v| > 1e300); they were treated as missing.")
            if p.decimal_comma:
                report.note(f"Column '{col}' uses decimal commas; they were read as decimal points.")
            if p.thousands:
                report.note(f"Column '{col}' groups thousands with commas (\"1,000\" is one thousand); "
                            "they were read as such.")
            values = p.values.to_numpy(dtype=np.float64)
            fill = float(np.nanmedian(values)) if p.missing else 0.0
            if p.missing:
                values = np.where(np.isnan(values), fill, values)
                report.imputed[col] = p.missing
            widen(1)
            from_text = not (pdt.is_numeric_dtype(df[col]) and not pdt.is_bool_dtype(df[col]))
            lo, hi = float(values.min()), float(values.max())
            skewed = bool(options.scaling == "auto" and lo >= 0 and len(np.unique(values[: 50_000])) > SKEW_MIN_VALUES
                          and skew(values) > SKEW_LOG)
            plan.append(_Feature(col, [col], fill, lo, hi, skewed, values if from_text else None))
            width += 1
            continue
        values = p.values
        counts = values.value_counts()
        if p.missing:
            values = values.fillna(counts.index[0])
            report.imputed[col] = p.missing
            counts = values.value_counts()
        keep = [c for c in counts.index[: options.max_categories] if counts[c] / n >= options.min_category_fraction]
        folded = len(counts) - len(keep)
        categories = keep + (["other"] if folded else [])
        if len(categories) < 2:
            drop(col, "rare")
            continue
        if folded:
            report.note(f"In column '{col}', {plural(folded, 'rare category', 'rare categories')} "
                        f"were folded into 'other'.")
        widen(len(categories))
        arr = values.to_numpy(dtype=object)
        codes = np.full(n, len(keep) if folded else -1, dtype=np.int16)
        for k, c in enumerate(keep):
            codes[arr == c] = k
        plan.append(_Feature(col, [f"{col}={c}" for c in categories], codes=codes))
        width += len(categories)
        report.encoded[col] = [str(c) for c in categories]

    for why, cols in drops.items():
        cols_text = ", ".join(f"'{c}'" for c in cols)
        report.note(DROP_SENTENCES[why].format(n=plural(len(cols), "column"), cols=cols_text))
    if report.imputed:
        detail = ", ".join(f"'{c}' ({k})" for c, k in report.imputed.items())
        report.note(f"Filled {plural(sum(report.imputed.values()), 'missing value')} (median for numbers, "
                    f"most frequent value for categories): {detail}.")
    if report.encoded:
        detail = ", ".join(f"'{c}' ({len(v)})" for c, v in report.encoded.items())
        report.note(f"One-hot encoded {plural(len(report.encoded), 'categorical column')}: {detail}.")
    return plan


# ------------------------------------------------------------------------------------------- load
def _pick_columns(df: "pd.DataFrame", options: TableOptions, fname: str,
                  report: LoadReport) -> tuple[list[str], np.ndarray | None, np.ndarray]:
    """Check the label, ID and feature column choices. Returns (feature columns, labels, ids)."""
    available = list(df.columns)

    def need(col: str, role: str) -> None:
        if col not in available:
            raise InputError(f"{fname}: the {role} column '{col}' does not exist; choose one of: "
                             f"{list_some(available, 30)}.")

    labels = None
    if options.label_column is not None:
        need(options.label_column, "label")
        what = f"Column '{options.label_column}'"
        labels = usable_labels(values_to_str(df[options.label_column].to_numpy()), what, report,
                               id_hint=" Choose it as the ID column instead.")
        if labels is None:
            report.note(f"{what} is kept out of the features.")
        else:
            report.note(f"{what} is the label ({plural(len(set(labels)), 'class', 'classes')}); "
                        "it is kept out of the features and used only for evaluation.")
    if options.id_column is not None:
        need(options.id_column, "ID")
        column = df[options.id_column]
        if column.isna().any():
            raise InputError(f"{fname}: the ID column '{options.id_column}' has "
                             f"{plural(int(column.isna().sum()), 'missing value')}; IDs must all be present and "
                             "unique. Pick another ID column or none.")
        ids = values_to_str(column.to_numpy())
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            repeated = [f"'{v}' ({c} times)" for v, c in zip(uniq[counts > 1], counts[counts > 1])]
            raise InputError(f"{fname}: the ID column '{options.id_column}' has repeated values, e.g. "
                             f"{list_some(repeated, 3)}; IDs must be unique. Pick another ID column or none.")
        report.note(f"Column '{options.id_column}' holds the row IDs; it is kept out of the features.")
    else:
        ids = np.arange(len(df)).astype(str)
    reserved = {options.label_column, options.id_column} - {None}
    if options.columns is None:
        return [c for c in available if c not in reserved], labels, ids
    for col in options.columns:
        need(col, "feature")
    left_out = [c for c in options.columns if c in reserved]
    if left_out:
        report.note(f"Kept {', '.join(repr(c) for c in left_out)} out of the features (label or ID column).")
    return [c for c in dict.fromkeys(options.columns) if c not in reserved], labels, ids


CATEGORY_WEIGHT = 1 / np.sqrt(2)  # a one-hot indicator's value: rows of two levels differ by 1, one std of a number
SKEW_LOG = 1.0  # "auto" scaling takes log(1 + x) of non-negative columns more skewed than this
SKEW_MIN_VALUES = 10  # ... that have more distinct values than this (small counts and scales stay as they are)


def _build(df: "pd.DataFrame", plan: list[_Feature], options: TableOptions, report: LoadReport,
           guard: LoadGuard) -> np.ndarray:
    """X (n, d) float32, filled one column at a time: each number scaled in float64 and then stored,
    each category's indicators written where its codes say; returns X, sets ``report.scaling``.

    Numbers: "auto" takes log(1 + x) of strongly right-skewed non-negative columns (incomes, amounts,
    durations: their segments differ by factors, not by fixed amounts) and then standardizes, unless
    all numeric columns share one range (then they are scaled together). Categories: each level's
    indicator is 0 or ``CATEGORY_WEIGHT``, so two rows of different levels are as far apart as two
    rows one standard deviation apart in a number, whatever the number of levels; rare levels weigh
    no more than common ones (measured over the table suite in docs/BENCHMARKS.md).
    """
    numbers = [f for f in plan if f.numeric]
    has_cat = len(numbers) < len(plan)
    lo = np.array([f.lo for f in numbers])
    hi = np.array([f.hi for f in numbers])
    if options.scaling == "auto":
        scaling = "shared" if len(numbers) >= 2 and ranges_shared(lo, hi) else "standard"
    else:
        scaling = options.scaling
    logged = [f.column for f in numbers if f.skewed] if options.scaling == "auto" and scaling == "standard" else []
    if logged:
        report.transformed = {c: "log(1 + x)" for c in logged}
        report.note(f"Took log(1 + x) of {plural(len(logged), 'right-skewed column')} before scaling "
                    f"(their values spread over orders of magnitude): {', '.join(repr(c) for c in logged)}.")
    if numbers:
        report.note(scaling_sentence(scaling, len(numbers), "numeric feature" if has_cat else "feature"))
    weight = CATEGORY_WEIGHT if scaling != "none" else 1.0
    if has_cat and scaling != "none":
        report.note(f"One-hot columns are 0 or {CATEGORY_WEIGHT:.3f}, so a different category counts as much as "
                    "one standard deviation of a number, whatever the number of categories.")
    shared_lo, shared_hi = (float(lo.min()), float(hi.max())) if len(numbers) else (0.0, 1.0)
    X = np.zeros((len(df), sum(len(f.names) for f in plan)), dtype=np.float32)
    top = np.finfo(np.float32).max
    j = 0
    for feature in plan:
        guard.check(f"loading {report.source}")
        if feature.numeric:
            values = _feature_values(df, feature)
            if feature.column in report.transformed:
                values = np.log1p(values)
            if scaling == "shared":
                values = (values - shared_lo) / (shared_hi - shared_lo if shared_hi > shared_lo else 1.0)
                if feature.lo == feature.hi:
                    values = np.zeros_like(values)
            else:
                values = scale_features(values[:, None], scaling)[:, 0]
            X[:, j] = np.clip(values, -top, top)
            feature.values = None  # the float64 copy is done with
            j += 1
            continue
        codes = feature.codes
        for k in range(len(feature.names)):
            X[codes == k, j + k] = weight  # type: ignore[operator]
        feature.codes = None
        j += len(feature.names)
    report.scaling = scaling
    return X


def load_table(source: Source, name: str | None = None, options: TableOptions | None = None,
               limits: Limits | None = None, *, should_stop: StopCheck | None = None) -> Dataset:
    """Load a CSV, TSV or Parquet table as a Dataset.

    Returns a Dataset with X (n, d) float32 (numbers as they are, categories one-hot, missing values
    filled, scaled as ``options.scaling`` says), feature_names like "age" and "color=red", labels (n,)
    str from the label column, ids (n,) str, and ``table``: the n rows as read.
    Raises InputError (or LimitError) with a message that says what to fix. ``should_stop()`` and
    ``limits.max_load_seconds`` are checked between batches of rows and between columns.
    """
    options, limits = options or TableOptions(), limits or Limits()
    options.validate()
    guard = LoadGuard(limits, should_stop)
    fname, data = table_input(source, name, limits)
    report = LoadReport(source=fname, kind="table")
    try:
        df = _read_frame(data, fname, options, limits, report, guard=guard)
    finally:
        _close_opened(source, data)
    del data
    report.n_rows_read = len(df)
    check_min_rows(len(df), fname)
    feature_cols, labels, ids = _pick_columns(df, options, fname, report)
    plan = _plan(df, feature_cols, options, report, options.columns is None, limits, guard)
    names = [n for f in plan for n in f.names]
    if not names:
        why = "; ".join(f"'{c}': {r}" for c, r in report.dropped_columns.items()) or "no columns were chosen"
        one_column = (" Only one column was found: if the file's columns are separated by something other than "
                      "a comma, semicolon, tab or |, that delimiter is not known; save the file with commas."
                      if len(df.columns) == 1 and re.search(r"[^\w\s.()-]", str(df.columns[0])) else "")
        raise InputError(f"{fname}: no usable feature columns are left ({why}). "
                         f"Choose other columns, or add numeric or categorical columns.{one_column}")
    X = _build(df, plan, options, report, guard)
    report.n_rows, report.n_features = X.shape
    return Dataset(X=X, feature_names=names, ids=ids, report=report, kind="table",
                   name=display_name(fname), labels=labels, table=df)
