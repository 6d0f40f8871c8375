"""The stages of a run: the representation, the clustering, the rows placed from the fitted ones, the map, the
scores."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.cluster.registry import spec
from explorer.cluster.types import ClusterConfig, ClusterResult
from explorer.dataset import Dataset
from explorer.errors import InputError, Stopped
from explorer.events import Progress, ProgressCallback, StopCheck, ignore
from explorer.pipeline.defaults import refine_skipped
from explorer.pipeline.types import PipelineConfig, RunResult
from explorer.project import ProjectionConfig
from explorer.reducers import NO_MODEL, PRETRAINED, Reducer

if TYPE_CHECKING:  # pragma: no cover
    from explorer.neighbors import Neighbors, RowPlan


@dataclass
class RunContext:
    """What the stages of one run share instead of long argument lists: the data, the settings, where
    progress goes, when to stop, the run's notes (sentences for the user, appended to) and which rows the
    costly stages fit on (:func:`plan_for`; None: every row)."""

    dataset: Dataset
    cfg: PipelineConfig
    emit: ProgressCallback = ignore
    should_stop: StopCheck | None = None
    notes: list[str] = field(default_factory=list)
    plan: RowPlan | None = None


def build_reducer(cfg: PipelineConfig, dataset: Dataset, device: str) -> Reducer | None:
    """The reducer the config asks for, checked against the data (conv and augmentation need images);
    None for "none"."""
    from explorer.reducers import make_reducer

    m = cfg.model
    m.validate()
    if m.kind == NO_MODEL:
        return None
    if m.kind != "pca":
        if m.augment and dataset.images is None:
            raise InputError("augmentation applies to images only; turn it off for tables and embeddings.")
        if m.kind == "conv-ae" and dataset.images is None:
            raise InputError("the convolutional autoencoder needs image data; choose 'ae' for tables and embeddings.")
        if m.kind == PRETRAINED and dataset.images is None:
            raise InputError("the pretrained encoder is an image model; choose PCA or 'ae' for tables and embeddings.")
    image_shape = dataset.image_shape if (m.kind in ("conv-ae", PRETRAINED) or m.augment) else None
    return make_reducer(m, image_shape=image_shape, device=device, random_state=cfg.seed)


def fit_representation(
    dataset: Dataset,
    cfg: PipelineConfig,
    device: str,
    emit: ProgressCallback = ignore,
    should_stop: StopCheck | None = None,
) -> Reducer | None:
    """Build and fit the reducer the config names; None for "none"."""
    reducer = build_reducer(cfg, dataset, device)
    if reducer is None:
        return None
    epochs = cfg.model.epochs if cfg.model.trains else 1

    def on_epoch_end(epoch: int, logs: dict) -> None:
        planned = int(logs.get("epochs") or epochs)  # fewer than asked on large data (max_examples)
        emit(
            Progress(
                "train",
                f"epoch {epoch}/{planned}",
                epoch / planned,
                epoch=epoch,
                epochs=planned,
                loss=logs.get("loss"),
                val_loss=logs.get("val_loss"),
            )
        )

    pretrained = cfg.model.kind == PRETRAINED
    what = "Encoding the images with the pretrained encoder" if pretrained else f"Training {cfg.model.kind}"
    emit(Progress("train", what, 0.0, epoch=0, epochs=epochs))
    if pretrained and cfg.model.max_seconds is not None:
        should_stop = _encoding_cap(dataset.n, cfg.model.max_seconds, should_stop)
    reducer.fit(dataset.X, on_epoch_end=on_epoch_end, should_stop=should_stop)
    return reducer


def _encoding_cap(n: int, cap: float, should_stop: StopCheck | None) -> StopCheck:
    """``should_stop`` that also ends a frozen encoder's pass at the training time cap ``cap`` (seconds) with a
    sentence. Autoencoders stop at their cap themselves and keep their best weights; an encoder stopped half way
    has nothing to keep (every image must be encoded to cluster them)."""
    start = time.perf_counter()

    def check() -> bool:
        if time.perf_counter() - start > cap:
            raise Stopped(
                f"encoding the {n:,} images reached the training time cap of {cap:,.0f} s; nothing is kept, since "
                "every image must be encoded to cluster them. Raise the cap (max_train_seconds, or the session's "
                "training budget, max_session_train_seconds) or use fewer images."
            )
        return should_stop is not None and should_stop()

    return check


def cluster_latent(
    ctx: RunContext, Z: np.ndarray, reducer: Reducer | None, knn: Neighbors | None = None
) -> ClusterResult:
    """Cluster Z (n, d) as ``ctx.cfg`` says; DEC / IDEC start from k-means and refine the autoencoder.

    The one-hot columns of each categorical column of the data (``ctx.dataset``) count as one column
    when Z is X. When ``ctx.plan`` samples, the clustering fits on its rows and the others are assigned
    (:func:`explorer.neighbors.vote`; k-means: the nearest centre); ``knn``: the shared graph."""
    from explorer.cluster.methods import cluster

    cfg, emit, should_stop, plan, X = ctx.cfg, ctx.emit, ctx.should_stop, ctx.plan, ctx.dataset.X
    method = spec(cfg.cluster.method)
    ccfg = replace(cfg.cluster, random_state=cfg.umap_seed if method.embeds else cfg.seed)  # a UMAP inside: its seed
    if method.refines_model:
        from explorer.cluster.deep import refine
        from explorer.reducers import Autoencoder

        if not isinstance(reducer, Autoencoder):
            raise InputError(
                f"{method.short} refines an autoencoder; choose an autoencoder model, not '{cfg.model.kind}'."
            )
        start = cluster(Z, replace(ccfg, method="kmeans"))
        return refine(
            reducer,
            X,
            start,
            ccfg,
            should_stop=should_stop,
            on_progress=lambda f, msg: emit(Progress("refine", msg, f)),
        )
    groups = ctx.dataset.categorical_groups() if reducer is None else ()  # PCA / autoencoder codes are all numbers
    progress = lambda f, msg: emit(Progress("cluster", msg, f))
    if plan is None or not plan.sampled:
        return _shape_note(ctx, cluster(Z, ccfg, should_stop=should_stop, groups=groups, on_progress=progress, knn=knn))
    fitted = cluster(Z[plan.fit], ccfg, should_stop=should_stop, groups=groups, on_progress=progress, knn=knn)
    emit(Progress("cluster", f"Assigning the other {len(plan.rest):,} rows", 1.0))
    return _shape_note(ctx, _assign_rest(fitted, Z, plan, knn, ccfg, groups))


def _shape_note(ctx: RunContext, clusters: ClusterResult) -> ClusterResult:
    """The run's note on the shape of its groups (round: the mixture's; chained: Genie's), when it chose."""
    shape = clusters.info.get("shape")
    if shape and shape.get("why") and clusters.k >= 2:
        ctx.notes.append(f"Clusters by {'Genie' if shape['kept'] == 'genie' else 'the mixture'}: {shape['why']}.")
    return clusters


