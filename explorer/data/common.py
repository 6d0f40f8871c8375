"""What every loader shares: reading a source into bytes, file kinds, small conversions."""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, Union

import numpy as np

from explorer.errors import ExplorerError, InputError, LimitError
from explorer.events import StopCheck
from explorer.limits import Limits, how_to_raise
from explorer.validation import MIN_ROWS

if TYPE_CHECKING:
    from explorer.dataset import LoadReport

TABLE_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".parquet", ".pq")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
ARCHIVE_EXTENSIONS = (".zip",)
ARRAY_EXTENSIONS = (".npy", ".npz")
SUPPORTED_EXTENSIONS = TABLE_EXTENSIONS + ARCHIVE_EXTENSIONS + IMAGE_EXTENSIONS + ARRAY_EXTENSIONS

VALUE_BYTES = 8  # what one value read costs: a float64 cell of the table as read (and of most arrays)
FEATURE_BYTES = 4  # what one feature costs once encoded: Dataset.X is float32, filled column by column
BOMB_MIN_BYTES = 32 * 2**20  # a zip or .npz member expanding past this is checked for its compression ratio
MISSING_LABEL = "(missing)"
UNIQUE_LABEL_MIN_ROWS = 10  # a few rows may each be their own class; more than this, it is an ID

# A path, raw bytes, or an open binary file (Streamlit's UploadedFile is a BytesIO with .name).
Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]
FileKind = Literal["table", "images", "array"]


def extension(name: str) -> str:
    """The lower-case extension of a file name, with its dot ("" when there is none)."""
    return Path(name).suffix.lower()


def sniff_kind(name: str | os.PathLike) -> FileKind:
    """Which loader reads the file ``name``: "table", "images" or "array" (by extension).

    A directory is "images". An unknown extension raises :class:`InputError` listing the known ones.
    """
    if os.path.isdir(name):
        return "images"
    ext = extension(str(name))
    if ext in TABLE_EXTENSIONS:
        return "table"
    if ext in IMAGE_EXTENSIONS or ext in ARCHIVE_EXTENSIONS:
        return "images"
    if ext in ARRAY_EXTENSIONS:
        return "array"
    shown = Path(str(name)).name or str(name)
    raise InputError(
        f"{shown}: files of type '{ext or '(no extension)'}' can't be read; "
        f"use one of: {', '.join(SUPPORTED_EXTENSIONS)} (or a folder of images)."
    )


def is_path(source: object) -> bool:
    return isinstance(source, (str, os.PathLike))


def source_name(source: Source, name: str | None = None) -> str:
    """The file name to show in messages and to choose the format by (``name`` wins)."""
    if name:
        return str(name)
    if is_path(source):
        return Path(source).name  # type: ignore[arg-type]
    given = getattr(source, "name", None)
    if isinstance(given, str) and given:
        return Path(given).name
    raise InputError("the data came without a file name; pass name='data.csv' (the extension decides the format).")


def display_name(file_name: str) -> str:
    """A short name for display: the file name without folders and extension."""
    return Path(file_name).stem or file_name


class LoadStopped(ExplorerError):
    """A load was stopped because its ``should_stop()`` said so (the dashboard's Stop button)."""


class LoadGuard:
    """Checked between the steps of one load (images, batches of rows, columns): raises
    :class:`LoadStopped` when ``should_stop()`` says so and :class:`LimitError` once the load has run
    past ``limits.max_load_seconds``. A load never blocks between two checks for long: each step is
    bounded by the caps checked before it (pixels, rows, bytes)."""

    def __init__(self, limits: Limits, should_stop: StopCheck | None = None) -> None:
        self.limits, self.should_stop = limits, should_stop
        self.start = time.monotonic()

    def check(self, what: str) -> None:
        """``what``: the load, for messages ("loading data.csv")."""
        if self.should_stop is not None and self.should_stop():
            raise LoadStopped(f"{what} was stopped.")
        elapsed = time.monotonic() - self.start
        if elapsed > self.limits.max_load_seconds:
            raise LimitError(f"{what} took over {elapsed:,.0f} seconds, more than the limit max_load_seconds="
                             f"{self.limits.max_load_seconds:,.0f}. {how_to_raise('max_load_seconds')}")


