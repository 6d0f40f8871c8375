"""The candidate images of what a user gave: image files, a zip of them, several of both, or a folder.

Safety first: zips are read in memory (never extracted), unsafe entry paths are skipped, zip bombs
are caught by the declared sizes, the compression ratio and the bytes actually read (a
:class:`ByteBudget`); a folder's links, pipes and devices are never read. Nothing is decoded here:
each :class:`ImageEntry` reads its bytes, or its first bytes (the header), when asked.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from explorer.data.files import IMAGE_EXTENSIONS, Source, extension, is_path, read_path, read_source, source_name
from explorer.data.guards import check_expansion
from explorer.data.words import list_some, plural
from explorer.errors import InputError
from explorer.limits import Limits

HEADER_BYTES = 64 * 2**10  # what is read of each file to learn its size before anything is decoded


@dataclass
class ImageEntry:
    """One candidate image: its id (a relative path), how to get its bytes, and its first
    ``HEADER_BYTES`` (enough for the header of nearly every image, read without counting)."""

    id: str
    read: Callable[[], bytes]
    peek: Callable[[], bytes]


class SkippedFiles:
    """Files passed over, by reason, for the report and for the error when nothing is left."""

    SENTENCES: ClassVar[dict[str, str]] = {
        "unsafe": "Skipped {n} with an unsafe path (absolute or with '..'): {names}.",
        "nested": "Skipped {n} that are zips themselves (nested zips are not opened): {names}.",
        "encrypted": "Skipped {n} that are encrypted: {names}.",
        "not_image": "Skipped {n} that are not images (by their extension): {names}.",
        "unreadable": "Skipped {n} that could not be read as images (truncated or not an image): {names}.",
        "not_regular": "Skipped {n} that are not regular files (pipes, devices, sockets; never read): {names}.",
    }

    def __init__(self) -> None:
        self.by_reason: dict[str, list[str]] = {}

    def add(self, reason: str, name: str) -> None:
        self.by_reason.setdefault(reason, []).append(name)

    def notes(self) -> list[str]:
        return [
            self.SENTENCES[r].format(n=plural(len(v), "file"), names=list_some(v)) for r, v in self.by_reason.items()
        ]


class ByteBudget:
    """Counts the bytes actually read (after unzipping) against ``limits.max_unzipped_bytes``."""

    def __init__(self, limits: Limits, what: str) -> None:
        self.limits, self.used, self.what = limits, 0, what

    def take(self, n: int) -> None:
        self.used += n
        self.limits.check("max_unzipped_bytes", self.used, f"{self.what} adds up to {self.used:,} bytes so far")


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _zip_entries(
    zf: zipfile.ZipFile, prefix: str, zname: str, limits: Limits, budget: ByteBudget, skipped: SkippedFiles
) -> list[ImageEntry]:
    entries: list[ImageEntry] = []
    declared = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        raw = info.filename.replace("\\", "/")
        parts = tuple(p for p in raw.split("/") if p not in ("", "."))
        if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or ".." in parts:
            skipped.add("unsafe", info.filename)
            continue
        if _hidden(parts):
            continue
        ext = extension(raw)
        if ext == ".zip":
            skipped.add("nested", raw)
            continue
        if ext not in IMAGE_EXTENSIONS:
            skipped.add("not_image", raw)
            continue
        if info.flag_bits & 0x1:
            skipped.add("encrypted", raw)
            continue
        declared += info.file_size
        limits.check("max_unzipped_bytes", declared, f"{zname} expands to over {declared:,} bytes of images")
        check_expansion(limits, f"{zname}: '{raw}'", info.file_size, info.compress_size)
        entries.append(
            ImageEntry(
                "/".join((prefix, *parts)) if prefix else "/".join(parts),
                _member_reader(zf, info, budget),
                _member_peek(zf, info),
            )
        )
    return entries


def _member_peek(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def peek() -> bytes:
        with zf.open(info) as f:
            return f.read(HEADER_BYTES)

    return peek


def _member_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: ByteBudget) -> Callable[[], bytes]:
    def read() -> bytes:
        chunks = []
        with zf.open(info) as f:
            while chunk := f.read(1 << 20):
                budget.take(len(chunk))
                chunks.append(chunk)
        return b"".join(chunks)

    return read


def _file_reader(data: bytes, budget: ByteBudget) -> Callable[[], bytes]:
    def read() -> bytes:
        budget.take(len(data))
        return data

    return read


def _bytes_peek(data: bytes) -> Callable[[], bytes]:
    def peek() -> bytes:
        return data[:HEADER_BYTES]

    return peek


def _path_reader(path: Path, budget: ByteBudget, limits: Limits) -> Callable[[], bytes]:
    def read() -> bytes:
        data = read_path(path, limits)
        budget.take(len(data))
        return data

    return read


def _path_peek(path: Path) -> Callable[[], bytes]:
    def peek() -> bytes:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return b""
            return f.read(HEADER_BYTES)

    return peek


def _zip_from_bytes(data: bytes, fname: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"{fname} is not a readable zip file ({e}); zip the images again.") from None


def _dir_entries(root: Path, budget: ByteBudget, skipped: SkippedFiles, limits: Limits) -> list[ImageEntry]:
    entries = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if path.is_dir() or _hidden(rel):
            continue
        ext = extension(path.name)
        try:
            regular = stat.S_ISREG(path.stat().st_mode)  # stat does not open: a FIFO can't block here
        except OSError:
            regular = False
        if not regular:
            skipped.add("not_regular", "/".join(rel))
        elif ext in IMAGE_EXTENSIONS:
            entries.append(ImageEntry("/".join(rel), _path_reader(path, budget, limits), _path_peek(path)))
        else:
            skipped.add("nested" if ext == ".zip" else "not_image", "/".join(rel))
    return entries


def collect_images(
    source: Source | list[Source], name: str | None, limits: Limits, budget: ByteBudget, skipped: SkippedFiles
) -> tuple[str, list[ImageEntry]]:
    """Every candidate image of ``source`` -> (what it is, for messages, entries with unique ids)."""
    if is_path(source) and Path(source).is_dir():
        root = Path(source).resolve()
        return root.name + "/", _dir_entries(root, budget, skipped, limits)
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise InputError("no files were given; pass image files, a zip of images or a folder.")
    given = name if len(items) == 1 else None
    # ids of files given by path are relative to the folder they share, so class folders show
    paths = [Path(s).resolve() for s in items if is_path(s)]
    common = Path(os.path.commonpath([p.parent for p in paths])) if paths else None
    entries: list[ImageEntry] = []
    total = 0
    for item in items:
        fname, data = read_source(item, given, limits)
        total += len(data)
        limits.check("max_upload_bytes", total, f"the {len(items)} files add up to {total:,} bytes")
        rel = Path(item).resolve().relative_to(common).as_posix() if is_path(item) and common else fname
        if extension(fname) == ".zip":
            prefix = PurePosixPath(rel).with_suffix("").as_posix() if len(items) > 1 else ""
            entries += _zip_entries(_zip_from_bytes(data, fname), prefix, fname, limits, budget, skipped)
        elif extension(fname) in IMAGE_EXTENSIONS:
            entries.append(ImageEntry(rel, _file_reader(data, budget), _bytes_peek(data)))
        else:
            skipped.add("not_image", fname)
    label = source_name(items[0], given) if len(items) == 1 else f"{len(items)} files"
    return label, _unique_ids(entries)


def _unique_ids(entries: list[ImageEntry]) -> list[ImageEntry]:
    seen: Counter[str] = Counter()
    for e in entries:
        seen[e.id] += 1
        if seen[e.id] > 1:
            e.id = f"{e.id}#{seen[e.id]}"
    return entries
