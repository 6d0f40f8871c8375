"""Big CSV / TSV files read in batches with pyarrow, without holding their text in memory.

A small table is read whole (:func:`explorer.data.reading.read_frame`): its text is decoded and
scanned line by line, so a broken line is named by its number. A file of :data:`STREAM_MIN_BYTES` or more (a big upload,
a path or URL the server opened) goes through ``pyarrow.csv.open_csv`` instead: blocks of
:data:`CSV_BLOCK_BYTES` are parsed (on all cores) into typed Arrow batches, the row, size and time
caps are checked after each batch, and only the batches are kept, never the text. The delimiter,
the encoding, Excel's ``sep=`` line and the header are taken from the file's first bytes as the
whole-file reader takes them from all of it; a column whose type pyarrow guessed from the first
block but which later holds something else is read again as text (the profile then decides, as
for a small file): the file is read once more for each such column, so a file whose columns turn to
text late costs a few passes. A broken line is found by a line scan, to be named by its number.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import IO, TYPE_CHECKING

from explorer.data.csv_dialect import (
    BOMS,
    CR_ONLY_NOTE,
    LATIN1_NOTE,
    NA_VALUES,
    decode_text,
    detect_delimiter,
    excel_sep_line,
    scan_csv,
    unique_names,
)
from explorer.data.files import extension
from explorer.data.guards import LoadGuard, check_decoded_bytes
from explorer.dataset import LoadReport
from explorer.errors import InputError
from explorer.limits import Limits
from explorer.validation import MIN_ROWS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

STREAM_MIN_BYTES = 32 * 2**20  # tables this big (or of unknown size) are streamed, smaller ones read whole
CSV_BLOCK_BYTES = 16 * 2**20  # text parsed per batch
HEAD_BYTES = 1 * 2**20  # the first bytes, which give the encoding, the delimiter and the header
COLUMN_RE = re.compile(r"In CSV column #(\d+)")


def _head_text(head: bytes, fname: str, encoding: str | None) -> tuple[str, str]:
    """(the decoded first bytes, the codec to read the file with). Refuses binary data as the
    whole-file reader does."""
    codec = encoding
    if codec is None:
        codec = next((c for bom, c in BOMS if head.startswith(bom)), None)
    if codec is None:
        decode_text(head[:65536], fname, None, None)  # refuses binary data with its message; never Latin-1 here
        codec = "utf-8-sig"
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head, final=False)
    except LookupError:
        raise InputError(
            f"{fname} can't be read as {codec} text (no such encoding); give the file's real encoding "
            "or save it as UTF-8."
        ) from None
    except UnicodeDecodeError:
        if encoding is not None or codec != "utf-8-sig":
            raise InputError(
                f"{fname} can't be read as {codec} text; give the file's real encoding or save it as UTF-8."
            ) from None
        return head.decode("latin-1"), "latin-1"
    return text, codec


def read_csv_streamed(
    f: IO[bytes],
    fname: str,
    delimiter: str | None,
    encoding: str | None,
    limits: Limits,
    report: LoadReport | None,
    nrows: int | None,
    guard: LoadGuard,
) -> pd.DataFrame:
    """A CSV/TSV file (a seekable binary file) -> DataFrame with unique string column names, read in
    batches (see the module's docstring). ``delimiter`` and ``encoding``: as given (None: detected)."""
    import pyarrow as pa

    f.seek(0)
    head = f.read(HEAD_BYTES)
    if not head.strip():
        raise InputError(f"{fname} is empty; it needs a header line and at least {MIN_ROWS} rows.")
    text, codec = _head_text(head, fname, encoding)
    if codec == "latin-1" and report is not None:
        report.note(LATIN1_NOTE.format(fname=fname))
    if "\r" in text and "\n" not in text and report is not None:
        report.note(CR_ONLY_NOTE.format(fname=fname))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, hinted = excel_sep_line(text, fname, report)
    skip = 2 if hinted is not None else 1
    delimiter = delimiter or hinted or detect_delimiter(text, extension(fname))
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True), None)
    if not header:
        raise InputError(f"{fname} is empty; it needs a header line and at least {MIN_ROWS} rows.")
    limits.check("max_columns", len(header), f"{fname} has {len(header):,} columns")
    names = unique_names(header, report)
    forced: dict[str, object] = {}
    for _ in range(len(names) + 2):  # each retry reads one more column as text, or the file as Latin-1
        try:
            table = _read_batches(f, fname, names, skip, delimiter, codec, forced, NA_VALUES, limits, nrows, guard)
        except pa.ArrowInvalid as e:
            message = str(e)
            column = COLUMN_RE.search(message)
            if "UTF8" in message and codec.startswith("utf-8") and encoding is None:
                codec = _to_latin1(fname, report)
                continue
            if column and int(column.group(1)) < len(names) and names[int(column.group(1))] not in forced:
                forced[names[int(column.group(1))]] = pa.string()  # its type was guessed from the first block
                continue
            _name_the_broken_line(f, fname, codec, delimiter, skip - 1, limits, guard)
            raise InputError(
                f"{fname} can't be parsed as a table ({message.removeprefix('CSV parse error: ')}; "
                f"delimiter {delimiter!r}). Fix that line, or quote fields that contain the "
                "delimiter."
            ) from None
        if (
            codec.startswith("utf-8") and encoding is None and any(pa.types.is_binary(t) for t in table.schema.types)
        ):  # pyarrow's word for "not UTF-8"
            codec = _to_latin1(fname, report)
            continue
        break
    else:
        raise InputError(f"{fname} can't be parsed as a table; save it again as CSV (UTF-8).")
    if table.num_rows == 0:
        raise InputError(f"{fname} has a header but no rows; it needs at least {MIN_ROWS} rows of data.")
    df = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    if report is not None and delimiter != ",":
        report.note(f"Columns are separated by {'a tab' if delimiter == chr(9) else repr(delimiter)}.")
    df.attrs["delimiter"] = delimiter
    return df


