"""What several pages show of a run: its clusters' names, its rows as images and as a table, and the run
itself as one sentence or one row of the table that compares runs. Plain functions on a
:class:`~explorer.pipeline.RunResult`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.display.usertext import plain_text
from explorer.errors import InputError
from explorer.metrics import EXTERNAL_METRICS, INTERNAL_METRICS
from explorer.runs.exports import curated_names, named_points

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult


def cluster_name(label: int) -> str:
    """How a cluster is named on screen: "3", or "noise" for HDBSCAN's -1."""
    return "noise" if int(label) < 0 else str(int(label))


def cluster_names(result: RunResult) -> dict[int, str]:
    """cluster -> "3: high age, plan premium" (number and name, from the run's explanation), for the
    legend, hover labels and tables; without an explanation, the names a person gave while curating (empty
    when none). User text: escape it where it is rendered (plots and pages do)."""
    ex = getattr(result, "explanation", None)
    if ex is None:
        return {c: f"{c}: {name}" for c, name in curated_names(result).items()}
    return {c: f"{c}: {name}" for c, name in ex.names.items()}


def as_images(X: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Rows of pixel values in [0, 1] (n, h*w*c) -> uint8 images (n, h, w) for gray, (n, h, w, 3) for colour."""
    h, w, c = image_shape
    imgs = (np.clip(np.asarray(X, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).reshape(-1, h, w, c)
    return imgs[..., 0] if c == 1 else imgs


def thumbnails(result: RunResult, index: np.ndarray) -> list[np.ndarray]:
    """The images of rows ``index`` as a list of uint8 arrays (h, w) or (h, w, 3), for an image grid."""
    images = result.dataset.images
    if images is None:
        raise InputError("this data holds no images.")
    picked = images[np.asarray(index, dtype=np.int64)]
    return list(picked[..., 0] if picked.shape[-1] == 1 else picked)


def selection_table(result: RunResult, index: np.ndarray) -> pd.DataFrame:
    """The rows ``index`` for display and download: id, cluster, label, anomaly, then the table's columns
    (tables) or the features (embeddings; at most 50)."""
    import pandas as pd

    index = np.asarray(index, dtype=np.int64)
    points = named_points(_rows_of(result, index))  # the selected rows only: a map may hold a million
    points = points[[c for c in points.columns if c not in ("x", "y", "z")]]
    ds = result.dataset
    if ds.table is not None:
        extra = ds.table.iloc[index].reset_index(drop=True)
        extra = extra[[c for c in extra.columns if str(c) not in points.columns]]
        return pd.concat([points, extra], axis=1)
    if ds.kind == "embeddings":
        names = ds.feature_names[:50]
        return pd.concat([points, pd.DataFrame(ds.X[index, : len(names)], columns=names)], axis=1)
    return points


def _rows_of(result: RunResult, index: np.ndarray) -> Any:
    """What :func:`explorer.runs.exports.named_points` reads of a run, for rows ``index`` only."""
    from types import SimpleNamespace

    ds, c = result.dataset, result.clusters
    pick = lambda a: None if a is None else np.asarray(a)[index]
    return SimpleNamespace(
        dataset=SimpleNamespace(ids=pick(ds.ids), labels=pick(ds.labels)),
        clusters=SimpleNamespace(labels=c.labels[index], proba=pick(c.proba), info=c.info),
        embedding=result.embedding[index],
        anomaly=result.anomaly[index],
        explanation=getattr(result, "explanation", None),
    )


SUMMARY_METRICS = (*EXTERNAL_METRICS[:3], *INTERNAL_METRICS)  # acc, nmi, ari, then the label-free scores


def run_summary(result: RunResult) -> dict[str, Any]:
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


def describe_run(result: RunResult) -> str:
    """One sentence about a run, as plain text (escape it for where it is shown: ``markdown_text``,
    or pass it to :mod:`explorer.display.maps` or :mod:`explorer.display.charts`, which escapes what it draws)."""
    ds, cfg = result.dataset, result.config
    model = "the features as they are" if not cfg.model.needs_fit else f"{cfg.model.kind} (latent {result.Z.shape[1]})"
    return (
        f"{plain_text(ds.name)}: {ds.n:,} rows, {model} on {result.device_description or result.device}, "
        f"{result.clusters.method} found {result.clusters.k} clusters"
    )
