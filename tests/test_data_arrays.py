"""Arrays: .npy / .npz vectors and images, Parquet of vectors, and nothing ever unpickled."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from explorer.data import load, load_array
from explorer.errors import InputError, LimitError
from explorer.limits import Limits

UNPICKLED: list[str] = []


def _mark_unpickled() -> str:
    UNPICKLED.append("ran")
    return "boom"


class Trap:
    """Unpickling this calls _mark_unpickled: the test sees if anything was ever unpickled."""

    def __reduce__(self):
        return (_mark_unpickled, ())


def npy_bytes(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, a, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_npy_vectors_are_used_as_they_are(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 5)) * 10
    np.save(tmp_path / "emb.npy", X)
    ds = load(tmp_path / "emb.npy")
    assert ds.kind == "embeddings" and ds.name == "emb" and ds.X.dtype == np.float32
    np.testing.assert_allclose(ds.X, X, rtol=1e-6)
    assert ds.feature_names == [f"dim{i}" for i in range(5)] and ds.ids[-1] == "19"
    assert ds.report.scaling == "none" and ds.labels is None
    assert load_array(tmp_path / "emb.npy", scaling="standard").X.std(axis=0) == pytest.approx(np.ones(5), abs=1e-5)


def test_npy_gray_images_3d():
    imgs = np.random.default_rng(0).integers(0, 256, size=(6, 8, 10), dtype=np.uint8)
    ds = load(npy_bytes(imgs), name="digits.npy")
    assert ds.kind == "images" and ds.images.shape == (6, 8, 10, 1)
    np.testing.assert_array_equal(ds.images[..., 0], imgs)
    np.testing.assert_allclose(ds.X, imgs.reshape(6, -1) / 255.0, rtol=1e-6)
    assert ds.feature_names[-1] == "px79"


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_npy_float_color_images_4d(scale):
    unit = np.random.default_rng(1).random((4, 5, 6, 3)).astype(np.float32)
    ds = load(npy_bytes(unit * scale), name="c.npy")
    assert ds.images.shape == (4, 5, 6, 3) and ds.images.dtype == np.uint8
    np.testing.assert_allclose(ds.X, unit.reshape(4, -1), atol=1e-6)
    np.testing.assert_array_equal(ds.images, np.rint(unit * 255).astype(np.uint8))


def test_channels_first_and_odd_ranges():
    a = np.random.default_rng(2).random((4, 3, 7, 9)) * 1000 - 500  # (n, c, h, w), values -500..500
    ds = load(npy_bytes(a), name="cf.npy")
    assert ds.images.shape == (4, 7, 9, 3) and ds.X.min() >= 0 and ds.X.max() <= 1
    text = ds.report.to_text()
    assert "channels-first" in text and "stretched" in text


def test_npz_with_labels_and_ids():
    X = np.arange(40, dtype=np.float64).reshape(10, 4)
    y = np.array([0, 1] * 5)
    ids = np.array([f"item{i}" for i in range(10)])
    ds = load(npz_bytes(X=X, y=y, ids=ids), name="vec.npz")
    assert ds.kind == "embeddings" and ds.labels.tolist() == ["0", "1"] * 5 and ds.ids[3] == "item3"
    assert ds.X.shape == (10, 4)
    ds = load(npz_bytes(features=X, small=np.zeros(3), labels=y), name="v.npz")
    assert ds.X.shape == (10, 4) and "'features', the largest" in ds.report.to_text()


def test_npz_images_with_labels():
    imgs = np.zeros((5, 4, 4), np.uint8)
    ds = load(npz_bytes(x=imgs, labels=np.array(["a", "b", "a", "b", "c"])), name="i.npz")
    assert ds.kind == "images" and ds.labels.tolist() == ["a", "b", "a", "b", "c"]


def test_object_npy_is_never_unpickled(tmp_path):
    evil = np.array([Trap(), Trap(), Trap()], dtype=object)
    (tmp_path / "evil.npy").write_bytes(npy_bytes(evil, allow_pickle=True))
    UNPICKLED.clear()
    with pytest.raises(InputError, match="holds Python objects, which are never unpickled; save a numeric array"):
        load(tmp_path / "evil.npy")
    buffer = io.BytesIO()
    np.savez(buffer, X=np.zeros((3, 2)), y=evil)
    with pytest.raises(InputError, match="'y' holds Python objects"):
        load(buffer.getvalue(), name="evil.npz")
    assert UNPICKLED == []


def test_nan_and_inf_are_located():
    X = np.ones((10, 3))
    X[2, 1] = np.nan
    X[7, 0] = np.inf
    with pytest.raises(InputError, match="2 NaN or infinite values, in rows 2, 7"):
        load(npy_bytes(X), name="bad.npy")
    imgs = np.zeros((4, 3, 3), np.float32)
    imgs[1, 0, 0] = np.nan
    with pytest.raises(InputError, match="in images 1"):
        load(npy_bytes(imgs), name="bad.npy")


@pytest.mark.parametrize(
    "array,match",
    [
        (np.arange(10.0), "shape \\(10,\\)"),
        (np.zeros((2, 2, 2, 2, 2)), "shape"),
        (np.zeros((3, 5)), "at least 4"),
        (np.array(["a", "b", "c"]).reshape(3, 1), "plain numeric array"),
        (np.zeros((4, 5, 5, 2)), "2 channels"),
    ],
)
def test_bad_arrays(array, match):
    with pytest.raises(InputError, match=match):
        load(npy_bytes(array), name="a.npy")


def test_bad_array_files_and_side_arrays():
    with pytest.raises(InputError, match="not a readable NumPy file"):
        load(b"\x93NUMPY garbage", name="a.npy")
    with pytest.raises(InputError, match="labels array has shape \\(3,\\), but there are 5 rows"):
        load(npz_bytes(X=np.zeros((5, 2)), y=np.zeros(3)), name="a.npz")
    with pytest.raises(InputError, match="ids are not unique"):
        load(npz_bytes(X=np.zeros((3, 2)), ids=np.array(["a", "a", "b"])), name="a.npz")
    with pytest.raises(LimitError, match="max_rows"):
        load(npy_bytes(np.zeros((50, 2))), name="a.npy", limits=Limits(max_rows=10))
    with pytest.raises(LimitError, match="max_images"):
        load(npy_bytes(np.zeros((50, 2, 2))), name="a.npy", limits=Limits(max_images=10))


def test_parquet_of_vectors(tmp_path):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(8, 6))
    frame = pd.DataFrame(
        {"id": [f"r{i}" for i in range(8)], "label": list("aabbccdd"), "vec": list(vectors), "note": ["x"] * 8}
    )
    frame.to_parquet(tmp_path / "emb.parquet")
    ds = load(tmp_path / "emb.parquet")
    assert ds.kind == "embeddings" and ds.X.shape == (8, 6)
    np.testing.assert_allclose(ds.X, vectors, rtol=1e-6)
    assert ds.ids[0] == "r0" and ds.labels.tolist() == list("aabbccdd") and ds.feature_names[0] == "dim0"
    assert list(ds.table.columns) == ["id", "label", "note"]
    dims = pd.DataFrame(vectors, columns=[f"dim{i}" for i in range(6)])
    dims.to_parquet(tmp_path / "dims.parquet")
    ds = load(tmp_path / "dims.parquet")
    assert ds.kind == "embeddings" and ds.feature_names == [f"dim{i}" for i in range(6)]
    pd.DataFrame({"a": [1.0, 2, 3, 4], "b": ["x", "y", "x", "y"]}).to_parquet(tmp_path / "t.parquet")
    assert load(tmp_path / "t.parquet").kind == "table"


def test_parquet_vectors_of_different_lengths(tmp_path):
    pd.DataFrame({"vec": [[1.0, 2.0], [1.0], [3.0, 4.0]]}).to_parquet(tmp_path / "v.parquet")
    with pytest.raises(InputError, match="different lengths"):
        load(tmp_path / "v.parquet")
