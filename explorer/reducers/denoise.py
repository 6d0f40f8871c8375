"""What a denoising autoencoder is for: inputs with its training noise added, beside the model's
reconstruction of them, and how much of the noise the model takes away (per column for tables).

The noise is the one the DAE is trained with (:class:`~explorer.reducers.Autoencoder` with kind "dae"
adds ``noise * N(0, 1)`` to every input value, in the model's space: scaled features, or pixel values in
[0, 1]); its standard deviation can be changed to see how far the model's cleaning carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import InputError, LimitError
from explorer.sampling import sample_rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult
    from explorer.reducers.base import Reducer

MAX_DENOISE_ROWS = 5000  # rows one call corrupts and reconstructs (a seeded sample of them beyond this)
MAX_NOISE = 10.0  # the largest noise std accepted (in the model's units; 10 std of a scaled feature)


def training_noise(reducer: Reducer | None) -> float:
    """The std of the input noise a DAE was trained with; InputError for any other model."""
    kind = reducer.kind if reducer is not None else "none"
    if reducer is None or kind != "dae":
        raise InputError(
            f"only a denoising autoencoder (dae) is trained with input noise; this model is '{kind}'. "
            "Give the noise level to use, or train a dae."
        )
    return float(reducer.config_.noise)  # type: ignore[attr-defined]  # a dae is an Autoencoder: it has config_


def add_noise(X: np.ndarray, noise: float, seed: int = 0) -> np.ndarray:
    """X (n, d) plus Gaussian noise of std ``noise`` on every value, as the DAE's training adds it
    (no clipping: the model saw unclipped inputs): (n, d) float32."""
    noise = _check_noise(noise)
    X = np.asarray(X, np.float32)
    rng = np.random.default_rng(seed)
    return (X + noise * rng.standard_normal(X.shape, dtype=np.float32)).astype(np.float32)


def _check_noise(noise: object) -> float:
    from explorer.validation import is_real

    if not is_real(noise) or not np.isfinite(float(noise)) or float(noise) < 0:
        raise InputError(f"the noise level must be a number >= 0 (the std of the added noise), got {noise!r}.")
    if float(noise) > MAX_NOISE:
        raise LimitError(f"the noise level {float(noise):g} is above the cap of {MAX_NOISE:g}; choose a smaller one.")
    return float(noise)


@dataclass
class Denoised:
    """Clean rows, the same rows with noise added, and the model's reconstruction of the noisy ones.

    rows: (m,) int64 indices into the run's data; clean, noisy, denoised: (m, d) float32 in the model's
    space; reconstructed: the model's reconstruction of the clean rows (what it loses without any noise);
    noise: the std used.
    """

    rows: np.ndarray
    clean: np.ndarray
    noisy: np.ndarray
    denoised: np.ndarray
    reconstructed: np.ndarray
    noise: float

    def errors(self) -> dict[str, float]:
        """Mean squared error against the clean rows: "noisy" (the noise itself), "denoised" (the model
        on the noisy rows) and "reconstruction" (the model on the clean rows: its floor)."""
        return {
            "noisy": float(np.mean((self.noisy - self.clean) ** 2)),
            "denoised": float(np.mean((self.denoised - self.clean) ** 2)),
            "reconstruction": float(np.mean((self.reconstructed - self.clean) ** 2)),
        }


def denoise(run: RunResult, rows: np.ndarray | None = None, noise: float | None = None, seed: int = 0) -> Denoised:
    """Add noise to rows ``rows`` of the run's data (default: all, or a seeded sample of
    ``MAX_DENOISE_ROWS``) and reconstruct them with the run's model.

    ``noise`` defaults to the DAE's training noise; for another model it must be given (any model that
    reconstructs can be compared this way, though only a DAE was trained for it).
    """
    if run.reducer is None:
        raise InputError(
            "this run has no model (the features were used as they are), so nothing can denoise; "
            "train a denoising autoencoder (dae)."
        )
    level = training_noise(run.reducer) if noise is None else _check_noise(noise)
    n = run.dataset.n
    index = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64).ravel()
    if len(index) == 0:
        raise InputError("no rows were chosen to denoise.")
    if index.min() < 0 or index.max() >= n:
        raise InputError(f"row indices must be in 0..{n - 1}.")
    index = sample_rows(index, MAX_DENOISE_ROWS, seed)
    clean = np.asarray(run.dataset.X[index], np.float32)
    noisy = add_noise(clean, level, seed)
    return Denoised(index, clean, noisy, run.reducer.reconstruct(noisy), run.reducer.reconstruct(clean), level)


def column_errors(result: Denoised, feature_names: list[str]) -> pd.DataFrame:
    """Per feature, the mean squared error against the clean values before denoising (``noisy``: the
    noise itself) and after (``denoised``: the model's reconstruction of the noisy rows), and the share
    of the error removed (``removed``, 1 - denoised / noisy; negative where the model adds error), and
    the model's error on the clean rows (``reconstruction``: what it loses with no noise at all).
    Columns: feature, noisy, denoised, removed, reconstruction; sorted by ``denoised``, largest first."""
    import pandas as pd

    before = np.mean((result.noisy - result.clean) ** 2, axis=0).astype(np.float64)
    after = np.mean((result.denoised - result.clean) ** 2, axis=0).astype(np.float64)
    removed = np.where(before > 0, 1.0 - after / np.where(before > 0, before, 1.0), np.nan)
    floor = np.mean((result.reconstructed - result.clean) ** 2, axis=0).astype(np.float64)
    frame = pd.DataFrame(
        {
            "feature": list(feature_names),
            "noisy": before,
            "denoised": after,
            "removed": removed,
            "reconstruction": floor,
        }
    )
    return frame.sort_values("denoised", ascending=False, kind="stable").reset_index(drop=True)
