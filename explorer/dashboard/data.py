"""What the Data page's buttons do: read an upload (or a sample) as a job capped at ``max_load_seconds``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from explorer.dashboard.workspace import JobKind

if TYPE_CHECKING:  # pragma: no cover
    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.data import ImageOptions, TableOptions
    from explorer.limits import Limits


def start_load(
    ws: Workspace,
    manager: JobManager,
    load_key: tuple,
    data: Any,
    name: str,
    table: TableOptions | None,
    images: ImageOptions | None,
    limits: Limits,
    label: str,
) -> Job:
    """Read an upload with :func:`explorer.data.load`, as a job capped at ``max_load_seconds``; the
    dataset is put in use when it arrives (a failure is kept as ``ws.load_error`` for that upload).
    Stop cancels it (the loader checks it between images, batches of rows and columns, as it does its
    own ``max_load_seconds``); the dataset in use stays."""
    from explorer.data import load

    cap = min(float(limits.max_load_seconds), ws.job_allowance(limits, manager))
    job = ws.start(
        manager,
        JobKind.LOAD,
        lambda job: load(data, name=name, table=table, images=images, limits=limits, should_stop=job.should_stop),
        name=f"Reading {name}",
        max_seconds=cap,
        load_key=load_key,
        label=label,
    )
    job.grace_s = min(job.grace_s, cap)  # nothing to keep from a stopped load: cancel it soon after the cap
    ws.collect(manager)
    return job
