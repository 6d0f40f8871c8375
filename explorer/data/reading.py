"""A table file (CSV, TSV, Parquet) -> DataFrame, whatever its size and however it was given.

A Parquet file is read in batches (:func:`explorer.data.budgets.read_parquet_table`); a CSV of
:data:`~explorer.data.streamed.STREAM_MIN_BYTES` or more, or given as a file, is streamed by pyarrow
(:mod:`explorer.data.streamed`); smaller ones are decoded and scanned whole, so a broken line is
named by its number. Either way the columns get unique string names and the delimiter is kept in
``df.attrs["delimiter"]`` (it decides what a comma inside a number means).
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from explorer.data import streamed
from explorer.data.budgets import read_parquet_table
from explorer.data.csv_dialect import (
    decode_text,
    detect_delimiter,
    excel_sep_line,
    normalize_newlines,
    scan_csv,
    unique_names,
)
from explorer.data.files import ServerFile, Source, extension, is_path, open_regular_file, read_source, source_name
from explorer.data.guards import VALUE_BYTES, LoadGuard, check_decoded_bytes
from explorer.dataset import LoadReport
from explorer.errors import InputError, LimitError
from explorer.limits import Limits
from explorer.validation import MIN_ROWS

if TYPE_CHECKING:
    import pandas as pd


def table_input(source: Source, name: str | None, limits: Limits) -> tuple[str, bytes | IO[bytes]]:
    """(file name, what :func:`read_frame` reads). A Parquet file, or a CSV of
    :data:`~explorer.data.streamed.STREAM_MIN_BYTES` or more, given as a path or as a
    :class:`~explorer.data.files.ServerFile` stays a file, read in batches; anything else is read
    whole by :func:`~explorer.data.files.read_source`. A path is held to ``max_upload_bytes`` (from
    its size, before it is read); a ServerFile (a path or URL the server opened for a user) is not.
    Close what was opened for a path with :func:`close_opened`."""
    fname = source_name(source, name)
    parquet = extension(fname) in (".parquet", ".pq")
    if is_path(source):
        raw = open_regular_file(Path(source))
        size = os.fstat(raw.fileno()).st_size
        if parquet or size >= streamed.STREAM_MIN_BYTES:
            try:
                limits.check("max_upload_bytes", size, f"{fname} is {size:,} bytes")
            except LimitError:
                raw.close()
                raise
            return fname, cast("IO[bytes]", ServerFile(raw, fname, str(source), size, limits))  # it reads like one
        raw.close()
    if isinstance(source, ServerFile) and (parquet or source.size is None or source.size >= streamed.STREAM_MIN_BYTES):
        return fname, cast("IO[bytes]", source)
    return read_source(source, name, limits)


def close_opened(source: Source, data: object) -> None:
    """Close the file :func:`table_input` opened for a path (one given open stays open)."""
    if is_path(source) and hasattr(data, "close"):
        data.close()


def read_frame(
    data: bytes | IO[bytes],
    fname: str,
    limits: Limits,
    report: LoadReport | None,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    nrows: int | None = None,
    guard: LoadGuard | None = None,
) -> pd.DataFrame:
    """Bytes (or a seekable binary file) of a CSV/TSV/Parquet file -> DataFrame with unique string
    column names. ``delimiter`` and ``encoding``: as the user gave them (None: detected).

    The decoded size is checked against ``limits.max_decoded_bytes`` before pandas parses anything:
    from the Parquet footer, or from the CSV's rows x columns counted by the scan. ``nrows``: read
    only the first rows. ``guard`` (Stop and the time cap) is checked between batches of rows.
    """
    import pandas as pd

    guard = guard or LoadGuard(limits)
    if extension(fname) in (".parquet", ".pq"):
        return _read_parquet(data, fname, limits, report, nrows, guard)
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) >= streamed.STREAM_MIN_BYTES:
        f = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        return streamed.read_csv_streamed(f, fname, delimiter, encoding, limits, report, nrows, guard)
    if not data.strip():
        raise InputError(f"{fname} is empty; it needs a header line and at least {MIN_ROWS} rows.")
    text = decode_text(data, fname, encoding, report)
    text = normalize_newlines(text, fname, report)
    text, hinted = excel_sep_line(text, fname, report)
    delimiter = delimiter or hinted or detect_delimiter(text, extension(fname))
    header, n_rows = scan_csv(text, delimiter, fname, limits, nrows, guard)
    check_decoded_bytes(
        limits,
        n_rows * len(header) * VALUE_BYTES + sys.getsizeof(text),
        f"{fname} ({n_rows:,} rows x {len(header):,} columns)",
    )
    names = unique_names(header, report)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=0,
            names=names,
            nrows=nrows,
            skipinitialspace=True,
            engine="c",
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError, csv.Error) as e:
        raise InputError(f"{fname} can't be parsed as a table ({str(e).strip()}).") from None
    if report is not None and delimiter != ",":
        report.note(f"Columns are separated by {'a tab' if delimiter == chr(9) else repr(delimiter)}.")
    df.attrs["delimiter"] = delimiter  # decides what a comma inside a number means (profile_column)
    return df


def _read_parquet(
    data: bytes | IO[bytes], fname: str, limits: Limits, report: LoadReport | None, nrows: int | None, guard: LoadGuard
) -> pd.DataFrame:
    table = read_parquet_table(
        data, fname, limits, nrows=nrows, between_batches=lambda: guard.check(f"loading {fname}")
    )
    df = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    df.columns = unique_names([str(c) for c in df.columns], report)
    if len(df.columns) == 0:
        raise InputError(f"{fname} has no columns.")
    return df.reset_index(drop=True)
