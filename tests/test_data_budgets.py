"""Budgets checked before decoding (explorer/data/budgets.py and the loaders that ask them), Stop and
the load time cap, and the loader gaps of issue 13, on small files whose structure is known."""

from __future__ import annotations

import io

import numpy as np
import pytest
from bad_inputs import _npy_header, _npz_raw, _png, _zip, constant_parquet

from explorer.data import LoadStopped, TableOptions, load
from explorer.errors import InputError, LimitError
from explorer.limits import Limits


def npy(a: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def two_groups(n: int = 40, d: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)) + 6 * (np.arange(n) % 2)[:, None]


# --------------------------------------------------------------------------------------- arrays
@pytest.mark.parametrize(
    "order,dtype,version", [("C", "<f8", None), ("F", "<f8", None), ("C", ">f4", None), ("C", "<i2", (2, 0))]
)
def test_npy_read_from_its_checked_header_equals_numpy(order, dtype, version):
    a = np.asarray(two_groups(), order=order).astype(dtype)
    ds = load(npy(a, version), name="x.npy")
    np.testing.assert_allclose(ds.X, a.astype(np.float32))


def test_npz_members_are_read_as_numpy_would():
    X, y = two_groups(), np.arange(40) % 2
    buf = io.BytesIO()
    np.savez_compressed(buf, X=np.asfortranarray(X), y=y)
    ds = load(buf.getvalue(), name="x.npz")
    np.testing.assert_allclose(ds.X, X.astype(np.float32))
    assert list(ds.labels) == [str(v) for v in y]