def refine_on_copies(
    ctx: RunContext, reducer: Reducer | None, Z: np.ndarray, clusters: ClusterResult, graph: Neighbors | None
) -> tuple[ClusterResult, np.ndarray, Neighbors | None]:
    """DEC-DA's refinement after the clustering: IDEC on shifted and rotated copies of the images
    (:func:`explorer.cluster.deep.refine`), its centres started at ``clusters``' means, then the run's
    own method again on the refined code. Returns (clusters, Z, graph): as they were, with a note,
    where it does not apply; IDEC's own assignment when stopped during the refinement."""
    from explorer.cluster.deep import refine
    from explorer.metrics import hungarian_accuracy

    dataset, cfg, emit, should_stop, notes, plan = ctx.dataset, ctx.cfg, ctx.emit, ctx.should_stop, ctx.notes, ctx.plan
    why = refine_skipped(dataset, cfg) or (None if clusters.k >= 2 else "it needs at least 2 clusters")
    if why:
        notes.append(f"Refinement on shifted and rotated copies skipped: {why}.")
        return clusters, Z, graph
    ccfg = replace(cfg.cluster, method="idec", random_state=cfg.seed)
    emit(Progress("refine", "Refining the encoder on shifted and rotated copies", 0.0))
    budget = None if cfg.cluster.refine_seconds is None else cfg.cluster.refine_seconds * int(cfg.model.members)
    refined = refine(
        reducer,
        dataset.X,
        clusters,
        ccfg,
        should_stop=should_stop,
        image_shape=dataset.image_shape,
        time_budget=budget,
        mixed_precision=cfg.model.mixed_precision,
        on_progress=lambda f, msg: emit(Progress("refine", msg, f)),
    )
    info = dict(refined.info)
    assert reducer is not None  # refine_skipped: the refinement applies to a trained autoencoder only
    Z = reducer.transform(dataset.X)
    planned = f"{info['iterations']:,} batches" + (
        f" (of {cfg.cluster.dec_max_iter:,}: the ones that fit in {budget:g} s on this machine)"
        if info["planned"] < cfg.cluster.dec_max_iter
        else ""
    )
    if info["stop_reason"] == "stopped" or stopped(should_stop):
        notes.append(
            f"Refinement on shifted and rotated copies stopped after {planned}: the clusters are its own "
            f"assignment (IDEC's, to centres in the refined code), not {cfg.cluster.method} again."
        )
        # method "idec": what the labels are, so new rows are later assigned the same way (explorer.apply)
        return replace(refined, sweep=clusters.sweep, info={**clusters.info, "refine": info}), Z, None
    graph = shared_graph(Z, plan, cfg, before_clustering=True)
    emit(Progress("cluster", f"Clustering the refined code with {cfg.cluster.method}"))
    again = cluster_latent(ctx, Z, reducer, knn=graph)
    moved = 1.0 - hungarian_accuracy(clusters.labels, again.labels)  # rows whose cluster changed, clusters matched
    info["rows_moved"] = round(moved, 4)
    notes.append(
        f"The encoder was refined on shifted and rotated copies of the images for {planned} (IDEC from the "
        f"first clusters, as DEC-DA), then clustered again with {cfg.cluster.method}: "
        f"{moved:.1%} of the rows changed cluster."
    )
    return replace(again, sweep=again.sweep or clusters.sweep, info={**again.info, "refine": info}), Z, graph


