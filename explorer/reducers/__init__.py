"""Reducers: PCA and the autoencoders, one contract (see :mod:`explorer.reducers.base`), one config
(:class:`~explorer.reducers.config.ModelConfig`)."""

from __future__ import annotations

from typing import Any

from explorer.errors import InputError
from explorer.reducers.autoencoder import Autoencoder
from explorer.reducers.base import Reducer
from explorer.reducers.config import (
    AE_KINDS,
    AE_LABELS,
    MODEL_CHOICES,
    MODEL_KINDS,
    MODEL_LABELS,
    NO_MODEL,
    PRETRAINED,
    ModelConfig,
)
from explorer.reducers.pca import PCA
from explorer.reducers.pretrained import PretrainedEncoder


def make_reducer(
    config: ModelConfig,
    *,
    image_shape: tuple[int, int, int] | None = None,
    device: str = "auto",
    random_state: int = 0,
) -> Reducer:
    """The reducer ``config.kind`` names ("pca", "ae", "conv-ae", "dae", "vae", "pretrained"), built from the
    whole config.

    PCA takes ``latent_dim`` components; an autoencoder takes the config itself, which also drives
    its training loop. ``image_shape`` (h, w, c) is needed by conv-ae, "pretrained" and by ``augment``.
    """
    if not isinstance(config, ModelConfig):
        raise InputError(f"make_reducer takes a ModelConfig, got {type(config).__name__}.")
    if config.kind == "pca":
        config.validate()
        return PCA(n_components=config.latent_dim, device=device, random_state=random_state)
    if config.kind in AE_KINDS:
        return Autoencoder(config, image_shape=image_shape, device=device, random_state=random_state)
    if config.kind == PRETRAINED:
        config.validate()
        batch = min(config.batch_size, 64)  # inference batches: the training default of 256 images at 224 px is ~2 GB
        return PretrainedEncoder(
            image_shape=image_shape,
            encoder=config.encoder,
            weights=config.encoder_weights,
            allow_download=config.allow_download,
            batch_size=batch,
            device=device,
            random_state=random_state,
        )
    raise InputError(f"model {config.kind!r} is not known; choose one of: {', '.join(MODEL_KINDS)}.")


def restore_reducer(
    kind: str, params: dict[str, Any], meta: dict[str, Any], tensors: dict, device: str = "cpu"
) -> Reducer:
    """Rebuild a fitted reducer from what ``export_params`` / ``export_state`` gave (no pickle involved)."""
    if kind == "pca":
        return PCA.restore(params, meta, tensors, device)
    if kind in AE_KINDS:
        params = {k: v for k, v in params.items() if k != "kind"} if "config" in params else {"kind": kind, **params}
        return Autoencoder.restore(params, meta, tensors, device)
    if kind == PRETRAINED:
        return PretrainedEncoder.restore(params, meta, tensors, device)
    raise InputError(f"model {kind!r} is not known; choose one of: {', '.join(MODEL_KINDS)}.")


__all__ = [
    "PCA",
    "Autoencoder",
    "PretrainedEncoder",
    "PRETRAINED",
    "Reducer",
    "ModelConfig",
    "make_reducer",
    "restore_reducer",
    "AE_KINDS",
    "AE_LABELS",
    "MODEL_KINDS",
    "MODEL_LABELS",
    "MODEL_CHOICES",
    "NO_MODEL",
]
