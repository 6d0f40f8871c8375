"""What the Explore page shows and does: the map's colours and hover text, a point's details, the rows
inside a box or lasso and what they hold, the map under another projection, and how many points it draws."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from explorer.cluster.types import label_counts, label_index
from explorer.dashboard.run_view import cluster_name, cluster_names, selection_table
from explorer.dashboard.workspace import JobKind
from explorer.display.usertext import csv_bytes, markdown_text, plotly_text
from explorer.errors import InputError
from explorer.project import PROJECTION_LABELS, ProjectionMethod

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    import pandas as pd

    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.display.maps import HoverTable
    from explorer.limits import Limits
    from explorer.pipeline import RunResult

ColorKind = Literal["category", "number"]
BUILT_IN_COLORS = ("cluster", "label", "anomaly", "confidence")


def color_options(result: RunResult) -> list[str]:
    """What the scatter can be coloured by: cluster, label (when known), anomaly, confidence (soft
    clusterings), then the table's columns (tables) or the features (embeddings)."""
    ds = result.dataset
    out = ["cluster"]
    if ds.labels is not None:
        out.append("label")
    out.append("anomaly")
    if result.clusters.proba is not None:
        out.append("confidence")
    if ds.table is not None:
        out += [str(c) for c in ds.table.columns if str(c) not in BUILT_IN_COLORS]
    elif ds.kind == "embeddings":
        out += [f for f in ds.feature_names if f not in BUILT_IN_COLORS]
    return out


def color_values(result: RunResult, by: str) -> tuple[np.ndarray, ColorKind]:
    """The (n,) values to colour points by and whether they are categories or numbers."""
    import pandas as pd

    ds = result.dataset
    if by == "cluster":
        return np.array(_named(result, result.clusters.labels), dtype=object), "category"
    if by == "label":
        if ds.labels is None:
            raise InputError("this data has no labels to colour by.")
        return np.asarray(ds.labels).astype(str).astype(object), "category"
    if by == "anomaly":
        return np.asarray(result.anomaly, np.float64), "number"
    if by == "confidence":
        if result.clusters.proba is None:
            raise InputError(f"{result.clusters.method} gives no soft assignments to colour by.")
        return result.clusters.proba.max(axis=1).astype(np.float64), "number"
    if ds.table is not None and by in [str(c) for c in ds.table.columns]:
        column = ds.table[next(c for c in ds.table.columns if str(c) == by)]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            return column.to_numpy(dtype=np.float64, na_value=np.nan), "number"
        return column.astype("string").fillna("(missing)").to_numpy(dtype=object), "category"
    if by in ds.feature_names:
        return ds.X[:, ds.feature_names.index(by)].astype(np.float64), "number"
    raise InputError(f"can't colour by '{by}'; choose one of: {', '.join(color_options(result)[:12])}.")


def cluster_ids(result: RunResult) -> list[int]:
    """The run's cluster numbers that have rows, sorted (-1 first when there is noise); a count, not a
    sort, so it stays quick at a million rows."""
    return [int(c) for c in label_counts(result.clusters.labels)[0]]


def _named(result: RunResult, labels: np.ndarray) -> list[str]:
    """How each of ``labels`` is shown: "3: its name" (:func:`cluster_names`), else :func:`cluster_name`."""
    names = cluster_names(result)  # once per call, and once per distinct label: maps hold a million rows
    distinct, which = label_index(labels)
    shown = np.array([names.get(int(c)) or cluster_name(c) for c in distinct] or [""], dtype=object)
    return shown[which.reshape(-1)].tolist()


def point_fields(result: RunResult, index: np.ndarray, max_fields: int = 8) -> list[tuple[str, list[str]]]:
    """What a point's hover label and details say, as plain text: (name, value of each row in ``index``)
    for id, cluster, label, anomaly, then up to ``max_fields`` of the row's values (table columns, or the
    first features of embeddings; long values cut to 40 characters)."""
    ds = result.dataset
    index = np.asarray(index, dtype=np.int64)
    columns: list[tuple[str, list[str]]] = [
        ("id", [str(v) for v in np.asarray(ds.ids)[index]]),
        ("cluster", _named(result, result.clusters.labels[index])),
    ]
    if ds.labels is not None:
        columns.append(("label", [_short(v) for v in np.asarray(ds.labels)[index]]))
    columns.append(("anomaly", [f"{v:.4g}" for v in result.anomaly[index]]))
    if ds.table is not None:
        table = ds.table.iloc[index]
        for col in list(table.columns)[:max_fields]:
            columns.append((_short(col), [_short(v) for v in table[col].tolist()]))
    elif ds.kind == "embeddings":
        for j in range(min(max_fields, ds.X.shape[1])):
            columns.append((_short(ds.feature_names[j]), [f"{v:.4g}" for v in ds.X[index, j]]))
    return columns


