"""The product's default policy: what a run does when nobody changes a setting, and why."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.cluster.registry import spec
from explorer.cluster.types import ClusterConfig
from explorer.dataset import Dataset
from explorer.errors import InputError
from explorer.explain import ExplainConfig
from explorer.project import ProjectionConfig
from explorer.reducers import NO_MODEL, PRETRAINED, ModelConfig
from explorer.reducers.encoders import default_installed

if TYPE_CHECKING:  # pragma: no cover
    pass
from explorer.pipeline.types import PipelineConfig

SMALL_TABLE_ROWS = 1000  # shared-scale tables below this are clustered as other tables (too few rows for a manifold)
NARROW_TABLE_COLUMNS = 32  # shared-scale tables up to this many columns: n2d's UMAP on the features (no autoencoder)
WIDE_TABLE_COLUMNS = 64  # other tables above this many features are compressed by PCA first
TABLE_PCA_DIM = 20
TABLE_MAP_NEIGHBORS = 50  # the map of a table: more neighbours join a segment's category combinations into one region
LARGE_TABLE_ROWS = 10_000  # from here, the map takes TABLE_MAP_NEIGHBORS_LARGE: a segment of thousands of rows
TABLE_MAP_NEIGHBORS_LARGE = 100  # otherwise tears along a categorical column (docs/BENCHMARKS.md, tables)
TABLE_MAP_MIN_DIST = 0.3
IMAGE_EPOCHS = 500  # images: at most this many epochs, and ...
IMAGE_EXAMPLES = 1_350_000  # ... at most MNIST-test's 150 epochs of 9,000 training rows in examples: small sets train
# longer (it raises their scores: docs/BENCHMARKS.md, small image sets), large ones fewer epochs
TABLE_EXAMPLES = 500_000  # tables with an autoencoder: 100 epochs of 5,000 rows
IMAGE_TRAIN_SECONDS = 150.0  # images: the epochs planned to fit in this (per autoencoder) on a slow machine, so that
# with the refinement's IMAGE_REFINE_SECONDS and the rest a default run on MNIST-test ends within 5 minutes on a
# 2-core CPU, with or without bf16 (the goal and the times: docs/BENCHMARKS.md)
IMAGE_REFINE_EPOCHS = 50  # images: the refinement on augmented copies makes this many passes over the data (as
# DEC-DA's ~70), between IMAGE_REFINE_MIN_BATCHES and DEC's 2,000 batches of 256 (MNIST-test: 1,954; 3,000 images: 586)
IMAGE_REFINE_MIN_BATCHES = 100  # (a few hundred images: 100 batches, still dozens of passes)
IMAGE_REFINE_SECONDS = 60.0  # ... fewer where they would not fit in this (per autoencoder) on a slow machine
# (cut short, the refinement loses little: three quarters of its batches already give its whole gain)
REFINE_MIN_IMAGES = 2_000  # images: the refinement is on by default from this many (it lowered the scores of the
# smaller image sets and raised those of the larger ones: docs/BENCHMARKS.md)
SMALL_IMAGE_SET = 5_000  # images up to this many: IMAGE_MEMBERS autoencoders side by side, codes joined
IMAGE_MEMBERS = 3  # (on a small image set one autoencoder now and then folds two digits together that the others
# keep apart: docs/BENCHMARKS.md, small image sets)
PHOTO_MIN_VALUES = 64  # photos: at least this many distinct pixel values in a sample (drawings have a handful)
PHOTO_MIN_GRAY_SIDE = 64  # grayscale images count as photos from this side up (digits and drawings are smaller) ...
PHOTO_MAX_BACKGROUND = 0.5  # ... and when no single value (the background of a digit or a drawing) fills this share
PHOTO_COLOUR_GAP = 4.0  # colour: the channels differ by this much on average (0..255); a gray set saved as RGB does not
PHOTO_SAMPLE = 256  # images looked at to decide
PHOTO_METHOD = "head"  # photos: the clustering on the pretrained features; 3,000 CIFAR-10 photos, k = 10, 3 seeds
# (bench/measure/photos.py, EfficientNet-Lite2 at 192 px): the clustering head ACC 0.621 / NMI 0.513, N2D 0.535 /
# 0.488, k-means 0.555 / 0.475
DOCUMENT_METHOD = "mixture"  # documents (every feature free text): the tables' k-means refined by a mixture, on the
# text embedding (explorer.data.encoder_text.DOCUMENT_COMPONENTS directions, few enough for its full covariances);
# with k given, above k-means, Ward and N2D on AG News' topics; on Banking77's 77 small intents its guard keeps
# k-means' partition, there found on each text's mean with its nearest texts (from explorer.cluster.types.FINE_K
# clusters: NMI 0.754 against 0.738 on the texts themselves, Ward's 0.742; 3 seeds) (docs/BENCHMARKS.md, documents)
ONE_MEMBER_KINDS = ("pca", "vae")  # models that are never joined (ModelConfig.members)
REFINE_KINDS = (
    "ae",
    "dae",
    "conv-ae",
)  # models the refinement on augmented copies trains further (ClusterConfig.refine)


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
      unfolds: pendigits), with k = 1 where the columns show no groups at the k it picks (``ClusterConfig.no_groups``:
      UMAP draws clumps in noise too);
    - every other table (numbers in different units, categories, counts, missing values): the
      features themselves (PCA to ``TABLE_PCA_DIM`` above ``WIDE_TABLE_COLUMNS`` features), clustered
      by "mixture" (k-means refined by a mixture model for numbers and categories, with k from the
      stability sweep; k = 1 where there are no groups), or Genie's clusters at that k where they cut clearly
      fewer links between nearest rows (chained or curved groups: ``ClusterConfig.shapes``,
      :mod:`explorer.cluster.shapes`), and a map made with ``TABLE_MAP_NEIGHBORS`` UMAP neighbours
      (``TABLE_MAP_NEIGHBORS_LARGE`` from ``LARGE_TABLE_ROWS`` rows) so segments show as regions, not as
      islands of category combinations (docs/BENCHMARKS.md, tables);
    - embeddings: no training (the vectors are the representation), then N2D.
    - photos (:func:`is_photo_set`: colour, or large grayscale, with many distinct values, when the encoder's wheel
      is installed): the pretrained image encoder's features (nothing trained), then ``PHOTO_METHOD`` (k, unless
      given, by the head's own modularity sweep: :func:`explorer.cluster.head.sweep_head_k`); the
      autoencoders' path above stays for digits and drawings.
    k is left to the sweep unless given. Training looks at ``IMAGE_EXAMPLES`` / ``TABLE_EXAMPLES``
    rows at most (``max_examples``: on large data, fewer epochs); above ``explorer.neighbors.EXACT_ROWS``
    rows, UMAP, the clustering and the map fit on a sample and place the rest (:func:`plan_for`).
    """
    n, d = dataset.X.shape
    cfg = PipelineConfig()
    if is_photo_set(dataset):
        cfg.model = ModelConfig(kind=PRETRAINED)
        cfg.cluster = ClusterConfig(method=PHOTO_METHOD)
    elif dataset.kind == "images":
        # shift/rotation-invariant codes (DEC-DA) need longer training to pay off: measured on
        # MNIST-test and USPS in docs/BENCHMARKS.md
        cfg.model = ModelConfig(
            augment=True,
            epochs=IMAGE_EPOCHS,
            max_examples=IMAGE_EXAMPLES,
            time_budget=IMAGE_TRAIN_SECONDS,
            members=IMAGE_MEMBERS if n <= SMALL_IMAGE_SET else 1,
        )
        # DEC-DA's refinement after N2D: it raises the scores of the larger image sets (docs/BENCHMARKS.md)
        cfg.cluster = ClusterConfig(
            refine=n >= REFINE_MIN_IMAGES, refine_seconds=IMAGE_REFINE_SECONDS, dec_max_iter=refine_batches(n)
        )
    elif dataset.kind == "embeddings":
        cfg.model = ModelConfig(kind=NO_MODEL, latent_dim=d)
    elif is_document_set(dataset):
        cfg.model = ModelConfig(kind=NO_MODEL, latent_dim=d)
        # k: the finest of the first run of ks that come back on halves (topics overlap: no valley checks)
        # many fine topics: k-means on each text's mean with its nearest texts (ClusterConfig.neighbour_means)
        cfg.cluster = ClusterConfig(method=DOCUMENT_METHOD, nested_k=True, neighbour_means=True)
    elif dataset.kind == "table" and _manifold_table(dataset):
        # an autoencoder has little to compress in a few columns: on pendigits (16) UMAP of the
        # features scores as well as AE -> UMAP, without the training (docs/BENCHMARKS.md)
        latent = int(min(10, max(2, d - 1))) if d > 2 else d
        cfg.model = (
            ModelConfig(kind=NO_MODEL, latent_dim=d)
            if d <= NARROW_TABLE_COLUMNS
            else ModelConfig(latent_dim=latent, max_examples=TABLE_EXAMPLES)
        )
        # "no groups" is an answer for every table: N2D's silhouette in the UMAP always picks some k
        cfg.cluster = ClusterConfig(no_groups=True)
    elif dataset.kind == "table":
        wide = d > WIDE_TABLE_COLUMNS
        cfg.model = (
            ModelConfig(kind="pca", latent_dim=TABLE_PCA_DIM) if wide else ModelConfig(kind=NO_MODEL, latent_dim=d)
        )
        # shapes: Genie's clusters where the groups are chained or curved, not round (bench/measure/shapes.py)
        cfg.cluster = ClusterConfig(method="mixture", shapes=True, no_groups=True)
        neighbors = TABLE_MAP_NEIGHBORS_LARGE if n >= LARGE_TABLE_ROWS else TABLE_MAP_NEIGHBORS
        cfg.projection = ProjectionConfig(n_neighbors=neighbors, min_dist=TABLE_MAP_MIN_DIST)
    return replace_nested(cfg, **overrides) if overrides else cfg


