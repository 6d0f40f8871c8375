"""NumPy arrays (.npy, .npz) and Parquet files of vectors -> Dataset.

2-D arrays are vectors (embeddings, used as they are); 3-D (n, h, w) and 4-D (n, h, w, c) arrays are
images. Files are always read with ``allow_pickle=False``: an array of Python objects is refused,
never unpickled, because unpickling runs code chosen by whoever made the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import IO, TYPE_CHECKING

import numpy as np

from explorer.data.budgets import (
    OBJECT_MESSAGE,
    check_array_shape,
    check_npy_size,
    decode_npy,
    npy_decoded_bytes,
    read_member_array,
    read_npy_header,
    read_parquet_table,
)
from explorer.data.files import Source, display_name, extension, read_source
from explorer.data.guards import LoadGuard, check_decoded_bytes, check_expansion, check_min_rows
from explorer.data.images import to_uint8
from explorer.data.labels import usable_labels, values_to_str
from explorer.data.reading import table_input
from explorer.data.scaling import scale_to_float32, scaling_sentence
from explorer.data.words import list_some, plural

if TYPE_CHECKING:
    import pyarrow as pa
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError
from explorer.events import StopCheck
from explorer.limits import Limits

FEATURE_KEYS = ("X", "x", "data", "embeddings")
LABEL_KEYS = ("y", "labels", "label")
ID_KEYS = ("ids", "id")
DIM_COLUMN_RE = re.compile(r"^dim_?\d+$", re.IGNORECASE)


def _read_npy(data: bytes, fname: str, limits: Limits) -> np.ndarray:
    """An .npy -> its array, after its header has been checked against the file's size and the caps."""
    stream = io.BytesIO(data)
    header = read_npy_header(stream, fname)
    check_npy_size(header, len(data) - header.offset, fname)
    check_array_shape(header.shape, fname, limits)
    check_decoded_bytes(limits, npy_decoded_bytes(header), f"{fname} (an array of shape {header.shape})")
    return decode_npy(data, header)


def _read_npz(
    data: bytes, fname: str, limits: Limits, report: LoadReport, guard: LoadGuard
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """An .npz -> (features, labels or None, ids or None), by the conventional key names.

    Before anything is decompressed: every member's compression ratio and the declared total are
    checked; then the headers of the members used (features, labels, ids), against their declared
    sizes, the row caps and ``max_decoded_bytes``. Only then is each read, into an array of the size
    its header gave.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"{fname} is not a readable .npz file ({e}).") from None
    members = {i.filename.removesuffix(".npy"): i for i in infos}
    declared = sum(i.file_size for i in infos)
    limits.check("max_unzipped_bytes", declared, f"{fname} expands to {declared:,} bytes")
    for key, info in members.items():
        check_expansion(limits, f"{fname}: array '{key}'", info.file_size, info.compress_size)
    keys = list(members)
    if not keys:
        raise InputError(f"{fname} holds no arrays.")
    label_key = next((k for k in LABEL_KEYS if k in keys), None)
    id_key = next((k for k in ID_KEYS if k in keys), None)
    feature_key = next((k for k in FEATURE_KEYS if k in keys), None)
    others = [k for k in keys if k not in (label_key, id_key)]
    if feature_key is None:
        if not others:
            raise InputError(f"{fname} holds only labels or ids ({', '.join(keys)}); add the features as 'X'.")
        feature_key = max(others, key=lambda k: members[k].file_size)
        if len(others) > 1:
            report.note(f"{fname} has no array named X; used '{feature_key}', the largest, as the features.")
    ignored = [k for k in others if k != feature_key]
    if ignored:
        report.note(f"Ignored the arrays {list_some([repr(k) for k in ignored])} in {fname}.")
    used = [k for k in (feature_key, label_key, id_key) if k is not None]
    headers = {}
    for key in used:
        what = f"{fname}: array '{key}'"
        try:
            with zf.open(members[key]) as f:
                headers[key] = read_npy_header(f, what)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:  # RuntimeError: encrypted
            raise InputError(f"{what} can't be read ({e}).") from None
        check_npy_size(headers[key], members[key].file_size - headers[key].offset, what)
    check_array_shape(headers[feature_key].shape, fname, limits)
    check_decoded_bytes(
        limits,
        sum(npy_decoded_bytes(h) for h in headers.values()),
        f"{fname} (arrays {', '.join(f'{k} {headers[k].shape}' for k in used)})",
    )
    arrays = {}
    for key in used:
        guard.check(f"loading {fname}")
        what = f"{fname}: array '{key}'"
        try:
            with zf.open(members[key]) as f:
                f.read(headers[key].offset)
                arrays[key] = read_member_array(f, headers[key], what)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise InputError(f"{what} can't be read ({e}).") from None
    if label_key is not None:
        report.note(f"Array '{label_key}' holds the labels; they are used only for evaluation.")
    return arrays[feature_key], arrays.get(label_key or ""), arrays.get(id_key or "")


def _check_finite(a: np.ndarray, fname: str, what: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = np.unique(np.nonzero(bad)[0])
        raise InputError(
            f"{fname} has {plural(int(bad.sum()), 'NaN or infinite value')}, in {what} "
            f"{list_some([str(i) for i in where])}; fill or remove them first."
        )


def _check_float32_range(a: np.ndarray, fname: str) -> None:
    """Values beyond float32's range would become infinite when the features are made float32."""
    big = np.abs(a) > np.finfo(np.float32).max
    if big.any():
        where = np.unique(np.nonzero(big)[0])
        raise InputError(
            f"{fname} has {plural(int(big.sum()), 'value')} too large for 32-bit floats (beyond "
            f"+-3.4e38), in rows {list_some([str(i) for i in where])}; scale the data down first."
        )


def _check_side(a: np.ndarray | None, n: int, role: str, fname: str) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a).reshape(-1) if np.ndim(a) == 2 and 1 in np.shape(a) else np.asarray(a)
    if a.ndim != 1 or len(a) != n:
        raise InputError(
            f"{fname}: the {role} array has shape {a.shape}, but there are {n} rows; "
            f"give one {role[:-1] if role.endswith('s') else role} per row."
        )
    return values_to_str(a)


