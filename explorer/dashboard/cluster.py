"""What the Cluster page does: run the clustering as a job (training the representation first when it is
not cached), and the notice shown before a run."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING

from explorer.cluster.registry import spec
from explorer.dashboard.train import with_time_cap
from explorer.dashboard.workspace import JobKind
from explorer.events import ProgressCallback, StopCheck
from explorer.reducers import AE_KINDS

if TYPE_CHECKING:  # pragma: no cover
    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.dataset import Dataset
    from explorer.limits import Limits
    from explorer.pipeline import PipelineConfig, RunResult
    from explorer.reducers import Reducer


def start_run(ws: Workspace, manager: JobManager, cfg: PipelineConfig, limits: Limits) -> Job:
    """Cluster, project and score the session's data with ``cfg``, as a job.

    The model cached for these settings is reused; without one, the run trains it first and keeps it
    for the next run (unless DEC / IDEC or the refinement on augmented copies, which change the model,
    are asked for). Training and
    refining count against the session's training budget. The run is recorded with the settings
    chosen, without the time cap.
    """
    from explorer.device import resolve_device
    from explorer.pipeline.defaults import refines_model

    ds, reducer = ws.dataset_in_use(), ws.model(cfg)
    refine = refines_model(cfg)
    train_here = reducer is None and cfg.model.needs_fit
    run_cfg = with_time_cap(cfg, ws, limits, manager) if (train_here or refine) else cfg
    cap = ws.job_allowance(limits, manager)

    def run(job: Job) -> RunResult:
        result = run_with_representation(ds, run_cfg, reducer, on_event=job.emit, should_stop=job.should_stop)
        return replace(
            result, config=replace(cfg, projection=result.config.projection)
        )  # PCA if stopped before the map

    what = "Training and clustering" if train_here else "Clustering"
    job = ws.start(
        manager,
        JobKind.RUN,
        run,
        name=f"{what} ({cfg.cluster.method})",
        device=resolve_device(cfg.device).name,
        run_key=ws.run_key(cfg),
        model_key=ws.model_key(cfg),
        cache_model=train_here and not refine,
        trains=train_here or refine,
        max_seconds=cap,
    )
    ws.collect(manager)
    return job


def run_notice(ws: Workspace, cfg: PipelineConfig) -> tuple[str, str] | None:
    """(level, sentence) the Cluster page shows before a run with ``cfg``, or None."""
    method = spec(cfg.cluster.method)
    if method.refines_model and cfg.model.kind not in AE_KINDS:
        return (
            "warning",
            f"{method.short} refines an autoencoder: choose one on the Train page (now: {cfg.model.kind}).",
        )
    if not ws.has_model(cfg):
        return (
            "info",
            f"The representation ({cfg.model.kind}, set on the Train page) is not trained yet; "
            "running trains it first.",
        )
    return None


def run_with_representation(
    dataset: Dataset,
    cfg: PipelineConfig,
    reducer: Reducer | None,
    *,
    on_event: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> RunResult:
    """:func:`~explorer.pipeline.run_pipeline` on an already fitted ``reducer`` (None: fit one, unless
    the kind is "none").

    The given reducer is never changed: DEC / IDEC and the refinement on augmented copies, which train
    the encoder further, refine a copy, so a cached representation stays what it was.
    """
    from explorer.pipeline import run_pipeline
    from explorer.pipeline.defaults import refines_model

    if reducer is not None and refines_model(cfg):
        reducer = copy.deepcopy(reducer)
    return run_pipeline(dataset, cfg, on_event=on_event, should_stop=should_stop, reducer=reducer)
