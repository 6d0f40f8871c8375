"""The contract every reducer (PCA and the autoencoders) follows.

scikit-learn's estimator contract: ``__init__`` only stores parameters; ``fit`` validates them
(``InputError`` naming the parameter and the allowed values) and returns ``self``; learned state ends
in ``_``; ``random_state`` is honoured. All reducers are interchangeable:

- ``fit(X, *, on_epoch_end=None, should_stop=None)`` -> self; X float32 (n, d)
- ``transform(X)`` -> Z float32 (n, k)
- ``fit_transform(X)`` -> Z, equal to ``fit(X).transform(X)``
- ``inverse_transform(Z)`` -> X_hat float32 (n, d)
- ``reconstruct(X)`` -> X_hat float32 (n, d), through the latent space
- ``score_samples(X)`` -> (n,) float32 per-sample reconstruction error (mean squared error per
  feature), the anomaly score: higher is more anomalous.
- ``history_``: list of dicts, one per epoch (``{"epoch", "loss", "val_loss", "seconds", "epochs"}``);
  empty for PCA.
- ``export_params()`` -> the constructor's arguments as JSON; ``export_state()`` -> (meta JSON,
  tensors as plain arrays, saved as safetensors); the classmethod ``restore(params, meta, tensors,
  device)`` rebuilds the fitted reducer from them. :func:`explorer.reducers.restore_reducer` picks
  the class by kind. Nothing is pickled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.errors import InputError
from explorer.events import EpochCallback, StopCheck
from explorer.validation import check_array


class Reducer:
    """Shared behaviour of every reducer. Subclasses implement ``fit``, ``transform``, ``inverse_transform``,
    ``export_state`` and ``restore``."""

    #: short name used in configs, run files and the CLI ("pca", "ae", "conv-ae", "dae", "vae")
    kind: str = ""
    #: False for an encoder without a decoder (the pretrained one): no reconstruction, so no reconstruction error
    reconstructs: bool = True

    def get_params(self) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> Reducer:
        for key, value in params.items():
            if key not in self.get_params():
                raise InputError(f"{type(self).__name__} has no parameter '{key}'.")
            setattr(self, key, value)
        return self

    def export_params(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-ready (what ``restore`` takes back)."""
        return self.get_params()

    def fit(
        self,
        X: np.ndarray,
        y: None = None,
        *,
        on_epoch_end: EpochCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> Reducer:  # pragma: no cover
        """Learn from X (n, d); a reducer that trains reports each epoch and stops when asked."""
        raise NotImplementedError

    def transform(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def fit_transform(self, X: np.ndarray, y: None = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X, **kwargs).transform(X)

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """X -> X_hat through the latent space, (n, d) float32."""
        return self.inverse_transform(self.transform(X))

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Per-sample reconstruction error (mean squared error over features), (n,) float32."""
        X = check_array(X)
        X_hat = self.reconstruct(X)
        return np.mean((X - X_hat) ** 2, axis=1).astype(np.float32)

    def _check_fitted(self) -> None:
        if not any(k.endswith("_") and not k.startswith("_") for k in vars(self)):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(X) first.")
