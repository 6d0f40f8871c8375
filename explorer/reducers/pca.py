"""PCA behind the reducer contract, on the CPU (scikit-learn) or on a GPU (a torch SVD)."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.errors import InputError
from explorer.reducers.base import Reducer
from explorer.validation import check_array


class PCA(Reducer):
    """Principal component analysis.

    On the CPU it is scikit-learn's PCA. With ``device`` "cuda" or "mps" (or "auto" when a GPU is
    there) the components come from a torch SVD on the device, so large tables are reduced on the GPU
    too; ``solver="torch"`` forces that path on any device. Both agree up to the sign of each component,
    which is fixed the same way (the largest-magnitude loading of each component is positive).

    After ``fit``: ``components_`` (k, d), ``mean_`` (d,), ``explained_variance_`` (k,),
    ``explained_variance_ratio_`` (k,), ``history_`` (empty), ``device_``.
    """

    kind = "pca"

    def __init__(self, n_components: int = 10, device: str = "cpu", solver: str = "auto", random_state: int = 0):
        self.n_components = n_components
        self.device = device
        self.solver = solver
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: None = None, **_ignored: Any) -> PCA:
        """Fit on X (n, d); progress callbacks are accepted and ignored (PCA has no epochs)."""
        from explorer.device import resolve_device

        X = check_array(X, min_rows=2)
        n, d = X.shape
        if self.solver not in ("auto", "sklearn", "torch"):
            raise InputError(f"solver '{self.solver}' is not known; choose one of: auto, sklearn, torch.")
        if not (isinstance(self.n_components, (int, np.integer)) and self.n_components >= 1):
            raise InputError(f"n_components must be a whole number >= 1, got {self.n_components!r}.")
        k = int(min(self.n_components, n, d))
        device = resolve_device(self.device)
        use_torch = self.solver == "torch" or (self.solver == "auto" and device.type != "cpu")
        if use_torch:
            self._fit_torch(X, k, device.name)
        else:
            self._fit_sklearn(X, k)
        self.device_ = device.name if use_torch else "cpu"
        self.n_components_ = k
        self.n_features_in_ = d
        self.history_: list[dict] = []
        total = float(np.var(X, axis=0, ddof=1).sum()) or 1.0
        self.explained_variance_ratio_ = (self.explained_variance_ / total).astype(np.float32)
        return self

    def _fit_sklearn(self, X: np.ndarray, k: int) -> None:
        from sklearn.decomposition import PCA as SkPCA

        pca = SkPCA(n_components=k, random_state=self.random_state).fit(X)
        self.mean_ = pca.mean_.astype(np.float32)
        self.components_ = _fix_signs(pca.components_.astype(np.float32))
        self.explained_variance_ = pca.explained_variance_.astype(np.float32)

    def _fit_torch(self, X: np.ndarray, k: int, device: str) -> None:
        import torch

        n, d = X.shape
        x = torch.from_numpy(X).to(device)
        mean = x.mean(0)
        xc = x - mean
        if n >= 4 * d:  # tall data: the d x d covariance is cheaper than an SVD of the whole table
            cov = (xc.T.double() @ xc.double()) / (n - 1) if device != "mps" else (xc.T @ xc) / (n - 1)
            evals, evecs = torch.linalg.eigh(cov)
            order = torch.argsort(evals, descending=True)[:k]
            components = evecs[:, order].T.float()
            variance = evals[order].float()
        else:
            _, s, vt = torch.linalg.svd(xc, full_matrices=False)
            components = vt[:k]
            variance = s[:k] ** 2 / (n - 1)
        self.mean_ = mean.cpu().numpy().astype(np.float32)
        self.components_ = _fix_signs(components.cpu().numpy().astype(np.float32))
        self.explained_variance_ = variance.clamp_min(0).cpu().numpy().astype(np.float32)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """X (n, d) -> Z (n, k)."""
        self._check_fitted()
        X = check_array(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"the model was fitted on {self.n_features_in_} features but X has {X.shape[1]}.")
        return ((X - self.mean_) @ self.components_.T).astype(np.float32)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Z (n, k) -> X_hat (n, d)."""
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float32)
        return (Z @ self.components_ + self.mean_).astype(np.float32)

    def export_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        meta = {"n_features_in": int(self.n_features_in_), "n_components": int(self.n_components_)}
        tensors = {
            "mean": self.mean_,
            "components": self.components_,
            "explained_variance": self.explained_variance_,
            "explained_variance_ratio": self.explained_variance_ratio_,
        }
        return meta, tensors

    @classmethod
    def restore(cls, params: dict[str, Any], meta: dict[str, Any], tensors: dict[str, np.ndarray], device: str = "cpu"):
        model = cls(**params)
        model.mean_ = np.asarray(tensors["mean"], np.float32)
        model.components_ = np.asarray(tensors["components"], np.float32)
        model.explained_variance_ = np.asarray(tensors["explained_variance"], np.float32)
        model.explained_variance_ratio_ = np.asarray(tensors["explained_variance_ratio"], np.float32)
        model.n_features_in_ = int(meta["n_features_in"])
        model.n_components_ = int(meta["n_components"])
        model.history_ = []
        model.device_ = "cpu"
        return model


def _fix_signs(components: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude loading of each component (row) positive: a deterministic sign."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1
    return components * signs[:, None]