def array_dataset(
    A: np.ndarray,
    fname: str,
    report: LoadReport,
    limits: Limits,
    labels: np.ndarray | None = None,
    ids: np.ndarray | None = None,
    scaling: str = "none",
    feature_names: list[str] | None = None,
) -> Dataset:
    """An array -> Dataset: (n, d) vectors (kind "embeddings") or (n, h, w[, c]) images.

    Images: uint8 kept, floats in [0, 1] or [0, 255] read as such, X = pixels in [0, 1] (n, h*w*c).
    Vectors: X float32 (n, d), scaled as ``scaling`` says (default: used as they are).
    """
    if A.dtype.hasobject:
        raise InputError(f"{fname} {OBJECT_MESSAGE}.")
    if A.dtype.names is not None or A.dtype.kind not in "biuf":
        raise InputError(f"{fname} holds {A.dtype} values; save a plain numeric array (float or int).")
    if A.ndim < 2 or A.ndim > 4:
        raise InputError(
            f"{fname} holds an array of shape {A.shape}; save vectors as (n, d) or images as (n, h, w) or (n, h, w, c)."
        )
    n = A.shape[0]
    labels = _check_side(labels, n, "labels", fname)
    if labels is not None:
        labels = usable_labels(labels, f"The label array of {fname}", report)
    ids_str = _check_side(ids, n, "ids", fname)
    if ids_str is not None and len(np.unique(ids_str)) < n:
        raise InputError(f"{fname}: the ids are not unique; give each row its own id.")
    if ids_str is None:
        ids_str = np.arange(n).astype(str)
    if A.ndim == 2:
        limits.check("max_rows", n, f"{fname} has {n:,} rows")
        limits.check("max_columns", A.shape[1], f"{fname} has {A.shape[1]:,} dimensions")
        check_min_rows(n, fname)
        if A.dtype.kind == "f":
            _check_finite(A, fname, "rows")
            if scaling == "none":
                _check_float32_range(A, fname)
        X = scale_to_float32(A, scaling) if scaling != "none" else A.astype(np.float32, copy=False)
        report.kind, report.scaling = "embeddings", scaling
        report.note(f"{n:,} vectors of {A.shape[1]:,} dimensions. " + scaling_sentence(scaling, A.shape[1]))
        names = feature_names or [f"dim{i}" for i in range(A.shape[1])]
        report.n_rows = report.n_rows_read = n
        report.n_features = A.shape[1]
        return Dataset(
            X=X,
            feature_names=names,
            ids=ids_str,
            report=report,
            kind="embeddings",
            name=display_name(fname),
            labels=labels,
        )
    images = _image_array(A, fname, report, limits)
    pixels, unit, note = to_uint8(images)
    if note:
        report.note(note)
    n, h, w, c = pixels.shape
    report.kind, report.scaling = "images", "pixels/255"
    report.note(
        f"{n:,} images of {h}x{w} pixels, {'grayscale' if c == 1 else 'color (RGB)'}; "
        "features are the pixel values scaled to 0..1."
    )
    X = unit.reshape(n, -1)
    report.n_rows = report.n_rows_read = n
    report.n_features = X.shape[1]
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(X.shape[1])],
        ids=ids_str,
        report=report,
        kind="images",
        name=display_name(fname),
        labels=labels,
        images=pixels,
    )