def self_label(ctx: RunContext, reducer: Reducer | None, Z: np.ndarray, clusters: ClusterResult) -> ClusterResult:
    """The clustering after self-labelling on augmented images (:mod:`explorer.cluster.selftrain`); as it was,
    with a note, where self-labelling does not apply (no images, no autoencoder, noise labels)."""
    from explorer.cluster.selftrain import self_train
    from explorer.reducers import Autoencoder

    dataset, cfg, emit, notes = ctx.dataset, ctx.cfg, ctx.emit, ctx.notes
    why = (
        "it needs images"
        if dataset.images is None
        else "it needs an autoencoder's encoder"
        if not isinstance(reducer, Autoencoder)
        else "HDBSCAN's noise has no cluster to learn"
        if (clusters.labels < 0).any()
        else None
    )
    if why:
        notes.append(f"Self-labelling skipped: {why}.")
        return clusters
    assert dataset.image_shape is not None  # there are images (checked above)
    confidence = clusters.proba.max(1) if clusters.proba is not None else np.ones(len(Z), np.float32)
    emit(Progress("selftrain", "Self-labelling on shifted and rotated copies", 0.0))
    labels, proba, info = self_train(
        reducer,
        dataset.X,
        dataset.image_shape,
        clusters.labels,
        confidence,
        clusters.k,
        seed=cfg.seed,
        should_stop=ctx.should_stop,
        on_progress=lambda f, m: emit(Progress("selftrain", m, f)),
    )
    if info["kept"] != "selftrain":
        notes.append(f"Self-labelling kept the clustering as it was: {info['why']}.")
        return replace(clusters, info={**clusters.info, "selftrain": info})
    from explorer.cluster.methods import member_means

    # state=None: the fitted model no longer gives these labels; new rows' state is rebuilt from them
    return replace(
        clusters,
        labels=labels,
        proba=proba,
        centers=member_means(Z, labels, clusters.k),
        info={**clusters.info, "selftrain": info},
        state=None,
    )


def plan_for(n: int, cfg: PipelineConfig) -> RowPlan:
    """Which rows the costly stages of this run fit on (:mod:`explorer.neighbors`): every row up to
    ``EXACT_ROWS`` (agglomerative clustering: up to the rows it can hold), else a seeded sample."""
    from explorer.neighbors import EXACT_ROWS, FIT_ROWS, plan_rows

    # DEC / IDEC refine on every row whatever the plan (explorer.cluster.deep); the map follows it

    most = spec(cfg.cluster.method).max_rows
    exact = EXACT_ROWS if most is None else min(EXACT_ROWS, most)
    return plan_rows(n, cfg.seed, exact_rows=exact, fit_rows=min(FIT_ROWS, exact))


