"""The labeled benchmark sets of ../shared/data (and scikit-learn's digits), as explorer Datasets.

Labels are attached for evaluation only; no pipeline step reads them.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from explorer.data.scaling import resolve_scaling, scale_features
from explorer.dataset import Dataset, LoadReport

ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """$EXPLORER_BENCH_DATA, else ../shared/data beside the checkout, else .devdata/ in it."""
    for cand in (os.environ.get("EXPLORER_BENCH_DATA"), ROOT.parent / "shared" / "data", ROOT / ".devdata"):
        if cand and Path(cand).is_dir() and (Path(cand) / "mnist_test").is_dir():
            return Path(cand)
    raise FileNotFoundError(
        "benchmark data not found: set EXPLORER_BENCH_DATA to the folder holding mnist_test/, usps/, pendigits/"
    )


def _images(name: str, images: np.ndarray, y: np.ndarray) -> Dataset:
    n = len(images)
    X = images.reshape(n, -1).astype(np.float32) / 255.0
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(X.shape[1])],
        ids=np.array([str(i) for i in range(n)]),
        report=LoadReport(source=name, kind="images", n_rows=n, n_features=X.shape[1]),
        kind="images",
        name=name,
        labels=y.astype(str),
        images=images,
    )


def _table(name: str, X: np.ndarray, y: np.ndarray) -> Dataset:
    """Scaled as the product's table loader scales by default ("auto": pendigits' 16 columns all span
    0..100, so they are scaled together)."""
    scaling = resolve_scaling(X, "auto")
    X = scale_features(X.astype(np.float64), scaling).astype(np.float32)
    n = len(X)
    return Dataset(
        X=X,
        feature_names=[f"f{i}" for i in range(X.shape[1])],
        ids=np.array([str(i) for i in range(n)]),
        report=LoadReport(source=name, kind="table", n_rows=n, n_features=X.shape[1], scaling=scaling),
        kind="table",
        name=name,
        labels=y.astype(str),
    )


def mnist_test() -> Dataset:
    d = data_dir() / "mnist_test"
    X = np.frombuffer(gzip.decompress((d / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, offset=16)
    X = X.reshape(-1, 28, 28, 1)
    y = np.frombuffer(gzip.decompress((d / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8)
    return _images("mnist_test", X.copy(), y)


def usps() -> Dataset:
    d = np.load(data_dir() / "usps" / "usps.npz", allow_pickle=False)
    X = np.clip(np.round(d["X"].reshape(-1, 16, 16, 1) * 255), 0, 255).astype(np.uint8)
    return _images("usps", X, d["y"])


def pendigits() -> Dataset:
    d = data_dir() / "pendigits"
    a = np.vstack([np.loadtxt(d / f"pendigits.{s}", delimiter=",") for s in ("tra", "tes")])
    return _table("pendigits", a[:, :16], a[:, 16].astype(int))


def fashion_1k() -> Dataset:
    import pandas as pd

    df = pd.read_csv(data_dir() / "fashion_mnist_test_1k" / "fashion-mnist_test_1k.csv")
    X = df.drop(columns="label").to_numpy().astype(np.uint8).reshape(-1, 28, 28, 1)
    return _images("fashion_mnist_1k", X, df["label"].to_numpy())


def digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = np.clip(np.round(d.images * 255 / 16), 0, 255).astype(np.uint8)[..., None]
    return _images("sklearn_digits", X, d.target)


# --datasets name -> the dataset's own name (where they differ)
RUN_NAMES = {"digits": "sklearn_digits", "fashion_1k": "fashion_mnist_1k"}
DATASETS = {"mnist_test": mnist_test, "usps": usps, "pendigits": pendigits, "fashion_1k": fashion_1k, "digits": digits}
# bench/measure/peers.py's sets (side by side with ClustPy), in the order of its table
PEER_DATASETS = ["pendigits", "usps", "mnist_test"]
