"""What the dashboard shows of a run, as arrays and tables: colours, hover text, reconstructions,
cluster prototypes, per-feature errors, anomalies, selections, the session's run table.

Plain functions on a :class:`~explorer.pipeline.RunResult`; the figures are drawn by
:mod:`explorer.display.plots` and the pages only lay them out.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from explorer.errors import InputError
from explorer.metrics import EXTERNAL_METRICS, INTERNAL_METRICS
from explorer.display.usertext import csv_bytes, markdown_text, plain_text, plotly_text, redact_paths

if TYPE_CHECKING:  # pragma: no cover
    from typing import Sequence

    import pandas as pd

    from explorer.events import Progress
    from explorer.pipeline import RunResult

ColorKind = Literal["category", "number"]
BUILT_IN_COLORS = ("cluster", "label", "anomaly", "confidence")
MAX_RECONSTRUCT_ROWS = 5000  # per-feature errors are averaged over a seeded sample of this many rows


# -- user text: escaped in one place, explorer.display.usertext (the pages import its helpers from here) -----------
def server_folders() -> list[str]:
    """Folders of the server a message must not show a visitor: the runs folder, the working folder, the
    home and temporary folders, Python's prefix and this package's checkout."""
    import os
    import sys
    import tempfile
    from pathlib import Path

    from explorer.runs.files import default_root

    root = Path(default_root())  # a store's URL (s3://...) makes no local folder; harmless here
    found = [str(root.absolute()), str(root.resolve()), os.getcwd(), str(Path.home()), tempfile.gettempdir(),
             sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[2])]
    return [f for f in found if os.path.isabs(f)]


def visitor_text(message: object) -> str:
    """A message (an error, a notice: plain text that may quote file, column or run names) as Markdown
    for the page: the server's folders left out (:func:`server_folders`), the rest escaped."""
    return markdown_text(redact_paths(message, server_folders()))


# -- the scatter: colours and hover ----------------------------------------------------------------------
def color_options(result: "RunResult") -> list[str]:
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
        out += [str(c) for c in ds.table.columns if str(c) not in BUILT_IN_COLORS]  # type: ignore[attr-defined]
    elif ds.kind == "embeddings":
        out += [f for f in ds.feature_names if f not in BUILT_IN_COLORS]
    return out


def color_values(result: "RunResult", by: str) -> tuple[np.ndarray, ColorKind]:
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
    if ds.table is not None and by in [str(c) for c in ds.table.columns]:  # type: ignore[attr-defined]
        column = ds.table[[c for c in ds.table.columns if str(c) == by][0]]  # type: ignore[index,attr-defined]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            return column.to_numpy(dtype=np.float64, na_value=np.nan), "number"
        return column.astype("string").fillna("(missing)").to_numpy(dtype=object), "category"
    if by in ds.feature_names:
        return ds.X[:, ds.feature_names.index(by)].astype(np.float64), "number"
    raise InputError(f"can't colour by '{by}'; choose one of: {', '.join(color_options(result)[:12])}.")


def cluster_name(label: int) -> str:
    """How a cluster is named on screen: "3", or "noise" for HDBSCAN's -1."""
    return "noise" if int(label) < 0 else str(int(label))


def cluster_names(result: "RunResult") -> dict[int, str]:
    """cluster -> "3: high age, plan premium" (number and name, from the run's explanation), for the
    legend, hover labels and tables; empty when the run has no explanation. User text: escape it where
    it is rendered (plots and pages do)."""
    ex = getattr(result, "explanation", None)
    if ex is None:
        return {}
    return {c: f"{c}: {name}" for c, name in ex.names.items()}


def cluster_ids(result: "RunResult") -> list[int]:
    """The run's cluster numbers that have rows, sorted (-1 first when there is noise); a count, not a
    sort, so it stays quick at a million rows."""
    labels = np.asarray(result.clusters.labels, dtype=np.int64)
    if len(labels) == 0:
        return []
    low = int(labels.min())
    return [int(c) + low for c in np.flatnonzero(np.bincount(labels - low))]


def _named(result: "RunResult", labels: np.ndarray) -> list[str]:
    """How each of ``labels`` is shown: "3: its name" (:func:`cluster_names`), else :func:`cluster_name`."""
    names = cluster_names(result)  # once per call, and once per distinct label: maps hold a million rows
    distinct, which = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
    shown = np.array([names.get(int(c)) or cluster_name(c) for c in distinct] or [""], dtype=object)
    return shown[which.reshape(-1)].tolist()


