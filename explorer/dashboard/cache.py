"""The keys the dashboard caches fitted models and runs by: what the data are, and every setting
that changes the result.

Two loads of the same file with the same options give the same fingerprint; a model is found again
by fingerprint + model settings + device + seed (the time cap is left out: it only says when to
stop), a run by fingerprint + the whole pipeline config. A frozen pretrained encoder is found again by
fingerprint + which encoder and weights + device alone: nothing in it is trained or random, so its features of
these photos are encoded once, whatever the clustering, the seed or the training settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

import numpy as np

from explorer.reducers.config import PRETRAINED

if TYPE_CHECKING:  # pragma: no cover
    from explorer.dataset import Dataset
    from explorer.pipeline import PipelineConfig


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of what a model is fitted on: X (n, d), its feature names, kind and image shape."""
    h = hashlib.blake2b(digest_size=12)
    X = np.ascontiguousarray(dataset.X, dtype=np.float32)
    h.update(repr((X.shape, dataset.kind, list(dataset.feature_names), dataset.image_shape)).encode())
    h.update(X.data.cast("B"))
    return h.hexdigest()


#: the model settings that only training reads (a frozen encoder's features are the same whatever they are;
#: ``batch_size`` is its inference batch)
TRAINING_ONLY = frozenset(
    {
        "latent_dim",
        "hidden",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "val_fraction",
        "patience",
        "min_delta",
        "noise",
        "kl_weight",
        "augment",
        "max_examples",
        "max_seconds",
        "time_budget",
        "members",
        "mixed_precision",
    }
)


def model_key(fingerprint: str, cfg: PipelineConfig) -> str:
    """The cache key of a fitted representation: the data, every model setting but the time cap,
    the device and the seed; for the frozen pretrained encoder only which encoder and weights, and the device."""
    model = asdict(replace(cfg.model, max_seconds=None))
    seed: int | None = cfg.seed
    if cfg.model.kind == PRETRAINED:
        model, seed = {k: v for k, v in model.items() if k not in TRAINING_ONLY}, None
    settings = {"model": model, "device": cfg.device, "seed": seed}
    return fingerprint + ":" + json.dumps(settings, sort_keys=True, default=list)


def run_key(fingerprint: str, cfg: PipelineConfig) -> str:
    """The cache key of a run: the data and the whole pipeline config but the training time cap."""
    plain = replace(cfg, model=replace(cfg.model, max_seconds=None))
    return fingerprint + ":" + json.dumps(plain.to_dict(), sort_keys=True, default=list)


def short_tag(text: str | None) -> str:
    """A short stable tag for a long key (a run's settings), to name widgets by."""
    return hashlib.blake2b(str(text).encode(), digest_size=6).hexdigest()
