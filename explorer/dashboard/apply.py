"""The "Add new data to this run" page's logic, without Streamlit: an upload -> :func:`explorer.apply.apply_run`
as a background job of the session (:func:`start_apply`), the map with the new rows drawn over the run's,
the drift report as tables, the download, and the run an applied run was made from (:func:`applied_source`)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.dashboard.workspace import JobKind
from explorer.display.usertext import csv_bytes, plain_text, plotly_text
from explorer.errors import ExplorerError, InputError
from explorer.runs.exports import curated_names
from explorer.runs.ids import RUN_ID_PATTERN, run_dir
from explorer.runs.jsonio import read_json

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from explorer.apply import AppliedRun
    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.events import ProgressCallback, StopCheck
    from explorer.limits import Limits
    from explorer.pipeline import RunResult

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


def apply_upload(
    result: RunResult,
    files: list[tuple[str, bytes]],
    fill_missing: bool,
    *,
    limits: Limits | None = None,
    on_event: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> AppliedRun:
    """Apply ``result`` to uploaded files, through the loader's path and this server's limits."""
    from explorer.apply import apply_run
    from explorer.limits import Limits

    source, name = upload_source(files)
    return apply_run(
        result,
        source,
        name,
        missing="impute" if fill_missing else "refuse",
        limits=limits or Limits.from_env(),
        on_event=on_event,
        should_stop=should_stop,
    )


def start_apply(
    ws: Workspace,
    manager: JobManager,
    result: RunResult,
    run_key: str,
    files: list[tuple[str, bytes]],
    fill_missing: bool,
    limits: Limits,
) -> Job:
    """Apply ``result`` (the run shown under ``run_key``) to uploaded (name, bytes) files as this
    session's job (one at a time, with the fair job system's caps; Stop cancels it). The new rows
    arrive as ``ws.applied``; until then, and when it fails or is stopped, the rows applied before
    stay. The files together must fit ``max_session_upload_bytes``; the job's time is capped like
    every job's (``max_job_seconds``, or what is left of the client's budget)."""
    if not files:
        raise InputError("no file was uploaded; choose a table, images or arrays of the same kind as the run's.")
    total = sum(len(data) for _, data in files)
    limits.check(
        "max_session_upload_bytes",
        total,
        f"the new data ({len(files)} file{'s' if len(files) > 1 else ''}) holds {total:,} bytes",
    )
    kept = list(files)
    name = files[0][0] if len(files) == 1 else f"{len(files)} files"

    def work(job: Job) -> AppliedRun:
        return apply_upload(result, kept, fill_missing, limits=limits, on_event=job.emit, should_stop=job.should_stop)

    job = ws.start(
        manager,
        JobKind.APPLY,
        work,
        name=f"Applying the run to {name}",
        run_key=run_key,
        max_seconds=ws.job_allowance(limits, manager),
    )
    job.grace_s = min(job.grace_s, 10.0)  # nothing partial to keep: a stopped or capped apply is let go soon
    ws.collect(manager)  # a job that already ended (synchronous mode) is taken in at once
    return job


def applied_for(ws: Workspace, run_key: str) -> AppliedRun | None:
    """The new rows last applied to the run shown under ``run_key``, or None."""
    kept = ws.applied
    return kept[1] if kept is not None and kept[0] == run_key else None


def applied_source(result: RunResult, root: str) -> tuple[str, str | None] | None:
    """(source run id, its name) when ``result`` is a saved run of applied rows, else None; the name is
    None when the source run is no longer under ``root``, "" when it has none.

    Read from the run's config.json (``applied_to``) under ``root``; an id that is not a run id (a
    hand-edited file) is not shown. The name is the source run's own, user text: escape it where shown."""
    run_id = getattr(result, "run_id", None)
    if not run_id:
        return None
    try:
        source = read_json(run_dir(root, run_id) / "config.json").get("applied_to")
    except (OSError, ValueError, AttributeError, ExplorerError):
        return None
    if not isinstance(source, str) or not RUN_ID_PATTERN.fullmatch(source):
        return None
    try:
        name = str(read_json(run_dir(root, source) / "config.json").get("name") or "")
    except (OSError, ValueError, AttributeError):
        name = None  # the source run was deleted since: its id is still what it came from
    return source, name