def hover_rows(result: RunResult, rows: np.ndarray, kept: tuple[np.ndarray, HoverTable]) -> HoverTable:
    """The hover table (:func:`explorer.display.maps.hover_table` of :func:`point_fields`) of the drawn
    ``rows`` (sorted), from ``kept`` = (the rows it was made for, sorted; their table), made once for the map's
    sample: rows beyond those (a search's hits drawn as well) get theirs made now, the rest are looked up."""
    from explorer.display.maps import focus_in, hover_table

    base_rows, base = kept
    rows = np.asarray(rows, np.int64)
    if len(rows) == len(base_rows) and np.array_equal(rows, base_rows):
        return base
    known = focus_in(base_rows, rows)
    extra = hover_table(point_fields(result, rows[~known]))
    width = max(base.values.dtype.itemsize, extra.values.dtype.itemsize) // 4 or 1
    values = np.empty((len(rows), base.values.shape[1]), dtype=f"<U{width}")
    values[known] = base.values[np.searchsorted(base_rows, rows[known])]
    values[~known] = extra.values
    return type(base)(base.template, values)


def hover_texts(result: RunResult, index: np.ndarray, max_fields: int = 8) -> list[str]:
    """One Plotly hover label per row in ``index`` (:func:`point_fields`, a ``<b>name</b>: value`` line
    each). Every name and value is escaped (:func:`explorer.display.usertext.plotly_text`): a value such as
    ``x<br><b>cluster</b>: 3`` shows as it is and can't add a line or a link."""
    columns = [
        (f"<b>{plotly_text(name)}</b>: ", [plotly_text(v) for v in values])
        for name, values in point_fields(result, index, max_fields)
    ]
    return [
        "<br>".join(n + v for n, v in zip((n for n, _ in columns), row, strict=True))
        for row in zip(*(values for _, values in columns), strict=True)
    ]


def point_details(result: RunResult, row: int) -> str:
    """One point's fields (:func:`point_fields`) as Markdown lines ``**name**: value``, user text escaped."""
    return "  \n".join(
        f"**{markdown_text(name)}**: {markdown_text(values[0])}"
        for name, values in point_fields(result, np.array([row]), max_fields=20)
    )


