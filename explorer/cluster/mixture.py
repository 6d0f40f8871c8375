"""A mixture model for tables of numbers and categories (a latent class model with Gaussian numbers).

Each component has a full-covariance Gaussian over the numeric columns and, for every categorical
column, its own distribution over that column's levels; given the component, the categorical columns
and the numbers are independent. This is the model behind latent class analysis and its mixed-data
extensions (e.g. Hunt & Jorgensen 2003, "Mixture model clustering for mixed data"; Browne &
McNicholas 2012). Fitted by EM from a start partition (k-means on the same features), so it refines
a partition rather than searching from random starts; the clustering keeps the k-means partition when
the fitted mixture degenerates (an emptied cluster, or a component collapsed onto one value of some
columns: :mod:`explorer.cluster.methods`, method "mixture").

Categorical columns are given as groups of one-hot columns of X (:meth:`explorer.dataset.Dataset.
categorical_groups`); every other column is numeric.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer.errors import InputError
from explorer.validation import check_array

POINT_SHARE = 0.5  # a thin component whose rows hold one value in this share or more has collapsed onto it
FULL_COVARIANCE_MAX_DIM = 64  # more numeric columns than this get diagonal covariances (cost grows as d^2)


class MixedMixture:
    """EM for a mixture of (Gaussian numbers x categorical levels); scikit-learn's fit / predict shape.

    Args:
        n_components: k.
        groups: one index array per categorical column: the one-hot columns of X holding its levels.
        reg_covar: added to the covariances' diagonal (numbers are standardized, so 1e-3 of a variance).
        max_iter, tol: EM stops after ``max_iter`` steps or when the log-likelihood per row improves
            by less than ``tol``.
        alpha: pseudo-count added to every level's count (a rare level never gets probability 0).

    After ``fit``: ``weights_`` (k,), ``means_`` (k, p) and ``covariances_`` (k, p, p) or (k, p)
    over the p numeric columns, ``level_probs_`` (one (k, m) array per group), ``log_likelihood_``
    (total), ``n_iter_``, ``converged_``.
    """

    def __init__(
        self,
        n_components: int,
        groups: Sequence[np.ndarray] = (),
        *,
        reg_covar: float = 1e-3,
        max_iter: int = 200,
        tol: float = 1e-6,
        alpha: float = 1.0,
    ):
        self.n_components = n_components
        self.groups = groups
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha

    # -- data ----------------------------------------------------------------------------------------
    def _split(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(numeric part (n, p) float64, level codes (n,) int64 per group)."""
        cat_cols = (
            np.concatenate([np.asarray(g, np.int64) for g in self.groups])
            if len(self.groups)
            else np.zeros(0, np.int64)
        )
        if len(cat_cols) and (cat_cols.min() < 0 or cat_cols.max() >= X.shape[1]):
            raise InputError(f"categorical groups name columns outside X's {X.shape[1]} columns.")
        numeric = np.setdiff1d(np.arange(X.shape[1]), cat_cols)
        codes = [np.argmax(X[:, np.asarray(g, np.int64)], axis=1).astype(np.int64) for g in self.groups]
        return X[:, numeric].astype(np.float64), codes

    # -- EM ------------------------------------------------------------------------------------------
    def _log_resp(self, N: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
        """(n, k) log p(row, component)."""
        from scipy.linalg import solve_triangular

        k, n = self.n_components, len(N)
        out = np.tile(np.log(np.maximum(self.weights_, 1e-300)), (n, 1))
        p = N.shape[1]
        for j in range(k):
            if p == 0:
                break
            D = N - self.means_[j]
            if self.covariances_.ndim == 3:
                L = np.linalg.cholesky(self.covariances_[j])
                sol = solve_triangular(L, D.T, lower=True, check_finite=False)  # 3-4x np.linalg.solve's speed
                out[:, j] += (
                    -0.5 * np.einsum("ij,ij->j", sol, sol) - np.log(np.diag(L)).sum() - 0.5 * p * np.log(2 * np.pi)
                )
            else:
                var = self.covariances_[j]
                out[:, j] += -0.5 * np.sum(D * D / var + np.log(2 * np.pi * var), axis=1)
        for c, probs in zip(codes, self.level_probs_, strict=True):
            out += np.log(probs[:, c]).T
        return out

    def _m_step(self, N: np.ndarray, codes: list[np.ndarray], R: np.ndarray) -> None:
        n, k = R.shape
        nk = R.sum(axis=0) + 10 * np.finfo(float).eps
        self.weights_ = nk / n
        p = N.shape[1]
        self.means_ = (R.T @ N) / nk[:, None] if p else np.zeros((k, 0))
        if p and p <= FULL_COVARIANCE_MAX_DIM:
            cov = np.empty((k, p, p))
            for j in range(k):
                D = N - self.means_[j]
                cov[j] = (D * R[:, j, None]).T @ D / nk[j] + self.reg_covar * np.eye(p)
            self.covariances_ = cov
        else:
            self.covariances_ = (
                np.stack([(R[:, j] @ (N - self.means_[j]) ** 2) / nk[j] + self.reg_covar for j in range(k)])
                if p
                else np.zeros((k, 0))
            )
        self.level_probs_ = []
        for c, g in zip(codes, self.groups, strict=True):
            m = len(g)
            counts = R.T @ (c[:, None] == np.arange(m)).astype(np.float64)  # (k, m): each level's weight per component
            self.level_probs_.append((counts + self.alpha) / (counts.sum(axis=1, keepdims=True) + self.alpha * m))

    def fit(self, X: np.ndarray, init_labels: np.ndarray) -> MixedMixture:
        """Fit on X (n, d) starting from the partition ``init_labels`` (n,) in range(k)."""
        X = check_array(X, min_rows=2)
        k = int(self.n_components)
        init = np.asarray(init_labels, dtype=np.int64)
        if init.shape != (len(X),) or init.min() < 0 or init.max() >= k:
            raise InputError(f"init_labels must be {len(X)} cluster numbers in 0..{k - 1}.")
        N, codes = self._split(X)
        R = np.full((len(X), k), 0.02 / k)
        R[np.arange(len(X)), init] += 0.98
        previous, self.converged_ = -np.inf, False
        for it in range(1, int(self.max_iter) + 1):
            self._m_step(N, codes, R)
            log_p = self._log_resp(N, codes)
            top = log_p.max(axis=1, keepdims=True)  # logsumexp by hand: one exp for the sum and the responsibilities
            R = np.exp(log_p - top)
            mass = R.sum(axis=1)
            R /= mass[:, None]
            per_row = top[:, 0] + np.log(mass)
            total = float(per_row.sum())
            self.n_iter_ = it
            if (total - previous) / len(X) < self.tol:
                self.converged_ = True
                break
            previous = total
        self.log_likelihood_ = total
        self._resp = R
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, k) float32 posterior probabilities of the components."""
        from scipy.special import logsumexp

        N, codes = self._split(check_array(X))
        log_p = self._log_resp(N, codes)
        return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True)).astype(np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    # -- the state that assigns new rows -------------------------------------------------------------
    def from_responsibilities(self, X: np.ndarray, R: np.ndarray) -> MixedMixture:
        """Set the parameters by one M-step from soft assignments R (n, k) of X (n, d): the model behind a
        clustering that kept its soft assignments but not its parameters."""
        N, codes = self._split(np.asarray(X, np.float64))
        self._m_step(N, codes, np.asarray(R, np.float64))
        return self

    def assign_state(self) -> dict[str, np.ndarray]:
        """The fitted parameters as plain arrays (:func:`predict_proba_from_state` reads them): ``mix_weights``
        (k,), ``mix_means`` (k, p), ``mix_covariances`` (k, p, p) or (k, p), ``mix_n_groups`` (1,), and per
        categorical column i its one-hot columns ``mix_group_i`` and level probabilities ``mix_levels_i`` (k, m)."""
        out = {
            "mix_weights": np.asarray(self.weights_, np.float64),
            "mix_means": np.asarray(self.means_, np.float64),
            "mix_covariances": np.asarray(self.covariances_, np.float64),
            "mix_n_groups": np.array([len(self.groups)], np.int64),
        }
        for i, (g, probs) in enumerate(zip(self.groups, self.level_probs_, strict=True)):
            out[f"mix_group_{i}"] = np.asarray(g, np.int64)
            out[f"mix_levels_{i}"] = np.asarray(probs, np.float64)
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> MixedMixture:
        """The fitted model whose :meth:`assign_state` gave ``state``."""
        n_groups = int(state["mix_n_groups"][0])
        model = cls(len(state["mix_weights"]), [state[f"mix_group_{i}"] for i in range(n_groups)])
        model.weights_, model.means_ = state["mix_weights"], state["mix_means"]
        model.covariances_ = state["mix_covariances"]
        model.level_probs_ = [state[f"mix_levels_{i}"] for i in range(n_groups)]
        return model

    def n_parameters(self) -> int:
        """The fitted model's free parameters (:func:`mixture_parameters`)."""
        return mixture_parameters(
            self.n_components,
            self.means_.shape[1],
            [probs.shape[1] for probs in self.level_probs_],
            full=self.covariances_.ndim == 3,
        )

    def bic(self, X: np.ndarray) -> float:
        """Bayesian information criterion of the fitted model on X (lower is better)."""
        from scipy.special import logsumexp

        N, codes = self._split(check_array(X))
        ll = float(logsumexp(self._log_resp(N, codes), axis=1).sum())
        return -2 * ll + self.n_parameters() * np.log(len(X))


