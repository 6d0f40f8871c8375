"""Reading what a user gives: a path, bytes, an upload or a file the server opened, into bytes or a file.

Files are opened without blocking and checked on the open file, so a FIFO or a device is refused,
never read; an upload is held to ``max_upload_bytes``; a :class:`ServerFile` (a path or URL the server
opened for a user, see :mod:`explorer.data.sources`) reads with progress and the time cap instead.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal, TypeGuard

from explorer.data.words import human_bytes
from explorer.errors import InputError, LimitError
from explorer.limits import Limits, how_to_raise

TABLE_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".parquet", ".pq")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
ARCHIVE_EXTENSIONS = (".zip",)
ARRAY_EXTENSIONS = (".npy", ".npz")
SUPPORTED_EXTENSIONS = TABLE_EXTENSIONS + ARCHIVE_EXTENSIONS + IMAGE_EXTENSIONS + ARRAY_EXTENSIONS

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


def is_path(source: object) -> TypeGuard[str | os.PathLike]:
    return isinstance(source, (str, os.PathLike))


def source_name(source: Source, name: str | None = None) -> str:
    """The file name to show in messages and to choose the format by (``name`` wins)."""
    if name:
        return str(name)
    if is_path(source):
        return Path(source).name
    given = getattr(source, "name", None)
    if isinstance(given, str) and given:
        return Path(given).name
    raise InputError("the data came without a file name; pass name='data.csv' (the extension decides the format).")


def display_name(file_name: str) -> str:
    """A short name for display: the file name without folders and extension."""
    return Path(file_name).stem or file_name


def _not_a_file(path: Path, mode: int) -> str:
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a folder"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    via = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
    return (
        f"{path}: is {kind}{via}, not a regular file, so it is not read (reading it could block or never "
        "end). Copy the data into a file and load that."
    )


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
    regular file (see :func:`read_path`). A :class:`ServerFile` (a path or URL the server
    opened) is not an upload: it is read whole only when it fits
    ``limits.max_decoded_bytes`` (tables are streamed instead, see :mod:`explorer.data.reading`).
    """
    fname = source_name(source, name)
    cap = limits.max_upload_bytes
    if isinstance(source, ServerFile):
        return fname, source.read_all(limits)
    if is_path(source):
        return fname, read_path(Path(source), limits, fname)
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
        raise InputError(f"can't read data from a {type(source).__name__}; pass a path, bytes or a binary file object.")
    limits.check(
        "max_upload_bytes",
        len(data),
        f"{fname} is {len(data):,} bytes" if len(data) <= cap else f"{fname} is over {cap:,} bytes",
    )
    return fname, data


READ_PIECE_BYTES = 8 * 2**20  # a read fetches this much at a time, reporting progress after each piece

# on_progress(bytes read so far, total bytes or None when the size is not known)
ReadProgress = Callable[[int, "int | None"], None]


class ServerFile:
    """A binary file the server opened for a user, read with progress and the time cap.

    It reads like a file (read, readinto, seek, tell) so pyarrow and the loaders can use it; each
    read reports ``(bytes read so far, size)`` to ``on_progress`` and raises :class:`LimitError` once
    the reading has taken more than ``limits.max_load_seconds``. ``name`` is the file's name (its
    extension picks the loader); ``spec`` what the user gave; ``size`` is None when not known.
    """

    def __init__(
        self,
        raw: IO[bytes],
        name: str,
        spec: str,
        size: int | None,
        limits: Limits,
        on_progress: ReadProgress | None = None,
    ) -> None:
        self._raw, self.name, self.spec, self.size = raw, name, spec, size
        self._limits, self._on_progress = limits, on_progress
        self._start = time.monotonic()
        self._furthest = 0  # progress counts each byte once, however often a reader goes back

    # the file protocol -----------------------------------------------------------------------
    def read(self, n: int = -1) -> bytes:
        """At most ``n`` bytes (all that is left when ``n`` < 0), fetched in pieces of
        :data:`READ_PIECE_BYTES` so that progress and the time cap are checked while a big read runs."""
        pieces = []
        left = n if n is not None and n >= 0 else None
        while left is None or left > 0:
            piece = self._raw.read(READ_PIECE_BYTES if left is None else min(left, READ_PIECE_BYTES))
            if not piece:
                break
            pieces.append(piece)
            if left is not None:
                left -= len(piece)
            self._advanced()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def flush(self) -> None:  # what io.TextIOWrapper asks of a file it reads
        pass

    @property
    def closed(self) -> bool:
        return bool(getattr(self._raw, "closed", False))

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> ServerFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    def _advanced(self) -> None:
        position = self._raw.tell()
        if position > self._furthest:
            self._furthest = position
            if self._on_progress is not None:
                self._on_progress(self._furthest, self.size)
        elapsed = time.monotonic() - self._start
        if elapsed > self._limits.max_load_seconds:
            raise LimitError(
                f"reading {self.name} took over {elapsed:,.0f} seconds, more than the limit "
                f"max_load_seconds={self._limits.max_load_seconds:,.0f}. "
                f"{how_to_raise('max_load_seconds')}"
            )

    def read_all(self, limits: Limits) -> bytes:
        """The whole file, for loaders that need it in memory (arrays, images, small tables): at most
        ``limits.max_decoded_bytes`` (``max_upload_bytes`` is for uploads only)."""
        cap = limits.max_decoded_bytes
        if self.size is not None and self.size > cap:
            raise LimitError(
                f"{self.name} is {self.size:,} bytes ({human_bytes(self.size)}), and files of this kind "
                f"are read whole: more than the limit max_decoded_bytes={cap:,}. "
                f"{how_to_raise('max_decoded_bytes')}"
            )
        self.seek(0)
        chunks, total = [], 0
        while True:
            chunk = self.read(1 << 24)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise LimitError(
                    f"{self.name} is over {cap:,} bytes, and files of this kind are read whole: more than "
                    f"the limit max_decoded_bytes={cap:,}. {how_to_raise('max_decoded_bytes')}"
                )
        return b"".join(chunks)


# A path, raw bytes, an open binary file (Streamlit's UploadedFile is a BytesIO with .name), or a file the
# server opened for a user.
Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | ServerFile