def shared_graph(Z: np.ndarray, plan: RowPlan | None, cfg: PipelineConfig, before_clustering: bool) -> Neighbors | None:
    """The run's one nearest-neighbour graph of the fitted rows of Z (``plan`` None: every row), when a
    UMAP will use it or rows must be placed; None otherwise (and for DEC / IDEC before clustering: they move Z)."""
    from explorer.neighbors import PLACE_NEIGHBORS, Neighbors

    method = spec(cfg.cluster.method)
    if before_clustering and method.refines_model:
        return None
    sampled = plan is not None and plan.sampled
    wants = [PLACE_NEIGHBORS] if sampled else []
    if method.embeds and before_clustering:
        wants.append(cfg.cluster.umap_neighbors)
    if cfg.projection.method == "umap" and Z.shape[1] > cfg.projection.n_components:
        wants.append(cfg.projection.n_neighbors)
    fit = Z if plan is None else Z[plan.fit]
    return Neighbors(fit, k=max(wants), random_state=cfg.umap_seed, device=_knn_device(cfg)) if wants else None


def _knn_device(cfg: PipelineConfig) -> str:
    """Where the shared graph is built: the run's CUDA GPU when it has one (torch, exact), else the CPU."""
    from explorer.device import resolve_device

    name = resolve_device(cfg.device).name
    return name if name.startswith("cuda") else "cpu"


def _rest_neighbors(Z: np.ndarray, plan: RowPlan, knn: Neighbors) -> tuple[np.ndarray, np.ndarray]:
    """The nearest fitted rows of every placed row, asked of the graph once and kept on it."""
    if knn.placed is None:
        knn.placed = knn.query(Z[plan.rest])
    return knn.placed


def _assign_rest(
    fitted: ClusterResult,
    Z: np.ndarray,
    plan: RowPlan,
    knn: Neighbors | None,
    ccfg: ClusterConfig,
    groups: Sequence[np.ndarray] = (),
) -> ClusterResult:
    """``fitted`` (the clustering of the plan's fitted rows) extended to every row of Z, by the rule that
    assigns a new row to a saved run (:func:`explorer.apply.assign.assign`), so a row placed here and the
    same row applied later land in the same cluster: the method's own rule on the state its fit kept
    (k-means: the nearest centre; GMM, the mixture: the posterior; N2D: the posterior at the row's place in
    its UMAP), else the weighted vote of the row's nearest fitted rows (:func:`explorer.neighbors.vote`)."""
    from explorer.neighbors import PLACE_NEIGHBORS, Neighbors, place, vote

    knn = knn or Neighbors(Z[plan.fit], k=PLACE_NEIGHBORS)
    n, k = plan.n, fitted.k
    labels = np.empty(n, np.int64)
    labels[plan.fit] = fitted.labels
    proba = None
    method = spec(fitted.method)
    idx, dist = _rest_neighbors(Z, plan, knn)
    space = fitted.embedding if method.embeds else None  # a method that embeds assigns in its own UMAP
    if method.assign is not None and method.assign_state is not None and (space is not None or not method.embeds):
        state = method.assign_state(fitted, Z[plan.fit], ccfg, groups)
        rows = place(space, idx, dist) if space is not None else Z[plan.rest]
        rest_labels, rest_proba, _ = method.assign(state, rows)
    else:
        rest_labels, rest_proba = vote(fitted.labels, idx, dist, fitted.proba, k=k)
    labels[plan.rest] = rest_labels
    if fitted.proba is not None and rest_proba is not None:
        proba = np.empty((n, fitted.proba.shape[1]), np.float32)
        proba[plan.fit], proba[plan.rest] = fitted.proba, rest_proba
    embedding = None
    if fitted.embedding is not None:
        embedding = np.empty((n, fitted.embedding.shape[1]), np.float32)
        embedding[plan.fit], embedding[plan.rest] = fitted.embedding, place(fitted.embedding, idx, dist)
    info = dict(fitted.info, rows_fitted=len(plan.fit), rows_assigned=len(plan.rest))
    if spec(fitted.method).noise:
        info["n_noise"] = int((labels < 0).sum())
        info["noise_fraction"] = info["n_noise"] / n
    return replace(fitted, labels=labels, proba=proba, embedding=embedding, info=info)


