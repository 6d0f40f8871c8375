"""What a file will cost once decoded, read from its own metadata before it is decoded.

A small file can ask for a lot: a Parquet footer of 1,000,000 rows x 100 constant columns (a few
hundred KB) decodes to 800 MB of float64, an .npz member of zeros expands thousands of times, an .npy
header can claim 10^13 elements in a 288-byte file. Each loader asks these functions first, so the
answer is a :class:`~explorer.errors.LimitError` naming the cap (or an InputError saying the file
lies) and not an out-of-memory server.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np

from explorer.data.guards import VALUE_BYTES, check_decoded_bytes
from explorer.errors import ExplorerError, InputError
from explorer.limits import Limits

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

NPY_MAGIC = b"\x93NUMPY"
NPY_MAX_HEADER = 10_000  # numpy's own default limit on the header's size
OBJECT_MESSAGE = "holds Python objects, which are never unpickled; save a numeric array"


# --------------------------------------------------------------------------------------- npy headers
@dataclass(frozen=True)
class NpyHeader:
    """What an .npy header claims: the array's shape and dtype, its order and where the data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """The data bytes the header claims (exact integers: a lying shape can't overflow)."""
        return self.count * self.dtype.itemsize


def read_npy_header(fp: IO[bytes], what: str) -> NpyHeader:
    """Parse the header at the start of ``fp`` (an .npy file or .npz member), reading nothing more.

    ``what`` names it for messages ("data.npy", "data.npz: array 'X'"). Refuses, with an InputError,
    a file that is not an .npy (a pickle is named as such: it is never unpickled), a header over
    10,000 bytes, and any dtype holding Python objects (refused from the header, before its data).
    """
    from numpy.lib import format as npformat

    start = fp.read(len(NPY_MAGIC))
    if start != NPY_MAGIC:
        if start.startswith(b"PK\x03\x04"):
            raise InputError(f"{what} is a zip (an .npz?), not an .npy file; name it .npz.")
        raise InputError(
            f"{what} is not a readable NumPy file (it does not start like an .npy file); if it holds "
            f"pickled data, that is never unpickled. Save a numeric array with numpy.save."
        )
    try:
        major, minor = fp.read(2)
        if major == 1:
            shape, fortran, dtype = npformat.read_array_header_1_0(fp, max_header_size=NPY_MAX_HEADER)
        elif major in (2, 3):
            shape, fortran, dtype = npformat.read_array_header_2_0(fp, max_header_size=NPY_MAX_HEADER)
        else:
            raise ValueError(f"unknown .npy format version {major}.{minor}")
        offset = fp.tell()  # where the data starts
    except (ValueError, EOFError, OSError, SyntaxError, TypeError, zipfile.BadZipFile) as e:
        raise InputError(f"{what} is not a readable NumPy file ({e}).") from None
    if dtype.hasobject:
        raise InputError(f"{what} {OBJECT_MESSAGE}.")
    if any(not isinstance(s, int) or s < 0 for s in shape):
        raise InputError(f"{what} is not a readable NumPy file (its header gives the shape {shape}).")
    return NpyHeader(tuple(shape), dtype, bool(fortran), offset)


def check_npy_size(header: NpyHeader, available: int, what: str) -> None:
    """An .npy whose header claims more data than follows it is truncated or lies: say so, before
    numpy would allocate what the header asks for."""
    if header.nbytes > available:
        raise InputError(
            f"{what}: its header says it holds a {header.dtype} array of shape {header.shape} "
            f"({header.nbytes:,} bytes of data), but only {available:,} bytes follow: the file is truncated "
            "or its header lies. Save the array again with numpy.save."
        )


def decode_npy(buffer: bytes | memoryview, header: NpyHeader) -> np.ndarray:
    """The array whose (checked) header is ``header``, from the bytes after it (a writable copy)."""
    flat = np.frombuffer(buffer, dtype=header.dtype, count=header.count, offset=header.offset)
    return np.array(flat.reshape(header.shape, order="F" if header.fortran_order else "C"), copy=True)


def read_member_array(f: IO[bytes], header: NpyHeader, what: str) -> np.ndarray:
    """Read an .npz member's data (``f`` is positioned after its header) into an array of the
    header's (checked) size; a member that ends early is named as truncated."""
    out = np.empty(header.count, dtype=header.dtype)
    view = out.view(np.uint8).reshape(-1).data if header.nbytes else memoryview(b"")
    filled = 0
    while filled < len(view):
        n = f.readinto(view[filled:])  # type: ignore[attr-defined]  # typing.IO has no readinto; our files all do
        if not n:
            raise InputError(f"{what} is truncated: {filled:,} of {header.nbytes:,} bytes of data.")
        filled += n
    return out.reshape(header.shape, order="F" if header.fortran_order else "C")


def npy_decoded_bytes(header: NpyHeader) -> int:
    """The memory an array costs once it is turned into features: :data:`VALUE_BYTES` a value."""
    return header.count * max(VALUE_BYTES, header.dtype.itemsize)