def _short(value: Any, width: int = 40) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def points_in_box(xy: np.ndarray, x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """(n,) bool: which points ``xy`` (n, 2) lie in the box spanning ``x`` = (x0, x1), ``y`` = (y0, y1)
    (either order; edges included)."""
    xy = np.asarray(xy)
    (x0, x1), (y0, y1) = sorted(map(float, x[:2])), sorted(map(float, y[:2]))
    px, py = xy[:, 0], xy[:, 1]
    return (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)


def points_in_polygon(xy: np.ndarray, x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """(n,) bool: which points ``xy`` (n, 2) lie inside the polygon with vertices ``x``, ``y`` (closed
    for you; even-odd rule, as Plotly's lasso).

    Vectorised and fast for a million points and a lasso of hundreds of vertices: the points are
    sorted by y once, and each edge looks only at the points level with it (a ray cast to the left
    crosses the edge, which flips their inside-ness)."""
    xy = np.asarray(xy)
    vx, vy = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    inside = np.zeros(len(xy), bool)
    if len(vx) < 3 or len(vx) != len(vy) or len(xy) == 0:
        return inside
    px, py = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
    box = points_in_box(xy, (vx.min(), vx.max()), (vy.min(), vy.max()))
    candidates = np.flatnonzero(box)
    order = candidates[np.argsort(py[candidates], kind="stable")]
    ys, xs = py[order], px[order]
    flips = np.zeros(len(order), bool)
    for x1, y1, x2, y2 in zip(vx, vy, np.roll(vx, -1), np.roll(vy, -1), strict=True):
        if y1 == y2:
            continue  # a level edge: a ray crosses it nowhere
        lo, hi = np.searchsorted(ys, min(y1, y2), "left"), np.searchsorted(ys, max(y1, y2), "left")
        if hi <= lo:
            continue  # points with min(y) <= y < max(y): the half-open rule counts a shared vertex once
        crossing = x1 + (ys[lo:hi] - y1) * (x2 - x1) / (y2 - y1)
        flips[lo:hi] ^= xs[lo:hi] < crossing
    inside[order] = flips
    return inside


def selection_shapes(selection: Any) -> list[tuple[str, list[float], list[float]]]:
    """The boxes and lasso polygons of a Streamlit Plotly selection (``event.selection``: its ``box``
    and ``lasso`` lists of ``{"x": [...], "y": [...]}`` in data coordinates) as ("box" | "lasso", x, y);
    shapes that are malformed (not numbers, too few vertices) are left out."""
    out: list[tuple[str, list[float], list[float]]] = []
    for kind, need in (("box", 2), ("lasso", 3)):
        shapes = selection.get(kind) if isinstance(selection, dict) else getattr(selection, kind, None)
        for shape in shapes or []:
            try:
                x = [float(v) for v in shape.get("x", [])]
                y = [float(v) for v in shape.get("y", [])]
            except (AttributeError, TypeError, ValueError):
                continue
            if len(x) >= need and len(x) == len(y) and np.isfinite(x).all() and np.isfinite(y).all():
                out.append((kind, x, y))
    return out


def rows_in_selection(embedding: np.ndarray, selection: Any) -> np.ndarray | None:
    """Every row of the map ``embedding`` (n, 2+) inside the selection's boxes and lassos (their union),
    whatever was drawn of it: sorted row numbers; None when the selection has no shape (nothing
    dragged: a click, or nothing at all), so that the clicked points' rows count instead."""
    shapes = selection_shapes(selection)
    if not shapes:
        return None
    xy = np.asarray(embedding)[:, :2]
    chosen = np.zeros(len(xy), bool)
    for kind, x, y in shapes:
        chosen |= points_in_box(xy, x, y) if kind == "box" else points_in_polygon(xy, x, y)
    return np.flatnonzero(chosen)


def selection_note(selected: np.ndarray, drawn: np.ndarray, total: int) -> str | None:
    """When the map draws a sample of its ``total`` points as markers (rows ``drawn``), what the count of
    the ``selected`` rows means: "The drawn sample shows 1,234 of them; ..."; None when all are drawn."""
    if len(drawn) >= total:
        return None
    shown = int(np.isin(np.asarray(selected, dtype=np.int64), np.asarray(drawn, dtype=np.int64)).sum())
    return (
        f"The sample drawn as markers shows {shown:,} of them: the selection holds every point inside "
        "the shape, drawn or not."
    )


def selection_csv(result: RunResult, index: np.ndarray) -> bytes:
    """The rows ``index`` (:func:`selection_table`) as CSV, safe to open in a spreadsheet: text cells
    that would run as formulas are prefixed with ``'`` (:func:`explorer.display.usertext.spreadsheet_safe`)."""
    return csv_bytes(selection_table(result, index))


def cluster_makeup(result: RunResult, index: np.ndarray) -> pd.DataFrame:
    """Which clusters a selection holds: cluster, selected (rows), share (of the selection),
    of_cluster (share of that cluster that is selected); largest first."""
    import pandas as pd

    labels = result.clusters.labels
    chosen = labels[np.asarray(index, dtype=np.int64)]
    values, counts = np.unique(chosen, return_counts=True)
    totals = np.array([(labels == v).sum() for v in values])
    frame = pd.DataFrame(
        {
            "cluster": _named(result, values),
            "selected": counts.astype(np.int64),
            "share": counts / max(len(chosen), 1),
            "of_cluster": counts / np.maximum(totals, 1),
        }
    )
    return frame.sort_values("selected", ascending=False, kind="stable").reset_index(drop=True)


def change_projection(
    ws: Workspace, manager: JobManager, result: RunResult, method: ProjectionMethod, limits: Limits | None = None
) -> Job | None:
    """Show ``result`` under another projection: at once when that run was made before (None is
    returned), else as a job that projects it (Stop cancels it; the run on show stays)."""
    from explorer.limits import Limits
    from explorer.pipeline import reproject

    limits = limits or Limits.from_env()
    cfg = replace(result.config, projection=replace(result.config.projection, method=method))  # its other settings kept
    if ws.show_run(cfg):
        return None
    job = ws.start(
        manager,
        JobKind.PROJECT,
        lambda job: reproject(result, cfg.projection, should_stop=job.should_stop),
        name=f"Projecting with {PROJECTION_LABELS[method]}",
        run_key=ws.run_key(cfg),
        max_seconds=ws.job_allowance(limits, manager),
    )
    ws.collect(manager)
    return job


def display_cap(requested: Any, limits: Limits) -> tuple[int, str | None]:
    """(points to draw, a note or None): "Points drawn at most" as asked, checked here and not only by
    the widget: a whole number from 1,000 up to ``max_display_points``; anything else is brought into
    that range, and the note says so."""
    cap = int(limits.max_display_points)
    try:
        value = int(requested)
    except (TypeError, ValueError, OverflowError):
        return min(cap, 100_000), f"'{requested}' is not a number of points; drawing at most {min(cap, 100_000):,}."
    if value > cap:
        return cap, (
            f"At most {cap:,} points are drawn (the limit max_display_points); "
            f"set EXPLORER_MAX_DISPLAY_POINTS to allow more."
        )
    if value < 1000:
        return 1000, "At least 1,000 points are drawn."
    return value, None
