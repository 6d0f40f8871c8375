"""The maths that assign new rows from a method's saved arrays: the nearest centre, DEC's Student-t
kernel, a Gaussian mixture's posterior; and the Gaussian M-step that rebuilds a mixture's parameters
from soft assignments where a result kept none. numpy / scipy only: no estimator is rebuilt, so a
scikit-learn upgrade cannot change how a saved run assigns.

A Gaussian mixture is kept as scikit-learn keeps a fitted one (its public ``weights_``, ``means_``,
``precisions_cholesky_``): ``gmm_weights`` (k,), ``gmm_means`` (k, d), ``gmm_precisions_cholesky``
((k, d, d) full, (d, d) tied, (k, d) diag, (k,) spherical) and ``gmm_type`` (the index of the
covariance type in ``COVARIANCE_TYPES``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.cluster.types import COVARIANCE_TYPES

GMM_REG_COVAR = 1e-6  # scikit-learn's default, which explorer's GMMs use


def sq_distances(Z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(m, k) float64 squared distances of rows Z (m, d) to ``centers`` (k, d); inf to a NaN (empty) centre."""
    Z = np.asarray(Z, np.float64)
    C = np.asarray(centers, np.float64)
    finite = np.asarray(np.isfinite(C).all(axis=1))  # (k,) bool
    C0 = np.where(finite[:, None], C, 0.0)
    d2 = (Z**2).sum(1)[:, None] - 2 * Z @ C0.T + (C0**2).sum(1)[None]
    d2[:, ~finite] = np.inf
    return np.maximum(d2, 0)


def nearest_centre(centers: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """(m,) int64: the nearest of ``centers`` (k, d) to each row of Z (m, d) (k-means' own predict)."""
    return sq_distances(Z, centers).argmin(axis=1).astype(np.int64)


def student_t(centers: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """(m, k) float32: DEC's soft assignment q_ij = (1 + |z_i - mu_j|^2)^-1, normalised per row."""
    q = 1.0 / (1.0 + sq_distances(Z, centers))
    return (q / q.sum(axis=1, keepdims=True)).astype(np.float32)


def gaussian_state(
    weights: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray, covariance_type: str
) -> dict[str, np.ndarray]:
    """The arrays that keep a Gaussian mixture (float64), named as :func:`gaussian_posterior` reads them."""
    return {
        "gmm_weights": np.asarray(weights, np.float64),
        "gmm_means": np.asarray(means, np.float64),
        "gmm_precisions_cholesky": np.asarray(precisions_cholesky, np.float64),
        "gmm_type": np.array([COVARIANCE_TYPES.index(covariance_type)], np.int64),
    }


def fitted_gaussian_state(gm: Any) -> dict[str, np.ndarray]:
    """:func:`gaussian_state` of a fitted ``sklearn.mixture.GaussianMixture`` (its public fitted attributes)."""
    return gaussian_state(gm.weights_, gm.means_, gm.precisions_cholesky_, gm.covariance_type)


def gaussian_m_step(
    X: np.ndarray, R: np.ndarray, covariance_type: str, reg_covar: float = GMM_REG_COVAR
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights (k,), means (k, d), covariances) of the Gaussian mixture whose soft assignments of X (n, d)
    are R (n, k): one M-step, the covariances shaped as ``precision_cholesky`` takes them."""
    X, R = np.asarray(X, np.float64), np.asarray(R, np.float64)
    nk = R.sum(axis=0) + 10 * np.finfo(R.dtype).eps
    means = R.T @ X / nk[:, None]
    if covariance_type == "full":
        cov = np.empty((len(nk), X.shape[1], X.shape[1]))
        for j in range(len(nk)):
            diff = X - means[j]
            cov[j] = (R[:, j, None] * diff).T @ diff / nk[j]
            cov[j].flat[:: X.shape[1] + 1] += reg_covar
    elif covariance_type == "tied":
        cov = (X.T @ X - (nk * means.T) @ means) / nk.sum()
        cov.flat[:: X.shape[1] + 1] += reg_covar
    else:
        diag = R.T @ (X * X) / nk[:, None] - means**2 + reg_covar
        cov = diag if covariance_type == "diag" else diag.mean(axis=1)
    return nk / len(X), means, cov


def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """The Cholesky factors of the precisions (the inverse covariances), shaped as the covariances."""
    from scipy.linalg import cholesky, solve_triangular

    cov = np.asarray(covariances, np.float64)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / np.sqrt(cov)

    def one(c: np.ndarray) -> np.ndarray:
        return solve_triangular(cholesky(c, lower=True), np.eye(len(c)), lower=True).T

    return one(cov) if covariance_type == "tied" else np.stack([one(c) for c in cov])


def gaussian_posterior(state: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """(m, k) float32 posterior of each component for rows X (m, d), from :func:`gaussian_state`'s arrays."""
    from scipy.special import logsumexp

    X = np.asarray(X, np.float64)
    kind = COVARIANCE_TYPES[int(state["gmm_type"][0])]
    means, prec = state["gmm_means"], state["gmm_precisions_cholesky"]
    k, d = means.shape
    if kind in ("full", "tied"):
        factors = np.broadcast_to(prec, (k, d, d)) if kind == "tied" else prec
        sq = np.stack([(((X - means[j]) @ factors[j]) ** 2).sum(axis=1) for j in range(k)], axis=1)
        log_det = np.array([np.log(np.diag(f)).sum() for f in factors])
    else:
        p = prec**2 if kind == "diag" else np.repeat((prec**2)[:, None], d, axis=1)  # (k, d) precisions
        sq = (means**2 * p).sum(1)[None] - 2 * X @ (means * p).T + (X**2) @ p.T
        log_det = np.log(prec).sum(axis=1) if kind == "diag" else d * np.log(prec)
    log_p = -0.5 * (d * np.log(2 * np.pi) + sq) + log_det + np.log(state["gmm_weights"])
    return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True)).astype(np.float32)