def check_array_shape(shape: tuple[int, ...], what: str, limits: Limits) -> None:
    """The row, column and image caps for an array of ``shape``, from its header (see arrays.py)."""
    if len(shape) == 2:
        limits.check("max_rows", shape[0], f"{what} has {shape[0]:,} rows")
        limits.check("max_columns", shape[1], f"{what} has {shape[1]:,} dimensions")
    elif len(shape) in (3, 4):
        limits.check("max_images", shape[0], f"{what} holds {shape[0]:,} images")


# ------------------------------------------------------------------------------------------ parquet
PARQUET_BATCH_ROWS = 65_536  # rows per batch of a streamed Parquet read (Stop and the time cap are checked between)
TEXT_TYPES = ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY")  # the physical types whose pages hold the values' bytes


def _parquet_input(data: bytes | IO[bytes]) -> IO[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(data)
    data.seek(0)
    return data


def parquet_file(data: bytes | IO[bytes], fname: str, **options: object) -> pq.ParquetFile:
    """A ``pyarrow.parquet.ParquetFile`` over ``data`` (bytes or a seekable binary file); only its
    footer is read. ``options`` go to ParquetFile (``read_dictionary``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(_parquet_input(data), **options)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputError(f"{fname} is not a readable Parquet file ({e}).") from None


def parquet_decoded_bytes(meta: pq.FileMetaData) -> int:
    """Decoded size of a Parquet file from its footer alone: every value (``num_values`` of each
    column chunk: list elements count one each) at :data:`VALUE_BYTES`, plus, for columns of text or
    bytes, the uncompressed bytes of their pages (where the text lives). A number's pages hold the
    same 8 bytes its value is counted at, so they are not counted twice."""
    total = 0
    for r in range(meta.num_row_groups):
        group = meta.row_group(r)
        for c in range(group.num_columns):
            chunk = group.column(c)
            total += max(chunk.num_values, 0) * VALUE_BYTES
            if chunk.physical_type in TEXT_TYPES:
                total += max(chunk.total_uncompressed_size, 0)
    return total


def check_parquet(pf: pq.ParquetFile, fname: str, limits: Limits) -> None:
    """Rows, columns and the decoded size of a Parquet file, from its footer, before any page is read."""
    meta = pf.metadata
    limits.check("max_rows", meta.num_rows, f"{fname} has {meta.num_rows:,} rows")
    limits.check("max_columns", meta.num_columns, f"{fname} has {meta.num_columns:,} columns")
    check_decoded_bytes(
        limits, parquet_decoded_bytes(meta), f"{fname} ({meta.num_rows:,} rows x {meta.num_columns:,} columns)"
    )


def _batch_bytes(batch: pa.RecordBatch) -> int:
    """What a batch holds once its text is expanded: dictionary columns count their indices and the
    length of the value each row points to (not the dictionary, which batches of a row group share)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            total += len(column) * column.indices.type.bit_width // 8
            if len(column):
                lengths = pc.binary_length(column.dictionary).cast(pa.int64())
                total += int(pc.sum(pc.take(lengths, column.indices)).as_py() or 0) + 8 * len(column)
        else:
            total += column.nbytes
    return total


def read_parquet_table(
    data: bytes | IO[bytes],
    fname: str,
    limits: Limits,
    *,
    nrows: int | None = None,
    between_batches: Callable[[], None] | None = None,
) -> pa.Table:
    """Read a Parquet file after :func:`check_parquet`, in batches, without letting repeated strings expand.

    String columns are read dictionary-encoded (each distinct value once); as each batch arrives, its
    size with the text expanded is added up and checked against ``max_decoded_bytes``, and only at
    the end are they turned into plain strings; so a small file repeating one long string a million
    times is refused instead of decoded. ``nrows``: read only the first rows. ``between_batches()``
    (the load's Stop and time cap) is called after each batch.
    """
    import pyarrow as pa

    pf = parquet_file(data, fname)
    check_parquet(pf, fname, limits)
    schema = pf.schema_arrow
    strings = [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    ]
    pf = parquet_file(data, fname, read_dictionary=strings or None)
    batches, rows, expanded = [], 0, 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            if nrows is not None and rows + batch.num_rows > nrows:
                batch = batch.slice(0, nrows - rows)
            batches.append(batch)
            rows += batch.num_rows
            expanded += _batch_bytes(batch)
            check_decoded_bytes(
                limits,
                expanded,
                f"{fname} ({rows:,} rows read, its text expanded)",
                while_reading=rows < pf.metadata.num_rows,
            )
            if between_batches is not None:
                between_batches()
            if nrows is not None and rows >= nrows:
                break
        table = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else pf.schema_arrow.empty_table()
    except ExplorerError:  # a cap, Stop: they say what they are
        raise
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputError(f"{fname} is not a readable Parquet file ({e}).") from None
    del batches
    for name in strings:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).cast(schema.field(name).type))
    return table
