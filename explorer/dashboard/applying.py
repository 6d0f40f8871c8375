"""The "Add new data to this run" page's logic, without Streamlit: an upload -> :func:`explorer.apply.apply_run`,
the map with the new rows drawn over the run's, the drift report as tables, the download."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from ..usertext import csv_bytes, plain_text, plotly_text

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..apply import AppliedRun
    from ..pipeline import RunResult

MAP_CAP = 50_000  # points of each layer drawn at most (a uniform sample beyond); every row is assigned


def upload_source(files: list[tuple[str, bytes]]) -> tuple[Any, str]:
    """Uploaded (name, bytes) pairs -> (what the loader takes, a name): one file, or a list of image files."""
    sources = []
    for name, data in files:
        buf = io.BytesIO(data)
        buf.name = name
        sources.append(buf)
    if len(sources) == 1:
        return sources[0], files[0][0]
    return sources, f"{len(files)} files"


def apply_upload(result: "RunResult", files: list[tuple[str, bytes]], fill_missing: bool) -> "AppliedRun":
    """Apply ``result`` to uploaded files, through the loader's path and this server's limits."""
    from ..apply import apply_run
    from ..limits import Limits

    source, name = upload_source(files)
    return apply_run(result, source, name, missing="impute" if fill_missing else "refuse", limits=Limits.from_env())


def _names(result: "RunResult") -> dict[int, str]:
    ex = getattr(result, "explanation", None)
    return dict(ex.names) if ex is not None else {}


def _sample(n: int, cap: int, seed: int = 0) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))


def applied_figure(result: "RunResult", applied: "AppliedRun", cap: int = MAP_CAP) -> "go.Figure":
    """The run's map in grey, the new rows over it as diamonds coloured by the cluster they join; rows
    that look like none of the clusters ringed in black. Names and ids escaped for Plotly."""
    import plotly.graph_objects as go

    names = _names(result)
    fig = go.Figure()
    old = _sample(len(result.embedding), cap)
    fig.add_trace(go.Scattergl(x=result.embedding[old, 0], y=result.embedding[old, 1], mode="markers", name="the run's rows",
                               marker=dict(size=4, color="lightgrey"), hoverinfo="skip"))
    new = _sample(len(applied.embedding), cap, seed=1)
    labels = applied.labels[new]
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    ids = np.asarray(applied.dataset.ids)
    for c in np.unique(labels):
        rows = new[labels == c]
        title = "noise" if c < 0 else f"{c}: {names[int(c)]}" if int(c) in names else f"cluster {c}"
        hover = [plotly_text(f"{ids[i]} · {title} · confidence {applied.assignment.confidence[i]:.2f}"
                             + (" · like none of the clusters" if applied.unusual[i] else "")) for i in rows]
        fig.add_trace(go.Scattergl(
            x=applied.embedding[rows, 0], y=applied.embedding[rows, 1], mode="markers", name=plotly_text(f"new → {title}"),
            hovertext=hover, hoverinfo="text",
            marker=dict(size=8, symbol="diamond", color=palette[int(c) % len(palette)] if c >= 0 else "black",
                        line=dict(width=np.where(applied.unusual[rows], 2, 0.5), color="black"))))
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"),
                      meta={"shown_new": int(len(new)), "total_new": int(len(applied.embedding))})
    return fig


def share_table(result: "RunResult", applied: "AppliedRun") -> "pd.DataFrame":
    """cluster, name, share then, share now, change, drifted."""
    import pandas as pd

    rows = [{"cluster": c.cluster, "name": plain_text(c.name), "then": round(c.then, 4), "now": round(c.now, 4),
             "change": round(c.now - c.then, 4), "drifted": c.drifted} for c in applied.drift.clusters]
    return pd.DataFrame(rows, columns=["cluster", "name", "then", "now", "change", "drifted"])


def column_table(applied: "AppliedRun") -> "pd.DataFrame":
    """column, kind, statistic, value, median shift (IQR), missing then / now, drifted; most shifted first."""
    import pandas as pd

    rows = [{"column": plain_text(s.column), "kind": s.kind, "statistic": s.statistic, "value": round(s.value, 4),
             "median shift (IQR)": None if s.median_shift is None else round(s.median_shift, 3),
             "missing then": round(s.missing_then, 4), "missing now": round(s.missing_now, 4), "drifted": s.drifted}
            for s in sorted(applied.drift.columns, key=lambda s: -s.value)]
    return pd.DataFrame(rows, columns=["column", "kind", "statistic", "value", "median shift (IQR)", "missing then",
                                       "missing now", "drifted"])


def applied_csv(result: "RunResult", applied: "AppliedRun") -> bytes:
    """The new rows' cluster, name, map position, confidence, runner-up, margin, anomaly as a safe CSV."""
    return csv_bytes(applied.points_frame(_names(result)))