def _image_array(A: np.ndarray, fname: str, report: LoadReport, limits: Limits) -> np.ndarray:
    """(n, h, w) or (n, h, w, c) or channels-first (n, c, h, w) -> (n, h, w, 1 or 3), finite."""
    limits.check("max_images", A.shape[0], f"{fname} holds {A.shape[0]:,} images")
    check_min_rows(A.shape[0], fname, "images")
    if A.dtype.kind == "f":
        _check_finite(A, fname, "images")
    if A.ndim == 3:
        A = A[..., None]
    elif A.shape[-1] not in (1, 3, 4) and A.shape[1] in (1, 3, 4):
        A = np.moveaxis(A, 1, -1)
        report.note("The array is channels-first (n, c, h, w); it was turned to (n, h, w, c).")
    if A.shape[-1] == 4:
        A = A[..., :3]
        report.note("The images have 4 channels; the 4th (alpha) was dropped.")
    if A.shape[-1] not in (1, 3):
        raise InputError(f"{fname} holds images with {A.shape[-1]} channels; use 1 (gray) or 3 (RGB).")
    limits.check("max_image_pixels", A.shape[1] * A.shape[2], f"the images in {fname} are {A.shape[1]}x{A.shape[2]}")
    return A


def load_array(
    source: Source,
    name: str | None = None,
    limits: Limits | None = None,
    *,
    scaling: str = "none",
    should_stop: StopCheck | None = None,
) -> Dataset:
    """Load an .npy or .npz file (never unpickling anything) as a Dataset.

    An .npz holds the features as X (or x, data, embeddings; else its largest array), optional
    labels as y (or labels) and ids as ids. 2-D features -> kind "embeddings" with feature names
    "dim0".., X (n, d) float32; 3-D/4-D -> kind "images", see :func:`array_dataset`.
    Headers are checked before any data is decoded (see :mod:`explorer.data.budgets`);
    ``should_stop()`` and ``limits.max_load_seconds`` are checked between the arrays of an .npz.
    """
    limits = limits or Limits()
    guard = LoadGuard(limits, should_stop)
    fname, data = read_source(source, name, limits)
    report = LoadReport(source=fname, kind="embeddings")
    ext = extension(fname)
    if ext == ".npz":
        A, labels, ids = _read_npz(data, fname, limits, report, guard)
    elif ext == ".npy":
        A, labels, ids = _read_npy(data, fname, limits), None, None
    else:
        raise InputError(f"{fname}: arrays must be .npy or .npz files.")
    return array_dataset(A, fname, report, limits, labels, ids, scaling)