def collapsed_share(model: MixedMixture, X: np.ndarray, labels: np.ndarray, thin: float) -> float:
    """How far the fitted ``model`` sits on a point: over the components whose covariance has an eigenvalue below
    ``thin``, the largest share of a component's rows (``labels`` (n,) of X (n, d)) that hold one and the same
    value along that thinnest direction; 0 with none. Near 1, a component has collapsed onto one value of some
    columns (a lattice point: every row of party size 2), not onto a group of rows; a component that is only thin
    in a direction (a topic's texts span fewer directions of a text embedding than all texts do) holds many values
    there and scores near 0."""
    cov = model.covariances_
    if not cov.size:
        return 0.0
    N = model._split(np.asarray(X, np.float64))[0]
    worst = 0.0
    for j in range(model.n_components):
        rows = N[np.asarray(labels) == j]
        if len(rows) == 0:
            continue
        if cov.ndim == 3:
            values, vectors = np.linalg.eigh(cov[j])
            direction, smallest = vectors[:, 0], values[0]
        else:
            axis = int(np.argmin(cov[j]))
            direction, smallest = np.eye(cov.shape[1])[axis], cov[j, axis]
        if smallest >= thin:
            continue
        along = rows @ direction
        scale = max(float(np.abs(along).max()), 1.0)
        _, counts = np.unique(np.round(along / scale, 9), return_counts=True)
        worst = max(worst, float(counts.max()) / len(rows))
    return worst


