"""What the dashboard's buttons do, as plain functions: read an upload, start a training, start a run,
show a run under another projection. The rules live here (the time caps and budgets, which model is
cached and reused, what a run is recorded with), so a page only gathers the settings and calls one of
these. Every job gets a time cap: ``max_load_seconds`` for reading an upload, else ``max_job_seconds``
(or what is left of the client's ``max_client_job_seconds``).
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from explorer.cluster.types import DEEP_METHODS
from explorer.events import ProgressCallback, StopCheck
from explorer.project import PROJECTION_LABELS
from explorer.reducers import AE_KINDS
from explorer.dashboard.workspace import JobKind

if TYPE_CHECKING:  # pragma: no cover
    from explorer.data import ImageOptions, TableOptions
    from explorer.dataset import Dataset
    from explorer.limits import Limits
    from explorer.pipeline import PipelineConfig, RunResult
    from explorer.reducers import Reducer
    from explorer.dashboard.jobs import Job, JobManager
    from explorer.dashboard.workspace import Workspace


def with_time_cap(cfg: "PipelineConfig", ws: "Workspace", limits: "Limits",
                  manager: "JobManager | None" = None) -> "PipelineConfig":
    """``cfg`` with the training time the session may still spend (the run's cap, or what is left of
    the session's and its client's budgets); a spent budget raises LimitError."""
    return replace(cfg, model=replace(cfg.model, max_seconds=ws.training_allowance(limits, manager)))


def start_load(ws: "Workspace", manager: "JobManager", load_key: tuple, data: Any, name: str,
               table: "TableOptions | None", images: "ImageOptions | None", limits: "Limits", label: str) -> "Job":
    """Read an upload with :func:`explorer.data.load`, as a job capped at ``max_load_seconds``; the
    dataset is put in use when it arrives (a failure is kept as ``ws.load_error`` for that upload).
    Stop cancels it (the loader checks it between images, batches of rows and columns, as it does its
    own ``max_load_seconds``); the dataset in use stays."""
    from explorer.data import load

    cap = min(float(limits.max_load_seconds), ws.job_allowance(limits, manager))
    job = ws.start(manager, JobKind.LOAD,
                   lambda job: load(data, name=name, table=table, images=images, limits=limits, should_stop=job.should_stop),
                   name=f"Reading {name}", max_seconds=cap, load_key=load_key, label=label)
    job.grace_s = min(job.grace_s, cap)  # nothing to keep from a stopped load: cancel it soon after the cap
    ws.collect(manager)
    return job


def start_training(ws: "Workspace", manager: "JobManager", cfg: "PipelineConfig", limits: "Limits") -> "Job":
    """Fit the representation ``cfg.model`` names on the session's data, as a job; the model is kept
    under its settings (the time cap left out: it only says when to stop)."""
    from explorer.device import resolve_device
    from explorer.pipeline import fit_representation

    ds = _dataset(ws)
    device = resolve_device(cfg.device).name
    capped = with_time_cap(cfg, ws, limits, manager)
    cap = ws.job_allowance(limits, manager)
    job = ws.start(manager, JobKind.TRAIN, lambda job: fit_representation(ds, capped, device, job.emit, job.should_stop),
                   name=f"Training {cfg.model.kind}", device=device, model_key=ws.model_key(cfg), trains=True,
                   max_seconds=cap)
    ws.collect(manager)  # a job that already ended (synchronous mode) is taken in at once
    return job


def start_run(ws: "Workspace", manager: "JobManager", cfg: "PipelineConfig", limits: "Limits") -> "Job":
    """Cluster, project and score the session's data with ``cfg``, as a job.

    The model cached for these settings is reused; without one, the run trains it first and keeps it
    for the next run (unless DEC / IDEC or the refinement on augmented copies, which change the model,
    are asked for). Training and
    refining count against the session's training budget. The run is recorded with the settings
    chosen, without the time cap.
    """
    from explorer.device import resolve_device
    from explorer.pipeline.defaults import refines_model

    ds, reducer = _dataset(ws), ws.model(cfg)
    refine = refines_model(cfg)
    train_here = reducer is None and cfg.model.needs_fit
    run_cfg = with_time_cap(cfg, ws, limits, manager) if (train_here or refine) else cfg
    cap = ws.job_allowance(limits, manager)

    def run(job: "Job") -> "RunResult":
        result = run_with_representation(ds, run_cfg, reducer, on_event=job.emit, should_stop=job.should_stop)
        return replace(result, config=replace(cfg, projection=result.config.projection))  # PCA if stopped before the map

    what = "Training and clustering" if train_here else "Clustering"
    job = ws.start(manager, JobKind.RUN, run, name=f"{what} ({cfg.cluster.method})", device=resolve_device(cfg.device).name,
                   run_key=ws.run_key(cfg), model_key=ws.model_key(cfg), cache_model=train_here and not refine,
                   trains=train_here or refine, max_seconds=cap)
    ws.collect(manager)
    return job


def change_projection(ws: "Workspace", manager: "JobManager", result: "RunResult", method: str,
                      limits: "Limits | None" = None) -> "Job | None":
    """Show ``result`` under another projection: at once when that run was made before (None is
    returned), else as a job that projects it (Stop cancels it; the run on show stays)."""
    from explorer.limits import Limits
    from explorer.pipeline import reproject

    limits = limits or Limits.from_env()
    cfg = replace(result.config, projection=replace(result.config.projection, method=method))  # its other settings kept
    if ws.show_run(cfg):
        return None
    job = ws.start(manager, JobKind.PROJECT, lambda job: reproject(result, cfg.projection, should_stop=job.should_stop),
                   name=f"Projecting with {PROJECTION_LABELS[method]}", run_key=ws.run_key(cfg),
                   max_seconds=ws.job_allowance(limits, manager))
    ws.collect(manager)
    return job


def run_notice(ws: "Workspace", cfg: "PipelineConfig") -> tuple[str, str] | None:
    """(level, sentence) the Cluster page shows before a run with ``cfg``, or None."""
    if cfg.cluster.method in DEEP_METHODS and cfg.model.kind not in AE_KINDS:
        return ("warning", f"{cfg.cluster.method.upper()} refines an autoencoder: choose one on the Train page "
                           f"(now: {cfg.model.kind}).")
    if not ws.has_model(cfg):
        return ("info", f"The representation ({cfg.model.kind}, set on the Train page) is not trained yet; "
                        "running trains it first.")
    return None


def run_with_representation(
    dataset: "Dataset",
    cfg: "PipelineConfig",
    reducer: "Reducer | None",
    *,
    on_event: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> "RunResult":
    """:func:`~explorer.pipeline.run_pipeline` on an already fitted ``reducer`` (None: fit one, unless
    the kind is "none").

    The given reducer is never changed: DEC / IDEC and the refinement on augmented copies, which train
    the encoder further, refine a copy, so a cached representation stays what it was.
    """
    from explorer.pipeline.defaults import refines_model
    from explorer.pipeline import run_pipeline

    if reducer is not None and refines_model(cfg):
        reducer = copy.deepcopy(reducer)
    return run_pipeline(dataset, cfg, on_event=on_event, should_stop=should_stop, reducer=reducer)


def display_cap(requested: Any, limits: "Limits") -> tuple[int, str | None]:
    """(points to draw, a note or None): "Points drawn at most" as asked, checked here and not only by
    the widget: a whole number from 1,000 up to ``max_display_points``; anything else is brought into
    that range, and the note says so."""
    cap = int(limits.max_display_points)
    try:
        value = int(requested)
    except (TypeError, ValueError, OverflowError):
        return min(cap, 100_000), f"'{requested}' is not a number of points; drawing at most {min(cap, 100_000):,}."
    if value > cap:
        return cap, (f"At most {cap:,} points are drawn (the limit max_display_points); "
                     f"set EXPLORER_MAX_DISPLAY_POINTS to allow more.")
    if value < 1000:
        return 1000, "At least 1,000 points are drawn."
    return value, None


def _dataset(ws: "Workspace") -> "Dataset":
    if ws.dataset is None:
        from explorer.errors import InputError

        raise InputError("no data loaded yet; choose a sample or upload a file on the Data page.")
    return ws.dataset
