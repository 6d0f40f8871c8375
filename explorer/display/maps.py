"""The map: a scatter of the 2-D / 3-D projection, arrays in, ``go.Figure`` out. No Streamlit here; the pages only
place it.

The scatter keeps each point's row number in ``customdata`` so a click selection maps back to rows
(:func:`rows_from_selection`; a box or lasso selects every point inside it, drawn or not:
:func:`explorer.dashboard.explore.rows_in_selection`). Above ``max_points`` (the interactive cap,
``DISPLAY_CAP`` by default, chosen by measurement in docs/MAP.md) it draws every point as a density
image (:mod:`explorer.display.density`) beneath a uniform seeded sample of markers, and says so in its title.

Every string a builder is given (titles, category and class names, column and feature names) is plain
text: the builder escapes it (:func:`explorer.display.usertext.plotly_text`), because Plotly reads its text as
HTML (``<br>``, ``<b>``, ``<a href>``) and entities. Only hover text is passed as Plotly's HTML, built
with the same escaping (:func:`explorer.dashboard.explore.hover_texts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from explorer.display.density import DensityImage, Grid, category_image, hex_to_rgb, value_image
from explorer.display.usertext import plotly_text
from explorer.sampling import sample_rows

DISPLAY_CAP = (
    5_000  # markers drawn in the scatter; above it a density image of every point under a sample (docs/MAP.md)
)
MAX_CATEGORIES = 40  # categories drawn as their own trace; the rest fold into "other"
UNSELECTED = dict(marker=dict(color="#c8c8c8", opacity=0.25))  # how points outside a selection look
NOISE_COLOR = "#9a9a9a"
OTHER_COLOR = "#bbbbbb"
SCALE = "Viridis"


def palette() -> list[str]:
    import plotly.colors as pc

    return (
        list(pc.qualitative.Plotly)
        + list(pc.qualitative.D3)
        + list(pc.qualitative.Dark24)
        + list(pc.qualitative.Light24)
    )


def sample_indices(n: int, max_points: int = DISPLAY_CAP, seed: int = 0) -> np.ndarray:
    """Rows to draw: all ``n`` when ``n <= max_points``, else a uniform seeded sample, sorted."""
    return sample_rows(n, max_points, seed)


def showing_text(shown: int, total: int, density: bool = False) -> str:
    if shown >= total:
        return f"{total:,} points"
    if density:
        return f"all {total:,} points as a density image · {shown:,} as markers (a uniform sample)"
    return f"showing {shown:,} of {total:,} points (a uniform sample)"


def _order(names: list[str], counts: np.ndarray) -> list[str]:
    def key(item):
        name, count = item
        special = name in ("noise", "other", "(missing)")
        numeric = name.lstrip("-").isdigit()
        return (special, not numeric, int(name) if numeric else 0, -count, name)

    return [name for name, _ in sorted(zip(names, counts, strict=True), key=key)]


def categories(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Category values (n,) -> (codes (n,) int64 into names, names in legend order): numbers first in
    numeric order, then by size; "noise", "other" and "(missing)" last. Past ``MAX_CATEGORIES`` the
    smallest fold into "other". Hash-based (pandas.factorize): fast for a million rows."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    names = [str(u) for u in uniques]
    counts = np.bincount(codes, minlength=len(names))
    order = _order(names, counts)
    if len(order) > MAX_CATEGORIES:
        kept = [name for name in order if name != "other"][: MAX_CATEGORIES - 1]
        order = _order([*kept, "other"], np.array([*(counts[names.index(n)] for n in kept), 0]))
    position = {name: i for i, name in enumerate(order)}
    other = position.get("other", -1)
    remap = np.array([position.get(name, other) for name in names], dtype=np.int64)
    return remap[codes], order


@dataclass(frozen=True)
class Categories:
    """A category colouring worked out once (:func:`categories`): ``codes`` (n,) int64 into ``names``, in
    legend order. :func:`scatter` takes it for ``color``, so a page that redraws the same colouring (another
    focus, the names on or off) skips factorizing a million values again."""

    codes: np.ndarray
    names: list[str]

    @classmethod
    def of(cls, values: np.ndarray) -> Categories:
        return cls(*categories(values))


def category_colors(names: Sequence[str]) -> list[str]:
    """One colour per category name, in order: the palette, "noise" and "other" / "(missing)" grey."""
    colors, out, i = palette(), [], 0
    for name in names:
        if name in ("noise", "other", "(missing)"):
            out.append(NOISE_COLOR if name == "noise" else OTHER_COLOR)
        else:
            out.append(colors[i % len(colors)])
            i += 1
    return out


def scale_lut(scale: str = SCALE, steps: int = 256) -> np.ndarray:
    """The colour scale as (steps, 3) uint8 RGB, first row at its low end."""
    import plotly.colors as pc

    return hex_to_rgb(pc.sample_colorscale(scale, list(np.linspace(0, 1, steps))))


@dataclass(frozen=True)
class HoverTable:
    """Hover labels as fields: ``template`` (Plotly's ``hovertemplate``, the names escaped, one
    ``name: %{customdata[j]}`` line each) and ``values`` (m, fields) str, escaped, one row per point."""

    template: str
    values: np.ndarray


def hover_table(fields: Sequence[tuple[str, Sequence[str]]]) -> HoverTable:
    """[(name, values)] in plain text (:func:`explorer.dashboard.explore.point_fields`) -> a
    :class:`HoverTable`, every name and value escaped (:func:`explorer.display.usertext.plotly_text`). Values
    are a str array (not objects): Plotly copies and writes it many times faster."""
    fields = list(fields)
    m = len(fields[0][1]) if fields else 0
    values = np.array([[plotly_text(v) for v in column] for _, column in fields], dtype=str).T.reshape(m, len(fields))
    template = (
        "<br>".join(f"<b>{_template_text(name)}</b>: %{{customdata[{j + 1}]}}" for j, (name, _) in enumerate(fields))
        + "<extra></extra>"
    )
    return HoverTable(template, values)


def _template_text(text: object) -> str:
    """A name for a hover template: :func:`plotly_text`, and ``%`` as an entity (``%{...}`` would be
    read as a field of the point)."""
    return plotly_text(text).replace("%", "&#37;")


def scatter(
    embedding: np.ndarray,
    *,
    color: np.ndarray | Categories | None = None,
    color_kind: str = "category",
    color_name: str = "cluster",
    hovertext: Sequence[str] | Callable[[np.ndarray], Sequence[str]] | None = None,
    selected: Iterable[int] | None = None,
    max_points: int = DISPLAY_CAP,
    seed: int = 0,
    title: str | None = None,
    point_size: float | None = None,
    density: bool = True,
    hover_fields: Callable[[np.ndarray], Sequence[tuple[str, Sequence[str]]] | HoverTable] | None = None,
    grid: Grid | None = None,
) -> go.Figure:
    """The 2-D projection as a WebGL scatter (``go.Scattergl``), over a density image of every point
    when there are more than ``max_points``.

    Args:
        embedding: (n, 2) or (n, 3) array; the first two columns are drawn.
        color: (n,) values; categories get one trace each (a legend entry; "noise" is grey), numbers
            one trace with a continuous colour scale and a colour bar. None: one colour. Categories may come
            worked out already (:class:`Categories`).
        hovertext: (n,) hover labels as Plotly HTML whose user text is escaped with
            :func:`explorer.display.usertext.plotly_text`, or a function rows -> their labels (e.g.
            ``lambda rows: explorer.dashboard.explore.hover_texts(result, rows)``), called for the drawn rows only.
        selected: row numbers to highlight (the rows in focus: a search, a filter); every other point is
            greyed (the same look Plotly gives a box or lasso selection made in the browser), in the density
            image too. Above the cap, up to ``FOCUS_MARKERS`` of them not in the sample are drawn as markers
            as well, so a search's few hits among a million points can be seen, hovered and clicked.
        max_points: the interactive cap: above it a uniform seeded sample of this many rows is drawn
            as markers (hover, click, Plotly's selection look) and the title says how many.
        density: above ``max_points``, draw all n points beneath the markers as one image
            (:mod:`explorer.display.density`, a layout image in data coordinates, coloured as the markers);
            False: the sample alone.
        hover_fields: instead of ``hovertext``, a function rows -> [(name, values of those rows)]
            in plain text (e.g. :func:`explorer.dashboard.explore.point_fields`) or their
            :func:`hover_table` (escaped once, to reuse for another colouring): the hover label is one
            ``name: value`` line each, the names written once in the trace's ``hovertemplate`` and the
            values (escaped here) in ``customdata`` -- a fifth of the bytes of a label per point.
        grid: where each point falls in the density image (:class:`explorer.display.density.Grid` of the
            embedding's first two columns), made before: a page redrawing the same map passes it.

    Each trace's ``customdata`` holds the row numbers of its points (with ``hover_fields``: each
    point's ``[row, value, value, ...]`` as text); ``layout.meta`` holds ``shown`` (markers), ``total`` (n)
    and ``density`` (whether the image is there).
    """
    embedding = np.asarray(embedding)
    n = len(embedding)
    rows = sample_indices(n, max_points, seed)
    with_image = bool(density) and len(rows) < n
    focus = focus_mask(n, selected)  # (n,) bool, or None: nothing greyed
    if focus is not None and len(rows) < n:
        rows = with_focus_rows(rows, focus)
    # every row in focus drawn as a marker (a search's hits): the image is all grey, whatever the colouring
    grey_image = with_image and focus is not None and bool(focus_in(rows, np.flatnonzero(focus)).all())
    xy = embedding[rows, :2].astype(np.float64)
    size = point_size or (7 if len(rows) <= 2_000 else 4 if len(rows) <= 30_000 else 2.5)
    hover = template = None
    custom: np.ndarray = rows
    if hover_fields is not None:
        table = hover_fields(rows)
        table = table if isinstance(table, HoverTable) else hover_table(table)
        if len(table.values) != len(rows):
            raise ValueError(f"hover fields for {len(table.values)} rows, but {len(rows)} are drawn")
        custom, template = np.column_stack([rows.astype(str), table.values]), table.template
    elif callable(hovertext):
        hover = np.asarray(list(hovertext(rows)), dtype=object)
    elif hovertext is not None:
        hover = np.asarray(hovertext, dtype=object)[rows]

    def trace(mask: np.ndarray, name: str, marker: dict, showlegend: bool) -> dict:
        """A ``scattergl`` trace as a dict: the figure validates it once (a ``go.Scattergl`` would be
        validated, then deep-copied value by value into the figure: a tenth of a second per map)."""
        r = rows[mask]
        t: dict = dict(
            type="scattergl",
            x=xy[mask, 0],
            y=xy[mask, 1],
            mode="markers",
            name=plotly_text(name),
            showlegend=showlegend,
            customdata=custom[mask],
            marker={"size": size, **marker},
            hovertext=None if hover is None else hover[mask].tolist(),
            hovertemplate=template,
            hoverinfo="text" if hover is not None else None if template is not None else "x+y+name",
            unselected=UNSELECTED,
            selected=dict(marker=dict(opacity=1.0)),
        )
        if focus is not None:
            t["selectedpoints"] = np.flatnonzero(focus[r]).tolist()
        return t

    traces: list[dict] = []
    image: DensityImage | None = None
    grid = (grid or Grid.of(embedding[:, :2])) if with_image else None
    if color is None:
        traces.append(trace(np.ones(len(rows), bool), "points", {"color": palette()[0], "opacity": 0.8}, False))
        if with_image and not grey_image:
            image = category_image(
                embedding[:, :2], _greyed(np.zeros(n, np.int64), focus, 1), _with_grey([palette()[0]]), grid=grid
            )
    elif color_kind == "number":
        every = np.asarray(color, dtype=np.float64)
        values = every[rows]
        finite = np.isfinite(values)
        known = every[np.isfinite(every)]
        lo, hi = (float(known.min()), float(known.max())) if len(known) else (0.0, 1.0)
        if (~finite).any():
            traces.append(trace(~finite, "missing", {"color": OTHER_COLOR, "opacity": 0.6}, True))
        traces.append(
            trace(
                finite,
                color_name,
                {
                    "color": values[finite],
                    "colorscale": SCALE,
                    "cmin": lo,
                    "cmax": hi,
                    "opacity": 0.85,
                    "showscale": True,
                    "colorbar": {"title": {"text": plotly_text(color_name)}, "thickness": 14},
                },
                False,
            )
        )
        if with_image and not grey_image:
            image = value_image(
                embedding[:, :2],
                every if focus is None else np.where(focus, every, np.nan),  # out of focus: grey, as missing
                scale_lut(),
                vmin=lo,
                vmax=hi,
                grid=grid,
                missing_color=tuple(hex_to_rgb([OTHER_COLOR])[0]),
            )
    else:
        worked = color if isinstance(color, Categories) else Categories.of(np.asarray(color, dtype=object))
        codes, order = worked.codes, worked.names
        if len(codes) != n:
            raise ValueError(f"{len(codes)} colour values for {n} points")
        colors = category_colors(order)
        drawn = codes[rows]
        for j, name in enumerate(order):
            traces.append(trace(drawn == j, name, {"color": colors[j], "opacity": 0.85}, True))
        if with_image and not grey_image:
            image = category_image(embedding[:, :2], _greyed(codes, focus, len(colors)), _with_grey(colors), grid=grid)
    if grey_image and grid is not None:
        image = grid.one_colour(FOCUS_GREY_RGB)

    layout: dict = dict(
        title={
            "text": (plotly_text(title) + " · " if title else "") + showing_text(len(rows), n, with_image),
            "font": {"size": 13},
        },
        legend={"title": {"text": plotly_text(color_name)}, "itemsizing": "constant"},
        dragmode="lasso",
        hovermode="closest",
        clickmode="event+select",
        margin=dict(l=10, r=10, t=40, b=10),
        height=620,
        uirevision="scatter",
        xaxis=dict(showticklabels=False, zeroline=False, title=None),
        yaxis=dict(showticklabels=False, zeroline=False, title=None, scaleanchor="x", scaleratio=1),
        meta={"shown": len(rows), "total": int(n), "density": with_image},
    )
    if image is not None:
        b = image.bounds
        layout["images"] = [
            dict(
                source=image.data_uri(),
                xref="x",
                yref="y",
                x=b.xmin,
                y=b.ymax,
                sizex=b.width,
                sizey=b.height,
                sizing="stretch",
                layer="below",
                xanchor="left",
                yanchor="top",
            )
        ]
        layout["xaxis"]["range"] = [b.xmin, b.xmax]
        layout["yaxis"]["range"] = [b.ymin, b.ymax]
    return go.Figure(data=traces, layout=layout)  # validated once, as a whole


FOCUS_MARKERS = 2_000  # rows in focus (a search's hits) drawn as markers beyond the sample, at most
FOCUS_GREY_RGB = (210, 210, 210)  # the density image's colour for the points out of focus
FOCUS_GREY = "#d2d2d2"  # the same, as Plotly writes it


def focus_mask(n: int, selected: Iterable[int] | np.ndarray | None) -> np.ndarray | None:
    """(n,) bool: the rows ``selected`` (row numbers; out-of-range ones ignored), or None when none is given
    (nothing in particular in focus). Linear in n: no sort, no set."""
    if selected is None:
        return None
    chosen = np.asarray(selected if isinstance(selected, np.ndarray) else list(selected), dtype=np.int64).reshape(-1)
    mask = np.zeros(n, bool)
    mask[chosen[(chosen >= 0) & (chosen < n)]] = True
    return mask


def with_focus_rows(rows: np.ndarray, focus: np.ndarray, most: int = FOCUS_MARKERS) -> np.ndarray:
    """The drawn ``rows`` (sorted) and the rows in ``focus`` (n,) bool that are not among them, when there are
    at most ``most`` of those (a search's few hits); sorted. More than that: ``rows`` as they are (the focus
    then shows in the density image and in the sample)."""
    extra = np.flatnonzero(focus)
    if len(extra) == 0:
        return rows
    extra = extra[~focus_in(rows, extra)]
    if len(extra) == 0 or len(extra) > most:
        return rows
    return np.union1d(rows, extra)


def focus_in(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """(len(wanted),) bool: which of ``wanted`` are in the sorted ``rows``."""
    if len(rows) == 0:
        return np.zeros(len(wanted), bool)
    at = np.minimum(np.searchsorted(rows, wanted), len(rows) - 1)
    return rows[at] == wanted


def _greyed(codes: np.ndarray, focus: np.ndarray | None, grey: int) -> np.ndarray:
    """Category codes with the rows out of ``focus`` moved to code ``grey`` (the density image's grey)."""
    return codes if focus is None else np.where(focus, codes, grey)


def _with_grey(colors: Sequence[str]) -> np.ndarray:
    """(k + 1, 3) uint8: the category colours, then the out-of-focus grey."""
    return hex_to_rgb([*colors, FOCUS_GREY])


NAME_FONT = 12  # pixels: the size of a cluster's name on the map
NAME_HEIGHT = 0.045  # a name's box, as a share of the map's height (the font at the map's usual 620 px)
NAME_CHAR_WIDTH = 0.011  # one character of a name, as a share of the map's width


def name_positions(xy: np.ndarray, labels: np.ndarray, names: dict[int, str]) -> list[tuple[float, float, str]]:
    """Where each cluster's name goes on the map ``xy`` (n, 2): [(x, y, plain-text name)], one per cluster of
    ``labels`` (n,) (noise, -1, left out), at the median of its points; a name whose box would overlap one
    placed before (the larger clusters first) is nudged up or down, to the nearer free place."""
    xy = np.asarray(xy, np.float64)[:, :2]
    labels = np.asarray(labels, np.int64)
    if len(xy) == 0:
        return []
    span = np.ptp(xy, axis=0)
    span = np.where(span > 0, span, 1.0)
    height = NAME_HEIGHT * span[1]
    order = np.argsort(labels, kind="stable")  # one sort, then each cluster is a slice
    ids, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    placed: list[tuple[float, float, float, str]] = []  # x, y, half width, text
    for c, s, m in sorted(zip(ids, starts, counts, strict=True), key=lambda t: -t[2]):
        if c < 0:
            continue
        x, y = np.median(xy[order[s : s + m]], axis=0)
        text = names.get(int(c)) or str(int(c))
        half = 0.5 * NAME_CHAR_WIDTH * span[0] * (len(text) + 2)
        for _ in range(len(placed) + 1):  # at most one move per name already placed
            hit = [p for p in placed if abs(p[0] - x) < p[2] + half and abs(p[1] - y) < height]
            if not hit:
                break
            other = hit[0][1]
            y = other + height if y >= other else other - height
        placed.append((float(x), float(y), half, text))
    return [(x, y, text) for x, y, _, text in placed]


def add_cluster_names(
    fig: go.Figure,
    xy: np.ndarray,
    labels: np.ndarray,
    names: dict[int, str],
    placed: list[tuple[float, float, str]] | None = None,
) -> go.Figure:
    """Draw each cluster's name (``names``: cluster -> plain text, else its number) at its centre on the map
    ``xy`` (n, 2) (:func:`name_positions`, or ``placed``, its answer kept from before: the names do not move
    when only the colouring or the focus changes) as text annotations, escaped (:func:`plotly_text`); returns
    ``fig``."""
    fig.update_layout(  # one update: Plotly validates the list once, not the figure once per name
        annotations=[
            *fig.layout.annotations,
            *(
                dict(
                    x=x,
                    y=y,
                    text=plotly_text(text),
                    showarrow=False,
                    font={"size": NAME_FONT},
                    bgcolor="rgba(255,255,255,0.75)",
                    borderpad=2,
                )
                for x, y, text in (name_positions(xy, labels, names) if placed is None else placed)
            ),
        ]
    )
    return fig


def rows_from_selection(points: Iterable[dict]) -> np.ndarray:
    """The row numbers of the points in a Plotly selection event (``event.selection.points``), from each
    point's ``customdata`` as :func:`scatter` set it; sorted, unique."""
    rows = []
    for p in points or []:
        cd = p.get("customdata") if isinstance(p, dict) else getattr(p, "customdata", None)
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is not None:
            rows.append(int(cd))
    return np.unique(np.asarray(rows, dtype=np.int64))


def standalone_html(fig: go.Figure, after: str = "") -> str:
    """The figure as one HTML page with plotly.js inlined: opens offline, anywhere; ``after``: an HTML
    section put below the figure (already escaped: e.g. :func:`explorer.explain.report.to_html`)."""
    page = fig.to_html(include_plotlyjs=True, full_html=True)
    return page.replace("</body>", after + "</body>", 1) if after else page
