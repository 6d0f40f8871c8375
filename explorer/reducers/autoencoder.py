"""Autoencoders (dense, convolutional, denoising, variational) behind the shared reducer contract."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.errors import InputError
from explorer.events import EpochCallback, StopCheck
from explorer.reducers.base import Reducer
from explorer.reducers.config import AE_KINDS, AE_LABELS, ModelConfig
from explorer.validation import check_array

__all__ = ["AE_KINDS", "AE_LABELS", "Autoencoder", "random_affine"]

SCALE_ROWS = 10_000  # rows that measure each ensemble member's code spread


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
        config: the model's settings, whole (:class:`~explorer.reducers.config.ModelConfig`): its
            ``kind`` is "ae" (dense), "conv-ae" (convolutional; needs ``image_shape``), "dae" (dense,
            denoising: Gaussian noise of std ``noise`` on the input, the clean input as the target) or
            "vae" (dense, variational: the code is the posterior mean; loss = MSE + ``kl_weight`` *
            KL / d); the same object drives the training loop. None: ``ModelConfig()``.
        image_shape: (h, w, c) of the images the rows hold (needed by "conv-ae" and ``augment``).
        device: "auto", "cpu", "cuda" or "mps".
        random_state: seed for weights, batches and noise.

    After ``fit``: ``module_`` (the torch module, on ``device_``), ``history_`` (one dict per epoch),
    ``n_features_in_``, ``train_info_`` (best epoch, stop reason, device, precision, notes).
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        image_shape: tuple[int, int, int] | None = None,
        device: str = "auto",
        random_state: int = 0,
    ):
        self.config = config
        self.image_shape = image_shape
        self.device = device
        self.random_state = random_state

    @property
    def kind(self) -> str:  # type: ignore[override]  # the base's plain class attribute, read from the config here
        return self.config_.kind if hasattr(self, "config_") else (self.config or ModelConfig()).kind

    # -- building -------------------------------------------------------------------------------
    def _validate(self, n_features: int) -> ModelConfig:
        cfg = self.config or ModelConfig()
        if cfg.kind not in AE_KINDS:
            raise InputError(f"kind '{cfg.kind}' is not an autoencoder; choose one of: {', '.join(AE_KINDS)}.")
        cfg.validate()
        if cfg.augment and (self.image_shape is None or len(self.image_shape) != 3):
            raise InputError("augment needs image_shape=(h, w, c); augmentation applies to image data only.")
        if cfg.kind == "conv-ae":
            if self.image_shape is None or len(self.image_shape) != 3:
                raise InputError("a convolutional autoencoder needs image_shape=(h, w, c); use it on image data.")
            h, w, c = self.image_shape
            if h * w * c != n_features:
                raise InputError(
                    f"image_shape {tuple(self.image_shape)} holds {h * w * c} values but rows have {n_features}."
                )
            if min(h, w) < 8:
                raise InputError(
                    f"images of {h}x{w} are too small for the convolutional autoencoder (needs 8x8 or more)."
                )
        return cfg

    def _shape(self) -> tuple[int, int, int]:
        """``image_shape`` as three ints (``_validate`` has made sure there is one)."""
        if self.image_shape is None:
            raise InputError("this autoencoder needs image_shape=(h, w, c); use it on image data.")
        h, w, c = (int(v) for v in self.image_shape)
        return h, w, c

    def _build(self, cfg: ModelConfig, n_features: int):
        from explorer.reducers.networks import ConvNet, DenseNet, Ensemble

        def one():
            if cfg.kind == "conv-ae":
                return ConvNet(self._shape(), int(cfg.latent_dim))
            return DenseNet(
                n_features, [int(h) for h in cfg.hidden], int(cfg.latent_dim), variational=cfg.kind == "vae"
            )

        if cfg.members == 1:
            return one()
        return Ensemble([one() for _ in range(int(cfg.members))], int(cfg.latent_dim))

    def _loss_fn(self, cfg: ModelConfig):
        import torch
        import torch.nn.functional as F

        kind, noise, kl_weight = cfg.kind, float(cfg.noise), float(cfg.kl_weight)
        shape = self._shape() if cfg.augment else None

        def loss(module, x):
            members = getattr(module, "members", None)
            if members is not None:  # an ensemble: each member learns on its own loss (and its own augmentation)
                return sum(one(m, x, module.training) for m in members) / len(members)
            return one(module, x, module.training)

        def one(module, x, training: bool):
            if shape is not None and training:
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
    ) -> Autoencoder:
        """Train on X (n, d). ``on_epoch_end(epoch, logs)`` is called after each epoch;
        ``should_stop()`` returning True stops after the current epoch, keeping the best weights."""
        from explorer.device import seed_everything
        from explorer.reducers.train import fit_module

        X = check_array(X, min_rows=2)
        cfg = self._validate(X.shape[1])
        seed_everything(int(self.random_state))
        module = self._build(cfg, X.shape[1])
        result = fit_module(
            module,
            X,
            self._loss_fn(cfg),
            cfg,
            device=self.device,
            seed=int(self.random_state),
            on_epoch_end=on_epoch_end,
            should_stop=should_stop,
        )
        if hasattr(module, "set_scale"):  # an ensemble: weigh the members' codes alike
            import torch

            rows = np.random.default_rng(int(self.random_state)).permutation(len(X))[:SCALE_ROWS]
            module.eval().set_scale(
                torch.from_numpy(np.ascontiguousarray(X[np.sort(rows)], dtype=np.float32)).to(result.device)
            )
        self.config_ = cfg
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
            "epochs": result.epochs,
            "rows_per_epoch": result.rows_per_epoch,
            "notes": result.notes,
            "processes": result.processes,  # > 1: trained data-parallel (explorer.reducers.distributed)
        }
        return self

    @property
    def code_dim_(self) -> int:
        """Width of the code: ``latent_dim``, times ``members`` for an ensemble."""
        cfg = self.config_ if hasattr(self, "config_") else (self.config or ModelConfig())
        return int(cfg.latent_dim) * int(cfg.members)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """X (n, d) -> the code Z (n, code_dim_); for a VAE the posterior mean."""
        import torch

        from explorer.reducers.train import predict_batches

        self._check_fitted()
        X = check_array(X)
        self._check_width(X)
        return predict_batches(self.module_.encode, X, torch.device(self.device_))

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Z (n, code_dim_) -> reconstructions (n, d) (an ensemble's: the mean of its members')."""
        import torch

        from explorer.reducers.train import predict_batches

        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float32)
        latent = self.code_dim_
        if Z.ndim != 2 or Z.shape[1] != latent:
            raise InputError(f"expected codes of shape (n, {latent}), got {Z.shape}.")
        return predict_batches(self.module_.decode, Z, torch.device(self.device_))

    def _check_width(self, X: np.ndarray) -> None:
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"the model was fitted on {self.n_features_in_} features but X has {X.shape[1]}.")

    # -- saving ---------------------------------------------------------------------------------
    def export_params(self) -> dict[str, Any]:
        """The constructor's arguments as JSON-ready values (the config as a dict)."""
        from dataclasses import asdict

        cfg = self.config_ if hasattr(self, "config_") else (self.config or ModelConfig())
        return {
            "config": asdict(cfg),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "device": self.device,
            "random_state": int(self.random_state),
        }

    def export_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(meta, tensors): what a run needs to rebuild the fitted model, with no pickle."""
        self._check_fitted()
        tensors = {k: v.detach().float().cpu().numpy() for k, v in self.module_.state_dict().items()}
        meta = {"n_features_in": int(self.n_features_in_), "history": self.history_, "train_info": self.train_info_}
        return meta, tensors

    @classmethod
    def restore(cls, params: dict[str, Any], meta: dict[str, Any], tensors: dict[str, np.ndarray], device: str = "cpu"):
        """Rebuild a fitted autoencoder from :meth:`export_params` and :meth:`export_state`.

        Runs saved by explorer 0.1 kept the settings flat (``kind``, ``latent_dim``, ... beside
        ``device``); they are read into a :class:`ModelConfig` the same way.
        """
        import torch

        from explorer.device import resolve_device

        params = dict(params)
        if "config" in params:
            config = ModelConfig.from_dict(dict(params["config"]))
        else:  # explorer 0.1: the model's settings were the constructor's own keyword arguments
            known = set(ModelConfig.__dataclass_fields__)
            config = ModelConfig(**{k: v for k, v in params.items() if k in known})
        image_shape = params.get("image_shape")
        model = cls(
            config,
            image_shape=None if image_shape is None else tuple(image_shape),
            device=params.get("device", device),
            random_state=int(params.get("random_state", 0)),
        )
        module = model._build(config, int(meta["n_features_in"]))
        module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()})
        model.config_ = config
        model.device_ = resolve_device(device).name
        model.module_ = module.to(model.device_).eval()
        model.n_features_in_ = int(meta["n_features_in"])
        model.history_ = list(meta.get("history", []))
        model.train_info_ = dict(meta.get("train_info", {}))
        return model