def refine_batches(n: int, batch_size: int = 256) -> int:
    """Batches of the default refinement for ``n`` images: ``IMAGE_REFINE_EPOCHS`` passes over the data,
    at least ``IMAGE_REFINE_MIN_BATCHES`` and at most DEC's own ``dec_max_iter``."""
    return int(
        min(ClusterConfig.dec_max_iter, max(IMAGE_REFINE_MIN_BATCHES, -(-IMAGE_REFINE_EPOCHS * n // batch_size)))
    )


def is_photo_set(dataset: Dataset) -> bool:
    """True for photos (colour images, or grayscale ones of ``PHOTO_MIN_GRAY_SIDE`` px and more without a dominant
    background, with ``PHOTO_MIN_VALUES`` distinct values or more) when the pretrained encoder is installed; False
    for digits and drawings (small, grayscale, few values) and for every non-image set."""
    images = dataset.images
    if dataset.kind != "images" or images is None or images.ndim != 4:
        return False
    if not default_installed():
        return False
    n, h, w, c = images.shape
    step = max(1, n // PHOTO_SAMPLE)
    sample = np.asarray(images[::step][:PHOTO_SAMPLE])
    if len(np.unique(sample)) < PHOTO_MIN_VALUES:
        return False
    if c == 3:
        as_int = sample.astype(np.int16)
        gap = float(np.mean(np.abs(as_int[..., 0] - as_int[..., 1]) + np.abs(as_int[..., 1] - as_int[..., 2])))
        if gap >= PHOTO_COLOUR_GAP:
            return True
    if min(h, w) < PHOTO_MIN_GRAY_SIDE:
        return False
    background = np.bincount(sample.reshape(-1)).max() / sample.size
    return bool(background < PHOTO_MAX_BACKGROUND)


def is_document_set(dataset: Dataset) -> bool:
    """True for a table whose features all come from free text (reviews, tickets, news: documents)."""
    from explorer.data.encoder import TableEncoder

    encoder = dataset.table_encoder
    return dataset.kind == "table" and isinstance(encoder, TableEncoder) and encoder.documents_


def _manifold_table(dataset: Dataset) -> bool:
    return dataset.report.scaling == "shared" and dataset.n >= SMALL_TABLE_ROWS


PHOTO_CLUSTER_REASON = (
    "A clustering head is then trained on those features so that each photo and its nearest photos land in the "
    "same cluster (SCAN): on CIFAR-10 photos it agreed with the true classes better than k-means and N2D on the "
    "same features (bench/measure/photos.py). Unless k is given, it is the number of clusters whose heads keep "
    "neighbouring photos together best (their modularity on the graph of nearest photos; near-ties go to more "
    "clusters): k-means' silhouette on these features is nearly flat and picked 14 clusters for the 5 kinds of the "
    "bundled clip art (bench/measure/photo_k.py)."
)


NO_GROUPS_REASON = (
    " One group when there are none: UMAP draws clumps even in noise, so the k it suggests is kept only where the "
    "rows themselves thin out between clusters more than rows with no groups would."
)


def default_reason(dataset: Dataset) -> str:
    """Why :func:`default_config` chose what it chose for this data, in a sentence or two."""
    d = dataset.X.shape[1]
    if is_photo_set(dataset):
        return (
            "Photos (colour or large, many shades): what a person groups them by (animals, vehicles, scenes) is "
            "meaning that pixels and an autoencoder trained on them do not carry, so a pretrained image encoder "
            "(EfficientNet-Lite2, trained on ImageNet, shipped with the install: nothing is downloaded) turns each "
            "photo into 1,280 features; nothing is trained. " + PHOTO_CLUSTER_REASON
        )
    if dataset.kind == "images":
        few = (
            f" With {dataset.n:,} images (up to {SMALL_IMAGE_SET:,}), {IMAGE_MEMBERS} autoencoders train side by "
            "side from different starting weights and their codes are joined: on small sets one alone sometimes "
            "folds two groups together."
            if dataset.n <= SMALL_IMAGE_SET
            else ""
        )
        refined = (
            " The encoder is then refined so that a moved copy of an image falls in its original's cluster, "
            "and N2D clusters the refined codes again."
            if dataset.n >= REFINE_MIN_IMAGES
            else f" With fewer than {REFINE_MIN_IMAGES:,} images the encoder is not refined on moved copies "
            "afterwards: on smaller sets that lowered the agreement with the true groups (the Cluster page "
            "can still turn it on)."
        )
        return (
            "Images: a dense autoencoder trained on shifted and slightly rotated copies of the images learns codes "
            "that ignore small moves (DEC-DA); N2D then clusters the UMAP of those codes." + refined + few
        )
    if dataset.kind == "embeddings":
        return "Embeddings are a representation already: nothing to train; N2D clusters the UMAP of the vectors."
    if is_document_set(dataset):
        return (
            "Documents (every feature column is free text): each text is embedded (the loader says how: WordLlama's "
            "offline embedding where installed, else TF-IDF + LSA) to unit-length vectors, and k-means refined by a "
            "mixture model clusters them, with k the most clusters that come back on halves of the data as topics "
            "that overlap do (k = 1 where none does: random words); on news "
            "it found the topics better than k-means alone, Ward's agglomerative clustering or N2D "
            "(docs/BENCHMARKS.md, documents). Each cluster is explained by its distinctive words and its most "
            "typical texts."
        )
    if _manifold_table(dataset):
        if d <= NARROW_TABLE_COLUMNS:
            return (
                f"The {d} columns share one scale (like coordinates or pixels), so they trace a curved shape that "
                "UMAP unfolds: N2D clusters the UMAP of the columns themselves; an autoencoder has little to "
                "compress in so few columns." + NO_GROUPS_REASON
            )
        return (
            f"The {d} columns share one scale: an autoencoder compresses them to a 10-d code first, then N2D "
            "clusters the UMAP of the code." + NO_GROUPS_REASON
        )
    cats = len(dataset.categorical_groups())
    what = f"numbers in different units{f' and {cats} categorical columns' if cats else ''}"
    model = (
        f"PCA first compresses the {d} features to {TABLE_PCA_DIM}"
        if d > WIDE_TABLE_COLUMNS
        else "the columns themselves are the representation (no model to train)"
    )
    return (
        f"A table of {what}: {model}; the clustering is k-means refined by a mixture model for numbers and "
        "categories, and k is the most clusters that come back on halves of the data and are set apart by a "
        "thinning of the data (one group when none are). Where the groups are chained or curved rather than "
        "round, Genie's clusters, which follow the rows' nearest neighbours, are kept instead: they then "
        "separate far fewer links between near rows than the mixture's. A manifold method "
        "(UMAP) would split such tables into islands of category combinations (docs/BENCHMARKS.md, tables)."
    )


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
            clus[key[len("cluster_") :]] = value
        elif key.startswith("projection_"):
            proj[key[len("projection_") :]] = value
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


def refines_model(cfg: PipelineConfig) -> bool:
    """Whether a run with ``cfg`` trains its autoencoder further while clustering (DEC / IDEC, or the
    refinement on augmented copies), so a cached model must be copied first and the run counts as training."""
    return spec(cfg.cluster.method).refines_model or bool(cfg.cluster.refine)


def refine_skipped(dataset: Dataset, cfg: PipelineConfig) -> str | None:
    """Why the refinement on augmented copies (``ClusterConfig.refine``) does not apply to this run, or None."""
    return refine_skipped_for(dataset.images is not None and dataset.image_shape is not None, cfg)


def refine_skipped_for(images: bool, cfg: PipelineConfig) -> str | None:
    """:func:`refine_skipped` for data that are images or not (what a settings form knows)."""
    if not images:
        return "it shifts and rotates images, and these data are not images"
    if cfg.model.kind not in REFINE_KINDS:
        return f"it trains an autoencoder's encoder further, and the model is '{cfg.model.kind}'"
    method = spec(cfg.cluster.method)
    if method.refines_model:
        return f"{method.short} already refines the encoder"
    if method.noise:
        return f"{method.short}'s noise has no cluster to pull its rows toward"
    return None
