"""The contract every reducer (PCA and the autoencoders) follows.

scikit-learn's estimator contract: ``__init__`` only stores parameters; ``fit`` validates them
(``InputError`` naming the parameter and the allowed values) and returns ``self``; learned state ends
in ``_``; ``random_state`` is honoured. All reducers are interchangeable:

- ``fit(X)`` -> self, X float32 (n, d)
- ``transform(X)`` -> Z float32 (n, k)
- ``fit_transform(X)`` -> Z, equal to ``fit(X).transform(X)``
- ``inverse_transform(Z)`` -> X_hat float32 (n, d)
- ``score_samples(X)`` -> (n,) float32 per-sample reconstruction error (mean squared error per
  feature), the anomaly score: higher is more anomalous.
- ``history_``: list of dicts, one per epoch (``{"epoch", "loss", "val_loss", "seconds"}``); empty for PCA.
- ``state_dict_()`` -> dict[str, np.ndarray]: the learned weights as plain arrays (saved as safetensors),
  and ``from_state(params, state)`` (a classmethod) rebuilds a fitted reducer from ``get_params()`` and them.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import InputError

# on_epoch_end(epoch, logs) where logs = {"loss": float, "val_loss": float | None, "seconds": float,
# "epochs": int (planned)}; the page turns it into a progress bar and the CLI into a terminal bar.
EpochCallback = Callable[[int, dict], None]
# should_stop() -> True asks training to stop after the current epoch and keep the best weights so far.
StopCheck = Callable[[], bool]


class Reducer:
    """Shared behaviour of every reducer. Subclasses implement ``fit``, ``transform``, ``inverse_transform``."""

    #: short name used in configs, run files and the CLI ("pca", "ae", "conv-ae", "dae", "vae")
    kind: str = ""

    def get_params(self) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> "Reducer":
        for key, value in params.items():
            if key not in self.get_params():
                raise InputError(f"{type(self).__name__} has no parameter '{key}'.")
            setattr(self, key, value)
        return self

    def fit(self, X: np.ndarray, y: None = None, **kwargs: Any) -> "Reducer":  # pragma: no cover
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


def check_array(X: Any, *, min_rows: int = 1) -> np.ndarray:
    """X as a C-contiguous float32 2-D array with only finite values, or an InputError saying why not."""
    X = np.asarray(X)
    if X.dtype == object:
        raise InputError("the data hold non-numeric values; load it through explorer.data so text is encoded.")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"expected a 2-D array (rows x features), got shape {X.shape}.")
    if X.shape[0] < min_rows:
        raise InputError(f"need at least {min_rows} rows, got {X.shape[0]}.")
    if X.shape[1] == 0:
        raise InputError("the data have no feature columns left to fit on.")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).sum())
        raise InputError(f"the data hold {bad} NaN or infinite values; impute or drop them first.")
    return X
