"""Assign new rows to a saved run's clusters and place them on its map, from arrays saved with the run.

Each clustering method keeps, at fit time, the state that assigns new rows, and assigns them from it
alone (:mod:`explorer.cluster.registry`; as hdbscan's ``PredictionData``). ``assign.npz`` holds it:
numeric arrays only, never pickled, with ``assign_format`` and the cluster ``centers``:

- k-means (and "mixture" when it kept the k-means partition): the centres; a new row joins the
  nearest centre (exactly k-means' own predict).
- GMM: the fitted mixture's weights, means and precision Cholesky factors (``gmm_*``) in the latent
  space; the posterior of each component.
- mixture: the :class:`~explorer.cluster.mixture.MixedMixture` parameters (weights, means, covariances, one
  level-probability table per categorical column, the one-hot columns of each) and its posterior.
- n2d: the GMM in n2d's UMAP space. A UMAP cannot be saved without pickling, so a new row's position
  in that space is the distance-weighted mean of the positions of its nearest training rows in the
  latent space (:func:`explorer.neighbors.place`); the saved GMM then gives its posterior.
- DEC / IDEC: the cluster centres in the (refined) latent space and DEC's Student-t soft assignment.
- HDBSCAN, agglomerative (no rule for a new point): the distance-weighted vote of the nearest training
  rows in the latent space (:func:`explorer.neighbors.vote_shares`); the share of the vote is the
  confidence; HDBSCAN's noise wins when most of the vote is noise.

The nearest training rows (:func:`nearest_training_rows`) and what they give (a place, a vote) follow
the one rule of :mod:`explorer.neighbors`, the rule a large run places its own unfitted rows by.

Runs saved before the state was the methods' own (no ``assign_format``: their GMM as covariances) are
read into the same state on load (:func:`upgrade_arrays`), so they assign as they did; a run saved
before ``assign.npz`` existed has its state rebuilt from its soft assignments (one M-step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.cluster.predict import precision_cholesky
from explorer.cluster.registry import spec
from explorer.cluster.types import COVARIANCE_TYPES
from explorer.errors import InputError
from explorer.neighbors import Search, place, vote_shares

ASSIGN_FILE = "assign.npz"
ASSIGN_FORMAT = 2  # assign.npz: 2 holds each method's own state; 1 (no "assign_format") a GMM's covariances


@dataclass
class Assignment:
    """Per new row (m,): the cluster (-1 noise), confidence in [0, 1], runner-up (-1 none), margin in
    [0, 1]; ``proba`` (m, k) when the method has soft assignments; ``how``: the rule, in words."""

    labels: np.ndarray
    confidence: np.ndarray
    runner_up: np.ndarray
    margin: np.ndarray
    proba: np.ndarray | None
    space: np.ndarray | None  # n2d: the rows' positions in its UMAP space
    how: str


def assignment_arrays(result: Any) -> dict[str, np.ndarray]:
    """The arrays :func:`assign` needs, from a RunResult (saved as ``assign.npz``): the clustering method's
    state (its fitted model's own, kept by the fit; rebuilt from the result where it kept none)."""
    c = result.clusters
    out: dict[str, np.ndarray] = {"assign_format": np.array([ASSIGN_FORMAT], np.int64)}
    if c.centers is not None:
        out["centers"] = np.asarray(c.centers, np.float32)
    method = spec(c.method)
    if method.assign_state is not None:
        groups = result.dataset.categorical_groups() if result.reducer is None else []
        out.update(method.assign_state(c, result.Z, result.config.cluster, groups))
    return out


def upgrade_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``assign.npz`` as saved before ``ASSIGN_FORMAT`` 2 -> the same state in format 2 (the same
    assignments): a GMM's covariances become its precision Cholesky factors; the rest reads as it was."""
    if "assign_format" in arrays:
        return arrays
    out = {k: v for k, v in arrays.items() if k not in ("method_code", "gmm_covariances")}
    if "gmm_covariances" in arrays:
        kind = COVARIANCE_TYPES[int(arrays["gmm_type"][0])]
        out["gmm_precisions_cholesky"] = precision_cholesky(arrays["gmm_covariances"], kind)
    out["assign_format"] = np.array([ASSIGN_FORMAT], np.int64)
    return out


def nearest_training_rows(result: Any, Z_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices into the run's rows, distances), each (m, ``PLACE_NEIGHBORS``), of each new row's nearest
    training rows in the latent space ``Z_new`` (m, latent). They are sought among the rows the run fitted
    on (every row, unless it sampled: its fitted sample), by the search the run placed its own other rows
    with (:class:`explorer.neighbors.Search`), so a new row is placed and voted for as the run's placed
    rows were, and a training row finds itself at distance 0."""
    fitted = getattr(result, "fitted", None)
    rows = np.arange(len(result.Z)) if fitted is None else np.flatnonzero(fitted)
    idx, dist = Search(np.asarray(result.Z)[rows]).query(Z_new)
    return rows[idx], dist


def assign(
    result: Any, arrays: dict[str, np.ndarray], Z_new: np.ndarray, nn: tuple[np.ndarray, np.ndarray]
) -> Assignment:
    """New rows' latent codes ``Z_new`` (m, latent) -> their :class:`Assignment` to ``result``'s clusters,
    by the clustering method's rule on its saved state ``arrays`` (:func:`assignment_arrays`).
    ``nn``: their nearest training rows, (indices, distances) from :func:`nearest_training_rows`."""
    from explorer.explain.members import membership

    c = result.clusters
    method = spec(c.method)
    k_ids = list(range(c.k))
    if method.assign is None or "curated" in c.info:  # no rule for a new point (curated: no method made these)
        return _vote(result, nn)
    state = upgrade_arrays(arrays)
    space = None
    try:
        if method.embeds:
            if c.embedding is None:
                raise KeyError("embedding")
            space = place(c.embedding, *nn)
            labels, proba, how = method.assign(state, space)
            how = (
                f"placed in {method.short}'s UMAP space as the distance-weighted mean of its {nn[1].shape[1]} "
                f"nearest training rows in the latent space, then {how}"
            )
        else:
            labels, proba, how = method.assign(state, Z_new)
    except KeyError:
        raise InputError(
            f"this run's clustering ({c.method}) has no saved parameters to assign new rows with; "
            "make the run again with this explorer."
        ) from None
    m = membership(Z_new, labels, arrays.get("centers"), proba, k_ids)
    if proba is None:
        return Assignment(labels, m.margin.copy(), m.runner_up, m.margin, None, None, how)
    return Assignment(labels, proba.max(axis=1).astype(np.float32), m.runner_up, m.margin, proba, space, how)


def _vote(result: Any, nn: tuple[np.ndarray, np.ndarray]) -> Assignment:
    """The weighted vote of the nearest training rows (the rule of :func:`explorer.neighbors.vote`, which a
    large run's placed rows take): the winner (ties to the lowest cluster, noise last), its share as the
    confidence, the runner-up (-1: none, or noise) and the margin between their shares."""
    idx, dist = nn
    k = result.clusters.k
    shares = vote_shares(result.clusters.labels, idx, dist, k)  # (m, k + 1): the clusters, then noise
    ids = np.append(np.arange(k), -1)
    order = np.argsort(-shares, axis=1, kind="stable")
    rows = np.arange(len(idx))
    first = shares[rows, order[:, 0]]
    second = shares[rows, order[:, 1]] if k > 0 else np.zeros(len(idx))
    runner = np.where(second > 0, ids[order[:, 1]], -1) if k > 0 else np.full(len(idx), -1)
    return Assignment(
        ids[order[:, 0]].astype(np.int64),
        first.astype(np.float32),
        runner.astype(np.int64),
        (first - second).astype(np.float32),
        None,
        None,
        f"the distance-weighted vote of the {idx.shape[1]} nearest training rows in the latent space",
    )
