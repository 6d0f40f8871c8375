"""Autoencoders (dense, convolutional, denoising, variational) behind the shared reducer contract."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .base import EpochCallback, Reducer, StopCheck, check_array

AE_KINDS = ("ae", "conv-ae", "dae", "vae")
AE_LABELS = {
    "ae": "dense autoencoder",
    "conv-ae": "convolutional autoencoder",
    "dae": "denoising autoencoder",
    "vae": "variational autoencoder",
}


def random_affine(x, image_shape: tuple[int, int, int], max_shift: float = 0.1, max_degrees: float = 10.0):
    """Random small shifts (up to ``max_shift`` of the side) and rotations of flat HWC images (n, h*w*c).

    Border pixels are repeated into the uncovered area, so a dark or light background stays as it was.
    """
    import math

    import torch
    import torch.nn.functional as F

    h, w, c = image_shape
    n = x.shape[0]
    imgs = x.view(n, h, w, c).permute(0, 3, 1, 2)
    angle = (torch.rand(n, device=x.device) * 2 - 1) * (max_degrees * math.pi / 180)
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * (2 * max_shift)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(imgs.dtype), list(imgs.shape), align_corners=False)
    out = F.grid_sample(imgs, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1).reshape(n, h * w * c)


class Autoencoder(Reducer):
    """A PyTorch autoencoder with scikit-learn's estimator contract.

    Args:
        kind: "ae" (dense), "conv-ae" (convolutional; needs ``image_shape``), "dae" (dense, denoising:
            Gaussian noise of std ``noise`` on the input, the clean input as the target) or "vae"
            (dense, variational: the code is the posterior mean; loss = MSE + ``kl_weight`` * KL / d).
        latent_dim: size of the code z.
        hidden: dense layer sizes of the encoder (the decoder mirrors them); the default
            500-500-2000 is the architecture of DEC (Xie et al. 2016) and N2D (McConville et al. 2020).
        epochs, batch_size, lr, val_fraction, patience: see :class:`explorer.train.TrainConfig`.
        noise: input noise std for "dae" (ignored otherwise unless > 0).
        kl_weight: weight of the KL term for "vae".
        image_shape: (h, w, c) of the images the rows hold (needed by "conv-ae" and ``augment``).
        augment: for images, train on randomly shifted and slightly rotated copies of each batch
            (as DEC-DA, Guo et al. 2018): the code learns to ignore small translations, which makes
            clusters of the same object class tighter. Needs ``image_shape``.
        device: "auto", "cpu", "cuda" or "mps".
        random_state: seed for weights, batches and noise.
        max_seconds: stop training after this wall time, keeping the best weights.
        mixed_precision: bf16 autocast where the hardware computes bf16 natively (CUDA GPUs, CPUs with
            AVX512-BF16 or AMX); False trains in float32 throughout.

    After ``fit``: ``module_`` (the torch module, on ``device_``), ``history_`` (one dict per epoch),
    ``n_features_in_``, ``train_info_`` (best epoch, stop reason, device, notes).
    """

    def __init__(
        self,
        kind: str = "ae",
        latent_dim: int = 10,
        hidden: tuple[int, ...] = (500, 500, 2000),
        epochs: int = 50,
        batch_size: int = 256,
        lr: float = 1e-3,
        val_fraction: float = 0.1,
        patience: int = 10,
        noise: float = 0.2,
        kl_weight: float = 1.0,
        image_shape: tuple[int, int, int] | None = None,
        augment: bool = False,
        device: str = "auto",
        random_state: int = 0,
        max_seconds: float | None = None,
        mixed_precision: bool = True,
    ):
        self.kind = kind
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.val_fraction = val_fraction
        self.patience = patience
        self.noise = noise
        self.kl_weight = kl_weight
        self.image_shape = image_shape
        self.augment = augment
        self.device = device
        self.random_state = random_state
        self.max_seconds = max_seconds
        self.mixed_precision = mixed_precision

    # -- building -------------------------------------------------------------------------------
    def _validate(self, n_features: int) -> None:
        if self.kind not in AE_KINDS:
            raise InputError(f"kind '{self.kind}' is not an autoencoder; choose one of: {', '.join(AE_KINDS)}.")
        if not (isinstance(self.latent_dim, (int, np.integer)) and self.latent_dim >= 1):
            raise InputError(f"latent_dim must be a whole number >= 1, got {self.latent_dim!r}.")
        if any(int(h) < 1 for h in self.hidden):
            raise InputError(f"hidden layer sizes must be >= 1, got {tuple(self.hidden)!r}.")
        if self.kind == "dae" and not self.noise > 0:
            raise InputError(f"noise must be > 0 for a denoising autoencoder, got {self.noise!r}.")
        if self.kind == "vae" and not self.kl_weight >= 0:
            raise InputError(f"kl_weight must be >= 0, got {self.kl_weight!r}.")
        if self.augment and (self.image_shape is None or len(self.image_shape) != 3):
            raise InputError("augment needs image_shape=(h, w, c); augmentation applies to image data only.")
        if self.kind == "conv-ae":
            if self.image_shape is None or len(self.image_shape) != 3:
                raise InputError("a convolutional autoencoder needs image_shape=(h, w, c); use it on image data.")
            h, w, c = self.image_shape
            if h * w * c != n_features:
                raise InputError(f"image_shape {tuple(self.image_shape)} holds {h * w * c} values but rows have {n_features}.")
            if min(h, w) < 8:
                raise InputError(f"images of {h}x{w} are too small for the convolutional autoencoder (needs 8x8 or more).")

    def _build(self, n_features: int):
        from .networks import ConvNet, DenseNet

        if self.kind == "conv-ae":
            return ConvNet(tuple(int(s) for s in self.image_shape), int(self.latent_dim))  # type: ignore[arg-type]
        return DenseNet(n_features, [int(h) for h in self.hidden], int(self.latent_dim), variational=self.kind == "vae")

    def _loss_fn(self):
        import torch
        import torch.nn.functional as F

        kind, noise, kl_weight = self.kind, float(self.noise), float(self.kl_weight)
        shape = tuple(int(v) for v in self.image_shape) if self.augment else None

        def loss(module, x):
            if shape is not None and module.training:
                x = random_affine(x, shape)
            if kind == "vae":
                mu, logvar = module.encode_params(x)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                recon = F.mse_loss(module.decode(z), x)
                kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
                return recon + kl_weight * kl / x.shape[1]
            inp = x + noise * torch.randn_like(x) if kind == "dae" else x
            return F.mse_loss(module.decode(module.encode(inp)), x)

        return loss

    # -- the contract ---------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: None = None,
        *,
        on_epoch_end: EpochCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> "Autoencoder":
        """Train on X (n, d). ``on_epoch_end(epoch, logs)`` is called after each epoch;
        ``should_stop()`` returning True stops after the current epoch, keeping the best weights."""
        from ..device import seed_everything
        from ..train import TrainConfig, fit_module

        X = check_array(X, min_rows=2)
        self._validate(X.shape[1])
        cfg = TrainConfig(
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            val_fraction=float(self.val_fraction),
            patience=int(self.patience),
            device=self.device,
            seed=int(self.random_state),
            max_seconds=self.max_seconds,
            mixed_precision=bool(self.mixed_precision),
        )
        cfg.validate()
        seed_everything(int(self.random_state))
        module = self._build(X.shape[1])
        result = fit_module(module, X, self._loss_fn(), cfg, on_epoch_end=on_epoch_end, should_stop=should_stop)
        self.module_ = module.eval()
        self.device_ = result.device
        self.n_features_in_ = X.shape[1]
        self.history_ = result.history
        self.train_info_ = {
            "best_epoch": result.best_epoch,
            "stop_reason": result.stop_reason,
            "device": result.device,
            "precision": result.precision,
            "batch_size": result.batch_size,
            "notes": result.notes,
        }
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """X (n, d) -> the code Z (n, latent_dim); for a VAE the posterior mean."""
        import torch

        from ..train import predict_batches

        self._check_fitted()
        X = check_array(X)
        self._check_width(X)
        return predict_batches(self.module_.encode, X, torch.device(self.device_))

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Z (n, latent_dim) -> reconstructions (n, d)."""
        import torch

        from ..train import predict_batches

        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float32)
        if Z.ndim != 2 or Z.shape[1] != self.latent_dim:
            raise InputError(f"expected codes of shape (n, {self.latent_dim}), got {Z.shape}.")
        return predict_batches(self.module_.decode, Z, torch.device(self.device_))

    def _check_width(self, X: np.ndarray) -> None:
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"the model was fitted on {self.n_features_in_} features but X has {X.shape[1]}.")

    # -- saving ---------------------------------------------------------------------------------
    def export_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(meta, tensors): what a run needs to rebuild the fitted model, with no pickle."""
        self._check_fitted()
        tensors = {k: v.detach().float().cpu().numpy() for k, v in self.module_.state_dict().items()}
        meta = {"n_features_in": int(self.n_features_in_), "history": self.history_, "train_info": self.train_info_}
        return meta, tensors

    @classmethod
    def restore(cls, params: dict[str, Any], meta: dict[str, Any], tensors: dict[str, np.ndarray], device: str = "cpu"):
        import torch

        from ..device import resolve_device

        params = dict(params)
        if params.get("image_shape") is not None:
            params["image_shape"] = tuple(params["image_shape"])
        params["hidden"] = tuple(params.get("hidden", ()))
        model = cls(**params)
        module = model._build(int(meta["n_features_in"]))
        module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()})
        model.device_ = resolve_device(device).name
        model.module_ = module.to(model.device_).eval()
        model.n_features_in_ = int(meta["n_features_in"])
        model.history_ = list(meta.get("history", []))
        model.train_info_ = dict(meta.get("train_info", {}))
        return model