# --------------------------------------------------------------------------------- parquet vectors
def parquet_holds_vectors(data: bytes | IO[bytes]) -> bool:
    """True when a Parquet file is vectors: a list column of numbers, or only numeric columns named
    dim0, dim1, ... (besides id and label columns). A list of strings (tags) is no vector: such a file
    is a table. False also when it can't be read (the table loader says why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            schema = pq.read_schema(io.BytesIO(data))
        else:
            data.seek(0)
            schema = pq.read_schema(data)
    except (pa.ArrowException, OSError, ValueError):
        return False
    if any(_is_number_list(f.type) for f in schema):
        return True
    rest = [f for f in schema if f.name.lower() not in LABEL_KEYS + ID_KEYS]
    return bool(rest) and all(
        DIM_COLUMN_RE.match(f.name) and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)) for f in rest
    )


def _is_list(t: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _is_number_list(t: pa.DataType) -> bool:
    """A list whose items are numbers (ints, floats; bools count as 0/1): a vector column."""
    import pyarrow as pa

    if not _is_list(t):
        return False
    item = t.value_type
    return pa.types.is_integer(item) or pa.types.is_floating(item) or pa.types.is_boolean(item)


def load_vectors_parquet(
    source: Source,
    name: str | None = None,
    limits: Limits | None = None,
    *,
    label_column: str | None = None,
    id_column: str | None = None,
    scaling: str = "none",
) -> Dataset:
    """A Parquet file of vectors -> Dataset of kind "embeddings", X (n, d) float32.

    The vectors are one list column (all of one length) or the columns dim0, dim1, ...; labels come
    from ``label_column`` (default: a column named y, label or labels), ids from ``id_column``
    (default: id or ids). Other columns are kept in ``Dataset.table`` for display only.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    limits = limits or Limits()
    fname, data = table_input(source, name, limits)
    report = LoadReport(source=fname, kind="embeddings")
    table = read_parquet_table(data, fname, limits)
    names = table.column_names
    for col, role in ((label_column, "label"), (id_column, "ID")):
        if col is not None and col not in names:
            raise InputError(
                f"{fname}: the {role} column '{col}' does not exist; choose one of: {list_some(names, 30)}."
            )
    label_column = label_column or next((c for c in names if c.lower() in LABEL_KEYS), None)
    id_column = id_column or next((c for c in names if c.lower() in ID_KEYS), None)
    list_cols = [c for c in names if _is_number_list(table.schema.field(c).type)]
    if len(list_cols) > 1:
        raise InputError(
            f"{fname} has {len(list_cols)} columns of number lists ({', '.join(list_cols)}); keep only the vectors."
        )
    if list_cols:
        col = table.column(list_cols[0]).combine_chunks()
        if col.null_count:
            raise InputError(f"{fname}: {plural(col.null_count, 'row')} of '{list_cols[0]}' have no vector.")
        lengths = pc.list_value_length(col).to_numpy()
        if len(lengths) and lengths.min() != lengths.max():
            raise InputError(
                f"{fname}: the vectors in '{list_cols[0]}' have different lengths "
                f"({lengths.min()} to {lengths.max()}); they must all have the same length."
            )
        d = int(lengths[0]) if len(lengths) else 0
        try:
            A = col.flatten().cast(pa.float64()).to_numpy(zero_copy_only=False).reshape(len(col), d)
        except (pa.ArrowException, ValueError) as e:
            raise InputError(f"{fname}: the vectors in '{list_cols[0]}' can't be read as numbers ({e}).") from None
        vector_cols, feature_names = list_cols, None
    else:
        vector_cols = [c for c in names if DIM_COLUMN_RE.match(c)]
        A = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in vector_cols])
        feature_names = vector_cols
    report.note(f"Read the vectors from {'column ' + repr(list_cols[0]) if list_cols else 'the dim columns'}.")
    rest = table.drop_columns(vector_cols).to_pandas() if len(vector_cols) < len(names) else None
    labels = None if label_column is None else table.column(label_column).to_pandas().to_numpy()
    ids = None if id_column is None else table.column(id_column).to_pandas().to_numpy()
    if labels is not None:
        report.note(f"Column '{label_column}' holds the labels; they are used only for evaluation.")
    if id_column is not None and ids is not None and len(set(values_to_str(ids))) < len(ids):
        raise InputError(f"{fname}: the ID column '{id_column}' has repeated values; IDs must be unique.")
    dataset = array_dataset(A, fname, report, limits, labels, ids, scaling, feature_names)
    dataset.table = rest
    return dataset