def _names(result: RunResult) -> dict[int, str]:
    ex = getattr(result, "explanation", None)
    return dict(ex.names) if ex is not None else curated_names(result)


def applied_figure(result: RunResult, applied: AppliedRun, cap: int = MAP_CAP) -> go.Figure:
    """The run's map in grey, the new rows over it as diamonds coloured by the cluster they join; rows
    that look like none of the clusters ringed in black. Names and ids escaped for Plotly."""
    import plotly.graph_objects as go

    from explorer.display.maps import palette, sample_indices

    names = _names(result)
    fig = go.Figure()
    old = sample_indices(len(result.embedding), cap)
    fig.add_trace(
        go.Scattergl(
            x=result.embedding[old, 0],
            y=result.embedding[old, 1],
            mode="markers",
            name="the run's rows",
            marker=dict(size=4, color="lightgrey"),
            hoverinfo="skip",
        )
    )
    new = sample_indices(len(applied.embedding), cap, seed=1)
    labels = applied.labels[new]
    colours = palette()  # the map's own: a cluster keeps its colour
    ids = np.asarray(applied.dataset.ids)
    for c in np.unique(labels):
        rows = new[labels == c]
        title = "noise" if c < 0 else f"{c}: {names[int(c)]}" if int(c) in names else f"cluster {c}"
        hover = [
            plotly_text(
                f"{ids[i]} · {title} · confidence {applied.assignment.confidence[i]:.2f}"
                + (" · like none of the clusters" if applied.unusual[i] else "")
            )
            for i in rows
        ]
        fig.add_trace(
            go.Scattergl(
                x=applied.embedding[rows, 0],
                y=applied.embedding[rows, 1],
                mode="markers",
                name=plotly_text(f"new → {title}"),
                hovertext=hover,
                hoverinfo="text",
                marker=dict(
                    size=8,
                    symbol="diamond",
                    color=colours[int(c) % len(colours)] if c >= 0 else "black",
                    line=dict(width=np.where(applied.unusual[rows], 2, 0.5), color="black"),
                ),
            )
        )
    fig.update_layout(
        height=560,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(itemsizing="constant"),
        meta={"shown_new": len(new), "total_new": len(applied.embedding)},
    )
    return fig


def share_table(result: RunResult, applied: AppliedRun) -> pd.DataFrame:
    """cluster, name, share then, share now, change, drifted."""
    import pandas as pd

    rows = [
        {
            "cluster": c.cluster,
            "name": plain_text(c.name),
            "then": round(c.then, 4),
            "now": round(c.now, 4),
            "change": round(c.now - c.then, 4),
            "drifted": c.drifted,
        }
        for c in applied.drift.clusters
    ]
    return pd.DataFrame(rows, columns=["cluster", "name", "then", "now", "change", "drifted"])


def column_table(applied: AppliedRun) -> pd.DataFrame:
    """column, kind, statistic, value, median shift (IQR), missing then / now, drifted; most shifted first."""
    import pandas as pd

    rows = [
        {
            "column": plain_text(s.column),
            "kind": s.kind,
            "statistic": s.statistic,
            "value": round(s.value, 4),
            "median shift (IQR)": None if s.median_shift is None else round(s.median_shift, 3),
            "missing then": round(s.missing_then, 4),
            "missing now": round(s.missing_now, 4),
            "drifted": s.drifted,
        }
        for s in sorted(applied.drift.columns, key=lambda s: -s.value)
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "column",
            "kind",
            "statistic",
            "value",
            "median shift (IQR)",
            "missing then",
            "missing now",
            "drifted",
        ],
    )


def applied_csv(result: RunResult, applied: AppliedRun) -> bytes:
    """The new rows' cluster, name, map position, confidence, runner-up, margin, anomaly as a safe CSV."""
    return csv_bytes(applied.points_frame(_names(result)))