def stopped(should_stop: StopCheck | None) -> bool:
    return should_stop is not None and bool(should_stop())


def project_for_display(
    Z: np.ndarray,
    clusters: ClusterResult,
    cfg: PipelineConfig,
    should_stop: StopCheck | None = None,
    *,
    plan: RowPlan | None = None,
    knn: Neighbors | None = None,
) -> np.ndarray:
    """The 2-D (or 3-D) projection shown in the scatter, from the latent space Z. With ``should_stop``,
    UMAP and t-SNE raise :class:`~explorer.errors.Stopped` when it turns True (see ``project``).
    With a sampling ``plan``, UMAP and t-SNE map its fitted rows and the others are placed among
    them (:func:`explorer.neighbors.place`); PCA maps every row. ``knn``: the run's shared graph."""
    from explorer.neighbors import place
    from explorer.project import project

    pcfg = replace(cfg.projection, random_state=cfg.umap_seed if cfg.projection.method == "umap" else cfg.seed)
    if Z.shape[1] <= pcfg.n_components:
        out = np.zeros((Z.shape[0], pcfg.n_components), np.float32)
        out[:, : Z.shape[1]] = Z
        return out
    if plan is None or not plan.sampled or pcfg.method == "pca":
        return project(Z, pcfg, should_stop=should_stop, knn=knn if knn is not None and knn.n == len(Z) else None)
    knn = knn if knn is not None and knn.n == len(plan.fit) else shared_graph(Z, plan, cfg, before_clustering=False)
    assert knn is not None  # a sampled plan always asks for neighbours, to place the other rows
    Y = np.empty((len(Z), pcfg.n_components), np.float32)
    Y[plan.fit] = project(Z[plan.fit], pcfg, should_stop=should_stop, knn=knn)
    idx, dist = _rest_neighbors(Z, plan, knn)
    Y[plan.rest] = place(Y[plan.fit], idx, dist)
    return Y


def evaluate_run(
    Z: np.ndarray, clusters: ClusterResult, embedding: np.ndarray | None, dataset: Dataset
) -> dict[str, Any]:
    """Internal scores always; NMI / ARI / AMI / accuracy when the data carry labels; the trustworthiness of
    ``embedding`` (n, 2 or 3) when given."""
    from explorer.metrics import evaluate

    metrics: dict[str, Any] = dict(evaluate(Z, clusters.labels, y_true=dataset.labels, embedding=embedding))
    metrics["k"] = int(clusters.k)
    metrics["n"] = int(dataset.n)
    if clusters.sweep is not None and clusters.sweep.suggested == 1:
        metrics["no_groups"] = "no stable groups"  # the k sweep's verdict (its reason says why): one cluster
    if (clusters.labels < 0).any():
        metrics["n_noise"] = int((clusters.labels < 0).sum())
    return metrics


def reproject(result: RunResult, projection: ProjectionConfig, should_stop: StopCheck | None = None) -> RunResult:
    """A copy of ``result`` shown with another projection (UMAP / t-SNE / PCA): new embedding, config
    and trustworthiness; the clusters and every other score stay as they are. ``should_stop`` turning
    True raises :class:`~explorer.errors.Stopped` (there is nothing partial to show)."""
    from explorer.metrics import json_float, trustworthiness

    cfg = replace(result.config, projection=projection)
    if stopped(should_stop):
        raise Stopped(f"projecting with {projection.method} was stopped; the run on show is unchanged.")
    plan = None
    if result.fitted is not None:
        from explorer.neighbors import RowPlan

        plan = RowPlan(len(result.fitted), np.flatnonzero(result.fitted), np.flatnonzero(~result.fitted))
    embedding = project_for_display(result.Z, result.clusters, cfg, should_stop, plan=plan)
    stopped(should_stop)
    metrics = dict(result.metrics)
    metrics["trustworthiness"] = json_float(trustworthiness(result.Z, embedding))
    return replace(result, config=cfg, embedding=embedding, metrics=metrics, run_id=None, created=None)