def human_bytes(n: float) -> str:
    """"512 MiB", "1.2 GiB", "40 KiB", "17 bytes"."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:,.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{int(n):,} bytes"


def check_decoded_bytes(limits: Limits, n_bytes: int, what: str, *, while_reading: bool = False) -> None:
    """Refuse, before decoding, data whose decoded size (estimated: :data:`VALUE_BYTES` a value plus
    any text) is over ``limits.max_decoded_bytes``. ``what``: "data.parquet (1,000,000 rows x 100 columns)".

    ``while_reading``: ``n_bytes`` is what a streamed read holds so far (its size was not known
    before), and the read stops there."""
    cap = limits.max_decoded_bytes
    if n_bytes > cap:
        when = ("it was stopped while being read" if while_reading else "it was refused before decoding")
        raise LimitError(
            f"{what} would take about {human_bytes(n_bytes)} of memory once decoded, more than the limit "
            f"max_decoded_bytes={cap:,} ({human_bytes(cap)}); {when}. Load fewer rows or "
            f"columns. {how_to_raise('max_decoded_bytes')}"
        )


def check_expansion(limits: Limits, what: str, expanded: int, compressed: int) -> None:
    """Refuse a zip or .npz member that expands more than ``limits.max_compression_ratio`` times to
    more than :data:`BOMB_MIN_BYTES` (a zip bomb), from its declared sizes, before reading it."""
    ratio = expanded / max(compressed, 1)
    if expanded > BOMB_MIN_BYTES and ratio > limits.max_compression_ratio:
        raise LimitError(
            f"{what} expands {ratio:,.0f} times (from {compressed:,} to {expanded:,} bytes), more than the limit "
            f"max_compression_ratio={limits.max_compression_ratio:,}; that looks like a zip bomb, so it was "
            f"refused. {how_to_raise('max_compression_ratio')}"
        )


def _not_a_file(path: Path, mode: int) -> str:
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a folder" if stat.S_ISDIR(mode) else "not a regular file")
    via = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
    return (f"{path}: is {kind}{via}, not a regular file, so it is not read (reading it could block or never "
            "end). Copy the data into a file and load that.")


def open_regular_file(path: Path) -> IO[bytes]:
    """``path`` opened for reading in binary mode, when it is a regular file.

    Opened without blocking and checked on the open file (no race with a swap of the path): a FIFO,
    a device (or a link to one), a socket or a folder is refused as what it is, never read; a path
    that does not exist, or a link to nothing, says so.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(f"{path}: is a link to {os.readlink(path)}, which does not exist.") from None
        raise InputError(f"{path}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(_not_a_file(path, stat.S_IFDIR)) from None
    except PermissionError:
        raise InputError(f"{path}: permission denied; make the file readable.") from None
    except OSError as e:
        raise InputError(f"{path}: can't be opened ({e.strerror or e}).") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(_not_a_file(path, mode))
    return os.fdopen(fd, "rb", buffering=0)


def read_path(path: Path, limits: Limits, fname: str | None = None) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_regular_file`), at most
    ``limits.max_upload_bytes`` of them."""
    fname = fname or path.name
    with open_regular_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        limits.check("max_upload_bytes", size, f"{fname} is {size:,} bytes")
        data = _read_at_most(f, limits.max_upload_bytes + 1)
    limits.check("max_upload_bytes", len(data), f"{fname} is over {limits.max_upload_bytes:,} bytes")
    return data


def _read_at_most(f: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        chunk = f.read(min(left, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_source(source: Source, name: str | None, limits: Limits) -> tuple[str, bytes]:
    """Read one file-like source completely, checking ``limits.max_upload_bytes``.

    Returns (file name, the bytes). A file-like object is read from its start; a path must be a
    regular file (see :func:`read_path`). A :class:`~explorer.data.sources.ServerFile` (a path or
    URL the server opened) is not an upload: it is read whole only when it fits
    ``limits.max_decoded_bytes`` (tables are streamed instead, see ``tables.py``).
    """
    from explorer.data.sources import ServerFile

    fname = source_name(source, name)
    cap = limits.max_upload_bytes
    if isinstance(source, ServerFile):
        return fname, source.read_all(limits)
    if is_path(source):
        return fname, read_path(Path(source), limits, fname)  # type: ignore[arg-type]
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass  # not seekable (a pipe): read from where it is
        data = source.read(cap + 1)
        if isinstance(data, str):
            raise InputError(f"{fname}: the file was opened in text mode; open it in binary mode ('rb').")
    else:
        raise InputError(
            f"can't read data from a {type(source).__name__}; pass a path, bytes or a binary file object."
        )
    limits.check("max_upload_bytes", len(data), f"{fname} is {len(data):,} bytes" if len(data) <= cap
                 else f"{fname} is over {cap:,} bytes")
    return fname, data


def check_min_rows(n: int, fname: str, what: str = "rows") -> None:
    """Raise :class:`InputError` when there are fewer than ``explorer.validation.MIN_ROWS`` rows, the
    fewest that clustering and the 2-D map work on (so a file that loads can also be clustered)."""
    if n < MIN_ROWS:
        raise InputError(
            f"{fname} has only {plural(n, what.rstrip('s'), what)}; at least {MIN_ROWS} are needed to find "
            "any structure. "
            "Add more data."
        )


def list_some(items: list[str] | tuple[str, ...], limit: int = 5) -> str:
    """"a, b, c and 4 more": at most ``limit`` items, then a count."""
    items = [str(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 column", "3 columns"."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def values_to_str(values: object) -> np.ndarray:
    """Labels or ids as an (n,) array of str.

    Whole floats print as integers ("3", not "3.0": a column of ints with gaps reads as float);
    missing values become ``"(missing)"``.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        out = arr.astype(str).astype(object)
        finite = np.isfinite(arr)
        whole = finite & (np.abs(arr) < 2**53)
        whole[whole] = np.floor(arr[whole]) == arr[whole]
        out[whole] = arr[whole].astype(np.int64).astype(str)
        out[np.isnan(arr)] = MISSING_LABEL
        return out.astype(str)
    if arr.dtype.kind == "S":
        return np.array([v.decode("utf-8", "replace") for v in arr], dtype=str)
    if arr.dtype.kind == "O":
        import pandas as pd

        missing = pd.isna(arr)
        return np.array([MISSING_LABEL if m else str(v) for v, m in zip(arr, missing)], dtype=str)
    return arr.astype(str)


def usable_labels(labels: np.ndarray, what: str, report: "LoadReport", *, id_hint: str = "") -> np.ndarray | None:
    """The labels (n,) str if they can score a clustering, else None; notes in ``report`` say why not.

    Missing labels stay, as the class ``"(missing)"`` (noted). Labels with a single class, or with a
    different value on every row (names, not classes), can't tell clusters apart: they are dropped
    (noted, with ``id_hint`` saying what to do instead). ``what`` names them: "Column 'kind'".
    """
    n = len(labels)
    missing = int(np.sum(labels == MISSING_LABEL))
    classes = np.unique(labels[labels != MISSING_LABEL])
    if len(classes) <= 1:
        shown = f" ('{classes[0]}')" if len(classes) else ""
        report.note(f"{what} holds a single class{shown}, which can't score the clusters, so it is not used as "
                    "the label. Choose a label with two or more classes to evaluate the clusters.")
        return None
    if len(classes) == n - missing and n - missing > UNIQUE_LABEL_MIN_ROWS:
        report.note(f"{what} has a different value on every row, so it names rows rather than classes and "
                    f"can't score the clusters; it is not used as the label.{id_hint}")
        return None
    if missing:
        report.note(f"{what}: {plural(missing, 'row has', 'rows have')} no label; they count as the class "
                    f"'{MISSING_LABEL}' when the clusters are scored.")
    return labels


SCALINGS = ("auto", "standard", "minmax", "none")


def shares_one_range(X: np.ndarray, tol: float = 0.01) -> bool:
    """True when the columns of X (n, d >= 2) are measured on one scale: every non-constant column
    spans the same [min, max] (within ``tol`` of that span), as pen coordinates in 0..100, pixel
    intensities or answers on one 1-5 scale do. Their relative spread then carries meaning."""
    if X.ndim != 2 or X.shape[1] < 2 or len(X) < 2:
        return False
    return ranges_shared(X.min(axis=0), X.max(axis=0), tol)


def ranges_shared(lo: np.ndarray, hi: np.ndarray, tol: float = 0.01) -> bool:
    """:func:`shares_one_range` from the columns' minima and maxima (d,) alone (the table loader
    knows them before it builds X)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    varying = hi > lo
    if varying.sum() < 2:
        return False
    glo, ghi = lo[varying].min(), hi[varying].max()
    span = ghi - glo
    return bool(np.all(np.abs(lo[varying] - glo) <= tol * span) and np.all(np.abs(hi[varying] - ghi) <= tol * span))


def resolve_scaling(X: np.ndarray, how: str) -> str:
    """The scaling ``how`` means for this X: "auto" becomes "shared" when the columns share one range
    (:func:`shares_one_range`), else "standard"; the others are returned as they are."""
    if how == "auto":
        return "shared" if shares_one_range(X) else "standard"
    return how


def scale_features(X: np.ndarray, how: str) -> np.ndarray:
    """Scale the columns of X (n, d) float64: "standard" (mean 0, std 1), "minmax" ([0, 1] per column),
    "shared" (one [min, max] for all columns mapped to [0, 1], keeping their relative spread),
    "auto" (:func:`resolve_scaling`) or "none".

    Constant columns are left at 0. Columns are first divided by their largest absolute value so that
    squaring very large values cannot overflow.
    """
    how = resolve_scaling(X, how)
    if how == "none":
        return X
    if how == "shared":
        lo, hi = (X.min(), X.max()) if X.size else (0.0, 1.0)
        out = (X - lo) / (hi - lo if hi > lo else 1.0)
        out[:, X.min(axis=0) == X.max(axis=0)] = 0.0
        return out
    peak = np.max(np.abs(X), axis=0) if len(X) else np.ones(X.shape[1])
    peak[peak == 0] = 1.0
    Z = X / peak
    if how == "standard":
        std = Z.std(axis=0)
        std[std == 0] = 1.0
        return (Z - Z.mean(axis=0)) / std
    if how == "minmax":
        lo, hi = Z.min(axis=0), Z.max(axis=0)
        span = hi - lo
        span[span == 0] = 1.0
        return (Z - lo) / span
    raise InputError(f"scaling '{how}' is not known; choose one of: {', '.join(SCALINGS)}.")


SCALE_BLOCK_COLUMNS = 64  # columns scaled at a time by scale_to_float32 (its float64 working copy)


def scale_to_float32(A: np.ndarray, how: str) -> np.ndarray:
    """:func:`scale_features` of A (n, d) as a new float32 array, worked out a block of
    :data:`SCALE_BLOCK_COLUMNS` columns at a time in float64: the same values, without a float64 copy
    of all of A (or three, for "standard"). ``how`` is resolved on A first ("auto")."""
    how = resolve_scaling(A, how)
    out = np.empty(A.shape, dtype=np.float32)
    if how == "shared":
        lo, hi = (float(A.min()), float(A.max())) if A.size else (0.0, 1.0)
        constant = A.min(axis=0) == A.max(axis=0) if len(A) else np.zeros(A.shape[1], bool)
    for start in range(0, A.shape[1], SCALE_BLOCK_COLUMNS):
        block = A[:, start:start + SCALE_BLOCK_COLUMNS].astype(np.float64)
        if how == "shared":
            block = (block - lo) / (hi - lo if hi > lo else 1.0)
            block[:, constant[start:start + SCALE_BLOCK_COLUMNS]] = 0.0
        else:
            block = scale_features(block, how)
        out[:, start:start + SCALE_BLOCK_COLUMNS] = block
    return out


def scaling_sentence(how: str, d: int, what: str = "feature") -> str:
    """The report's sentence for scaling ``d`` columns called ``what`` ("feature", "numeric feature")."""
    if how == "shared":
        return (f"The {plural(d, what)} share one range, so they were scaled together to 0 to 1 "
                "(their relative spread is kept).")
    if how == "standard":
        return f"Scaled the {plural(d, what)} to mean 0 and standard deviation 1."
    if how == "minmax":
        return f"Scaled the {plural(d, what)} to the range 0 to 1."
    return "The features are used as they are (no scaling)."


def to_uint8(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Image values of any numeric dtype -> (uint8 pixels, float32 values in [0, 1], note or None).

    uint8 and bool are taken as they are; floats in [0, 1] or [0, 255] and ints in [0, 255] or
    [0, 65535] keep their meaning; anything else is stretched from its min to its max (noted).
    """
    if a.dtype == np.uint8:
        return a, a.astype(np.float32) / 255.0, None
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255, a.astype(np.float32), None
    lo = float(a.min()) if a.size else 0.0
    hi = float(a.max()) if a.size else 0.0
    note = None
    if a.dtype.kind == "f" and lo >= 0 and hi <= 1:
        unit = a.astype(np.float32)
    elif lo >= 0 and hi <= 255:
        unit = a.astype(np.float32) / 255.0
    elif a.dtype.kind in "iu" and lo >= 0 and hi <= 65535:
        unit = (a.astype(np.float32) / 65535.0)
        note = "Pixel values are 16-bit (0 to 65535); they were scaled to 8 bits."
    else:
        span = (hi - lo) or 1.0
        unit = ((a.astype(np.float64) - lo) / span).astype(np.float32)
        note = f"Pixel values run from {lo:g} to {hi:g}; they were stretched to 0..255."
    pixels = np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)
    return pixels, unit, note

