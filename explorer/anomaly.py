"""The anomaly score: how unlike a run's data a row is (higher: more unusual). One rule for the rows a
run is made on (:mod:`explorer.pipeline`) and for new rows applied to it (:mod:`explorer.apply`), so an
applied copy of a training row scores what the row scored.

With a model that reconstructs, its reconstruction error (the reducer's ``score_samples``). Without one (or
with an encoder that has no decoder, ``reconstructs`` False: the pretrained image encoder), the squared
distance in the latent space to the centre of the row's cluster, the centre being the mean of the
run's rows in that cluster; a noise row (-1), or a row given a cluster the run has no row in, is
measured to the nearest centre; in a run without clusters, to the mean of all its rows.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

PAIRWISE_MAX = 5e7  # elements of the (rows, clusters, dims) difference taken at once; above, a cluster at a time

__all__ = ["anomaly_scores"]


class RowScorer(Protocol):
    """What the score needs of a model: a per-row reconstruction error."""

    def score_samples(self, X: np.ndarray) -> np.ndarray: ...


def anomaly_scores(
    reducer: RowScorer | None,
    X: np.ndarray,
    Z: np.ndarray,
    labels: np.ndarray,
    Z_run: np.ndarray | None = None,
    labels_run: np.ndarray | None = None,
) -> np.ndarray:
    """(n,) float32 anomaly scores of rows with features ``X`` (n, features), latent codes ``Z`` (n, latent)
    and clusters ``labels`` (n,; -1 noise), on the run's scale: ``reducer.score_samples(X)`` when the run
    has a model, else the squared distance to the centre of each row's cluster. The centres are the
    means of the run's rows ``Z_run`` (r, latent) by their clusters ``labels_run`` (r,); by default the
    rows scored are the run's own (``Z``, ``labels``)."""
    if reducer is not None and getattr(reducer, "reconstructs", True):
        return np.asarray(reducer.score_samples(X), np.float32)
    Z_run = Z if Z_run is None else Z_run
    labels_run = labels if labels_run is None else labels_run
    ks = np.unique(labels_run[labels_run >= 0])
    if not len(ks):
        return np.sum((Z - Z_run.mean(0)) ** 2, axis=1).astype(np.float32)
    centers = np.stack([Z_run[labels_run == c].mean(0) for c in ks])
    if Z.size * len(ks) < PAIRWISE_MAX:
        d2 = ((Z[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    else:
        d2 = np.stack([((Z - c) ** 2).sum(1) for c in centers], axis=1)
    pos = np.minimum(np.searchsorted(ks, labels), len(ks) - 1)
    own = (labels >= 0) & (ks[pos] == labels)
    return np.where(own, d2[np.arange(len(Z)), pos], d2.min(1)).astype(np.float32)