def test_a_header_claiming_more_than_the_file_holds_is_named_not_allocated(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("data was decoded")

    from explorer.data import arrays

    monkeypatch.setattr(arrays, "decode_npy", never)
    monkeypatch.setattr(arrays, "read_member_array", never)
    with pytest.raises(InputError, match=r"shape \(100000, 100000\).*only 80 bytes follow.*header lies"):
        load(_npy_header((100_000, 100_000)) + bytes(80), name="liar.npy")
    with pytest.raises(InputError, match=r"array 'X'.*header lies"):
        load(_npz_raw({"X": _npy_header((50, 4)) + bytes(8)}), name="liar.npz")


def test_npz_caps_come_from_the_headers_before_decompression(monkeypatch):
    from explorer.data import arrays

    def never(*args, **kwargs):
        raise AssertionError("a member was decompressed")

    monkeypatch.setattr(arrays, "read_member_array", never)
    buf = io.BytesIO()
    np.savez_compressed(buf, X=np.zeros((5_000, 10)))
    with pytest.raises(LimitError, match=r"5,000 rows.*max_rows=1,000"):
        load(buf.getvalue(), name="x.npz", limits=Limits(max_rows=1_000))
    with pytest.raises(LimitError, match=r"max_decoded_bytes=100,000.*EXPLORER_MAX_DECODED_BYTES"):
        load(buf.getvalue(), name="x.npz", limits=Limits(max_decoded_bytes=100_000))
    monkeypatch.undo()
    # 400 KB of zeros is under the 32 MiB floor: the ratio rule leaves it alone, whatever its ratio
    assert load(buf.getvalue(), name="x.npz", limits=Limits(max_compression_ratio=10)).X.shape == (5_000, 10)


def test_the_compression_ratio_names_its_cap():
    from bad_inputs import npz_bomb

    with pytest.raises(LimitError, match=r"expands 1,0.. times.*max_compression_ratio=200.*EXPLORER_MAX_COMPRESSION"):
        load(npz_bomb(40), name="b.npz")
    assert load(npz_bomb(40), name="b.npz", limits=Limits(max_compression_ratio=2_000)).X.shape == (5_120, 1024)


# --------------------------------------------------------------------------------------- tables
def test_parquet_footer_budget_and_the_cap_that_lets_it_in():
    data = constant_parquet(5_000, 20)  # 800,000 bytes decoded
    with pytest.raises(LimitError, match=r"5,000 rows x 20 columns.*max_decoded_bytes=500,000"):
        load(data, name="c.parquet", limits=Limits(max_decoded_bytes=500_000))
    with pytest.raises(InputError, match="no usable feature columns"):  # let in, it is what it is: constant
        load(data, name="c.parquet", limits=Limits(max_decoded_bytes=2_000_000))


def test_csv_budget_counts_rows_times_columns_before_pandas(monkeypatch):
    import pandas as pd

    def never(*args, **kwargs):
        raise AssertionError("pandas parsed the file")

    text = "a,b,c,d\n" + "".join(f"{i % 2},{i % 3},{i % 5},{i % 7}\n" for i in range(10_000))
    monkeypatch.setattr(pd, "read_csv", never)
    with pytest.raises(LimitError, match=r"10,000 rows x 4 columns.*max_decoded_bytes=300,000"):
        load(text.encode(), name="t.csv", limits=Limits(max_decoded_bytes=300_000))


def test_one_hot_widening_is_checked_before_it_is_built():
    rows = "".join(f"{i % 50},{i % 4}\n" for i in range(2_000))
    data = ("cat,n\n" + rows).encode()
    options = TableOptions(max_categories=50, min_category_fraction=0.0)
    ds = load(data, name="t.csv", table=options)
    assert ds.X.shape == (2_000, 2)  # "cat" read as a number: 1 column; as text it widens to 50
    text = ("cat,n\n" + "".join(f"c{i % 50},{i % 4}\n" for i in range(2_000))).encode()
    with pytest.raises(LimitError, match=r"encoded \(2,000 rows x \d+ features\).*max_decoded_bytes"):
        load(text, name="t.csv", table=options, limits=Limits(max_decoded_bytes=400_000))


@pytest.mark.parametrize(
    "sep,cell,value,note",
    [
        (",", '"1,500"', 1500.0, "groups thousands"),
        (",", '"12,345.5"', 12345.5, "groups thousands"),
        (",", '"3,5"', 3.5, "decimal commas"),  # a group of one digit can't be thousands
        (";", "1,500", 1.5, "decimal commas"),
        (";", "12,345.5", 12345.5, "groups thousands"),
    ],
)
def test_a_comma_inside_a_number_follows_the_files_delimiter(sep, cell, value, note):
    lines = [sep.join(["amount", "b"])] + [sep.join([cell if i == 0 else str(i * 3), str(i % 2)]) for i in range(30)]
    ds = load("\n".join(lines).encode(), name="t.csv", table=TableOptions(scaling="none"))
    assert ds.table["amount"].iloc[0] == cell.strip('"')
    assert ds.X[0, ds.feature_names.index("amount")] == pytest.approx(value)
    assert any(note in n for n in ds.report.notes)


def test_mixed_comma_readings_are_not_guessed():
    cells = ['"12,345.5"', '"3,5"', '"1,500"'] * 10  # only thousands, only decimal, both: no reading fits all
    lines = ["amount,b"] + [f"{c},{i % 2}" for i, c in enumerate(cells)]
    ds = load("\n".join(lines).encode(), name="t.csv")
    assert "amount" not in ds.feature_names  # not made a number: its three values stay categories
    assert {"amount=12,345.5", "amount=3,5", "amount=1,500"} <= set(ds.feature_names)


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be", "utf-16-be"])
def test_byte_order_marks_decide_the_encoding(codec):
    text = "name,size\n" + "".join(f"caf\u00e9 {i % 3},{i % 2 * 5 + i}\n" for i in range(30))
    data = ("\ufeff" + text).encode(codec) if codec.endswith("-be") else text.encode(codec)
    ds = load(data, name="t.csv")
    assert ds.feature_names[0].startswith("name=caf\u00e9")


def test_excel_sep_line_and_cr_only_together():
    body = "a;b\r" + "".join(f"{i % 2 * 5},{i % 3};{i}\r" for i in range(30))
    ds = load(("sep=;\r" + body).encode(), name="t.csv", table=TableOptions(scaling="none"))
    assert ds.feature_names == ["a", "b"] and ds.X[2, 0] == pytest.approx(0.2)  # "0,2": a decimal comma


def test_a_list_of_strings_beside_number_vectors():
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = two_groups(40, 3)
    buf = io.BytesIO()
    pq.write_table(pa.table({"embedding": list(vectors), "tags": [["a", "b"]] * 40}), buf)
    ds = load(buf.getvalue(), name="v.parquet")
    assert ds.kind == "embeddings" and ds.X.shape == (40, 3) and "tags" in ds.table.columns


# ------------------------------------------------------------------------------------ stop, time
def test_should_stop_ends_a_load_between_steps():
    pngs = {f"{i}.png": _png(np.full((8, 8), i, np.uint8)) for i in range(10)}
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(LoadStopped, match="was stopped"):
        load(_zip(pngs), name="s.zip", should_stop=stop)
    text = "a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(50_000))
    with pytest.raises(LoadStopped):
        load(text.encode(), name="t.csv", should_stop=lambda: True)


def test_the_load_time_cap_names_itself():
    text = "a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(50))
    with pytest.raises(LimitError, match=r"max_load_seconds.*EXPLORER_MAX_LOAD_SECONDS"):
        load(text.encode(), name="t.csv", limits=Limits(max_load_seconds=1e-9))


# ---------------------------------------------------------------------------------------- images
def test_total_pixels_are_summed_from_headers_and_jpegs_count_at_their_draft_size(monkeypatch):
    from PIL import Image

    from explorer.data import images

    def jpeg(side: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(buf, "JPEG")
        return buf.getvalue()

    big_jpegs = _zip({f"{i}.jpg": jpeg(2048) for i in range(4)})  # 4 x 4.2 M pixels, decoded at 1/8: 4 x 65,536
    ds = load(big_jpegs, name="j.zip", limits=Limits(max_total_pixels=300_000))
    assert ds.n == 4 and ds.images.shape[1:3] == (64, 64)
    pngs = _zip({f"{i}.png": _png(np.zeros((300, 300), np.uint8)) for i in range(4)})  # 4 x 90,000
    decoded = []
    monkeypatch.setattr(images, "_decode", lambda *a, **k: decoded.append(1))
    with pytest.raises(LimitError, match=r"360,000 pixels to decode.*max_total_pixels=300,000"):
        load(pngs, name="p.zip", limits=Limits(max_total_pixels=300_000))
    assert not decoded  # refused from the headers


def test_an_image_whose_header_is_past_the_first_bytes_is_counted_when_opened():
    from PIL import PngImagePlugin

    def png_with_big_text(seed: int) -> bytes:
        from PIL import Image

        info = PngImagePlugin.PngInfo()
        info.add_text("comment", "x" * 100_000)  # before the pixels: the first 64 KiB hold no IDAT
        buf = io.BytesIO()
        Image.fromarray(np.full((200, 200), seed, np.uint8)).save(buf, "PNG", pnginfo=info)
        return buf.getvalue()

    data = _zip({f"{i}.png": png_with_big_text(i) for i in range(4)})
    assert load(data, name="t.zip", limits=Limits(max_total_pixels=200_000)).n == 4  # 4 x 40,000
    with pytest.raises(LimitError, match="max_total_pixels=100,000"):
        load(data, name="t.zip", limits=Limits(max_total_pixels=100_000))


@pytest.mark.parametrize("how", ["standard", "minmax", "auto", "shared"])
def test_vectors_scaled_block_by_block_equal_the_whole_array_in_float64(how):
    from explorer.data.scaling import SCALE_BLOCK_COLUMNS, scale_features, scale_to_float32

    rng = np.random.default_rng(0)
    A = (rng.random((3_000, 2 * SCALE_BLOCK_COLUMNS + 5)) * 255).astype(np.float32)  # one range: auto is shared
    A[:, 3] = 7.0  # a constant column
    whole = scale_features(A.astype(np.float64), how).astype(np.float32)
    blocks = scale_to_float32(A, how)
    assert blocks.dtype == np.float32 and np.array_equal(blocks, whole)
    assert np.all(blocks[:, 3] == 0)