def mixture_parameters(k: int, p: int, levels: Sequence[int], full: bool | None = None) -> int:
    """Free parameters of a mixture of ``k`` components over ``p`` numeric columns (a mean and a covariance each:
    full up to ``FULL_COVARIANCE_MAX_DIM`` columns unless ``full`` says, else diagonal) and categorical columns of
    ``levels`` levels (a distribution over them each), with the k - 1 mixing weights."""
    full = (0 < p <= FULL_COVARIANCE_MAX_DIM) if full is None else full
    cov = p * (p + 1) // 2 if full else p
    return int(k - 1 + k * (p + cov) + sum(k * (m - 1) for m in levels))


def predict_proba_from_state(state: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """(n, k) float32 posterior of the components of the mixture kept as ``state``
    (:meth:`MixedMixture.assign_state`) for rows X (n, d). A row with no level of a categorical column
    set (a level unseen in training: all its indicators 0) gets no evidence from that column (uniform
    over its levels), rather than reading as the column's first level."""
    from scipy.special import logsumexp

    model = MixedMixture.from_state(state)
    X = np.asarray(X, np.float64)
    N, codes = model._split(X)
    log_p = model._log_resp(N, codes)
    for g, probs, c in zip(model.groups, model.level_probs_, codes, strict=True):
        none = X[:, np.asarray(g, np.int64)].max(axis=1) <= 0
        if none.any():
            log_p[none] -= np.log(probs[:, c[none]]).T
    return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True)).astype(np.float32)
