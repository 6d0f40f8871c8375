"""What every loader shares: reading a source into bytes, file kinds, small conversions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, Union

import numpy as np

from ..errors import InputError
from ..limits import Limits
from ..validation import MIN_ROWS

if TYPE_CHECKING:
    from ..dataset import LoadReport

TABLE_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".parquet", ".pq")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
ARCHIVE_EXTENSIONS = (".zip",)
ARRAY_EXTENSIONS = (".npy", ".npz")
SUPPORTED_EXTENSIONS = TABLE_EXTENSIONS + ARCHIVE_EXTENSIONS + IMAGE_EXTENSIONS + ARRAY_EXTENSIONS

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


def read_source(source: Source, name: str | None, limits: Limits) -> tuple[str, bytes]:
    """Read one file-like source completely, checking ``limits.max_upload_bytes``.

    Returns (file name, the bytes). A file-like object is read from its start.
    """
    fname = source_name(source, name)
    cap = limits.max_upload_bytes
    if is_path(source):
        path = Path(source)  # type: ignore[arg-type]
        if not path.is_file():
            raise InputError(f"{path}: no such file; check the path.")
        limits.check("max_upload_bytes", path.stat().st_size, f"{fname} is {path.stat().st_size:,} bytes")
        return fname, path.read_bytes()
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
    lo, hi = X.min(axis=0), X.max(axis=0)
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

