"""The whole pipeline as one call: Dataset -> reducer -> latent Z -> clusters -> projection -> metrics.

The dashboard and the CLI both call :func:`run_pipeline` with a :class:`PipelineConfig`;
:func:`default_config` holds the product's defaults for each kind of data.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import numpy as np

from .cluster import ClusterConfig, ClusterResult
from .dataset import Dataset
from .errors import InputError
from .project import ProjectionConfig
from .reducers import MODEL_KINDS, Reducer

# on_event({"stage": "train" | "cluster" | "refine" | "project" | "evaluate", "message": str,
#           "fraction": float in [0, 1] within the stage, and for training: "epoch", "epochs", "loss", "val_loss"})
EventCallback = Callable[[dict], None]
StopCheck = Callable[[], bool]

REDUCER_CHOICES = (*MODEL_KINDS, "none")
SMALL_TABLE_ROWS = 1000  # below this, tables get PCA -> k-means by default
NARROW_TABLE_COLUMNS = 32  # up to this many columns, n2d's UMAP runs on the features themselves (no autoencoder)


@dataclass
class ModelConfig:
    """The representation: PCA, an autoencoder, or "none" (use the features as they are)."""

    kind: str = "ae"
    latent_dim: int = 10
    hidden: tuple[int, ...] = (500, 500, 2000)
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    val_fraction: float = 0.1
    patience: int = 10
    noise: float = 0.2  # denoising autoencoder
    kl_weight: float = 1.0  # variational autoencoder
    augment: bool = False  # images: train on shifted / rotated copies (DEC-DA)
    max_seconds: float | None = None
    mixed_precision: bool = True  # bf16 autocast where the hardware has it natively; False: float32

    def validate(self) -> None:
        """InputError naming the first setting that cannot work, and what is allowed."""
        if self.kind not in REDUCER_CHOICES:
            raise InputError(f"model '{self.kind}' is not known; choose one of: {', '.join(REDUCER_CHOICES)}.")
        whole = {"latent_dim": self.latent_dim, "epochs": self.epochs, "batch_size": self.batch_size, "patience": self.patience}
        for name, value in whole.items():
            if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1):
                raise InputError(f"{name} must be a whole number >= 1, got {value!r}.")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 10):
            raise InputError(f"lr (learning rate) must be a number between 0 and 10, got {self.lr!r}.")
        if not 0 <= self.val_fraction < 0.9:
            raise InputError(f"val_fraction must be in [0, 0.9), got {self.val_fraction!r}.")
        if self.noise < 0 or self.kl_weight < 0:
            raise InputError("noise and kl_weight must be >= 0.")
        if any(int(h) < 1 for h in self.hidden):
            raise InputError(f"hidden layer sizes must be >= 1, got {tuple(self.hidden)!r}.")


@dataclass
class PipelineConfig:
    """Every choice of a run. Saved whole in the run's config.json."""

    model: ModelConfig = field(default_factory=ModelConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    device: str = "auto"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PipelineConfig":
        model = dict(d.get("model", {}))
        if "hidden" in model:
            model["hidden"] = tuple(model["hidden"])
        clus = dict(d.get("cluster", {}))
        if "k_range" in clus:
            clus["k_range"] = tuple(clus["k_range"])
        return cls(
            model=ModelConfig(**model),
            cluster=ClusterConfig(**clus),
            projection=ProjectionConfig(**d.get("projection", {})),
            device=d.get("device", "auto"),
            seed=int(d.get("seed", 0)),
        )


def default_config(dataset: Dataset, **overrides: Any) -> PipelineConfig:
    """The product's defaults for this data (what happens when nobody changes a setting).

    - images: the DEC / N2D dense autoencoder d-500-500-2000-10, trained 150 epochs on randomly
      shifted and rotated copies of each batch, then N2D (UMAP -> GMM);
    - tables: UMAP -> GMM (N2D's clustering) on the features themselves up to
      ``NARROW_TABLE_COLUMNS`` columns; wider ones first get the autoencoder with a 10-d code; below
      ``SMALL_TABLE_ROWS`` rows, PCA then k-means;
    - embeddings: no training (the vectors are the representation), then N2D.
    k is left to the k sweep unless given.
    """
    n, d = dataset.X.shape
    model = ModelConfig()
    if dataset.kind == "images":
        # shift/rotation-invariant codes (DEC-DA) need longer training to pay off: measured on
        # MNIST-test and USPS in docs/BENCHMARKS.md
        model = ModelConfig(augment=True, epochs=150)
    elif dataset.kind == "embeddings":
        model = ModelConfig(kind="none", latent_dim=d)
    elif dataset.kind == "table":
        latent = int(min(10, max(2, d - 1))) if d > 2 else d
        if n < SMALL_TABLE_ROWS or d <= 3:
            # too few rows for an autoencoder or for UMAP's manifold to beat plain k-means (penguins:
            # AE -> UMAP -> GMM split 344 rows into 11 clusters, NMI 0.47; PCA -> k-means: 2, NMI 0.75)
            cfg = PipelineConfig(model=ModelConfig(kind="pca", latent_dim=min(latent, d)))
            cfg.cluster.method = "kmeans"
            return replace_nested(cfg, **overrides) if overrides else cfg
        if d <= NARROW_TABLE_COLUMNS:
            # an autoencoder has little to compress in a few columns: on pendigits (16) UMAP of the
            # features gave NMI 0.877 where AE -> UMAP gave 0.871, without ~40 s of training (docs/BENCHMARKS.md)
            model = ModelConfig(kind="none", latent_dim=d)
        else:
            model = ModelConfig(latent_dim=latent)
    cfg = PipelineConfig(model=model)
    return replace_nested(cfg, **overrides) if overrides else cfg


def replace_nested(cfg: PipelineConfig, **overrides: Any) -> PipelineConfig:
    """Override fields by flat name: model fields, cluster fields as ``cluster_<name>`` or the
    well-known ``k`` / ``method``, projection fields as ``projection_<name>``, and ``device`` / ``seed``."""
    model, clus, proj, top = {}, {}, {}, {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in ("device", "seed"):
            top[key] = value
        elif key in ("k", "method"):
            clus[key] = value
        elif key.startswith("cluster_"):
            clus[key[len("cluster_"):]] = value
        elif key.startswith("projection_"):
            proj[key[len("projection_"):]] = value
        elif key == "model":
            model["kind"] = value
        elif hasattr(cfg.model, key):
            model[key] = value
        else:
            raise InputError(f"'{key}' is not a pipeline setting.")
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

    @property
    def labels(self) -> np.ndarray:
        return self.clusters.labels


def build_reducer(cfg: PipelineConfig, dataset: Dataset, device: str) -> Reducer | None:
    """The reducer the config asks for, checked against the data (conv needs images)."""
    from .reducers import make_reducer

    m = cfg.model
    m.validate()
    if m.kind == "none":
        return None
    if m.kind == "pca":
        return make_reducer("pca", n_components=m.latent_dim, device=device, random_state=cfg.seed)
    if m.augment and dataset.images is None:
        raise InputError("augmentation applies to images only; turn it off for tables and embeddings.")
    if m.kind == "conv-ae" and dataset.images is None:
        raise InputError("the convolutional autoencoder needs image data; choose 'ae' for tables and embeddings.")
    return make_reducer(
        m.kind,
        latent_dim=m.latent_dim,
        hidden=tuple(m.hidden),
        epochs=m.epochs,
        batch_size=m.batch_size,
        lr=m.lr,
        val_fraction=m.val_fraction,
        patience=m.patience,
        noise=m.noise,
        kl_weight=m.kl_weight,
        image_shape=dataset.image_shape if (m.kind == "conv-ae" or m.augment) else None,
        augment=bool(m.augment),
        device=device,
        random_state=cfg.seed,
        max_seconds=m.max_seconds,
        mixed_precision=bool(m.mixed_precision),
    )


def run_pipeline(
    dataset: Dataset,
    cfg: PipelineConfig | None = None,
    *,
    on_event: EventCallback | None = None,
    should_stop: StopCheck | None = None,
    reducer: Reducer | None = None,
) -> RunResult:
    """Fit the representation, cluster it, project it to 2-D and score it.

    Pass an already fitted ``reducer`` to skip training (the dashboard's cache does this).
    ``should_stop`` stops training (keeping the best weights) and DEC refinement early; the run
    still completes with what was learned so far.
    """
    from .device import resolve_device

    cfg = cfg or default_config(dataset)
    cfg.model.validate()
    emit = on_event or (lambda event: None)
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
    emit({"stage": "cluster", "message": f"Clustering with {cfg.cluster.method}", "fraction": 0.0})
    clusters = cluster_latent(Z, cfg, reducer, X, emit, should_stop)
    timings["cluster"] = time.perf_counter() - t0
    if clusters.method in ("dec", "idec") and reducer is not None:
        Z = reducer.transform(X)  # refinement moved the encoder: the latent space is the refined one

    t0 = time.perf_counter()
    emit({"stage": "project", "message": f"Projecting to 2-D with {cfg.projection.method}", "fraction": 0.0})
    embedding = project_for_display(Z, clusters, cfg)
    timings["project"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    emit({"stage": "evaluate", "message": "Scoring", "fraction": 0.0})
    anomaly = anomaly_scores(reducer, X, Z, clusters)
    metrics = evaluate_run(Z, clusters, embedding, dataset)
    timings["evaluate"] = time.perf_counter() - t0
    emit({"stage": "done", "message": "Done", "fraction": 1.0})
    return RunResult(
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
    )


def fit_representation(
    dataset: Dataset,
    cfg: PipelineConfig,
    device: str,
    emit: EventCallback,
    should_stop: StopCheck | None = None,
) -> Reducer | None:
    """Build and fit the reducer the config names; None for "none"."""
    reducer = build_reducer(cfg, dataset, device)
    if reducer is None:
        return None
    epochs = cfg.model.epochs if cfg.model.kind != "pca" else 1

    def on_epoch_end(epoch: int, logs: dict) -> None:
        emit({"stage": "train", "message": f"epoch {epoch}/{epochs}", "fraction": epoch / epochs, **logs})

    emit({"stage": "train", "message": f"Training {cfg.model.kind}", "fraction": 0.0, "epoch": 0, "epochs": epochs})
    reducer.fit(dataset.X, on_epoch_end=on_epoch_end, should_stop=should_stop)
    return reducer


def cluster_latent(
    Z: np.ndarray,
    cfg: PipelineConfig,
    reducer: Reducer | None,
    X: np.ndarray,
    emit: EventCallback,
    should_stop: StopCheck | None = None,
) -> ClusterResult:
    """Cluster Z as the config says; DEC / IDEC start from k-means and refine the autoencoder."""
    from .cluster import cluster

    ccfg = replace(cfg.cluster, random_state=cfg.seed)
    if ccfg.method in ("dec", "idec"):
        from .deep_cluster import refine
        from .reducers import Autoencoder

        if not isinstance(reducer, Autoencoder):
            raise InputError(f"{ccfg.method.upper()} refines an autoencoder; choose an autoencoder model, not '{cfg.model.kind}'.")
        start = cluster(Z, replace(ccfg, method="kmeans"))
        return refine(reducer, X, start, ccfg, should_stop=should_stop, on_progress=lambda f, msg: emit({"stage": "refine", "message": msg, "fraction": f}))
    return cluster(Z, ccfg, should_stop=should_stop)


def project_for_display(Z: np.ndarray, clusters: ClusterResult, cfg: PipelineConfig) -> np.ndarray:
    """The 2-D (or 3-D) projection shown in the scatter, from the latent space Z."""
    from .project import project

    pcfg = replace(cfg.projection, random_state=cfg.seed)
    if Z.shape[1] <= pcfg.n_components:
        out = np.zeros((Z.shape[0], pcfg.n_components), np.float32)
        out[:, : Z.shape[1]] = Z
        return out
    return project(Z, pcfg)


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
    d2 = ((Z[:, None, :] - centers[None, :, :]) ** 2).sum(-1) if len(Z) * len(ks) < 5e7 else None
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


# -- for the dashboard: reuse a fitted representation, change the projection ---------------------------
def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of what a model is fitted on (X, its feature names and image shape).

    Two loads of the same file with the same options give the same fingerprint; the dashboard keys
    its cache of fitted reducers by it together with :func:`model_key`.
    """
    import hashlib

    h = hashlib.blake2b(digest_size=12)
    X = np.ascontiguousarray(dataset.X, dtype=np.float32)
    h.update(repr((X.shape, dataset.kind, list(dataset.feature_names), dataset.image_shape)).encode())
    h.update(memoryview(X).cast("B"))
    return h.hexdigest()


def model_key(fingerprint: str, cfg: PipelineConfig) -> str:
    """The cache key of a fitted representation: the data, every model setting, the device and the seed."""
    import json

    settings = {"model": asdict(cfg.model), "device": cfg.device, "seed": cfg.seed}
    return fingerprint + ":" + json.dumps(settings, sort_keys=True, default=list)


def run_with_representation(
    dataset: Dataset,
    cfg: PipelineConfig,
    reducer: Reducer | None,
    *,
    on_event: EventCallback | None = None,
    should_stop: StopCheck | None = None,
) -> RunResult:
    """:func:`run_pipeline` on an already fitted ``reducer`` (None: fit one, unless the kind is "none").

    The given reducer is never changed: DEC / IDEC, which train the encoder further, refine a copy,
    so a cached representation stays what it was.
    """
    import copy

    if reducer is not None and cfg.cluster.method in ("dec", "idec"):
        reducer = copy.deepcopy(reducer)
    return run_pipeline(dataset, cfg, on_event=on_event, should_stop=should_stop, reducer=reducer)


def reproject(result: RunResult, projection: ProjectionConfig) -> RunResult:
    """A copy of ``result`` shown with another projection (UMAP / t-SNE / PCA): new embedding, config
    and trustworthiness; the clusters and every other score stay as they are."""
    from .metrics import json_float, trustworthiness

    cfg = replace(result.config, projection=projection)
    embedding = project_for_display(result.Z, result.clusters, cfg)
    metrics = dict(result.metrics)
    metrics["trustworthiness"] = json_float(trustworthiness(result.Z, embedding))
    return replace(result, config=cfg, embedding=embedding, metrics=metrics, run_id=None, created=None)
