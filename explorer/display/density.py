"""Every point of a 2-D map as one image: a 2-D histogram of the points, coloured by a label or a value.

The map of a large run draws all its points this way (under an interactive sample of markers, see
:func:`explorer.display.maps.scatter`): the browser then paints one picture instead of a million WebGL
markers, and changing the colouring is a few ``np.bincount`` calls here and one PNG.

- :func:`category_image`: each pixel takes the mean colour of the points in it (weighted by how many of
  each category fall there), so a pixel that holds only cluster A's points is A's colour exactly;
- :func:`value_image`: each pixel takes the colour of the mean value of its points on a colour scale
  (pixels whose points have no value take ``missing_color``).

In both, a pixel's opacity grows with the log of its count, from ``MIN_ALPHA`` (one point) to opaque
(the densest pixel; opaque everywhere when no pixel holds more than one); empty pixels are transparent.
Deterministic: the same points give the same bytes.
Row 0 of an image is its top (the largest y), as images are drawn.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import numpy as np

IMAGE_SIDE = 800  # pixels along the longer side of the map
MIN_ALPHA = 0.35  # opacity of a pixel that holds one point
MISSING_RGB = (187, 187, 187)


@dataclass(frozen=True)
class Bounds:
    """The data rectangle an image covers: x from ``xmin`` to ``xmax``, y from ``ymin`` to ``ymax``."""

    xmin: float
    xmax: float
    ymin: float
    ymax: float

    @classmethod
    def of(cls, xy: np.ndarray, pad: float = 0.02) -> Bounds:
        """The finite points' bounding box, widened by ``pad`` of its size on each side (a point on the
        edge stays inside; a box of zero width gets width 1)."""
        xy = np.asarray(xy)[:, :2]
        lo, hi = xy.min(axis=0).astype(np.float64), xy.max(axis=0).astype(np.float64)  # fast: no copy
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):  # NaN or inf somewhere: leave them out
            finite = xy[np.isfinite(xy).all(axis=1)].astype(np.float64)
            if len(finite) == 0:
                return cls(-1.0, 1.0, -1.0, 1.0)
            lo, hi = finite.min(axis=0), finite.max(axis=0)
        size = np.where(hi - lo > 0, hi - lo, 1.0)
        lo, hi = lo - pad * size, hi + pad * size
        return cls(float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))

    @property
    def width(self) -> float:
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        return self.ymax - self.ymin


def image_shape(bounds: Bounds, side: int = IMAGE_SIDE) -> tuple[int, int]:
    """(rows, columns) of an image of ``bounds`` with square pixels, ``side`` along its longer side."""
    ratio = bounds.height / bounds.width
    if ratio <= 1:
        return max(1, round(side * ratio)), side
    return side, max(1, round(side / ratio))


@dataclass
class DensityImage:
    """rgba: (rows, columns, 4) uint8, row 0 at the top; counts: (rows, columns) int64 points per pixel;
    bounds: the data rectangle the image covers."""

    rgba: np.ndarray
    counts: np.ndarray
    bounds: Bounds
    _uri: str | None = field(default=None, init=False, repr=False, compare=False)  # data_uri's, made once

    def png(self) -> bytes:
        """The image as PNG bytes."""
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(self.rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def data_uri(self) -> str:
        """The image as a ``data:image/png;base64,...`` address (what a Plotly layout image takes); encoded
        once (an image kept for a run, e.g. :meth:`Grid.one_colour`'s, is drawn again without a new PNG)."""
        if self._uri is None:
            self._uri = "data:image/png;base64," + base64.b64encode(self.png()).decode("ascii")
        return self._uri


def pixel_of(xy: np.ndarray, bounds: Bounds, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel index of each point inside ``bounds`` (m,), which of the (n,) points are inside).

    A point on the right or top edge falls in the last column or the top row."""
    xy = np.asarray(xy)
    rows, cols = shape
    x = (xy[:, 0].astype(np.float64) - bounds.xmin) / bounds.width
    y = (bounds.ymax - xy[:, 1].astype(np.float64)) / bounds.height  # 0 at the top
    inside = (x >= 0) & (x <= 1) & (y >= 0) & (y <= 1)  # NaN compares false: left out
    col = np.minimum((x[inside] * cols).astype(np.int64), cols - 1)
    row = np.minimum((y[inside] * rows).astype(np.int64), rows - 1)
    return row * cols + col, inside


@dataclass(frozen=True)
class Grid:
    """Where each of n points falls in an image: ``pixel`` (m,) flat pixel index of each point ``inside``
    (n,) bool the ``bounds``, in an image of ``shape``. It depends on the map only, so a page that redraws the
    same map in another colouring or focus makes it once (:meth:`of`) and passes it to the image builders."""

    bounds: Bounds
    shape: tuple[int, int]
    pixel: np.ndarray
    inside: np.ndarray
    _one_colour: dict = field(default_factory=dict, compare=False, repr=False)  # kept: one image per colour

    @classmethod
    def of(cls, xy: np.ndarray, bounds: Bounds | None = None, side: int = IMAGE_SIDE) -> Grid:
        bounds, shape = _setup(xy, bounds, side)
        pixel, inside = pixel_of(xy, bounds, shape)
        return cls(bounds, shape, pixel, inside)

    @property
    def n(self) -> int:
        return len(self.inside)

    def one_colour(self, rgb: tuple[int, int, int]) -> DensityImage:
        """Every point in the colour ``rgb``: made once per grid and colour, the same image (and PNG bytes) after,
        so a map redrawn with it sends the browser the picture it has."""
        if rgb not in self._one_colour:
            codes = np.zeros(self.n, np.int64)
            nowhere = np.broadcast_to(np.zeros(2), (self.n, 2))  # the grid has the places: no copy of them
            self._one_colour[rgb] = category_image(nowhere, codes, np.array([rgb], np.uint8), grid=self)
        return self._one_colour[rgb]


def _grid(xy: np.ndarray, grid: Grid | None, bounds: Bounds | None, side: int) -> Grid:
    if grid is None:
        return Grid.of(xy, bounds, side)
    if grid.n != len(xy):
        raise ValueError(f"a grid of {grid.n} points for {len(xy)} points")
    return grid


def _alpha(counts: np.ndarray) -> np.ndarray:
    top = counts.max() if counts.size else 0
    if top <= 0:
        return np.zeros(counts.shape, np.uint8)
    level = np.log(np.maximum(counts, 1)) / np.log(top) if top > 1 else np.ones(counts.shape)  # 1 point: 0
    alpha = np.where(counts > 0, MIN_ALPHA + (1 - MIN_ALPHA) * level, 0.0)
    return np.round(alpha * 255).astype(np.uint8)


def _setup(xy: np.ndarray, bounds: Bounds | None, side: int) -> tuple[Bounds, tuple[int, int]]:
    xy = np.asarray(xy)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise ValueError(f"xy must be (n, 2), got shape {xy.shape}")
    bounds = bounds or Bounds.of(xy)
    return bounds, image_shape(bounds, side)


def category_image(
    xy: np.ndarray,
    codes: np.ndarray,
    colors: np.ndarray,
    *,
    bounds: Bounds | None = None,
    side: int = IMAGE_SIDE,
    grid: Grid | None = None,
) -> DensityImage:
    """The points ``xy`` (n, 2) coloured by category.

    Args:
        codes: (n,) int, each point's category as an index into ``colors``; a negative code leaves
            the point out.
        colors: (k, 3) uint8 RGB, one per category.
        bounds: the data rectangle to draw (default: the points' own, :meth:`Bounds.of`).
        side: pixels along the image's longer side.
        grid: where the points fall, worked out before (:class:`Grid`; then ``bounds`` and ``side`` are its).
    """
    grid = _grid(xy, grid, bounds, side)
    bounds, shape = grid.bounds, grid.shape
    codes = np.asarray(codes, dtype=np.int64)
    colors = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
    if len(codes) != len(xy):
        raise ValueError(f"{len(codes)} codes for {len(xy)} points")
    if len(codes) and codes.max(initial=-1) >= len(colors):
        raise ValueError(f"a code of {codes.max()} but only {len(colors)} colours")
    code = codes[grid.inside]
    keep = code >= 0
    pixel, code = grid.pixel[keep], code[keep]
    size = shape[0] * shape[1]
    counts = np.bincount(pixel, minlength=size)
    rgb = np.empty((size, 3), np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        for channel in range(3):
            rgb[:, channel] = np.bincount(pixel, weights=colors[code, channel], minlength=size) / counts
    return _finish(rgb, counts, shape, bounds)


def value_image(
    xy: np.ndarray,
    values: np.ndarray,
    lut: np.ndarray,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    bounds: Bounds | None = None,
    side: int = IMAGE_SIDE,
    missing_color: tuple[int, int, int] = MISSING_RGB,
    grid: Grid | None = None,
) -> DensityImage:
    """The points ``xy`` (n, 2) coloured by a number: each pixel the colour of its points' mean value.

    Args:
        values: (n,) numbers; NaN for a missing value (a pixel holding only those is ``missing_color``).
        lut: (m, 3) uint8 RGB, the colour scale from ``vmin`` (first row) to ``vmax`` (last row).
        vmin, vmax: the ends of the scale (default: the finite values' min and max).
        grid: where the points fall, worked out before (:class:`Grid`; then ``bounds`` and ``side`` are its).
    """
    grid = _grid(xy, grid, bounds, side)
    bounds, shape = grid.bounds, grid.shape
    values = np.asarray(values, dtype=np.float64)
    if len(values) != len(xy):
        raise ValueError(f"{len(values)} values for {len(xy)} points")
    lut = np.asarray(lut, dtype=np.float64).reshape(-1, 3)
    finite = np.isfinite(values)
    lo = float(np.min(values[finite])) if vmin is None and finite.any() else float(vmin or 0.0)
    hi = float(np.max(values[finite])) if vmax is None and finite.any() else float(vmax if vmax is not None else 1.0)
    pixel, inside = grid.pixel, grid.inside
    v, ok = values[inside], finite[inside]
    size = shape[0] * shape[1]
    counts = np.bincount(pixel, minlength=size)
    valued = np.bincount(pixel[ok], minlength=size)
    total = np.bincount(pixel[ok], weights=v[ok], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / valued
    position = np.clip((mean - lo) / (hi - lo) if hi > lo else np.zeros(size), 0, 1)
    index = np.round(np.nan_to_num(position) * (len(lut) - 1)).astype(np.int64)
    rgb = np.where((valued > 0)[:, None], lut[index], np.asarray(missing_color, np.float64))
    return _finish(rgb, counts, shape, bounds)


def _finish(rgb: np.ndarray, counts: np.ndarray, shape: tuple[int, int], bounds: Bounds) -> DensityImage:
    rgba = np.zeros((counts.size, 4), np.uint8)
    filled = counts > 0
    rgba[filled, :3] = np.clip(np.round(rgb[filled]), 0, 255).astype(np.uint8)
    rgba[:, 3] = _alpha(counts)
    return DensityImage(rgba.reshape(*shape, 4), counts.reshape(shape).astype(np.int64), bounds)


def hex_to_rgb(colors: list[str]) -> np.ndarray:
    """("#1f77b4", "rgb(31, 119, 180)", ...) -> (k, 3) uint8."""
    out = []
    for c in colors:
        c = c.strip()
        if c.startswith("#") and len(c) == 7:
            out.append([int(c[i : i + 2], 16) for i in (1, 3, 5)])
        elif c.startswith("rgb"):
            out.append([round(float(p)) for p in c[c.index("(") + 1 : c.index(")")].split(",")[:3]])
        else:
            raise ValueError(f"not a colour this reads: {c!r} (give '#rrggbb' or 'rgb(r, g, b)')")
    return np.asarray(out, np.uint8).reshape(-1, 3)
