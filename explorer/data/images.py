"""Image files, a zip of them, or a folder -> Dataset of same-size uint8 images (and X in [0, 1]).

The candidate images come from :mod:`explorer.data.imagefiles` (zips read in memory, unsafe paths
and zip bombs refused). Decompression bombs are caught by each image's header before it is decoded;
images are decoded one at a time and shrunk at once, so a large set never sits in memory at full
size. :func:`conform_images` brings new images to a run's size and mode as the loader does.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal

import numpy as np

from explorer.data.files import IMAGE_EXTENSIONS, Source, display_name
from explorer.data.guards import LoadGuard, check_min_rows
from explorer.data.imagefiles import ByteBudget, SkippedFiles, collect_images
from explorer.data.words import plural
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError, LimitError
from explorer.events import StopCheck
from explorer.limits import Limits, how_to_raise
from explorer.validation import MIN_ROWS

if TYPE_CHECKING:
    from PIL import Image

# Decoders PIL may use; anything else (EPS, which calls Ghostscript, among others) is refused.
PIL_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "WEBP", "TIFF")  # JPEG covers MPO too
GRAY_TOLERANCE = 2  # levels by which R, G, B may differ in an image still counted as gray


@dataclass
class ImageOptions:
    """How to bring images to one mode and size.

    ``mode`` "auto" is "L" when every image is grayscale (or RGB with R, G and B within 2 levels of
    each other everywhere), else "RGB".
    ``size`` (h, w) None is the most common size, shrunk (keeping its aspect) so that its longer
    side is at most ``max_side``.
    ``min_images``: the fewest images the set must hold (by default enough to cluster, ``MIN_ROWS``; new images
    applied to a run need only 1).
    """

    mode: Literal["auto", "L", "RGB"] = "auto"
    size: tuple[int, int] | None = None
    max_side: int = 64
    min_images: int = MIN_ROWS

    def validate(self) -> None:
        if self.mode not in ("auto", "L", "RGB"):
            raise InputError(f"image mode '{self.mode}' is not known; choose one of: auto, L, RGB.")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise InputError(f"image size must be (height, width) with both at least 1, got {self.size}.")
        if self.max_side < 1:
            raise InputError(f"max_side must be at least 1, got {self.max_side}.")
        if self.min_images < 1:
            raise InputError(f"min_images must be at least 1, got {self.min_images}.")


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


# -------------------------------------------------------------------------------------- decoding
def _open_checked(data: bytes, entry_id: str, limits: Limits) -> Image.Image:
    """Open (not decode) an image, refusing it by its header when it has too many pixels."""
    from PIL import Image

    with warnings.catch_warnings():
        # PIL warns above MAX_IMAGE_PIXELS (our check below says it better) and raises above twice that
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
        except Image.DecompressionBombError as e:
            raise LimitError(
                f"'{entry_id}' has too many pixels to decode safely ({e}) "
                f"The limit is max_image_pixels={limits.max_image_pixels:,}. "
                f"{how_to_raise('max_image_pixels')}"
            ) from None
    w, h = im.size
    limits.check("max_image_pixels", w * h, f"'{entry_id}' is {w}x{h} = {w * h:,} pixels")
    return im


def _to_l_or_rgb(im: Image.Image) -> Image.Image:
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
        wide = np.asarray(im).astype(np.uint32)
        return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")
    if mode in ("I", "F"):
        a = np.asarray(im)
        if mode == "I" and a.size and 255 < a.max() <= 65535 and a.min() >= 0:
            a = a.astype(np.float32) / 65535.0  # a 16-bit image that PIL opened as 32-bit
        return Image.fromarray(to_uint8(a)[0], "L")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, ...


def _is_gray(a: np.ndarray) -> bool:
    """R, G and B agree (within GRAY_TOLERANCE levels: lossy WebP stores gray images as almost-gray RGB)."""
    a16 = a.astype(np.int16)
    return bool(
        np.abs(a16[..., 0] - a16[..., 1]).max() <= GRAY_TOLERANCE
        and np.abs(a16[..., 1] - a16[..., 2]).max() <= GRAY_TOLERANCE
    )


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


def _plan(im: Image.Image, options: ImageOptions) -> tuple[tuple[int, int], tuple[int, int]]:
    """(original (h, w) as displayed, target (h, w)) of an opened image; a JPEG is set to decode at
    1/2, 1/4 or 1/8 of its size when the target is that small (``im.size`` then says so)."""
    w, h = im.size
    if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientation that turns the image sideways
        w, h = h, w
    target = (int(options.size[0]), int(options.size[1])) if options.size else _fit_within(h, w, options.max_side)
    if im.format in ("JPEG", "MPO"):
        swap = (w, h) != im.size
        im.draft(im.mode, (target[0], target[1]) if swap else (target[1], target[0]))  # decode at 1/2, 1/4, 1/8
    return (h, w), target


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


def _decode(
    data: bytes, entry_id: str, options: ImageOptions, limits: Limits, pixels: _PixelBudget | None = None
) -> tuple[np.ndarray, tuple[int, int], bool]:
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
    return _resize(a, target), (h, w), frames > 1


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


def load_images(
    source: Source | list[Source],
    name: str | None = None,
    options: ImageOptions | None = None,
    limits: Limits | None = None,
    *,
    should_stop: StopCheck | None = None,
) -> Dataset:
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
    skipped = SkippedFiles()
    title, entries = collect_images(source, name, limits, ByteBudget(limits, "the image set"), skipped)
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
            raise InputError(
                f"{title} could not be read as an image (it is truncated, damaged or not an image "
                "at all). Check that it opens in an image viewer, or save it again as PNG or JPEG."
            )
        raise InputError(
            f"{title}: none of the {plural(len(entries), 'file')} could be read as an image. "
            + " ".join(skipped.notes())
            + " Check that they open in an image viewer, or save them again as PNG or JPEG."
        )
    check_min_rows(len(pixels), title, "images", options.min_images)
    if animated:
        report.note(f"{plural(animated, 'file')} had several frames (animation or pages); the first was used.")
    images = _assemble(pixels, originals, options, report)
    labels = _folder_labels(ids)
    if labels is not None:
        report.note(
            f"The images sit in {plural(len(set(labels)), 'folder')}; the folder names are the labels "
            "(used only for evaluation)."
        )
    n, h, w, c = images.shape
    X = images.reshape(n, -1).astype(np.float32) / 255.0
    report.scaling = "pixels/255"
    report.note(
        f"{n:,} images of {h}x{w} pixels, {'grayscale' if c == 1 else 'color (RGB)'}; "
        "features are the pixel values divided by 255."
    )
    report.n_rows, report.n_features = X.shape
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(X.shape[1])],
        ids=np.array(ids, dtype=str),
        report=report,
        kind="images",
        name=short,
        labels=labels,
        images=images,
    )


def _assemble(
    pixels: list[np.ndarray], originals: list[tuple[int, int]], options: ImageOptions, report: LoadReport
) -> np.ndarray:
    """Bring the shrunk images to one size and mode -> (n, h, w, c) uint8 (frees ``pixels`` as it goes)."""
    common_size, n_common = Counter(originals).most_common(1)[0]
    if options.size is None:
        target = _fit_within(*common_size, options.max_side)
        if n_common < len(originals):
            report.note(
                f"The images come in {len(set(originals))} sizes; the {len(originals) - n_common:,} not of "
                f"the most common size ({common_size[0]}x{common_size[1]}) were resized to it."
            )
        if target != common_size:
            report.note(
                f"Images were shrunk from {common_size[0]}x{common_size[1]} to {target[0]}x{target[1]} "
                f"(longer side at most {options.max_side})."
            )
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
        pixels[i] = None  # type: ignore[call-overload]  # frees each decoded image once it is copied into `out`
    return out


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
        unit = a.astype(np.float32) / 65535.0
        note = "Pixel values are 16-bit (0 to 65535); they were scaled to 8 bits."
    else:
        span = (hi - lo) or 1.0
        unit = ((a.astype(np.float64) - lo) / span).astype(np.float32)
        note = f"Pixel values run from {lo:g} to {hi:g}; they were stretched to 0..255."
    pixels = np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)
    return pixels, unit, note


def conform_images(ds: Dataset, h: int, w: int, mode: str) -> tuple[Dataset, str]:
    """Images of another size or mode -> (the same images at (h, w) in ``mode`` ("L" or "RGB"), resized
    (Lanczos) and converted as the loader does; the sentence that says so)."""
    from PIL import Image

    c = 1 if mode == "L" else 3
    out = np.empty((ds.n, h, w, c), np.uint8)
    if ds.images is None:
        raise InputError("there are no images to bring to the run's size.")
    for i, img in enumerate(ds.images):
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        im = im.convert(mode).resize((w, h), Image.Resampling.LANCZOS)
        a = np.asarray(im)
        out[i] = a[..., None] if a.ndim == 2 else a
    shape = ds.image_shape or (0, 0, 0)
    note = (
        f"The {ds.n:,} images are {shape[0]}x{shape[1]}; they were resized to the run's "
        f"{h}x{w} ({'grayscale' if c == 1 else 'color'}), as the loader does."
    )
    X = out.reshape(ds.n, -1).astype(np.float32) / 255.0
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(h * w * c)],
        ids=ds.ids,
        report=ds.report,
        kind="images",
        name=ds.name,
        labels=ds.labels,
        images=out,
    ), note
