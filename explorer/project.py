"""Projections of the latent space ``Z`` to 2-D or 3-D for plotting: UMAP, t-SNE or PCA.

``project(Z, cfg) -> (n, n_components) float32``. ``umap_embed`` is the one place UMAP is called; the
n2d clusterer (``explorer.cluster.methods``) reuses it to embed ``Z`` into a few dimensions before its GMM.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from explorer.errors import InputError
from explorer.events import StopCheck

if TYPE_CHECKING:  # pragma: no cover
    from explorer.neighbors import Neighbors
from explorer.validation import (
    MIN_ROWS,
    RANDOM_STATE,
    OneOf,
    Real,
    Whole,
    check_array,
    check_params,
    check_value,
    is_whole,
)

ProjectionMethod = Literal["umap", "tsne", "pca"]
PROJECTION_METHODS: tuple[ProjectionMethod, ...] = ("umap", "tsne", "pca")
PROJECTION_LABELS = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
TSNE_SLOW_ROWS = 20_000  # above this t-SNE still works but takes minutes: a page should warn first
DISPLAY_UMAP_EPOCHS = 200  # the 2-D / 3-D map; see project()


@dataclass
class ProjectionConfig:
    """How to project ``Z`` for plotting. Every field is recorded in a run's config."""

    method: ProjectionMethod = "umap"
    n_components: int = 2  # 2 or 3
    n_neighbors: int = 15  # umap; capped at n - 1
    min_dist: float = 0.1  # umap
    perplexity: float = 30.0  # tsne; capped at (n - 1) / 3 so small data still work
    random_state: int | None = 0  # None: unseeded, a different map each run (UMAP then runs in parallel)

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad field and its allowed values."""
        check_params(self, PROJECTION_CONSTRAINTS)


UMAP_NEIGHBORS = Whole(2, hint="typically 5 to 50")
UMAP_MIN_DIST = Real(0, 1)
PROJECTION_CONSTRAINTS = {
    "method": OneOf(PROJECTION_METHODS),
    "n_components": OneOf((2, 3)),
    "n_neighbors": UMAP_NEIGHBORS,
    "min_dist": UMAP_MIN_DIST,
    "perplexity": Real(0, open_low=True, hint="typically 5 to 50"),
    "random_state": RANDOM_STATE,
}


def project(
    Z: np.ndarray,
    cfg: ProjectionConfig | None = None,
    *,
    should_stop: StopCheck | None = None,
    knn: Neighbors | None = None,
) -> np.ndarray:
    """Project ``Z`` (n, d) to (n, cfg.n_components) float32.

    ``should_stop`` (optional) makes the slow methods stoppable: UMAP checks it between its layout
    epochs (not during its nearest-neighbour search), and t-SNE then runs in a child process that is
    killed when it turns True (polled twice a second). Either raises :class:`~explorer.errors.Stopped`.

    - ``"pca"``: scikit-learn PCA; needs d >= n_components.
    - ``"umap"``: :func:`umap_embed` with euclidean distances (n_neighbors capped at n - 1); ``knn``, the
      run's shared graph of these rows (:class:`explorer.neighbors.Neighbors`), spares building it again.
    - ``"tsne"``: scikit-learn Barnes-Hut t-SNE, ``init="pca"``, ``learning_rate="auto"``. Its cost
      grows like n log n with a large constant: above ``TSNE_SLOW_ROWS`` (20,000) rows it takes minutes on a CPU (run it
      as a background job, or project a sample); it still works.
    """
    cfg = cfg or ProjectionConfig()
    cfg.validate()
    Z = check_array(Z, min_rows=MIN_ROWS)
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
        Y = umap_embed(
            Z,
            cfg.n_components,
            cfg.n_neighbors,
            cfg.min_dist,
            cfg.random_state,
            n_epochs=DISPLAY_UMAP_EPOCHS,
            should_stop=should_stop,
            knn=knn,
        )
    else:
        # sklearn needs perplexity < n; (n - 1) / 3 is the usual bound (3 * perplexity neighbours).
        params = {
            "n_components": cfg.n_components,
            "perplexity": float(min(cfg.perplexity, max(1.0, (n - 1) / 3))),
            "random_state": cfg.random_state,
        }
        Y = _tsne(Z, params) if should_stop is None else _tsne_in_child(Z, params, should_stop)
    return np.ascontiguousarray(Y, dtype=np.float32)


def _tsne(Z: np.ndarray, params: dict) -> np.ndarray:
    from sklearn.manifold import TSNE

    return TSNE(init="pca", learning_rate="auto", **params).fit_transform(Z)


def _tsne_in_child(Z: np.ndarray, params: dict, should_stop: StopCheck) -> np.ndarray:
    """t-SNE (which has no way to stop it from outside) in a child process, killed when
    ``should_stop()`` turns True or raises. Arrays travel as .npy bytes (``allow_pickle=False``)."""
    import io
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from explorer.errors import Stopped

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(Z, np.float32), allow_pickle=False)
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer.project", json.dumps(params)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    send: bytes | None = buf.getvalue()
    try:
        while True:
            if should_stop():
                raise Stopped("t-SNE was stopped.")
            try:
                out, err = proc.communicate(send, timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                send = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"t-SNE failed in its child process: {err.decode(errors='replace')[-500:]}")
    return np.load(io.BytesIO(out), allow_pickle=False)


class _StopOnWrite:
    """A file for UMAP's epoch progress bar (tqdm) that raises Stopped when ``should_stop()`` turns
    True: tqdm writes to it between layout epochs, the only hook UMAP offers."""

    def __init__(self, should_stop: StopCheck) -> None:
        self.should_stop, self.stopped = should_stop, False

    def write(self, text: str) -> int:
        from explorer.errors import Stopped

        if not self.stopped and self.should_stop():
            self.stopped = True  # once: tqdm writes again as the loop unwinds
            raise Stopped("UMAP was stopped.")
        return len(text)

    def flush(self) -> None:
        pass


def umap_embed(
    Z: np.ndarray,
    n_components: int,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    random_state: int | None = 0,
    n_epochs: int | None = None,
    should_stop: StopCheck | None = None,
    knn: Neighbors | None = None,
) -> np.ndarray:
    """UMAP of ``Z`` (n, d) to (n, n_components) float32, euclidean metric.

    ``n_neighbors`` is capped at n - 1. With an integer ``random_state`` the result is reproducible and
    UMAP runs on one thread (its own rule); ``random_state=None`` runs in parallel but differs per run.
    ``low_memory=True`` keeps the nearest-neighbour search within memory on large data; the other
    defaults (200 epochs above 10,000 rows, 500 below; ``n_epochs`` sets it) keep 100k rows within a
    few minutes on a CPU. ``should_stop`` is checked between layout epochs (see :func:`project`).
    ``knn``: the nearest-neighbour graph of exactly these rows, built once per run
    (:class:`explorer.neighbors.Neighbors`) and shared by every UMAP of the run; None builds UMAP's own.
    """
    Z = check_array(Z, min_rows=MIN_ROWS)
    n = Z.shape[0]
    if not (is_whole(n_components) and 1 <= n_components <= n - 2):
        raise InputError(
            f"n_components for UMAP must be a whole number from 1 to n - 2 = {n - 2}, got {n_components!r}."
        )
    check_value("n_neighbors", n_neighbors, UMAP_NEIGHBORS)
    check_value("min_dist", min_dist, UMAP_MIN_DIST)
    check_value("random_state", random_state, RANDOM_STATE)
    import umap  # heavy (numba): imported only when needed

    neighbors = int(min(n_neighbors, n - 1))
    shared = {}
    if knn is not None and knn.n == n and knn.k >= neighbors:
        shared["precomputed_knn"] = knn.precomputed(neighbors)
    reducer = umap.UMAP(
        n_components=int(n_components),
        n_neighbors=neighbors,
        min_dist=float(min_dist),
        metric="euclidean",
        random_state=random_state,
        n_epochs=n_epochs,
        n_jobs=1 if random_state is not None else -1,
        low_memory=True,
        verbose=False,
        tqdm_kwds=None
        if should_stop is None
        else {"disable": False, "file": _StopOnWrite(should_stop), "mininterval": 0.25, "ascii": True},
        **shared,
    )
    with warnings.catch_warnings():
        # spectral initialisation on tiny or disconnected graphs warns and falls back; not actionable
        warnings.filterwarnings("ignore", message=".*[Ss]pectral.*")
        warnings.filterwarnings("ignore", message=".*[Gg]raph is not fully connected.*")
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")  # a small shared graph has no index
        Y = reducer.fit_transform(Z)
    return np.ascontiguousarray(Y, dtype=np.float32)


if __name__ == "__main__":  # the child process of _tsne_in_child: .npy in on stdin, .npy out on stdout
    import io
    import json
    import os
    import sys

    os.nice(5)  # a background map: the server's own threads go first
    params = json.loads(sys.argv[1])
    Z = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(_tsne(Z, params), np.float32), allow_pickle=False)
    sys.stdout.buffer.write(out.getvalue())
