"""Image files, a zip of them, or a folder -> Dataset of same-size uint8 images (and X in [0, 1]).

Safety first: zips are read in memory (never extracted), unsafe entry paths are skipped, zip bombs
are caught by the declared sizes, the compression ratio and the bytes actually read, and
decompression bombs by each image's header before it is decoded. Images are decoded one at a time
and shrunk at once, so a large set never sits in memory at full size.
"""
from __future__ import annotations

import io
import os
import re
import stat
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError, LimitError
from explorer.events import StopCheck
from explorer.limits import Limits, how_to_raise
from explorer.data.common import (
    IMAGE_EXTENSIONS, LoadGuard, Source, check_expansion, check_min_rows, display_name, extension, is_path,
    list_some, plural, read_path, read_source, source_name, to_uint8,
)

if TYPE_CHECKING:
    from PIL import Image

# Decoders PIL may use; anything else (EPS, which calls Ghostscript, among others) is refused.
PIL_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "WEBP", "TIFF")  # JPEG covers MPO too
GRAY_TOLERANCE = 2  # levels by which R, G, B may differ in an image still counted as gray
HEADER_BYTES = 64 * 2**10  # what is read of each file to learn its size before anything is decoded


@dataclass
class ImageOptions:
    """How to bring images to one mode and size.

    ``mode`` "auto" is "L" when every image is grayscale (or RGB with R, G and B within 2 levels of
    each other everywhere), else "RGB".
    ``size`` (h, w) None is the most common size, shrunk (keeping its aspect) so that its longer
    side is at most ``max_side``.
    """

    mode: Literal["auto", "L", "RGB"] = "auto"
    size: tuple[int, int] | None = None
    max_side: int = 64

    def validate(self) -> None:
        if self.mode not in ("auto", "L", "RGB"):
            raise InputError(f"image mode '{self.mode}' is not known; choose one of: auto, L, RGB.")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise InputError(f"image size must be (height, width) with both at least 1, got {self.size}.")
        if self.max_side < 1:
            raise InputError(f"max_side must be at least 1, got {self.max_side}.")


@dataclass
class _Entry:
    """One candidate image: its id (a relative path), how to get its bytes, and its first
    ``HEADER_BYTES`` (enough for the header of nearly every image, read without counting)."""

    id: str
    read: Callable[[], bytes]
    peek: Callable[[], bytes]


