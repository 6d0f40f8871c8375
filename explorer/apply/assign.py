"""Assign new rows to a saved run's clusters and place them on its map, from arrays saved with the run.

What each method keeps (``assign.npz``, numeric arrays only, never pickled):

- k-means (and "mixture" when it kept the k-means partition): the centres; a new row joins the
  nearest centre (exactly k-means' own predict).
- GMM: weights, means and covariances (``gmm_*``) in the latent space; the posterior of each component.
- mixture: the :class:`~explorer.cluster.mixture.MixedMixture` parameters (weights, means, covariances, one
  level-probability table per categorical column, the one-hot columns of each) and its posterior.
- n2d: the GMM in n2d's UMAP space. A UMAP cannot be saved without pickling, so a new row's position
  in that space is the distance-weighted mean of the positions of its ``k`` nearest training rows in
  the latent space (:func:`place`); the saved GMM then gives its posterior.
- DEC / IDEC: the cluster centres in the (refined) latent space and DEC's Student-t soft assignment.
- HDBSCAN, agglomerative (no rule for a new point): the vote of the ``k`` nearest training rows in the
  latent space; the share of the vote is the confidence; HDBSCAN's noise wins when most neighbours are noise.

The GMM and mixture parameters are one M-step from the saved soft assignments (the responsibilities
the fit ended with), so they are the fitted model to EM's tolerance; this also lets runs saved before
``assign.npz`` existed be applied (computed on load, said so).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.errors import InputError

ASSIGN_FILE = "assign.npz"
PLACE_NEIGHBORS = 10  # training rows that place a new row on the map (and in n2d's space)
VOTE_NEIGHBORS = 15  # training rows that vote for HDBSCAN / agglomerative
GMM_REG_COVAR = 1e-6  # scikit-learn's default, which explorer's GMMs use


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
    """The arrays :func:`assign` needs, computed from a RunResult (saved as ``assign.npz``)."""
    c = result.clusters
    out: dict[str, np.ndarray] = {"method_code": np.array([_METHOD_CODES.get(c.method, -1)], np.int64)}
    if c.centers is not None:
        out["centers"] = np.asarray(c.centers, np.float32)
    if c.proba is None:
        return out
    if c.method in ("gmm", "n2d"):
        space = result.Z if c.method == "gmm" else c.embedding
        if space is None:
            return out
        cov_type = result.config.cluster.covariance_type if c.method == "gmm" else "full"
        w, means, cov = _gmm_m_step(np.asarray(space, np.float64), np.asarray(c.proba, np.float64), cov_type)
        out.update(gmm_weights=w, gmm_means=means, gmm_covariances=cov,
                   gmm_type=np.array([_COV_TYPES.index(cov_type)], np.int64))
    elif c.method == "mixture":
        from explorer.cluster.mixture import MixedMixture

        groups = result.dataset.categorical_groups() if result.reducer is None else []
        model = MixedMixture(c.k, groups)
        N, codes = model._split(np.asarray(result.Z, np.float64))
        model._m_step(N, codes, np.asarray(c.proba, np.float64))
        out.update(mix_weights=model.weights_, mix_means=model.means_, mix_covariances=model.covariances_,
                   mix_n_groups=np.array([len(groups)], np.int64))
        for i, (g, probs) in enumerate(zip(groups, model.level_probs_)):
            out[f"mix_group_{i}"] = np.asarray(g, np.int64)
            out[f"mix_levels_{i}"] = probs
    return out


_METHOD_CODES = {m: i for i, m in enumerate(("kmeans", "gmm", "mixture", "hdbscan", "agglomerative", "n2d", "dec", "idec"))}
_COV_TYPES = ("full", "diag", "tied", "spherical")


def _gmm_m_step(X: np.ndarray, R: np.ndarray, cov_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

    nk, means, cov = _estimate_gaussian_parameters(X, R, GMM_REG_COVAR, cov_type)
    return nk / len(X), means, cov


def _gmm_proba(X: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
    from sklearn.mixture import GaussianMixture
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

    cov_type = _COV_TYPES[int(arrays["gmm_type"][0])]
    gm = GaussianMixture(len(arrays["gmm_weights"]), covariance_type=cov_type)
    gm.weights_, gm.means_, gm.covariances_ = arrays["gmm_weights"], arrays["gmm_means"], arrays["gmm_covariances"]
    gm.precisions_cholesky_ = _compute_precision_cholesky(gm.covariances_, cov_type)
    gm.n_features_in_ = gm.means_.shape[1]
    return gm.predict_proba(np.asarray(X, np.float64)).astype(np.float32)


def _mixture_proba(Z: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
    from explorer.cluster.mixture import MixedMixture

    n_groups = int(arrays["mix_n_groups"][0])
    groups = [arrays[f"mix_group_{i}"] for i in range(n_groups)]
    model = MixedMixture(len(arrays["mix_weights"]), groups)
    model.weights_, model.means_, model.covariances_ = arrays["mix_weights"], arrays["mix_means"], arrays["mix_covariances"]
    model.level_probs_ = [arrays[f"mix_levels_{i}"] for i in range(n_groups)]
    if groups:
        # a row whose level is unseen (all indicators 0) reads as level 0 in argmax: give such rows
        # no categorical evidence (uniform over levels) instead
        from scipy.special import logsumexp

        N, codes = model._split(np.asarray(Z, np.float64))
        log_p = model._log_resp(N, codes)
        for g, probs, c in zip(groups, model.level_probs_, codes):
            none = np.asarray(Z)[:, g].max(axis=1) <= 0
            if none.any():
                log_p[none] -= np.log(probs[:, c[none]]).T
        return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True)).astype(np.float32)
    return model.predict_proba(Z)


def neighbors(Z_train: np.ndarray, Z_new: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(distances (m, k), indices (m, k)) of each new row's ``k`` nearest training rows in the latent space."""
    from sklearn.neighbors import NearestNeighbors

    k = int(min(k, len(Z_train)))
    nn = NearestNeighbors(n_neighbors=k).fit(np.asarray(Z_train, np.float32))
    dist, idx = nn.kneighbors(np.asarray(Z_new, np.float32))
    return dist, idx