def point_fields(result: "RunResult", index: np.ndarray, max_fields: int = 8) -> list[tuple[str, list[str]]]:
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
        table = ds.table.iloc[index]  # type: ignore[attr-defined]
        for col in list(table.columns)[:max_fields]:
            columns.append((_short(col), [_short(v) for v in table[col].tolist()]))
    elif ds.kind == "embeddings":
        for j in range(min(max_fields, ds.X.shape[1])):
            columns.append((_short(ds.feature_names[j]), [f"{v:.4g}" for v in ds.X[index, j]]))
    return columns


def hover_texts(result: "RunResult", index: np.ndarray, max_fields: int = 8) -> list[str]:
    """One Plotly hover label per row in ``index`` (:func:`point_fields`, a ``<b>name</b>: value`` line
    each). Every name and value is escaped (:func:`explorer.display.usertext.plotly_text`): a value such as
    ``x<br><b>cluster</b>: 3`` shows as it is and can't add a line or a link."""
    columns = [(f"<b>{plotly_text(name)}</b>: ", [plotly_text(v) for v in values])
               for name, values in point_fields(result, index, max_fields)]
    return ["<br>".join(n + v for n, v in zip((n for n, _ in columns), row))
            for row in zip(*(values for _, values in columns))]


def point_details(result: "RunResult", row: int) -> str:
    """One point's fields (:func:`point_fields`) as Markdown lines ``**name**: value``, user text escaped."""
    return "  \n".join(f"**{markdown_text(name)}**: {markdown_text(values[0])}"
                       for name, values in point_fields(result, np.array([row]), max_fields=20))


def _short(value: Any, width: int = 40) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- images ------------------------------------------------------------------------------------------
def as_images(X: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Rows of pixel values in [0, 1] (n, h*w*c) -> uint8 images (n, h, w) for gray, (n, h, w, 3) for colour."""
    h, w, c = image_shape
    imgs = (np.clip(np.asarray(X, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).reshape(-1, h, w, c)
    return imgs[..., 0] if c == 1 else imgs


def thumbnails(result: "RunResult", index: np.ndarray) -> list[np.ndarray]:
    """The images of rows ``index`` as a list of uint8 arrays (h, w) or (h, w, 3), for an image grid."""
    images = result.dataset.images
    if images is None:
        raise InputError("this data holds no images.")
    picked = images[np.asarray(index, dtype=np.int64)]
    return list(picked[..., 0] if picked.shape[-1] == 1 else picked)


# -- reconstructions and anomalies -------------------------------------------------------------------
def _need_model(result: "RunResult"):
    if result.reducer is None:
        raise InputError("this run has no trained model (the features were used as they are), so there "
                         "are no reconstructions; train PCA or an autoencoder to see them.")
    return result.reducer


def reconstructions(result: "RunResult", index: np.ndarray) -> np.ndarray:
    """The model's reconstructions of rows ``index``: (len(index), d) float32, in the space of X."""
    reducer = _need_model(result)
    return reducer.reconstruct(result.dataset.X[np.asarray(index, dtype=np.int64)])


def cluster_members(result: "RunResult", cluster: int, n: int, seed: int = 0) -> np.ndarray:
    """Up to ``n`` rows of ``cluster``, a seeded random pick, sorted."""
    rows = np.flatnonzero(result.clusters.labels == cluster)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    return rows


def cluster_centres(result: "RunResult") -> tuple[np.ndarray, np.ndarray]:
    """The centre of each cluster in the latent space: (cluster ids (m,), centres (m, latent) float32).

    ``ClusterResult.centers`` where it has them, else the mean code of each cluster's rows; noise and
    empty clusters are left out.
    """
    labels, Z = result.clusters.labels, result.Z
    ids = np.array(sorted(c for c in np.unique(labels) if c >= 0), dtype=np.int64)
    centers = result.clusters.centers
    rows = []
    for c in ids:
        if centers is not None and c < len(centers) and centers.shape[1] == Z.shape[1] and np.isfinite(centers[c]).all():
            rows.append(centers[c])
        else:
            rows.append(Z[labels == c].mean(axis=0))
    if not rows:
        return ids, np.zeros((0, Z.shape[1]), np.float32)
    return ids, np.stack(rows).astype(np.float32)


def decoded_centres(result: "RunResult") -> tuple[np.ndarray, np.ndarray]:
    """What each cluster looks like: its centre decoded back to the data space.

    Returns (cluster ids (m,), rows (m, d) float32). Without a model the latent space is the data
    space, so the centres are returned as they are.
    """
    ids, centres = cluster_centres(result)
    if result.reducer is None or len(ids) == 0:
        return ids, centres
    return ids, result.reducer.inverse_transform(centres)


def feature_errors(result: "RunResult", index: np.ndarray | None = None, seed: int = 0) -> "pd.DataFrame":
    """Mean squared reconstruction error of each feature over rows ``index`` (default: all, or a seeded
    sample of ``MAX_RECONSTRUCT_ROWS``): columns ``feature``, ``error``, sorted by error, largest first."""
    import pandas as pd

    _need_model(result)
    n = result.dataset.n
    rows = np.arange(n) if index is None else np.asarray(index, dtype=np.int64)
    if len(rows) > MAX_RECONSTRUCT_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_RECONSTRUCT_ROWS, replace=False))
    X = result.dataset.X[rows]
    errors = np.mean((X - reconstructions(result, rows)) ** 2, axis=0) if len(rows) else np.zeros(X.shape[1])
    frame = pd.DataFrame({"feature": list(result.dataset.feature_names), "error": errors.astype(np.float64)})
    return frame.sort_values("error", ascending=False, kind="stable").reset_index(drop=True)