def _name_the_broken_line(
    f: IO[bytes], fname: str, codec: str, delimiter: str, skip: int, limits: Limits, guard: LoadGuard
) -> None:
    """pyarrow says a row has the wrong number of fields but not where: scan the file line by line,
    as the whole-file reader does, to raise its message with the line's number (within the time cap)."""
    f.seek(0)
    lines = io.TextIOWrapper(f, encoding=codec, errors="replace", newline="")
    try:
        for _ in range(skip):  # Excel's sep= line, not counted (as the whole-file reader drops it)
            next(lines, None)
        scan_csv(lines, delimiter, fname, limits, None, guard)
    finally:
        lines.detach()  # the file stays open for its owner


def _to_latin1(fname: str, report: LoadReport | None) -> str:
    if report is not None:
        report.note(LATIN1_NOTE.format(fname=fname))
    return "latin-1"


def _read_batches(
    f: IO[bytes],
    fname: str,
    names: list[str],
    skip: int,
    delimiter: str,
    codec: str,
    forced: dict[str, object],
    na_values: tuple[str, ...],
    limits: Limits,
    nrows: int | None,
    guard: LoadGuard,
) -> pa.Table:
    """One pass over the file: the Arrow table of its rows, with every cap checked after each batch."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    f.seek(0)
    reader = pacsv.open_csv(
        f,
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=skip,
            block_size=CSV_BLOCK_BYTES,
            encoding="utf8" if codec.startswith("utf-8") else codec,
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            null_values=sorted(na_values),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            column_types=forced,
        ),
    )
    batches, rows, held = [], 0, 0
    for batch in reader:
        if nrows is not None and rows + batch.num_rows > nrows:
            batch = batch.slice(0, nrows - rows)
        batches.append(batch)
        rows += batch.num_rows
        held += batch.nbytes
        if rows > limits.max_rows:
            limits.check("max_rows", rows, f"{fname} has over {limits.max_rows:,} rows")
        check_decoded_bytes(
            limits, held, f"{fname} ({rows:,} rows x {len(names):,} columns read so far)", while_reading=True
        )
        guard.check(f"loading {fname}")
        if nrows is not None and rows >= nrows:
            break
    return pa.Table.from_batches(batches, schema=reader.schema)
