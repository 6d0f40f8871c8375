"""Which columns of a table can tell groups apart: those related to at least one other column.

A column that shares nothing with any other column (pure noise: a random ID-like number, a lucky
number, a coin flip) cannot mark a group that shows in the rest of the data, but it still pulls
clusterings: k-means happily cuts a large segment in two along a flat noise column, and the cut is
stable, so it also fools a stability sweep (measured on the planted tables, docs/BENCHMARKS.md). Such
columns are left out of the "mixture" clustering and the table map, and the run says which.

Relatedness of a column: the largest absolute Pearson correlation between any of its encoded columns
(the number, or its category's indicators) and any encoded column of another column, on a seeded
sample of rows. Groups that differ in means or level shares make their columns correlate; noise
columns stay at sampling noise (about 3 / sqrt(rows)).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

RELATED = 0.1  # a column whose largest |correlation| with every other column is below this is noise
RELEVANCE_SAMPLE = 5000


def column_units(d: int, groups: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The columns of an encoded table as units: one per number, one per categorical group."""
    in_group = np.zeros(d, bool)
    units = []
    for g in groups:
        in_group[np.asarray(g, np.int64)] = True
    for j in range(d):
        if not in_group[j]:
            units.append(np.array([j]))
    units.extend(np.asarray(g, np.int64) for g in groups)
    return sorted(units, key=lambda u: int(u.min()))


def unrelated_units(Z: np.ndarray, groups: Sequence[np.ndarray] = (), *, random_state: int | None = 0,
                    threshold: float = RELATED, sample_size: int = RELEVANCE_SAMPLE) -> list[np.ndarray]:
    """The units (see :func:`column_units`) of Z (n, d) unrelated to every other unit; never all of them,
    and nothing when there are fewer than three units."""
    units = column_units(Z.shape[1], groups)
    if len(units) < 3:
        return []
    n = len(Z)
    rows = np.random.default_rng(random_state).choice(n, sample_size, replace=False) if n > sample_size else np.arange(n)
    S = Z[rows].astype(np.float64)
    sd = S.std(axis=0)
    ok = sd > 0
    C = np.zeros((Z.shape[1], Z.shape[1]))
    if ok.sum() >= 2:
        C[np.ix_(ok, ok)] = np.abs(np.corrcoef(S[:, ok], rowvar=False))
    owner = np.empty(Z.shape[1], np.int64)
    for u, cols in enumerate(units):
        owner[cols] = u
    strength = np.zeros(len(units))
    for u, cols in enumerate(units):
        others = owner != u
        strength[u] = C[np.ix_(cols, np.flatnonzero(others))].max() if others.any() else 1.0
    noise = [units[u] for u in range(len(units)) if strength[u] < threshold]
    return [] if len(noise) >= len(units) - 1 else noise
