"""One rule for "at most m rows, picked uniformly": every row when there are few enough, else a seeded
uniform sample without repeats, sorted (the rows keep their order, and the same seed gives the same rows)."""

from __future__ import annotations

import numpy as np


def sample_rows(rows: int | np.ndarray, at_most: int, seed: int | None = 0) -> np.ndarray:
    """Sorted row numbers: ``rows`` (a count n: the rows 0..n-1; or an array of row numbers) when there are at
    most ``at_most`` of them, else ``at_most`` of them drawn uniformly without repeats by
    ``np.random.default_rng(seed)``."""
    every = np.arange(rows) if isinstance(rows, (int, np.integer)) else np.asarray(rows)
    if len(every) <= at_most:
        return every
    return np.sort(every[np.random.default_rng(seed).choice(len(every), int(at_most), replace=False)])
