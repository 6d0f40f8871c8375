"""Scaling columns of numbers: the one place its maths lives (tables, arrays and vectors all use it).

Every scaling is ``(x / peak - center) / scale`` per column, with parameters learned from the data
(:func:`fit_scaling`) and applied by :func:`apply_scaling`; the table encoder keeps them to scale new
rows exactly as the training rows were. Columns are first divided by their largest absolute value
(``peak``) so that squaring very large values cannot overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.data.words import plural
from explorer.errors import InputError

SCALINGS = ("auto", "standard", "minmax", "none")
SCALE_BLOCK_COLUMNS = 64  # columns scaled at a time by scale_to_float32 (its float64 working copy)


@dataclass(frozen=True)
class ScalingParams:
    """Per column (d,): ``out = (x / peak - center) / scale``; columns where ``constant`` is True are 0."""

    peak: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    constant: np.ndarray


def shares_one_range(X: np.ndarray, tol: float = 0.01) -> bool:
    """True when the columns of X (n, d >= 2) are measured on one scale: every non-constant column
    spans the same [min, max] (within ``tol`` of that span), as pen coordinates in 0..100, pixel
    intensities or answers on one 1-5 scale do. Their relative spread then carries meaning."""
    if X.ndim != 2 or X.shape[1] < 2 or len(X) < 2:
        return False
    return ranges_shared(X.min(axis=0), X.max(axis=0), tol)


def ranges_shared(lo: np.ndarray, hi: np.ndarray, tol: float = 0.01) -> bool:
    """:func:`shares_one_range` from the columns' minima and maxima (d,) alone (the table encoder
    knows them before it builds X)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    varying = hi > lo
    if varying.sum() < 2:
        return False
    glo, ghi = lo[varying].min(), hi[varying].max()
    span = ghi - glo
    return bool(np.all(np.abs(lo[varying] - glo) <= tol * span) and np.all(np.abs(hi[varying] - ghi) <= tol * span))


def resolve_scaling(X: np.ndarray, how: str) -> str:
    """The scaling ``how`` means for this X: "auto" becomes "shared" when the columns share one range
    (:func:`shares_one_range`), else "standard"; the others are returned as they are."""
    if how == "auto":
        return "shared" if shares_one_range(X) else "standard"
    return how


def fit_scaling(X: np.ndarray, how: str) -> ScalingParams:
    """The parameters (d,) of scaling ``how`` for the columns of X (n, d): "standard" (mean 0, std 1),
    "minmax" ([0, 1] per column), "shared" (one [min, max] for all columns mapped to [0, 1], keeping
    their relative spread; constant columns 0), "auto" (:func:`resolve_scaling`) or "none"."""
    how = resolve_scaling(X, how)
    d = X.shape[1]
    ones, zeros = np.ones(d), np.zeros(d)
    if how == "none":
        return ScalingParams(ones, zeros, ones, np.zeros(d, bool))
    if how == "shared":
        lo, hi = (float(X.min()), float(X.max())) if X.size else (0.0, 1.0)
        constant = X.min(axis=0) == X.max(axis=0) if len(X) else np.zeros(d, bool)
        return ScalingParams(ones, np.full(d, lo), np.full(d, hi - lo if hi > lo else 1.0), constant)
    if how not in ("standard", "minmax"):
        raise InputError(f"scaling '{how}' is not known; choose one of: {', '.join(SCALINGS)}.")
    peak = np.max(np.abs(X), axis=0) if len(X) else np.ones(d)
    peak[peak == 0] = 1.0
    Z = X / peak
    if how == "standard":
        center, scale = Z.mean(axis=0), Z.std(axis=0)
    else:
        center = Z.min(axis=0)
        scale = Z.max(axis=0) - center
    scale[scale == 0] = 1.0
    return ScalingParams(peak, center, scale, np.zeros(d, bool))


def apply_scaling(X: np.ndarray, params: ScalingParams) -> np.ndarray:
    """X (n, d) float64 scaled by ``params`` (of d columns), as a new array."""
    out = (X / params.peak - params.center) / params.scale
    out[:, params.constant] = 0.0
    return out


def scale_features(X: np.ndarray, how: str) -> np.ndarray:
    """Scale the columns of X (n, d) float64 as ``how`` says (see :func:`fit_scaling`); "none" gives X
    back as it is."""
    how = resolve_scaling(X, how)
    if how == "none":
        return X
    return apply_scaling(X, fit_scaling(X, how))


def scale_to_float32(A: np.ndarray, how: str) -> np.ndarray:
    """:func:`scale_features` of A (n, d) as a new float32 array, worked out a block of
    :data:`SCALE_BLOCK_COLUMNS` columns at a time in float64: the same values, without a float64 copy
    of all of A (or three, for "standard"). ``how`` is resolved on A first ("auto")."""
    how = resolve_scaling(A, how)
    out = np.empty(A.shape, dtype=np.float32)
    shared = fit_scaling(A, "shared") if how == "shared" else None  # one range for all columns
    for start in range(0, A.shape[1], SCALE_BLOCK_COLUMNS):
        block = A[:, start : start + SCALE_BLOCK_COLUMNS].astype(np.float64)
        if how == "none":
            out[:, start : start + SCALE_BLOCK_COLUMNS] = block
            continue
        cols = slice(start, start + block.shape[1])
        params = (
            ScalingParams(shared.peak[cols], shared.center[cols], shared.scale[cols], shared.constant[cols])
            if shared is not None
            else fit_scaling(block, how)
        )
        out[:, start : start + SCALE_BLOCK_COLUMNS] = apply_scaling(block, params)
    return out


def scaling_sentence(how: str, d: int, what: str = "feature") -> str:
    """The report's sentence for scaling ``d`` columns called ``what`` ("feature", "numeric feature")."""
    if how == "shared":
        return (
            f"The {plural(d, what)} share one range, so they were scaled together to 0 to 1 "
            "(their relative spread is kept)."
        )
    if how == "standard":
        return f"Scaled the {plural(d, what)} to mean 0 and standard deviation 1."
    if how == "minmax":
        return f"Scaled the {plural(d, what)} to the range 0 to 1."
    return "The features are used as they are (no scaling)."
