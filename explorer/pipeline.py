"""The whole pipeline as one call: Dataset -> reducer -> latent Z -> clusters -> projection -> metrics.

The dashboard and the CLI both call :func:`run_pipeline` with a :class:`PipelineConfig`;
:func:`default_config` holds the product's defaults for each kind of data.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .cluster import DEEP_METHODS, ClusterConfig, ClusterResult
from .dataset import Dataset
from .errors import InputError, Stopped
from .events import Progress, ProgressCallback, StopCheck, ignore
from .explain import ExplainConfig, Explanation, explain
from .project import ProjectionConfig
from .reducers import NO_MODEL, ModelConfig, Reducer

if TYPE_CHECKING:  # pragma: no cover
    from .scale import Neighbors, RowPlan

SMALL_TABLE_ROWS = 1000  # shared-scale tables below this are clustered as other tables (too few rows for a manifold)
NARROW_TABLE_COLUMNS = 32  # shared-scale tables up to this many columns: n2d's UMAP on the features (no autoencoder)
WIDE_TABLE_COLUMNS = 64  # other tables above this many features are compressed by PCA first
TABLE_PCA_DIM = 20
TABLE_MAP_NEIGHBORS = 50  # the map of a table: more neighbours join a segment's category combinations into one region
LARGE_TABLE_ROWS = 10_000  # from here, the map takes TABLE_MAP_NEIGHBORS_LARGE: a segment of thousands of rows
TABLE_MAP_NEIGHBORS_LARGE = 100  # otherwise tears along a categorical column (30% segment of 30,000 rows: 0.75 -> 1.0)
TABLE_MAP_MIN_DIST = 0.3
IMAGE_EPOCHS = 500  # images: at most this many epochs, and ...
IMAGE_EXAMPLES = 1_350_000  # ... at most MNIST-test's 150 epochs of 9,000 training rows in examples: small sets train
# longer (3,000 MNIST images: ~260 epochs before early stopping, ACC 0.87 -> 0.92), large ones fewer epochs
TABLE_EXAMPLES = 500_000  # tables with an autoencoder: 100 epochs of 5,000 rows
IMAGE_TRAIN_SECONDS = 150.0  # images: the epochs planned to fit in this (per autoencoder) on a slow machine (MNIST-test:
# 150 epochs take ~70 s with bf16 and ~170 s in float32 on the 2-core EPYC; with the refinement's IMAGE_REFINE_SECONDS
# and the rest, a CPU without bf16, or one half as fast, still ends the run within 5 minutes)
IMAGE_REFINE_EPOCHS = 50  # images: the refinement on augmented copies makes this many passes over the data (as
# DEC-DA's ~70), between IMAGE_REFINE_MIN_BATCHES and DEC's 2,000 batches of 256 (MNIST-test: 1,954; 3,000 images: 586)
IMAGE_REFINE_MIN_BATCHES = 100  # (a few hundred images: 100 batches, still dozens of passes)
IMAGE_REFINE_SECONDS = 60.0  # ... fewer where they would not fit in this (per autoencoder) on a slow machine
# (MNIST-test: 2,000 batches take ~45 s with bf16 on the 2-core EPYC; 1,500 batches already give ACC 0.978)
REFINE_MIN_IMAGES = 2_000  # images: the refinement is on by default from this many (it lowered NMI by 0.016 on
# load_digits' 1,797 and by 0.020 on 1,000 Fashion-MNIST images, and raised it on 3,000 MNIST images, USPS and
# MNIST-test, 3 seeds each: docs/BENCHMARKS.md)
SMALL_IMAGE_SET = 5_000  # images up to this many: IMAGE_MEMBERS autoencoders side by side, codes joined
IMAGE_MEMBERS = 3  # (3,000 MNIST images: one autoencoder folds two digits together in 1 of 3 seeds)
ONE_MEMBER_KINDS = ("pca", "vae")  # models that are never joined (ModelConfig.members)
REFINE_KINDS = ("ae", "dae", "conv-ae")  # models the refinement on augmented copies trains further (ClusterConfig.refine)

__all__ = [
    "ModelConfig", "PipelineConfig", "ProjectionConfig", "ClusterConfig", "RunResult", "default_config", "default_reason",
    "replace_nested", "run_pipeline", "fit_representation", "cluster_latent", "project_for_display",
    "anomaly_scores", "evaluate_run", "reproject",
]


@dataclass
class PipelineConfig:
    """Every choice of a run. Saved whole in the run's config.json."""

    model: ModelConfig = field(default_factory=ModelConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    device: str = "auto"
    seed: int = 0
    explain: ExplainConfig | None = field(default_factory=ExplainConfig)  # None: clusters are not explained
    reproducible: bool = True  # False: UMAP and its neighbour search unseeded, on every core (faster, runs differ)

    @property
    def umap_seed(self) -> int | None:
        """The seed the UMAPs and the neighbour graph take: None (parallel, unseeded) unless reproducible."""
        return self.seed if self.reproducible else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PipelineConfig":
        clus = dict(d.get("cluster", {}))
        if "k_range" in clus:
            clus["k_range"] = tuple(clus["k_range"])
        return cls(
            model=ModelConfig.from_dict(dict(d.get("model", {}))),
            cluster=ClusterConfig(**clus),
            projection=ProjectionConfig(**d.get("projection", {})),
            device=d.get("device", "auto"),
            seed=int(d.get("seed", 0)),
            reproducible=bool(d.get("reproducible", True)),
            explain=ExplainConfig(**d["explain"]) if d.get("explain") else (ExplainConfig() if "explain" not in d else None),
        )


def default_config(dataset: Dataset, **overrides: Any) -> PipelineConfig:
    """The product's defaults for this data (what happens when nobody changes a setting); the reason
    for them, in words, is :func:`default_reason`.

    - images: the DEC / N2D dense autoencoder d-500-500-2000-10, trained on randomly shifted and
      rotated copies of each batch for ``IMAGE_EXAMPLES`` examples (MNIST-test: 150 epochs; a small set
      more epochs, up to ``IMAGE_EPOCHS``, with early stopping), fewer where they would not fit in
      ``IMAGE_TRAIN_SECONDS`` on this machine; up to ``SMALL_IMAGE_SET`` images, ``IMAGE_MEMBERS``
      of them side by side (``members``); then N2D (UMAP -> GMM), DEC-DA's refinement of the encoder on
      augmented copies from N2D's clusters (``refine``, within ``IMAGE_REFINE_SECONDS`` on a slow
      machine; from ``REFINE_MIN_IMAGES`` images) and N2D again on the refined code;
    - tables whose columns share one scale (pen coordinates, pixels; ``report.scaling == "shared"``)
      and have ``SMALL_TABLE_ROWS`` rows or more: N2D, on the features up to ``NARROW_TABLE_COLUMNS``
      columns, else on the autoencoder's 10-d code (such columns trace a curved manifold that UMAP
      unfolds: pendigits);
    - every other table (numbers in different units, categories, counts, missing values): the
      features themselves (PCA to ``TABLE_PCA_DIM`` above ``WIDE_TABLE_COLUMNS`` features), clustered
      by "mixture" (k-means refined by a mixture model for numbers and categories, with k from the
      stability sweep), and a map made with ``TABLE_MAP_NEIGHBORS`` UMAP neighbours
      (``TABLE_MAP_NEIGHBORS_LARGE`` from ``LARGE_TABLE_ROWS`` rows) so segments show as regions, not as
      islands of category combinations (docs/BENCHMARKS.md, tables);
    - embeddings: no training (the vectors are the representation), then N2D.
    k is left to the sweep unless given. Training looks at ``IMAGE_EXAMPLES`` / ``TABLE_EXAMPLES``
    rows at most (``max_examples``: on large data, fewer epochs); above ``explorer.scale.EXACT_ROWS``
    rows, UMAP, the clustering and the map fit on a sample and place the rest (:func:`plan_for`).
    """
    n, d = dataset.X.shape
    cfg = PipelineConfig()
    if dataset.kind == "images":
        # shift/rotation-invariant codes (DEC-DA) need longer training to pay off: measured on
        # MNIST-test and USPS in docs/BENCHMARKS.md
        cfg.model = ModelConfig(augment=True, epochs=IMAGE_EPOCHS, max_examples=IMAGE_EXAMPLES,
                                time_budget=IMAGE_TRAIN_SECONDS, members=IMAGE_MEMBERS if n <= SMALL_IMAGE_SET else 1)
        # DEC-DA's refinement after N2D: MNIST-test ACC 0.958 -> 0.977, 3 seeds (docs/BENCHMARKS.md)
        cfg.cluster = ClusterConfig(refine=n >= REFINE_MIN_IMAGES, refine_seconds=IMAGE_REFINE_SECONDS,
                                    dec_max_iter=refine_batches(n))
    elif dataset.kind == "embeddings":
        cfg.model = ModelConfig(kind=NO_MODEL, latent_dim=d)
    elif dataset.kind == "table" and _manifold_table(dataset):
        # an autoencoder has little to compress in a few columns: on pendigits (16) UMAP of the
        # features gave NMI 0.877 where AE -> UMAP gave 0.871, without ~40 s of training (docs/BENCHMARKS.md)
        latent = int(min(10, max(2, d - 1))) if d > 2 else d
        cfg.model = (ModelConfig(kind=NO_MODEL, latent_dim=d) if d <= NARROW_TABLE_COLUMNS
                     else ModelConfig(latent_dim=latent, max_examples=TABLE_EXAMPLES))
    elif dataset.kind == "table":
        wide = d > WIDE_TABLE_COLUMNS
        cfg.model = ModelConfig(kind="pca", latent_dim=TABLE_PCA_DIM) if wide else ModelConfig(kind=NO_MODEL, latent_dim=d)
        cfg.cluster = ClusterConfig(method="mixture")
        neighbors = TABLE_MAP_NEIGHBORS_LARGE if n >= LARGE_TABLE_ROWS else TABLE_MAP_NEIGHBORS
        cfg.projection = ProjectionConfig(n_neighbors=neighbors, min_dist=TABLE_MAP_MIN_DIST)
    return replace_nested(cfg, **overrides) if overrides else cfg


def refine_batches(n: int, batch_size: int = 256) -> int:
    """Batches of the default refinement for ``n`` images: ``IMAGE_REFINE_EPOCHS`` passes over the data,
    at least ``IMAGE_REFINE_MIN_BATCHES`` and at most DEC's own ``dec_max_iter``."""
    return int(min(ClusterConfig.dec_max_iter, max(IMAGE_REFINE_MIN_BATCHES, -(-IMAGE_REFINE_EPOCHS * n // batch_size))))


def _manifold_table(dataset: Dataset) -> bool:
    return dataset.report.scaling == "shared" and dataset.n >= SMALL_TABLE_ROWS


def default_reason(dataset: Dataset) -> str:
    """Why :func:`default_config` chose what it chose for this data, in a sentence or two."""
    d = dataset.X.shape[1]
    if dataset.kind == "images":
        few = (f" With {dataset.n:,} images (up to {SMALL_IMAGE_SET:,}), {IMAGE_MEMBERS} autoencoders train side by "
               "side from different starting weights and their codes are joined: on small sets one alone sometimes "
               "folds two groups together." if dataset.n <= SMALL_IMAGE_SET else "")
        refined = (" The encoder is then refined so that a moved copy of an image falls in its original's cluster, "
                   "and N2D clusters the refined codes again." if dataset.n >= REFINE_MIN_IMAGES else
                   f" With fewer than {REFINE_MIN_IMAGES:,} images the encoder is not refined on moved copies afterwards: "
                   "on sets of 1,000-1,800 images that lowered the agreement with the true groups (the Cluster page "
                   "can still turn it on).")
        return ("Images: a dense autoencoder trained on shifted and slightly rotated copies of the images learns codes "
                "that ignore small moves (DEC-DA); N2D then clusters the UMAP of those codes." + refined + few)
    if dataset.kind == "embeddings":
        return "Embeddings are a representation already: nothing to train; N2D clusters the UMAP of the vectors."
    if _manifold_table(dataset):
        if d <= NARROW_TABLE_COLUMNS:
            return (f"The {d} columns share one scale (like coordinates or pixels), so they trace a curved shape that "
                    "UMAP unfolds: N2D clusters the UMAP of the columns themselves; an autoencoder has little to "
                    "compress in so few columns.")
        return (f"The {d} columns share one scale: an autoencoder compresses them to a 10-d code first, then N2D "
                "clusters the UMAP of the code.")
    cats = len(dataset.categorical_groups())
    what = f"numbers in different units{f' and {cats} categorical columns' if cats else ''}"
    model = (f"PCA first compresses the {d} features to {TABLE_PCA_DIM}" if d > WIDE_TABLE_COLUMNS
             else "the columns themselves are the representation (no model to train)")
    return (f"A table of {what}: {model}; the clustering is k-means refined by a mixture model for numbers and "
            "categories, and k is the most clusters that come back on halves of the data and are set apart by a "
            "thinning of the data. A manifold method "
            "(UMAP) would split such tables into islands of category combinations (docs/BENCHMARKS.md, tables).")


def replace_nested(cfg: PipelineConfig, **overrides: Any) -> PipelineConfig:
    """Override fields by flat name: model fields, cluster fields as ``cluster_<name>`` or the
    well-known ``k`` / ``method``, projection fields as ``projection_<name>``, and ``device`` / ``seed``."""
    model, clus, proj, top = {}, {}, {}, {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in ("device", "seed", "reproducible"):
            top[key] = value
        elif key in ("k", "method"):
            clus[key] = value
        elif key.startswith("cluster_"):
            clus[key[len("cluster_"):]] = value
        elif key.startswith("projection_"):
            proj[key[len("projection_"):]] = value
        elif key == "explain":
            top["explain"] = value if isinstance(value, ExplainConfig) else (ExplainConfig() if value else None)
        elif key == "model":
            model["kind"] = value
        elif hasattr(cfg.model, key):
            model[key] = value
        else:
            raise InputError(f"'{key}' is not a pipeline setting.")
    if model.get("kind") in (*ONE_MEMBER_KINDS, NO_MODEL) and "members" not in model:
        model["members"] = 1  # the default's ensemble is of autoencoders that can be joined
    return replace(
        cfg,
        model=replace(cfg.model, **model),
        cluster=replace(cfg.cluster, **clus),
        projection=replace(cfg.projection, **proj),
        **top,
    )


@dataclass
class RunResult:
    """Everything a run produced. Saved by :func:`explorer.runs.save_run`, loaded back identical."""

    config: PipelineConfig
    dataset: Dataset
    reducer: Reducer | None  # None when the model kind is "none"
    Z: np.ndarray  # (n, latent) float32
    clusters: ClusterResult
    embedding: np.ndarray  # (n, 2) or (n, 3) float32, the projection shown
    anomaly: np.ndarray  # (n,) float32, reconstruction error (higher = more anomalous)
    metrics: dict[str, Any]
    history: list[dict]
    device: str
    device_description: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None
    created: str | None = None
    explanation: Explanation | None = None  # what each cluster is (explorer.explain); None when not asked for
    fitted: np.ndarray | None = None  # (n,) bool: rows the costly stages fitted on (explorer.scale); None: every row
    preprocessing: dict | None = None  # the loader's steps as JSON (explorer.data.recipe); set by save_run / load_run
    assignment: dict | None = None  # arrays that assign new rows to the clusters (explorer.apply.assign)

    @property
    def labels(self) -> np.ndarray:
        return self.clusters.labels


def build_reducer(cfg: PipelineConfig, dataset: Dataset, device: str) -> Reducer | None:
    """The reducer the config asks for, checked against the data (conv and augmentation need images);
    None for "none"."""
    from .reducers import make_reducer

    m = cfg.model
    m.validate()
    if m.kind == NO_MODEL:
        return None
    if m.kind != "pca":
        if m.augment and dataset.images is None:
            raise InputError("augmentation applies to images only; turn it off for tables and embeddings.")
        if m.kind == "conv-ae" and dataset.images is None:
            raise InputError("the convolutional autoencoder needs image data; choose 'ae' for tables and embeddings.")
    image_shape = dataset.image_shape if (m.kind == "conv-ae" or m.augment) else None
    return make_reducer(m, image_shape=image_shape, device=device, random_state=cfg.seed)


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
    from .device import resolve_device

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
    _stopped(should_stop)
    plan = plan_for(dataset.n, cfg)
    if plan.sampled:
        notes.append(plan.sentence())
    graph = _shared_graph(Z, plan, cfg, before_clustering=True)
    timings["neighbors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emit(Progress("cluster", f"Clustering with {cfg.cluster.method}"))
    clusters = cluster_latent(Z, cfg, reducer, X, emit, should_stop, dataset.categorical_groups(), plan=plan, knn=graph)
    timings["cluster"] = time.perf_counter() - t0
    if clusters.method in DEEP_METHODS and reducer is not None:
        Z = reducer.transform(X)  # refinement moved the encoder: the latent space is the refined one
        graph = None
    if cfg.cluster.refine:
        t1 = time.perf_counter()
        clusters, Z, graph = _refine_on_copies(dataset, reducer, Z, clusters, cfg, emit, should_stop, notes, plan, graph)
        timings["refine"] = time.perf_counter() - t1
    if cfg.cluster.selftrain:
        t1 = time.perf_counter()
        clusters = _self_label(dataset, reducer, Z, clusters, cfg, emit, should_stop, notes)
        timings["selftrain"] = time.perf_counter() - t1

    t0 = time.perf_counter()
    if _stopped(should_stop) and cfg.projection.method != "pca":
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
    anomaly = anomaly_scores(reducer, X, Z, clusters)
    _stopped(should_stop)  # a cancelled job ends here
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
        emit(Progress("train", f"epoch {epoch}/{planned}", epoch / planned, epoch=epoch, epochs=planned,
                      loss=logs.get("loss"), val_loss=logs.get("val_loss")))

    emit(Progress("train", f"Training {cfg.model.kind}", 0.0, epoch=0, epochs=epochs))
    reducer.fit(dataset.X, on_epoch_end=on_epoch_end, should_stop=should_stop)
    return reducer


def cluster_latent(
    Z: np.ndarray,
    cfg: PipelineConfig,
    reducer: Reducer | None,
    X: np.ndarray,
    emit: ProgressCallback = ignore,
    should_stop: StopCheck | None = None,
    dataset_groups: Sequence[np.ndarray] = (),
    plan: "RowPlan | None" = None,
    knn: "Neighbors | None" = None,
) -> ClusterResult:
    """Cluster Z as the config says; DEC / IDEC start from k-means and refine the autoencoder.
    ``dataset_groups``: the one-hot columns of each categorical column of X (used when Z is X).
    ``plan`` (:func:`plan_for`): when it samples, the clustering fits on its rows and the others are
    assigned (:func:`explorer.scale.vote`; k-means: the nearest centre); ``knn``: the shared graph."""
    from .cluster import cluster

    ccfg = replace(cfg.cluster, random_state=cfg.umap_seed if cfg.cluster.method == "n2d" else cfg.seed)
    if ccfg.method in DEEP_METHODS:
        from .deep_cluster import refine
        from .reducers import Autoencoder

        if not isinstance(reducer, Autoencoder):
            raise InputError(f"{ccfg.method.upper()} refines an autoencoder; choose an autoencoder model, not '{cfg.model.kind}'.")
        start = cluster(Z, replace(ccfg, method="kmeans"))
        return refine(reducer, X, start, ccfg, should_stop=should_stop,
                      on_progress=lambda f, msg: emit(Progress("refine", msg, f)))
    groups = dataset_groups if reducer is None else ()  # PCA / autoencoder codes are all numbers
    progress = lambda f, msg: emit(Progress("cluster", msg, f))  # noqa: E731
    if plan is None or not plan.sampled:
        return cluster(Z, ccfg, should_stop=should_stop, groups=groups, on_progress=progress, knn=knn)
    fitted = cluster(Z[plan.fit], ccfg, should_stop=should_stop, groups=groups, on_progress=progress, knn=knn)
    emit(Progress("cluster", f"Assigning the other {len(plan.rest):,} rows", 1.0))
    return _assign_rest(fitted, Z, plan, knn)


def refines_model(cfg: PipelineConfig) -> bool:
    """Whether a run with ``cfg`` trains its autoencoder further while clustering (DEC / IDEC, or the
    refinement on augmented copies), so a cached model must be copied first and the run counts as training."""
    return cfg.cluster.method in DEEP_METHODS or bool(cfg.cluster.refine)


def refine_skipped(dataset: Dataset, cfg: PipelineConfig) -> str | None:
    """Why the refinement on augmented copies (``ClusterConfig.refine``) does not apply to this run, or None."""
    return refine_skipped_for(dataset.images is not None and dataset.image_shape is not None, cfg)


def refine_skipped_for(images: bool, cfg: PipelineConfig) -> str | None:
    """:func:`refine_skipped` for data that are images or not (what a settings form knows)."""
    if not images:
        return "it shifts and rotates images, and these data are not images"
    if cfg.model.kind not in REFINE_KINDS:
        return f"it trains an autoencoder's encoder further, and the model is '{cfg.model.kind}'"
    if cfg.cluster.method in DEEP_METHODS:
        return f"{cfg.cluster.method.upper()} already refines the encoder"
    if cfg.cluster.method == "hdbscan":
        return "HDBSCAN's noise has no cluster to pull its rows toward"
    return None


def _refine_on_copies(dataset: Dataset, reducer: Reducer | None, Z: np.ndarray, clusters: ClusterResult,
                      cfg: PipelineConfig, emit: ProgressCallback, should_stop: StopCheck | None, notes: list[str],
                      plan: "RowPlan", graph: "Neighbors | None") -> tuple[ClusterResult, np.ndarray, "Neighbors | None"]:
    """DEC-DA's refinement after the clustering: IDEC on shifted and rotated copies of the images
    (:func:`explorer.deep_cluster.refine`), its centres started at ``clusters``' means, then the run's
    own method again on the refined code. Returns (clusters, Z, graph): as they were, with a note,
    where it does not apply; IDEC's own assignment when stopped during the refinement."""
    from .deep_cluster import refine
    from .metrics import hungarian_accuracy

    why = refine_skipped(dataset, cfg) or (None if clusters.k >= 2 else "it needs at least 2 clusters")
    if why:
        notes.append(f"Refinement on shifted and rotated copies skipped: {why}.")
        return clusters, Z, graph
    ccfg = replace(cfg.cluster, method="idec", random_state=cfg.seed)
    emit(Progress("refine", "Refining the encoder on shifted and rotated copies", 0.0))
    budget = None if cfg.cluster.refine_seconds is None else cfg.cluster.refine_seconds * int(cfg.model.members)
    refined = refine(reducer, dataset.X, clusters, ccfg, should_stop=should_stop, image_shape=dataset.image_shape,
                     time_budget=budget, mixed_precision=cfg.model.mixed_precision,
                     on_progress=lambda f, msg: emit(Progress("refine", msg, f)))
    info = dict(refined.info)
    Z = reducer.transform(dataset.X)
    planned = f"{info['iterations']:,} batches" + (f" (of {cfg.cluster.dec_max_iter:,}: the ones that fit in "
                                                   f"{budget:g} s on this machine)"
                                                   if info["planned"] < cfg.cluster.dec_max_iter else "")
    if info["stop_reason"] == "stopped" or _stopped(should_stop):
        notes.append(f"Refinement on shifted and rotated copies stopped after {planned}: the clusters are its own "
                     f"assignment (IDEC's, to centres in the refined code), not {cfg.cluster.method} again.")
        # method "idec": what the labels are, so new rows are later assigned the same way (explorer.apply)
        return replace(refined, sweep=clusters.sweep, info={**clusters.info, "refine": info}), Z, None
    graph = _shared_graph(Z, plan, cfg, before_clustering=True)
    emit(Progress("cluster", f"Clustering the refined code with {cfg.cluster.method}"))
    again = cluster_latent(Z, cfg, reducer, dataset.X, emit, should_stop, plan=plan, knn=graph)
    moved = 1.0 - hungarian_accuracy(clusters.labels, again.labels)  # rows whose cluster changed, clusters matched
    info["rows_moved"] = round(moved, 4)
    notes.append(f"The encoder was refined on shifted and rotated copies of the images for {planned} (IDEC from the "
                 f"first clusters, as DEC-DA), then clustered again with {cfg.cluster.method}: "
                 f"{moved:.1%} of the rows changed cluster.")
    return replace(again, sweep=again.sweep or clusters.sweep, info={**again.info, "refine": info}), Z, graph


def _self_label(dataset: Dataset, reducer: Reducer | None, Z: np.ndarray, clusters: ClusterResult, cfg: PipelineConfig,
                emit: ProgressCallback, should_stop: StopCheck | None, notes: list[str]) -> ClusterResult:
    """The clustering after self-labelling on augmented images (:mod:`explorer.selftrain`); as it was,
    with a note, where self-labelling does not apply (no images, no autoencoder, noise labels)."""
    from .reducers import Autoencoder
    from .selftrain import self_train

    why = ("it needs images" if dataset.images is None else
           "it needs an autoencoder's encoder" if not isinstance(reducer, Autoencoder) else
           "HDBSCAN's noise has no cluster to learn" if (clusters.labels < 0).any() else None)
    if why:
        notes.append(f"Self-labelling skipped: {why}.")
        return clusters
    confidence = clusters.proba.max(1) if clusters.proba is not None else np.ones(len(Z), np.float32)
    emit(Progress("selftrain", "Self-labelling on shifted and rotated copies", 0.0))
    labels, proba, info = self_train(reducer, dataset.X, dataset.image_shape, clusters.labels, confidence, clusters.k,
                                     seed=cfg.seed, should_stop=should_stop,
                                     on_progress=lambda f, m: emit(Progress("selftrain", m, f)))
    if info["kept"] != "selftrain":
        notes.append(f"Self-labelling kept the clustering as it was: {info['why']}.")
        return replace(clusters, info={**clusters.info, "selftrain": info})
    from .cluster import _member_means

    return replace(clusters, labels=labels, proba=proba, centers=_member_means(Z, labels, clusters.k),
                   info={**clusters.info, "selftrain": info})


def plan_for(n: int, cfg: PipelineConfig) -> "RowPlan":
    """Which rows the costly stages of this run fit on (:mod:`explorer.scale`): every row up to
    ``EXACT_ROWS`` (agglomerative clustering: up to the rows it can hold), else a seeded sample."""
    from .cluster import AGGLOMERATIVE_MAX_ROWS
    from .scale import EXACT_ROWS, FIT_ROWS, plan_rows

    # DEC / IDEC refine on every row whatever the plan (explorer.deep_cluster); the map follows it

    exact = min(EXACT_ROWS, AGGLOMERATIVE_MAX_ROWS) if cfg.cluster.method == "agglomerative" else EXACT_ROWS
    return plan_rows(n, cfg.seed, exact_rows=exact, fit_rows=min(FIT_ROWS, exact))


def _shared_graph(Z: np.ndarray, plan: "RowPlan", cfg: PipelineConfig, before_clustering: bool) -> "Neighbors | None":
    """The run's one nearest-neighbour graph of the fitted rows of Z, when a UMAP will use it or rows
    must be placed; None otherwise (and for DEC / IDEC before clustering: they move Z)."""
    from .scale import PLACE_NEIGHBORS, Neighbors

    if before_clustering and cfg.cluster.method in DEEP_METHODS:
        return None
    wants = [PLACE_NEIGHBORS] if plan.sampled else []
    if cfg.cluster.method == "n2d" and before_clustering:
        wants.append(cfg.cluster.umap_neighbors)
    if cfg.projection.method == "umap" and Z.shape[1] > cfg.projection.n_components:
        wants.append(cfg.projection.n_neighbors)
    return Neighbors(Z[plan.fit], k=max(wants), random_state=cfg.umap_seed, device=_knn_device(cfg)) if wants else None


def _knn_device(cfg: PipelineConfig) -> str:
    """Where the shared graph is built: the run's CUDA GPU when it has one (torch, exact), else the CPU."""
    from .device import resolve_device

    name = resolve_device(cfg.device).name
    return name if name.startswith("cuda") else "cpu"


def _rest_neighbors(Z: np.ndarray, plan: "RowPlan", knn: "Neighbors") -> tuple[np.ndarray, np.ndarray]:
    """The nearest fitted rows of every placed row, asked of the graph once and kept on it."""
    if knn.placed is None:
        knn.placed = knn.query(Z[plan.rest])
    return knn.placed


def _assign_rest(fitted: ClusterResult, Z: np.ndarray, plan: "RowPlan", knn: "Neighbors | None") -> ClusterResult:
    """``fitted`` (the clustering of the plan's fitted rows) extended to every row of Z."""
    from .scale import PLACE_NEIGHBORS, Neighbors, place, vote

    knn = knn or Neighbors(Z[plan.fit], k=PLACE_NEIGHBORS)
    n, k = plan.n, fitted.k
    labels = np.empty(n, np.int64)
    labels[plan.fit] = fitted.labels
    proba = None
    if fitted.method == "kmeans" and fitted.centers is not None:  # k-means' own rule: the nearest centre
        from sklearn.metrics import pairwise_distances_argmin

        labels[plan.rest] = pairwise_distances_argmin(Z[plan.rest], fitted.centers)
    else:
        idx, dist = _rest_neighbors(Z, plan, knn)
        rest_labels, rest_proba = vote(fitted.labels, idx, dist, fitted.proba, k=k)
        labels[plan.rest] = rest_labels
        if fitted.proba is not None:
            proba = np.empty((n, fitted.proba.shape[1]), np.float32)
            proba[plan.fit], proba[plan.rest] = fitted.proba, rest_proba
    embedding = None
    if fitted.embedding is not None:
        idx, dist = _rest_neighbors(Z, plan, knn)
        embedding = np.empty((n, fitted.embedding.shape[1]), np.float32)
        embedding[plan.fit], embedding[plan.rest] = fitted.embedding, place(fitted.embedding, idx, dist)
    info = dict(fitted.info, rows_fitted=int(len(plan.fit)), rows_assigned=int(len(plan.rest)))
    if fitted.method == "hdbscan":
        info["n_noise"] = int((labels < 0).sum())
        info["noise_fraction"] = info["n_noise"] / n
    return replace(fitted, labels=labels, proba=proba, embedding=embedding, info=info)


def _stopped(should_stop: StopCheck | None) -> bool:
    return should_stop is not None and bool(should_stop())


def project_for_display(Z: np.ndarray, clusters: ClusterResult, cfg: PipelineConfig,
                        should_stop: StopCheck | None = None, *, plan: "RowPlan | None" = None,
                        knn: "Neighbors | None" = None) -> np.ndarray:
    """The 2-D (or 3-D) projection shown in the scatter, from the latent space Z. With ``should_stop``,
    UMAP and t-SNE raise :class:`~explorer.errors.Stopped` when it turns True (see ``project``).
    With a sampling ``plan``, UMAP and t-SNE map its fitted rows and the others are placed among
    them (:func:`explorer.scale.place`); PCA maps every row. ``knn``: the run's shared graph."""
    from .project import project
    from .scale import place

    pcfg = replace(cfg.projection, random_state=cfg.umap_seed if cfg.projection.method == "umap" else cfg.seed)
    if Z.shape[1] <= pcfg.n_components:
        out = np.zeros((Z.shape[0], pcfg.n_components), np.float32)
        out[:, : Z.shape[1]] = Z
        return out
    if plan is None or not plan.sampled or pcfg.method == "pca":
        return project(Z, pcfg, should_stop=should_stop, knn=knn if knn is not None and knn.n == len(Z) else None)
    knn = knn if knn is not None and knn.n == len(plan.fit) else _shared_graph(Z, plan, cfg, before_clustering=False)
    Y = np.empty((len(Z), pcfg.n_components), np.float32)
    Y[plan.fit] = project(Z[plan.fit], pcfg, should_stop=should_stop, knn=knn)
    idx, dist = _rest_neighbors(Z, plan, knn)
    Y[plan.rest] = place(Y[plan.fit], idx, dist)
    return Y


def anomaly_scores(reducer: Reducer | None, X: np.ndarray, Z: np.ndarray, clusters: ClusterResult) -> np.ndarray:
    """Per-row anomaly score: the reconstruction error; without a model, the squared distance to the
    row's cluster centre in Z (noise points of HDBSCAN: to the nearest centre)."""
    if reducer is not None:
        return reducer.score_samples(X)
    labels = clusters.labels
    ks = [c for c in np.unique(labels) if c >= 0]
    if not ks:
        return np.sum((Z - Z.mean(0)) ** 2, axis=1).astype(np.float32)
    centers = np.stack([Z[labels == c].mean(0) for c in ks])
    d2 = ((Z[:, None, :] - centers[None, :, :]) ** 2).sum(-1) if Z.size * len(ks) < 5e7 else None
    if d2 is None:
        d2 = np.stack([((Z - c) ** 2).sum(1) for c in centers], axis=1)
    own = np.array([ks.index(c) if c >= 0 else -1 for c in labels])
    score = np.where(own >= 0, d2[np.arange(len(Z)), np.maximum(own, 0)], d2.min(1))
    return score.astype(np.float32)


def evaluate_run(Z: np.ndarray, clusters: ClusterResult, embedding: np.ndarray, dataset: Dataset) -> dict[str, Any]:
    """Internal scores always; NMI / ARI / AMI / accuracy when the data carry labels."""
    from .metrics import evaluate

    metrics = evaluate(Z, clusters.labels, y_true=dataset.labels, embedding=embedding)
    metrics["k"] = int(clusters.k)
    metrics["n"] = int(dataset.n)
    if (clusters.labels < 0).any():
        metrics["n_noise"] = int((clusters.labels < 0).sum())
    return metrics


def reproject(result: RunResult, projection: ProjectionConfig, should_stop: StopCheck | None = None) -> RunResult:
    """A copy of ``result`` shown with another projection (UMAP / t-SNE / PCA): new embedding, config
    and trustworthiness; the clusters and every other score stay as they are. ``should_stop`` turning
    True raises :class:`~explorer.errors.Stopped` (there is nothing partial to show)."""
    from .metrics import json_float, trustworthiness

    cfg = replace(result.config, projection=projection)
    if _stopped(should_stop):
        raise Stopped(f"projecting with {projection.method} was stopped; the run on show is unchanged.")
    plan = None
    if result.fitted is not None:
        from .scale import RowPlan

        plan = RowPlan(len(result.fitted), np.flatnonzero(result.fitted), np.flatnonzero(~result.fitted))
    embedding = project_for_display(result.Z, result.clusters, cfg, should_stop, plan=plan)
    _stopped(should_stop)
    metrics = dict(result.metrics)
    metrics["trustworthiness"] = json_float(trustworthiness(result.Z, embedding))
    return replace(result, config=cfg, embedding=embedding, metrics=metrics, run_id=None, created=None)
