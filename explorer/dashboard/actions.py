"""What the dashboard's buttons do, as plain functions: start a training, start a run, show a run
under another projection. The rules live here (the session's time budget, which model is cached and
reused, what a run is recorded with), so a page only gathers the settings and calls one of these.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING

from ..cluster import DEEP_METHODS
from ..events import ProgressCallback, StopCheck
from ..project import PROJECTION_LABELS
from ..reducers import AE_KINDS
from .workspace import JobKind

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset import Dataset
    from ..limits import Limits
    from ..pipeline import PipelineConfig, RunResult
    from ..reducers import Reducer
    from .jobs import Job, JobManager
    from .workspace import Workspace


def with_time_cap(cfg: "PipelineConfig", ws: "Workspace", limits: "Limits") -> "PipelineConfig":
    """``cfg`` with the training time the session may still spend (the run's cap, or what is left of
    the session's budget); a spent budget raises LimitError."""
    return replace(cfg, model=replace(cfg.model, max_seconds=ws.training_allowance(limits)))


def start_training(ws: "Workspace", manager: "JobManager", cfg: "PipelineConfig", limits: "Limits") -> "Job":
    """Fit the representation ``cfg.model`` names on the session's data, as a job; the model is kept
    under its settings (the time cap left out: it only says when to stop)."""
    from ..device import resolve_device
    from ..pipeline import fit_representation

    ds = _dataset(ws)
    device = resolve_device(cfg.device).name
    capped = with_time_cap(cfg, ws, limits)
    job = ws.start(manager, JobKind.TRAIN, lambda job: fit_representation(ds, capped, device, job.emit, job.should_stop),
                   name=f"Training {cfg.model.kind}", device=device, model_key=ws.model_key(cfg), trains=True)
    ws.collect(manager)  # a job that already ended (synchronous mode) is taken in at once
    return job


def start_run(ws: "Workspace", manager: "JobManager", cfg: "PipelineConfig", limits: "Limits") -> "Job":
    """Cluster, project and score the session's data with ``cfg``, as a job.

    The model cached for these settings is reused; without one, the run trains it first and keeps it
    for the next run (unless DEC / IDEC, which change the model, are asked for). Training and
    refining count against the session's training budget. The run is recorded with the settings
    chosen, without the time cap.
    """
    from ..device import resolve_device

    ds, reducer = _dataset(ws), ws.model(cfg)
    refine = cfg.cluster.method in DEEP_METHODS
    train_here = reducer is None and cfg.model.needs_fit
    run_cfg = with_time_cap(cfg, ws, limits) if (train_here or refine) else cfg

    def run(job: "Job") -> "RunResult":
        result = run_with_representation(ds, run_cfg, reducer, on_event=job.emit, should_stop=job.should_stop)
        return replace(result, config=cfg)

    what = "Training and clustering" if train_here else "Clustering"
    job = ws.start(manager, JobKind.RUN, run, name=f"{what} ({cfg.cluster.method})", device=resolve_device(cfg.device).name,
                   run_key=ws.run_key(cfg), model_key=ws.model_key(cfg), cache_model=train_here and not refine,
                   trains=train_here or refine)
    ws.collect(manager)
    return job


def change_projection(ws: "Workspace", manager: "JobManager", result: "RunResult", method: str) -> "Job | None":
    """Show ``result`` under another projection: at once when that run was made before (None is
    returned), else as a job that projects it."""
    from ..pipeline import reproject

    cfg = replace(result.config, projection=replace(result.config.projection, method=method))  # its other settings kept
    if ws.show_run(cfg):
        return None
    job = ws.start(manager, JobKind.PROJECT, lambda job: reproject(result, cfg.projection),
                   name=f"Projecting with {PROJECTION_LABELS[method]}", run_key=ws.run_key(cfg))
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

    The given reducer is never changed: DEC / IDEC, which train the encoder further, refine a copy,
    so a cached representation stays what it was.
    """
    from ..pipeline import run_pipeline

    if reducer is not None and cfg.cluster.method in DEEP_METHODS:
        reducer = copy.deepcopy(reducer)
    return run_pipeline(dataset, cfg, on_event=on_event, should_stop=should_stop, reducer=reducer)


def _dataset(ws: "Workspace") -> "Dataset":
    if ws.dataset is None:
        from ..errors import InputError

        raise InputError("no data loaded yet; choose a sample or upload a file on the Data page.")
    return ws.dataset