class _Skipped:
    """Files passed over, by reason, for the report and for the error when nothing is left."""

    SENTENCES = {
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
        return [self.SENTENCES[r].format(n=plural(len(v), "file"), names=list_some(v))
                for r, v in self.by_reason.items()]


class _ByteBudget:
    """Counts the bytes actually read (after unzipping) against ``limits.max_unzipped_bytes``."""

    def __init__(self, limits: Limits, what: str) -> None:
        self.limits, self.used, self.what = limits, 0, what

    def take(self, n: int) -> None:
        self.used += n
        self.limits.check("max_unzipped_bytes", self.used, f"{self.what} adds up to {self.used:,} bytes so far")


class _PixelBudget:
    """Counts the pixels to be decoded across one image set against ``limits.max_total_pixels``."""

    def __init__(self, limits: Limits, what: str, n_images: int) -> None:
        self.limits, self.used, self.what, self.n_images, self.counted = limits, 0, what, n_images, 0

    def take(self, pixels: int) -> None:
        self.used += pixels
        self.counted += 1
        if self.used > self.limits.max_total_pixels:
            some = f" (in {plural(self.counted, 'image')} of {self.n_images:,})" if self.counted < self.n_images else ""
            raise LimitError(
                f"{self.what} holds {self.used:,} pixels to decode{some}, more than the limit max_total_pixels="
                f"{self.limits.max_total_pixels:,}; it was refused from the image headers, before decoding. Use fewer "
                f"or smaller images. {how_to_raise('max_total_pixels')}"
            )


# ------------------------------------------------------------------------------------ collecting
def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _zip_entries(zf: zipfile.ZipFile, prefix: str, zname: str, limits: Limits, budget: _ByteBudget,
                 skipped: _Skipped) -> list[_Entry]:
    entries: list[_Entry] = []
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
        entries.append(_Entry("/".join((prefix, *parts)) if prefix else "/".join(parts),
                              _member_reader(zf, info, budget), _member_peek(zf, info)))
    return entries


def _member_peek(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def peek() -> bytes:
        with zf.open(info) as f:
            return f.read(HEADER_BYTES)

    return peek


def _member_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _ByteBudget) -> Callable[[], bytes]:
    def read() -> bytes:
        chunks = []
        with zf.open(info) as f:
            while chunk := f.read(1 << 20):
                budget.take(len(chunk))
                chunks.append(chunk)
        return b"".join(chunks)

    return read


def _file_reader(data: bytes, budget: _ByteBudget) -> Callable[[], bytes]:
    def read() -> bytes:
        budget.take(len(data))
        return data

    return read


def _path_reader(path: Path, budget: _ByteBudget, limits: Limits) -> Callable[[], bytes]:
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


def _dir_entries(root: Path, budget: _ByteBudget, skipped: _Skipped, limits: Limits) -> list[_Entry]:
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
            entries.append(_Entry("/".join(rel), _path_reader(path, budget, limits), _path_peek(path)))
        else:
            skipped.add("nested" if ext == ".zip" else "not_image", "/".join(rel))
    return entries


def _collect(source: Source | list[Source], name: str | None, limits: Limits, budget: _ByteBudget,
             skipped: _Skipped) -> tuple[str, list[_Entry]]:
    """Every candidate image of ``source`` -> (what it is, for messages, entries with unique ids)."""
    if is_path(source) and Path(source).is_dir():  # type: ignore[arg-type]
        root = Path(source).resolve()  # type: ignore[arg-type]
        return root.name + "/", _dir_entries(root, budget, skipped, limits)
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise InputError("no files were given; pass image files, a zip of images or a folder.")
    given = name if len(items) == 1 else None
    # ids of files given by path are relative to the folder they share, so class folders show
    paths = [Path(s).resolve() for s in items if is_path(s)]  # type: ignore[arg-type]
    common = Path(os.path.commonpath([p.parent for p in paths])) if paths else None
    entries: list[_Entry] = []
    total = 0
    for item in items:
        fname, data = read_source(item, given, limits)
        total += len(data)
        limits.check("max_upload_bytes", total, f"the {len(items)} files add up to {total:,} bytes")
        rel = Path(item).resolve().relative_to(common).as_posix() if is_path(item) else fname  # type: ignore[arg-type]
        if extension(fname) == ".zip":
            prefix = PurePosixPath(rel).with_suffix("").as_posix() if len(items) > 1 else ""
            entries += _zip_entries(_zip_from_bytes(data, fname), prefix, fname, limits, budget, skipped)
        elif extension(fname) in IMAGE_EXTENSIONS:
            entries.append(_Entry(rel, _file_reader(data, budget), lambda data=data: data[:HEADER_BYTES]))
        else:
            skipped.add("not_image", fname)
    label = source_name(items[0], given) if len(items) == 1 else f"{len(items)} files"
    return label, _unique_ids(entries)


def _unique_ids(entries: list[_Entry]) -> list[_Entry]:
    seen: Counter[str] = Counter()
    for e in entries:
        seen[e.id] += 1
        if seen[e.id] > 1:
            e.id = f"{e.id}#{seen[e.id]}"
    return entries


# -------------------------------------------------------------------------------------- decoding
def _open_checked(data: bytes, entry_id: str, limits: Limits) -> "Image.Image":
    """Open (not decode) an image, refusing it by its header when it has too many pixels."""
    from PIL import Image

    with warnings.catch_warnings():
        # PIL warns above MAX_IMAGE_PIXELS (our check below says it better) and raises above twice that
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
        except Image.DecompressionBombError as e:
            raise LimitError(f"'{entry_id}' has too many pixels to decode safely ({e}) "
                             f"The limit is max_image_pixels={limits.max_image_pixels:,}. "
                             f"{how_to_raise('max_image_pixels')}") from None
    w, h = im.size
    limits.check("max_image_pixels", w * h, f"'{entry_id}' is {w}x{h} = {w * h:,} pixels")
    return im


def _to_l_or_rgb(im: "Image.Image") -> "Image.Image":
    """Any PIL mode -> "L" or "RGB": alpha composited on white, 16-bit and float scaled to 8 bits."""
    from PIL import Image

    mode = im.mode
    if mode in ("L", "RGB"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "RGBa", "La"):
        gray = im.mode in ("LA", "La")
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        out = Image.alpha_composite(white, rgba).convert("RGB")
        return out.convert("L") if gray else out
    if mode.startswith("I;16"):
        a = np.asarray(im).astype(np.uint32)
        return Image.fromarray(((a * 255 + 32767) // 65535).astype(np.uint8), "L")
    if mode in ("I", "F"):
        a = np.asarray(im)
        if mode == "I" and a.size and 255 < a.max() <= 65535 and a.min() >= 0:
            a = a.astype(np.float32) / 65535.0  # a 16-bit image that PIL opened as 32-bit
        return Image.fromarray(to_uint8(a)[0], "L")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, ...


def _is_gray(a: np.ndarray) -> bool:
    """R, G and B agree (within GRAY_TOLERANCE levels: lossy WebP stores gray images as almost-gray RGB)."""
    a16 = a.astype(np.int16)
    return bool(np.abs(a16[..., 0] - a16[..., 1]).max() <= GRAY_TOLERANCE
                and np.abs(a16[..., 1] - a16[..., 2]).max() <= GRAY_TOLERANCE)


def _fit_within(h: int, w: int, max_side: int) -> tuple[int, int]:
    """(h, w) shrunk, keeping the aspect, so the longer side is at most max_side (never enlarged)."""
    if max(h, w) <= max_side:
        return h, w
    s = max_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def _resize(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if a.shape[:2] == hw:
        return a
    return np.asarray(Image.fromarray(a).resize((hw[1], hw[0]), Image.Resampling.LANCZOS))


def _plan(im: "Image.Image", options: ImageOptions) -> tuple[tuple[int, int], tuple[int, int]]:
    """(original (h, w) as displayed, target (h, w)) of an opened image; a JPEG is set to decode at
    1/2, 1/4 or 1/8 of its size when the target is that small (``im.size`` then says so)."""
    w, h = im.size
    if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientation that turns the image sideways
        w, h = h, w
    target = tuple(options.size) if options.size else _fit_within(h, w, options.max_side)
    if im.format in ("JPEG", "MPO"):
        swap = (w, h) != im.size
        im.draft(im.mode, (target[0], target[1]) if swap else (target[1], target[0]))  # decode at 1/2, 1/4, 1/8
    return (h, w), target  # type: ignore[return-value]


def _pixels_from_header(head: bytes, entry_id: str, options: ImageOptions, limits: Limits) -> int | None:
    """The pixels decoding will produce, from the first bytes of the file alone (None when those
    are not enough to tell; the image is then counted when it is opened in full). Refuses an image
    over ``max_image_pixels``."""
    try:
        im = _open_checked(head, entry_id, limits)
        _plan(im, options)
        return im.size[0] * im.size[1]
    except LimitError:
        raise
    except Exception:  # noqa: BLE001 - a header cut short (or no image): counted, or skipped, later
        return None


def _decode(data: bytes, entry_id: str, options: ImageOptions, limits: Limits,
            pixels: _PixelBudget | None = None) -> tuple[np.ndarray, tuple[int, int], bool]:
    """Bytes -> (pixels (h', w') or (h', w', 3) uint8 already shrunk, original (h, w), multi-frame).

    ``pixels``, when given, counts this image's decoded pixels before it is decoded."""
    from PIL import ImageOps

    im = _open_checked(data, entry_id, limits)
    frames = getattr(im, "n_frames", 1)
    (h, w), target = _plan(im, options)
    if pixels is not None:
        pixels.take(im.size[0] * im.size[1])
    im.load()
    im = _to_l_or_rgb(ImageOps.exif_transpose(im))
    if options.mode == "L" and im.mode == "RGB":
        im = im.convert("L")
    a = np.asarray(im)
    if options.mode == "auto" and a.ndim == 3 and _is_gray(a):
        a = np.asarray(im.convert("L"))  # RGB that is really gray
    if options.mode == "RGB" and a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return _resize(a, target), (h, w), frames > 1  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ load
def _folder_labels(ids: list[str]) -> np.ndarray | None:
    """The folder of each image below the folders all share, if every image has one and they differ."""
    folders = [PurePosixPath(i).parent.parts for i in ids]
    common = 0
    while all(len(f) > common for f in folders) and len({f[common] for f in folders}) == 1:
        common += 1
    labels = ["/".join(f[common:]) for f in folders]
    if any(not lab for lab in labels) or len(set(labels)) < 2:
        return None
    return np.array(labels, dtype=str)


def load_images(source: Source | list[Source], name: str | None = None, options: ImageOptions | None = None,
                limits: Limits | None = None, *, should_stop: StopCheck | None = None) -> Dataset:
    """Load image files, a zip of images, or a folder of images as a Dataset.

    Returns a Dataset with images (n, h, w, c) uint8 (c = 1 or 3), X (n, h*w*c) float32 in [0, 1],
    feature_names "px0".., ids (n,) str (relative paths) and, when the images sit in two or more
    class folders, labels (n,) str (the folder names).

    Before any image is decoded, every header is read: each image's pixels against
    ``limits.max_image_pixels`` and their sum against ``limits.max_total_pixels``.
    ``should_stop()`` and ``limits.max_load_seconds`` are checked between images.
    """
    from PIL import Image

    options, limits = options or ImageOptions(), limits or Limits()
    options.validate()
    guard = LoadGuard(limits, should_stop)
    # PIL's own guard is a backstop behind the header check in _open_checked (a process-wide setting).
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    skipped = _Skipped()
    title, entries = _collect(source, name, limits, _ByteBudget(limits, "the image set"), skipped)
    short = display_name(title.rstrip("/")) if not title.endswith(" files") else "images"
    limits.check("max_images", len(entries), f"{title} holds {len(entries):,} images")
    if not entries:
        found = " ".join(skipped.notes()) or "It holds no files."
        raise InputError(f"{title}: no images found. {found} Supported images: {', '.join(IMAGE_EXTENSIONS)}.")
    report = LoadReport(source=title, kind="images", n_rows_read=len(entries))
    budget = _PixelBudget(limits, title, len(entries))
    unknown = set()
    for i, entry in enumerate(entries):
        if i % 64 == 0:
            guard.check(f"loading {title}")
        try:
            head = entry.peek()
        except Exception:  # noqa: BLE001 - unreadable: it is skipped, named, when it is read
            head = b""
        counted = _pixels_from_header(head, entry.id, options, limits)
        if counted is None:
            unknown.add(i)
        else:
            budget.take(counted)
    pixels, originals, ids, animated = [], [], [], 0
    for i, entry in enumerate(entries):
        guard.check(f"loading {title}")
        try:
            a, original, multi = _decode(entry.read(), entry.id, options, limits, budget if i in unknown else None)
        except LimitError:
            raise
        except Exception:  # noqa: BLE001 - a broken file makes decoders raise anything; skip it, named
            skipped.add("unreadable", entry.id)
            continue
        pixels.append(a)
        originals.append(original)
        ids.append(entry.id)
        animated += multi
    for sentence in skipped.notes():
        report.note(sentence)
    if not pixels:
        if len(entries) == 1 and title == entries[0].id:
            raise InputError(f"{title} could not be read as an image (it is truncated, damaged or not an image "
                             "at all). Check that it opens in an image viewer, or save it again as PNG or JPEG.")
        raise InputError(f"{title}: none of the {plural(len(entries), 'file')} could be read as an image. "
                         + " ".join(skipped.notes())
                         + " Check that they open in an image viewer, or save them again as PNG or JPEG.")
    check_min_rows(len(pixels), title, "images")
    if animated:
        report.note(f"{plural(animated, 'file')} had several frames (animation or pages); the first was used.")
    images = _assemble(pixels, originals, options, report)
    labels = _folder_labels(ids)
    if labels is not None:
        report.note(f"The images sit in {plural(len(set(labels)), 'folder')}; the folder names are the labels "
                    "(used only for evaluation).")
    n, h, w, c = images.shape
    X = images.reshape(n, -1).astype(np.float32) / 255.0
    report.scaling = "pixels/255"
    report.note(f"{n:,} images of {h}x{w} pixels, {'grayscale' if c == 1 else 'color (RGB)'}; "
                "features are the pixel values divided by 255.")
    report.n_rows, report.n_features = X.shape
    return Dataset(X=X, feature_names=[f"px{i}" for i in range(X.shape[1])], ids=np.array(ids, dtype=str),
                   report=report, kind="images", name=short, labels=labels, images=images)


def _assemble(pixels: list[np.ndarray], originals: list[tuple[int, int]], options: ImageOptions,
              report: LoadReport) -> np.ndarray:
    """Bring the shrunk images to one size and mode -> (n, h, w, c) uint8 (frees ``pixels`` as it goes)."""
    common_size, n_common = Counter(originals).most_common(1)[0]
    if options.size is None:
        target = _fit_within(*common_size, options.max_side)
        if n_common < len(originals):
            report.note(f"The images come in {len(set(originals))} sizes; the {len(originals) - n_common:,} not of "
                        f"the most common size ({common_size[0]}x{common_size[1]}) were resized to it.")
        if target != common_size:
            report.note(f"Images were shrunk from {common_size[0]}x{common_size[1]} to {target[0]}x{target[1]} "
                        f"(longer side at most {options.max_side}).")
    else:
        target = (int(options.size[0]), int(options.size[1]))
        changed = sum(o != target for o in originals)
        if changed:
            report.note(f"{plural(changed, 'image')} were resized to {target[0]}x{target[1]}, as asked.")
    color = any(a.ndim == 3 for a in pixels)
    out = np.empty((len(pixels), target[0], target[1], 3 if color else 1), dtype=np.uint8)
    for i, a in enumerate(pixels):
        a = _resize(a, target)
        out[i] = (np.repeat(a[..., None], 3, axis=2) if color else a[..., None]) if a.ndim == 2 else a
        pixels[i] = None  # type: ignore[call-overload]
    return out
