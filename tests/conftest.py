"""Shared fixtures: seeded data with planted structure, and a one-time UMAP import."""

from __future__ import annotations

import numpy as np
import pytest


def _make_blobs(n: int = 600, k: int = 5, d: int = 10, *, std: float = 1.0, seed: int = 0):
    """(X (n, d) float32, y (n,) int64): k well separated Gaussian blobs, centres in [-10, 10]^d."""
    from sklearn.datasets import make_blobs as sk_make_blobs

    X, y = sk_make_blobs(n_samples=n, centers=k, n_features=d, cluster_std=std, center_box=(-10, 10), random_state=seed)
    return X.astype(np.float32), y.astype(np.int64)


@pytest.fixture
def blobs():
    """600 points, 5 blobs, 10 dims, seeded: (X float32, y int64)."""
    return _make_blobs()


@pytest.fixture
def make_blobs():
    """The blobs maker: make_blobs(n=600, k=5, d=10, *, std=1.0, seed=0) -> (X float32, y int64)."""
    return _make_blobs


@pytest.fixture(scope="session")
def warm_umap():
    """Import umap once per session (numba compiles on first import); request it in UMAP tests."""
    import umap

    return umap


@pytest.fixture
def single_thread():
    """Run with one BLAS / OpenMP thread: faster on small data, and no spin-waiting when another
    process holds the other cores (scikit-learn's k-means slows down ~100x then)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def navigation_only():
    """Run app.py on every AppTest run, as the server does (pages/ui/compat.py: Streamlit's legacy
    multipage mode, which AppTest turns back on before each run)."""
    from pages.ui.compat import navigation_only

    with navigation_only():
        yield


def _bars(n=400, side=12, seed=0):
    """Images of a horizontal or a vertical bar at a random place: (X flat in [0, 1], y, shape)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    imgs = np.zeros((n, side, side), np.float32)
    for i, c in enumerate(y):
        at = rng.integers(2, side - 2)
        if c == 0:
            imgs[i, at - 1 : at + 1, 1:-1] = 1.0
        else:
            imgs[i, 1:-1, at - 1 : at + 1] = 1.0
    imgs += rng.normal(0, 0.05, imgs.shape).astype(np.float32)
    return np.clip(imgs, 0, 1).reshape(n, -1), y, (side, side, 1)


def _bars_dataset(n=300, side=12, seed=0):
    """:func:`_bars` as an image Dataset (labels "0" horizontal, "1" vertical)."""
    from explorer.dataset import Dataset, LoadReport

    X, y, shape = _bars(n, side, seed)
    images = (X.reshape(-1, *shape) * 255).astype(np.uint8)
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(X.shape[1])],
        ids=np.array([f"{i}.png" for i in range(n)]),
        report=LoadReport(source="bars", kind="images", n_rows=n, n_features=X.shape[1]),
        kind="images",
        name="bars",
        labels=np.array([str(v) for v in y]),
        images=images,
    )


@pytest.fixture(scope="session")
def bars():
    """The bar images maker: bars(n=400, side=12, seed=0) -> (X flat in [0, 1], y, (side, side, 1))."""
    return _bars


@pytest.fixture(scope="session")
def bars_dataset():
    """The same as an image Dataset: bars_dataset(n=300, side=12, seed=0)."""
    return _bars_dataset


def _make_dataset(X, labels=None, kind="table", name="blobs"):
    import pandas as pd

    from explorer.dataset import Dataset, LoadReport

    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(d)])
    return Dataset(
        X=X,
        feature_names=list(table.columns),
        ids=np.array([str(i) for i in range(n)]),
        report=LoadReport(source=name, kind=kind, n_rows=n, n_features=d),
        kind=kind,
        name=name,
        labels=None if labels is None else np.array([f"c{v}" for v in labels]),
        table=table,
    )


@pytest.fixture
def make_dataset():
    """A Dataset of an array (a table of numbers): make_dataset(X, labels=None, kind="table")."""
    return _make_dataset
