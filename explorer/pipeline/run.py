"""The whole pipeline as one call: Dataset -> reducer -> latent Z -> clusters -> projection -> metrics."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from explorer.anomaly import anomaly_scores
from explorer.cluster.registry import spec
from explorer.dataset import Dataset
from explorer.errors import Stopped
from explorer.events import Progress, ProgressCallback, StopCheck, ignore
from explorer.explain import explain
from explorer.pipeline.defaults import default_config
from explorer.pipeline.stages import (
    RunContext,
    cluster_latent,
    evaluate_run,
    fit_representation,
    plan_for,
    project_for_display,
    refine_on_copies,
    self_label,
    shared_graph,
    stopped,
)
from explorer.pipeline.types import PipelineConfig, RunResult
from explorer.reducers import Reducer


def run_pipeline(
    dataset: Dataset,
    cfg: PipelineConfig | None = None,
    *,
    on_event: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    reducer: Reducer | None = None,
) -> RunResult:
    """Fit the representation, cluster it, project it to 2-D and score it.

    ``on_event`` receives a :class:`~explorer.events.Progress` at each step. Pass an already fitted
    ``reducer`` to skip training (the dashboard's cache does this); DEC / IDEC train it further, in place.
    ``should_stop`` stops training (keeping the best weights), DEC refinement and the k sweep early;
    the run still completes with what was learned so far, its map then drawn with PCA (UMAP and
    t-SNE stop too, see :func:`explorer.project.project`). It is checked between the stages as well,
    so a caller whose ``should_stop`` raises (a cancelled dashboard job) ends the run there.
    """
    from explorer.device import resolve_device

    cfg = cfg or default_config(dataset)
    cfg.model.validate()
    emit = on_event or ignore
    device = resolve_device(cfg.device)
    timings: dict[str, float] = {}
    notes: list[str] = []
    X = dataset.X

    t0 = time.perf_counter()
    if reducer is None:
        reducer = fit_representation(dataset, cfg, device.name, emit, should_stop)
    if reducer is None:
        Z = np.ascontiguousarray(X, dtype=np.float32)
    else:
        Z = reducer.transform(X)
        notes += list(getattr(reducer, "train_info_", {}).get("notes", []))
    timings["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    stopped(should_stop)
    plan = plan_for(dataset.n, cfg)
    if plan.sampled:
        notes.append(plan.sentence())
    graph = shared_graph(Z, plan, cfg, before_clustering=True)
    timings["neighbors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emit(Progress("cluster", f"Clustering with {cfg.cluster.method}"))
    ctx = RunContext(dataset, cfg, emit, should_stop, notes, plan)
    clusters = cluster_latent(ctx, Z, reducer, knn=graph)
    timings["cluster"] = time.perf_counter() - t0
    if spec(clusters.method).refines_model and reducer is not None:
        Z = reducer.transform(X)  # refinement moved the encoder: the latent space is the refined one
        graph = None
    if cfg.cluster.refine:
        t1 = time.perf_counter()
        clusters, Z, graph = refine_on_copies(ctx, reducer, Z, clusters, graph)
        timings["refine"] = time.perf_counter() - t1
    if cfg.cluster.selftrain:
        t1 = time.perf_counter()
        clusters = self_label(ctx, reducer, Z, clusters)
        timings["selftrain"] = time.perf_counter() - t1

    t0 = time.perf_counter()
    if stopped(should_stop) and cfg.projection.method != "pca":
        # stopped (Stop, or the job's time cap): draw the map with PCA, in a moment, not UMAP / t-SNE
        notes.append(f"Stopped before the map: drawn with PCA instead of {cfg.projection.method}.")
        cfg = replace(cfg, projection=replace(cfg.projection, method="pca"))
    emit(Progress("project", f"Projecting to 2-D with {cfg.projection.method}"))
    try:
        embedding = project_for_display(Z, clusters, cfg, should_stop, plan=plan, knn=graph)
    except Stopped:
        notes.append(f"Stopped while drawing the map with {cfg.projection.method}: drawn with PCA instead.")
        cfg = replace(cfg, projection=replace(cfg.projection, method="pca"))
        embedding = project_for_display(Z, clusters, cfg)
    timings["project"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    emit(Progress("evaluate", "Scoring"))  # bounded: the costly scores use a sample of 5,000 rows
    anomaly = anomaly_scores(reducer, X, Z, clusters.labels)
    stopped(should_stop)  # a cancelled job ends here
    metrics = evaluate_run(Z, clusters, embedding, dataset)
    timings["evaluate"] = time.perf_counter() - t0
    result = RunResult(
        config=cfg,
        dataset=dataset,
        reducer=reducer,
        Z=Z,
        clusters=clusters,
        embedding=embedding,
        anomaly=anomaly,
        metrics=metrics,
        history=list(getattr(reducer, "history_", []) or []),
        device=getattr(reducer, "device_", device.name) if reducer is not None else device.name,
        device_description=device.description,
        timings=timings,
        notes=notes,
        fitted=plan.mask() if plan.sampled else None,
    )
    if plan.sampled:
        metrics["rows_fitted"] = len(plan.fit)
    if cfg.explain is not None:
        t0 = time.perf_counter()
        emit(Progress("explain", "Explaining the clusters: profiles, rules, stability"))
        result.explanation = explain(result, replace(cfg.explain, random_state=cfg.seed), should_stop=should_stop)
        timings["explain"] = time.perf_counter() - t0
    emit(Progress("done", "Done", 1.0))
    return result