def place(values: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Distance-weighted mean (weights 1/d) of the training ``values`` (n, q) at ``idx`` (m, k): a new
    row's position in a space only the training rows have (the map, n2d's UMAP space). A row at
    distance 0 from training rows takes their mean exactly, so a training row lands on itself."""
    dist = np.asarray(dist, np.float64)
    exact = dist <= 1e-12 * max(1.0, float(np.median(dist)) if dist.size else 1.0)
    w = np.where(exact.any(axis=1, keepdims=True), exact.astype(np.float64), 1.0 / np.maximum(dist, 1e-300))
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("mk,mkq->mq", w, np.asarray(values, np.float64)[idx]).astype(np.float32)


def assign(result: Any, arrays: dict[str, np.ndarray], Z_new: np.ndarray,
           nn: tuple[np.ndarray, np.ndarray]) -> Assignment:
    """New rows' latent codes ``Z_new`` (m, latent) -> their :class:`Assignment` to ``result``'s clusters.
    ``nn``: their nearest training rows (:func:`neighbors`, ``PLACE_NEIGHBORS`` of them)."""
    from explorer.explain.members import membership

    c = result.clusters
    method = c.method
    k_ids = list(range(c.k))
    proba = space = None
    if method == "n2d" and "gmm_weights" in arrays and c.embedding is not None:
        space = place(c.embedding, *nn)
        proba = _gmm_proba(space, arrays)
        how = (f"placed in N2D's UMAP space as the distance-weighted mean of its {nn[1].shape[1]} nearest training rows "
               "in the latent space, then the saved Gaussian mixture")
    elif method == "gmm" and "gmm_weights" in arrays:
        proba, how = _gmm_proba(Z_new, arrays), "the saved Gaussian mixture's posterior in the latent space"
    elif method == "mixture" and "mix_weights" in arrays:
        proba, how = _mixture_proba(Z_new, arrays), "the saved mixture for numbers and categories"
    elif method in ("dec", "idec") and "centers" in arrays:
        d2 = _sq_distances(Z_new, arrays["centers"])
        q = 1.0 / (1.0 + d2)
        proba, how = (q / q.sum(axis=1, keepdims=True)).astype(np.float32), "DEC's soft assignment to the saved centres"
    elif method in ("kmeans", "mixture") and "centers" in arrays:
        labels = _sq_distances(Z_new, arrays["centers"]).argmin(axis=1).astype(np.int64)
        m = membership(Z_new, labels, arrays["centers"], None, k_ids)
        return Assignment(labels, m.margin.copy(), m.runner_up, m.margin, None, None, "the nearest saved centre")
    elif method in ("hdbscan", "agglomerative"):
        return _vote(result, Z_new)
    else:
        raise InputError(f"this run's clustering ({method}) has no saved parameters to assign new rows with; "
                         "make the run again with this explorer.")
    labels = proba.argmax(axis=1).astype(np.int64)
    m = membership(Z_new, labels, arrays.get("centers"), proba, k_ids)
    return Assignment(labels, proba.max(axis=1).astype(np.float32), m.runner_up, m.margin, proba, space, how)


def _vote(result: Any, Z_new: np.ndarray) -> Assignment:
    _, idx = neighbors(result.Z, Z_new, VOTE_NEIGHBORS)
    votes = result.clusters.labels[idx]  # (m, k), -1 is noise
    ks = np.arange(-1, result.clusters.k)
    counts = np.stack([(votes == c).sum(axis=1) for c in ks], axis=1)
    order = np.argsort(-counts, axis=1, kind="stable")
    labels = ks[order[:, 0]]
    share = counts[np.arange(len(votes)), order[:, 0]] / votes.shape[1]
    second = ks[order[:, 1]] if len(ks) > 1 else np.full(len(votes), -1)
    second_share = counts[np.arange(len(votes)), order[:, 1]] / votes.shape[1] if len(ks) > 1 else np.zeros(len(votes))
    runner = np.where(second_share > 0, second, -1)
    return Assignment(labels.astype(np.int64), share.astype(np.float32), runner.astype(np.int64),
                      (share - second_share).astype(np.float32), None, None,
                      f"the vote of the {votes.shape[1]} nearest training rows in the latent space")


def _sq_distances(Z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    Z = np.asarray(Z, np.float64)
    C = np.nan_to_num(np.asarray(centers, np.float64), nan=np.inf)
    d2 = (Z ** 2).sum(1)[:, None] - 2 * Z @ np.where(np.isfinite(C), C, 0).T + (np.where(np.isfinite(C), C, 0) ** 2).sum(1)[None]
    d2[:, ~np.isfinite(C).all(axis=1)] = np.inf
    return np.maximum(d2, 0)


def anomaly(result: Any, X_new: np.ndarray, Z_new: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(m,) float32 anomaly scores on the run's own scale: the model's reconstruction error, or without a
    model the squared distance to the row's cluster centre (the mean of the cluster's training rows)."""
    if result.reducer is not None:
        return np.asarray(result.reducer.score_samples(X_new), np.float32)
    train = result.clusters.labels
    ks = list(range(result.clusters.k))
    centers = np.stack([result.Z[train == c].mean(0) if (train == c).any() else np.full(result.Z.shape[1], np.nan)
                        for c in ks]) if ks else result.Z.mean(0, keepdims=True)
    d2 = _sq_distances(Z_new, centers)
    own = np.where(labels >= 0, labels, d2.argmin(axis=1))
    return d2[np.arange(len(Z_new)), own].astype(np.float32)