def top_anomalies(result: "RunResult", n: int = 20) -> np.ndarray:
    """The ``n`` rows with the highest anomaly score (reconstruction error), highest first."""
    n = int(max(0, min(n, result.dataset.n)))
    return np.argsort(-result.anomaly, kind="stable")[:n]


# -- selections ---------------------------------------------------------------------------------------
def points_in_box(xy: np.ndarray, x: "Sequence[float]", y: "Sequence[float]") -> np.ndarray:
    """(n,) bool: which points ``xy`` (n, 2) lie in the box spanning ``x`` = (x0, x1), ``y`` = (y0, y1)
    (either order; edges included)."""
    xy = np.asarray(xy)
    (x0, x1), (y0, y1) = sorted(map(float, x[:2])), sorted(map(float, y[:2]))
    px, py = xy[:, 0], xy[:, 1]
    return (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)


def points_in_polygon(xy: np.ndarray, x: "Sequence[float]", y: "Sequence[float]") -> np.ndarray:
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
    for (x1, y1), (x2, y2) in zip(zip(vx, vy), zip(np.roll(vx, -1), np.roll(vy, -1))):
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
    return (f"The sample drawn as markers shows {shown:,} of them: the selection holds every point inside "
            "the shape, drawn or not.")


def selection_table(result: "RunResult", index: np.ndarray) -> "pd.DataFrame":
    """The rows ``index`` for display and download: id, cluster, label, anomaly, then the table's columns
    (tables) or the features (embeddings; at most 50)."""
    import pandas as pd

    from explorer.runs.files import named_points

    index = np.asarray(index, dtype=np.int64)
    points = named_points(_rows_of(result, index))  # the selected rows only: a map may hold a million
    points = points[[c for c in points.columns if c not in ("x", "y", "z")]]
    ds = result.dataset
    if ds.table is not None:
        extra = ds.table.iloc[index].reset_index(drop=True)  # type: ignore[attr-defined]
        extra = extra[[c for c in extra.columns if str(c) not in points.columns]]
        return pd.concat([points, extra], axis=1)
    if ds.kind == "embeddings":
        names = ds.feature_names[:50]
        return pd.concat([points, pd.DataFrame(ds.X[index, : len(names)], columns=names)], axis=1)
    return points


def _rows_of(result: "RunResult", index: np.ndarray) -> Any:
    """What :func:`explorer.runs.files.named_points` reads of a run, for rows ``index`` only."""
    from types import SimpleNamespace

    ds, c = result.dataset, result.clusters
    pick = (lambda a: None if a is None else np.asarray(a)[index])
    return SimpleNamespace(
        dataset=SimpleNamespace(ids=pick(ds.ids), labels=pick(ds.labels)),
        clusters=SimpleNamespace(labels=c.labels[index], proba=pick(c.proba)),
        embedding=result.embedding[index], anomaly=result.anomaly[index],
        explanation=getattr(result, "explanation", None))


def selection_csv(result: "RunResult", index: np.ndarray) -> bytes:
    """The rows ``index`` (:func:`selection_table`) as CSV, safe to open in a spreadsheet: text cells
    that would run as formulas are prefixed with ``'`` (:func:`explorer.display.usertext.spreadsheet_safe`)."""
    return csv_bytes(selection_table(result, index))


def cluster_makeup(result: "RunResult", index: np.ndarray) -> "pd.DataFrame":
    """Which clusters a selection holds: cluster, selected (rows), share (of the selection),
    of_cluster (share of that cluster that is selected); largest first."""
    import pandas as pd

    labels = result.clusters.labels
    chosen = labels[np.asarray(index, dtype=np.int64)]
    values, counts = np.unique(chosen, return_counts=True)
    totals = np.array([(labels == v).sum() for v in values])
    frame = pd.DataFrame({
        "cluster": _named(result, values),
        "selected": counts.astype(np.int64),
        "share": counts / max(len(chosen), 1),
        "of_cluster": counts / np.maximum(totals, 1),
    })
    return frame.sort_values("selected", ascending=False, kind="stable").reset_index(drop=True)


