"""Reducers: PCA and the autoencoders, one contract (see :mod:`explorer.reducers.base`)."""
from __future__ import annotations

from typing import Any

from ..errors import InputError
from .autoencoder import AE_KINDS, AE_LABELS, Autoencoder
from .base import Reducer, check_array
from .pca import PCA

MODEL_KINDS = ("pca", *AE_KINDS)
MODEL_LABELS = {"pca": "PCA", **AE_LABELS}


def make_reducer(kind: str, **params: Any) -> Reducer:
    """A reducer of ``kind`` ("pca", "ae", "conv-ae", "dae", "vae") with the given parameters."""
    if kind == "pca":
        return PCA(**params)
    if kind in AE_KINDS:
        return Autoencoder(kind=kind, **params)
    raise InputError(f"model '{kind}' is not known; choose one of: {', '.join(MODEL_KINDS)}.")


def restore_reducer(kind: str, params: dict[str, Any], meta: dict[str, Any], tensors: dict, device: str = "cpu") -> Reducer:
    """Rebuild a fitted reducer from what :meth:`export_state` gave (no pickle involved)."""
    if kind == "pca":
        return PCA.restore(params, meta, tensors, device)
    if kind in AE_KINDS:
        params = {k: v for k, v in params.items() if k != "kind"}
        return Autoencoder.restore({"kind": kind, **params}, meta, tensors, device)
    raise InputError(f"model '{kind}' is not known; choose one of: {', '.join(MODEL_KINDS)}.")


__all__ = ["PCA", "Autoencoder", "Reducer", "make_reducer", "restore_reducer", "check_array", "MODEL_KINDS", "MODEL_LABELS"]
