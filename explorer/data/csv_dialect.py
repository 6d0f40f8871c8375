"""The text of a CSV / TSV file: its encoding, line ends, Excel's ``sep=`` line, its delimiter, the
header's names, and the line scan that names a broken line by its number.

Shared by the whole-file reader (:mod:`explorer.data.reading`) and the streamed one
(:mod:`explorer.data.streamed`), so a file reads the same whatever its size.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from explorer.data.guards import LoadGuard
from explorer.data.words import list_some, plural
from explorer.dataset import LoadReport
from explorer.errors import InputError
from explorer.limits import Limits
from explorer.validation import MIN_ROWS

DELIMITERS = ",;\t|"
EXCEL_SEP_RE = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)  # Excel's hint line: sep=;
GUARD_EVERY_ROWS = 20_000  # how often the row scan checks Stop and the time cap
# the strings read as missing, in a small file (pandas.read_csv's defaults) and in a streamed one alike
NA_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
LATIN1_NOTE = "{fname} is not valid UTF-8; it was read as Latin-1, so check accented characters."
CR_ONLY_NOTE = "{fname} ends its lines with CR only (old Mac style); they were read as line breaks."
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),  # before UTF-16: its LE mark starts alike
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(data: bytes, fname: str, encoding: str | None, report: LoadReport | None) -> str:
    """A file's bytes as text: in ``encoding`` when given; else by its byte-order mark, as UTF-8, or
    (noted in ``report``) as Latin-1. Binary data (NUL bytes) is refused with what to do."""
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as e:
            raise InputError(
                f"{fname} can't be read as {encoding} text ({e}); give the file's real encoding or save it as UTF-8."
            ) from None
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{fname} starts with a {codec.upper()} byte-order mark but is not valid "
                    f"{codec.upper()} ({e}); save it as UTF-8."
                ) from None
    head = data[:65536]
    if b"\x00" in head:
        wide = ""
        half = len(head) // 2
        if (len(head) >= 8 and head[1::2].count(0) > 0.9 * half) or head[0::2].count(0) > 0.9 * half:
            wide = " It looks like UTF-16 or UTF-32 text without a byte-order mark: save it as UTF-8."
        raise InputError(
            f"{fname} does not look like a text table (it holds binary data).{wide} Save it as CSV (UTF-8) or Parquet."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if report is not None:
            report.note(LATIN1_NOTE.format(fname=fname))
        return data.decode("latin-1")


def detect_delimiter(text: str, ext: str) -> str:
    """The column separator of a CSV's text, one of :data:`DELIMITERS` (``ext`` decides when no line tells)."""
    head = "\n".join(text[:65536].splitlines()[:50])
    first = head.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
        if found in first:
            return found
    except csv.Error:
        pass
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] > 0:
        return best
    return "\t" if ext in (".tsv", ".tab") else ","


def scan_csv(
    text: str | Iterable[str], delimiter: str, fname: str, limits: Limits, nrows: int | None, guard: LoadGuard
) -> tuple[list[str], int]:
    """Check every row has the header's number of fields (naming the first line that does not) and
    the row and column limits. Returns (the header, the number of rows). ``text``: the whole text, or
    its lines (a text file: the streamed reader names a broken line this way)."""
    lines = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
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
        raise InputError(
            f"{fname}: line {reader.line_num} can't be parsed ({e}). Check that every quote is "
            f"closed and that no field is longer than {csv.field_size_limit():,} characters."
        ) from None
    if rows == 0:
        raise InputError(f"{fname} has a header but no rows; it needs at least {MIN_ROWS} rows of data.")
    return header, rows


def unique_names(names: list[str], report: LoadReport | None) -> list[str]:
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


def normalize_newlines(text: str, fname: str, report: LoadReport | None) -> str:
    """Lines ended by a lone CR (classic Mac OS, some exports) -> LF, which the csv module needs."""
    if "\r" not in text or not re.search(r"\r(?!\n)", text):
        return text
    if report is not None and "\n" not in text:
        report.note(CR_ONLY_NOTE.format(fname=fname))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def excel_sep_line(text: str, fname: str, report: LoadReport | None) -> tuple[str, str | None]:
    """Excel's optional first line ``sep=;`` names the delimiter: use it and skip the line."""
    first, _, rest = text.partition("\n")
    found = EXCEL_SEP_RE.match(first.strip("\ufeff"))
    if not found:
        return text, None
    if report is not None:
        report.note(
            f"The first line of {fname}, {first.strip()!r}, names the delimiter (an Excel hint); "
            "it was used and skipped."
        )
    return rest, found.group(1)
