"""Figures linked to the map: a column's histogram for the rows in focus against every row, and the map's density
as contour lines.

- :func:`histogram_counts` / :func:`linked_histogram`: numbers in shared bins (the same edges for both, from
  every row's finite values), categories by level (the most common ``MAX_LEVELS`` overall, the rest as one
  "other" bar); the rows in focus drawn over every row, so a filter or a selection shows where it sits;
- :func:`contour_grid` / :func:`add_density_contours`: a smoothed 2-D histogram of the map's points, drawn as a
  few contour lines over the markers (a grid of ``CONTOUR_SIDE`` squared cells whatever the number of points:
  cheap at a million, and the browser draws lines, not points).

User text (a column's name, its levels) is escaped where drawn (:func:`explorer.display.usertext.plotly_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.display.density import Bounds
from explorer.display.usertext import plotly_text

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

BINS = 30  # bins of a number's histogram
MAX_LEVELS = 12  # bars of a category's histogram (the rest: one "other" bar)
OTHER = "other"
CONTOUR_SIDE = 64  # cells along each side of the contour grid
CONTOUR_LEVELS = 6  # contour lines drawn
CONTOUR_SMOOTH = 1.2  # the narrowest Gaussian, in cells
CONTOUR_WIDEN = 8.0  # the Gaussian's width for fewer points: this many cells times n^(-1/6) (Scott's rate)
ALL_COLOR, FOCUS_COLOR = "rgba(170,170,170,0.55)", "#1f77b4"


@dataclass(frozen=True)
class HistogramCounts:
    """A column's histogram: ``labels`` (b,) the bars' x (bin centres for numbers, levels for categories),
    ``widths`` (b,) the bins' widths (None for categories), ``everything`` and ``focus`` (b,) int64 counts."""

    labels: list
    widths: np.ndarray | None
    everything: np.ndarray
    focus: np.ndarray


def histogram_counts(values: np.ndarray, inside: np.ndarray, *, categorical: bool) -> HistogramCounts:
    """The counts of ``values`` (n,) over every row and over the rows ``inside`` ((m,) row indices): numbers
    (missing and infinite left out) in ``BINS`` shared bins, categories (missing as "missing") by level."""
    inside = np.asarray(inside, np.int64)
    if not categorical:
        x = np.asarray(values, np.float64)
        finite = np.isfinite(x)
        known = x[finite]
        if len(known) == 0:
            return HistogramCounts([], np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
        edges = np.histogram_bin_edges(known, bins=BINS if known.max() > known.min() else 1)
        chosen = x[inside]
        every = np.histogram(known, edges)[0]
        focus = np.histogram(chosen[np.isfinite(chosen)], edges)[0]
        return HistogramCounts(((edges[:-1] + edges[1:]) / 2).tolist(), np.diff(edges), every, focus)
    import pandas as pd

    text = pd.Series(values, copy=False).astype("string").fillna("missing")
    every = text.value_counts(sort=True)
    top = [str(v) for v in every.index[:MAX_LEVELS]]
    focus = text.iloc[inside].value_counts()
    counts_all = [int(every.get(v, 0)) for v in top]
    counts_in = [int(focus.get(v, 0)) for v in top]
    if len(every) > MAX_LEVELS:
        top.append(OTHER)
        counts_all.append(int(every.iloc[MAX_LEVELS:].sum()))
        counts_in.append(int(len(inside) - sum(counts_in)))
    return HistogramCounts(top, None, np.array(counts_all, np.int64), np.array(counts_in, np.int64))


def linked_histogram(
    values: np.ndarray, inside: np.ndarray, name: str, *, categorical: bool, focus_name: str = "in focus"
) -> go.Figure:
    """A small histogram of ``values`` (n,): every row in grey, the rows ``inside`` ((m,) row indices) over it in
    colour (:func:`histogram_counts`); titled by the column ``name`` (escaped)."""
    import plotly.graph_objects as go

    h = histogram_counts(values, inside, categorical=categorical)
    x = [plotly_text(v) for v in h.labels] if categorical else h.labels
    width = None if h.widths is None else h.widths.tolist()
    fig = go.Figure(
        [
            go.Bar(x=x, y=h.everything.tolist(), width=width, name="every row", marker_color=ALL_COLOR),
            go.Bar(x=x, y=h.focus.tolist(), width=width, name=plotly_text(focus_name), marker_color=FOCUS_COLOR),
        ]
    )
    fig.update_layout(
        barmode="overlay",
        bargap=0.05 if categorical else 0,
        height=170,
        margin={"l": 10, "r": 10, "t": 28, "b": 10},
        title={"text": plotly_text(name), "font": {"size": 13}},
        showlegend=False,
        xaxis={"type": "category"} if categorical else {},
        yaxis={"title": None},
    )
    return fig


def contour_grid(xy: np.ndarray, side: int = CONTOUR_SIDE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (side,), ys (side,), density (side, side)): the cells' centres and a smoothed 2-D histogram of the
    finite points ``xy`` (n, 2) over their bounds, row i at ys[i]; density in points per cell. The Gaussian's
    width shrinks as n^(-1/6) (Scott's rate; ``CONTOUR_WIDEN`` cells times it, at least ``CONTOUR_SMOOTH``), so
    a few hundred points give a few smooth lines, not an island per point (the spread of the whole map would
    blur apart clusters together, so the width follows the count only)."""
    from scipy.ndimage import gaussian_filter

    b = Bounds.of(xy)
    pts = np.asarray(xy, np.float64)[:, :2]
    pts = pts[np.isfinite(pts).all(axis=1)]
    counts, xe, ye = np.histogram2d(pts[:, 0], pts[:, 1], bins=side, range=[[b.xmin, b.xmax], [b.ymin, b.ymax]])
    sigma = max(CONTOUR_SMOOTH, CONTOUR_WIDEN * max(len(pts), 1) ** (-1 / 6))
    density = gaussian_filter(counts.T, sigma)  # rows along y, as Plotly's z
    return (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2, density


def add_density_contours(fig: go.Figure, xy: np.ndarray) -> go.Figure:
    """Draw the density of the map's points ``xy`` (n, 2) as ``CONTOUR_LEVELS`` contour lines on ``fig``
    (:func:`contour_grid`; levels spaced on the square root of the density, so sparse regions get lines too);
    not selectable, no hover. Returns ``fig``."""
    import plotly.graph_objects as go

    xs, ys, z = contour_grid(xy)
    top = float(np.sqrt(z.max())) if z.size else 0.0
    if top <= 0:
        return fig
    step = top / (CONTOUR_LEVELS + 1)
    fig.add_trace(
        go.Contour(
            x=xs,
            y=ys,
            z=np.sqrt(z),
            contours={"coloring": "none", "start": step, "end": top - step / 2, "size": step},
            line={"width": 1, "color": "rgba(40,40,40,0.55)"},
            showscale=False,
            hoverinfo="skip",
            name="density",
            showlegend=False,
        )
    )
    return fig