# -- the session's runs ------------------------------------------------------------------------------
SUMMARY_METRICS = (*EXTERNAL_METRICS[:3], *INTERNAL_METRICS)  # acc, nmi, ari, then the label-free scores


def run_summary(result: "RunResult") -> dict[str, Any]:
    """One row of the table that compares runs: what was run and how well it scored."""
    cfg = result.config
    row: dict[str, Any] = {
        "run": result.run_id or "(not saved)",
        "data": plain_text(result.dataset.name),
        "rows": result.dataset.n,
        "model": cfg.model.kind,
        "latent": int(result.Z.shape[1]),
        "clustering": result.clusters.method,
        "k": int(result.clusters.k),
        "projection": cfg.projection.method,
    }
    for key in SUMMARY_METRICS:
        value = result.metrics.get(key)
        if value is not None:
            row[key] = value
    row["seconds"] = round(float(sum(result.timings.values())), 2)
    return row


def describe_run(result: "RunResult") -> str:
    """One sentence about a run, as plain text (escape it for where it is shown: ``markdown_text``,
    or pass it to :mod:`explorer.display.plots`, which escapes what it draws)."""
    ds, cfg = result.dataset, result.config
    model = "the features as they are" if not cfg.model.needs_fit else f"{cfg.model.kind} (latent {result.Z.shape[1]})"
    return (f"{plain_text(ds.name)}: {ds.n:,} rows, {model} on {result.device_description or result.device}, "
            f"{result.clusters.method} found {result.clusters.k} clusters")


# -- a job's progress -----------------------------------------------------------------------------------
def loss_history(events: "Sequence[Progress]") -> tuple[list[dict], int | None]:
    """The training epochs among a job's progress events as history records ``{"epoch", "loss",
    "val_loss"}`` (what :func:`explorer.display.plots.loss_curve` draws), and the planned number of epochs."""
    history = [{"epoch": e.epoch, "loss": e.loss, "val_loss": e.val_loss}
               for e in events if e.stage == "train" and e.loss is not None]
    planned = next((e.epochs for e in reversed(events) if e.stage == "train" and e.epochs), None)
    return history, planned


# -- generation and denoising (explorer.reducers.generate, explorer.reducers.denoise) ---------------------------------------
GENERATE_SEED = 0  # the seed of the Generate and Denoise sections: the same draw on every rerun


def generated_view(result: "RunResult", X: np.ndarray) -> tuple[list[np.ndarray] | None, "pd.DataFrame | None", list[str]]:
    """Generated rows X (n, d) as the page shows them: (thumbnails, None, []) for images, else
    (None, a table in the data's units, notes saying what could not be inverted). Notes are plain
    text that quotes column names: escape them where shown."""
    from explorer.reducers.generate import to_data_units

    ds = result.dataset
    if ds.images is not None and ds.image_shape is not None and X.shape[1] == int(np.prod(ds.image_shape)):
        return list(as_images(X, ds.image_shape)), None, []
    units = to_data_units(ds, X)
    return None, units.frame, units.notes


def interpolation_codes(result: "RunResult", between: Literal["clusters", "rows"], a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    """The two latent codes (latent,) an interpolation walks between: two clusters' centres, or the
    codes of the rows whose ids are ``a`` and ``b``."""
    from explorer.reducers.generate import cluster_centre, row_code

    if between == "clusters":
        return cluster_centre(result, int(a)), cluster_centre(result, int(b))  # type: ignore[call-overload]
    return row_code(result, str(a)), row_code(result, str(b))


def denoise_summary(errors: dict[str, float]) -> str:
    """What the denoising did, in sentences: the mean squared error against the clean rows with the noise,
    after denoising, and the model's own error on the clean rows (what it loses with no noise)."""
    before, after, floor = errors["noisy"], errors["denoised"], errors.get("reconstruction")
    text = f"Mean squared error against the clean rows: {before:.4g} with the noise, {after:.4g} after denoising"
    text += f" ({1 - after / before:.0%} of it removed)." if before > 0 and after < before else "."
    if floor is not None:
        text += f" On the clean rows the model's error is {floor:.4g}: what it loses with no noise at all."
        if before > 0 and after >= before:
            text += (" At this noise level that loss outweighs the noise: the model blurs more than the noise "
                     "disturbs. Raise the noise, or train the model longer.")
    return text
