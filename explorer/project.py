"""Projections of the latent space ``Z`` to 2-D or 3-D for plotting: UMAP, t-SNE or PCA.

``project(Z, cfg) -> (n, n_components) float32``. ``umap_embed`` is the one place UMAP is called; the
n2d clusterer (``explorer.cluster``) reuses it to embed ``Z`` into a few dimensions before its GMM.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import InputError
from .reducers.base import check_array

PROJECTION_METHODS = ("umap", "tsne", "pca")
TSNE_SLOW_ROWS = 20_000  # above this t-SNE still works but takes minutes: a page should warn first
DISPLAY_UMAP_EPOCHS = 200  # the 2-D / 3-D map; see project()


@dataclass
class ProjectionConfig:
    """How to project ``Z`` for plotting. Every field is recorded in a run's config."""

    method: Literal["umap", "tsne", "pca"] = "umap"
    n_components: int = 2  # 2 or 3
    n_neighbors: int = 15  # umap; capped at n - 1
    min_dist: float = 0.1  # umap
    perplexity: float = 30.0  # tsne; capped at (n - 1) / 3 so small data still work
    random_state: int = 0

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad field and its allowed values."""
        if self.method not in PROJECTION_METHODS:
            raise InputError(f"method must be one of {', '.join(PROJECTION_METHODS)}; got {self.method!r}.")
        if not (_is_int(self.n_components) and self.n_components in (2, 3)):
            raise InputError(f"n_components must be 2 or 3, got {self.n_components!r}.")
        _check_umap_params(self.n_neighbors, self.min_dist)
        if not (isinstance(self.perplexity, (int, float)) and math.isfinite(self.perplexity) and self.perplexity > 0):
            raise InputError(f"perplexity must be a positive number (typically 5 to 50), got {self.perplexity!r}.")
        _check_random_state(self.random_state)


def project(Z: np.ndarray, cfg: ProjectionConfig | None = None) -> np.ndarray:
    """Project ``Z`` (n, d) to (n, cfg.n_components) float32.

    - ``"pca"``: scikit-learn PCA; needs d >= n_components.
    - ``"umap"``: :func:`umap_embed` with euclidean distances (n_neighbors capped at n - 1).
    - ``"tsne"``: scikit-learn Barnes-Hut t-SNE, ``init="pca"``, ``learning_rate="auto"``. Its cost
      grows like n log n with a large constant: above ``TSNE_SLOW_ROWS`` (20,000) rows it takes minutes on a CPU (run it
      as a background job, or project a sample); it still works.
    """
    cfg = cfg or ProjectionConfig()
    cfg.validate()
    Z = check_array(Z, min_rows=4)
    n, d = Z.shape
    if cfg.method == "pca":
        if d < cfg.n_components:
            raise InputError(
                f"PCA to {cfg.n_components} dimensions needs at least {cfg.n_components} latent dimensions; "
                f"Z has {d}. Choose n_components={d} or the umap / tsne method."
            )
        from sklearn.decomposition import PCA

        Y = PCA(n_components=cfg.n_components, random_state=cfg.random_state).fit_transform(Z)
    elif cfg.method == "umap":
        # a map to look at: 200 optimisation epochs (UMAP's own choice above 10,000 rows) are enough
        # at every size, and take 40% of the 500 it spends below that (n2d's clustering keeps 500)
        Y = umap_embed(Z, cfg.n_components, cfg.n_neighbors, cfg.min_dist, cfg.random_state, n_epochs=DISPLAY_UMAP_EPOCHS)
    else:
        from sklearn.manifold import TSNE

        # sklearn needs perplexity < n; (n - 1) / 3 is the usual bound (3 * perplexity neighbours).
        perplexity = float(min(cfg.perplexity, max(1.0, (n - 1) / 3)))
        tsne = TSNE(
            n_components=cfg.n_components,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            random_state=cfg.random_state,
        )
        Y = tsne.fit_transform(Z)
    return np.ascontiguousarray(Y, dtype=np.float32)


def umap_embed(
    Z: np.ndarray,
    n_components: int,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    random_state: int | None = 0,
    n_epochs: int | None = None,
) -> np.ndarray:
    """UMAP of ``Z`` (n, d) to (n, n_components) float32, euclidean metric.

    ``n_neighbors`` is capped at n - 1. With an integer ``random_state`` the result is reproducible and
    UMAP runs on one thread (its own rule); ``random_state=None`` runs in parallel but differs per run.
    ``low_memory=True`` keeps the nearest-neighbour search within memory on large data; the other
    defaults (200 epochs above 10,000 rows, 500 below; ``n_epochs`` sets it) keep 100k rows within a
    few minutes on a CPU.
    """
    Z = check_array(Z, min_rows=4)
    n = Z.shape[0]
    if not (_is_int(n_components) and 1 <= n_components <= n - 2):
        raise InputError(f"n_components for UMAP must be a whole number from 1 to n - 2 = {n - 2}, got {n_components!r}.")
    _check_umap_params(n_neighbors, min_dist)
    _check_random_state(random_state)
    import umap  # heavy (numba): imported only when needed

    reducer = umap.UMAP(
        n_components=int(n_components),
        n_neighbors=int(min(n_neighbors, n - 1)),
        min_dist=float(min_dist),
        metric="euclidean",
        random_state=random_state,
        n_epochs=n_epochs,
        n_jobs=1 if random_state is not None else -1,
        low_memory=True,
        verbose=False,
    )
    with warnings.catch_warnings():
        # spectral initialisation on tiny or disconnected graphs warns and falls back; not actionable
        warnings.filterwarnings("ignore", message=".*[Ss]pectral.*")
        warnings.filterwarnings("ignore", message=".*[Gg]raph is not fully connected.*")
        Y = reducer.fit_transform(Z)
    return np.ascontiguousarray(Y, dtype=np.float32)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_umap_params(
    n_neighbors: object, min_dist: object, names: tuple[str, str] = ("n_neighbors", "min_dist")
) -> None:
    if not (_is_int(n_neighbors) and n_neighbors >= 2):
        raise InputError(f"{names[0]} must be a whole number >= 2 (typically 5 to 50), got {n_neighbors!r}.")
    if not (isinstance(min_dist, (int, float)) and 0.0 <= min_dist <= 1.0):
        raise InputError(f"{names[1]} must be a number from 0 to 1, got {min_dist!r}.")


def _check_random_state(random_state: object) -> None:
    if not (random_state is None or (_is_int(random_state) and random_state >= 0)):
        raise InputError(f"random_state must be a whole number >= 0 (or None), got {random_state!r}.")
