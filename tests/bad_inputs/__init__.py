"""A corpus of malformed and hostile inputs, built small into a folder at test time.

``build_corpus(folder)`` writes every file and returns one :class:`Case` per file. The same cases go
through the library (tests/test_hardening_library.py), the CLI (test_hardening_cli.py) and the
dashboard's uploader (test_hardening_app.py). Nothing here is committed as a binary: the bombs are
made small (a PNG header that claims 20000x20000, a zip of zeros that compresses ~1000 times).
The resource bombs of issue 13 (files that are small but decode to a lot) are here too, each refused
from its metadata before decoding; ``worst_files`` builds them at full size for the peak-memory test.

The caps the cases are written against are in ``LIMITS_ENV``; the tests set them in the environment,
so they also show that the caps are configurable (``EXPLORER_<CAP>``).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

# Small caps so the "over the limit" files stay small; every other case is well under them.
LIMITS_ENV = {
    "EXPLORER_MAX_UPLOAD_BYTES": "1_000_000",
    "EXPLORER_MAX_ROWS": "20_000",
    "EXPLORER_MAX_COLUMNS": "500",
    "EXPLORER_MAX_IMAGES": "200",
    "EXPLORER_MAX_IMAGE_PIXELS": "40_000_000",
    "EXPLORER_MAX_TOTAL_PIXELS": "100_000_000",
    "EXPLORER_MAX_DECODED_BYTES": "32_000_000",
}


class Case(NamedTuple):
    """One input and what must happen to it.

    ``expect`` "error": loading raises InputError (or LimitError) whose message contains
    ``message_fragment``. "ok": it loads, and when ``message_fragment`` is not empty, one of the load
    report's notes contains it. ``label`` names the table column to use as the label, if any.
    """

    name: str
    filename: str
    kind: Literal["table", "images", "array", "other"]
    expect: Literal["error", "ok"]
    message_fragment: str
    label: str | None = None


# ------------------------------------------------------------------------------------------ helpers
def _rows(n: int, d: int = 3, seed: int = 0) -> list[list[str]]:
    """n rows of d numbers in two well separated groups (so every pipeline step has something to find)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 5 * (np.arange(n) % 2)[:, None]
    return [[f"{v:.3f}" for v in row] for row in X]


def _csv(header: list[str], rows: list[list[str]], sep: str = ",") -> bytes:
    return ("\n".join(sep.join(r) for r in [header, *rows]) + "\n").encode()


def _png(a: np.ndarray, mode: str | None = None) -> bytes:
    from PIL import Image

    im = Image.fromarray(a) if mode is None else Image.fromarray(a).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _gray(h: int = 8, w: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _good_pngs(n: int, prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{i:03d}.png": _png(_gray(seed=i)) for i in range(n)}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height 8-bit gray pixels (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


def _zip_bomb(megabytes: int = 48) -> bytes:
    """One member of ``megabytes`` MiB of zeros, named .png, deflated to ~50 KB."""
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("bomb.png", "w", force_zip64=True) as member,
    ):
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            member.write(chunk)
    return buf.getvalue()


def _lying_zip(megabytes: int = 4) -> bytes:
    """Good images, and one entry of zeros whose headers claim it holds only 1,000 bytes."""
    data = bytearray(_zip({**_good_pngs(4), "liar.png": bytes(megabytes << 20)}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("liar.png")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # the local header's uncompressed size
    central = data.rfind(b"PK\x01\x02")
    while central != -1:  # the central directory entry of liar.png
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == b"liar.png":
            struct.pack_into("<I", data, central + 24, 1000)
            break
        central = data.rfind(b"PK\x01\x02", 0, central)
    return bytes(data)


def _npy(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # savez pickles object arrays: exactly what a hostile file holds
    return buf.getvalue()


def _parquet(columns: dict[str, list]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def constant_parquet(rows: int, columns: int) -> bytes:
    """rows x columns of 0.0: a few hundred KB on disk (dictionary and run-length encoded), rows x
    columns x 8 bytes decoded. Built from one shared array, so making it costs one column's memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.array(np.zeros(rows))
    buf = io.BytesIO()
    pq.write_table(pa.table({f"c{j}": column for j in range(columns)}), buf, row_group_size=rows)
    return buf.getvalue()


def repeated_string_parquet(rows: int, length: int) -> bytes:
    """A numeric column and one string of ``length`` characters repeated on every row: the footer's
    sizes are small (the string is stored once, in the dictionary); expanded it is rows x length."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * length]))
    buf = io.BytesIO()  # without the stored Arrow schema, a reader takes the column for plain strings
    pq.write_table(pa.table({"a": pa.array(np.arange(rows) % 7 * 1.0), "note": text}), buf, store_schema=False)
    return buf.getvalue()


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()  # the magic, the version and the header


def lying_npy(elements: int = 10**13) -> bytes:
    """An .npy whose header claims ``elements`` float64 values, followed by 160 bytes of data."""
    return _npy_header((elements,)) + bytes(160)


def npz_bomb(megabytes: int) -> bytes:
    """An .npz whose member X holds ``megabytes`` MiB of float64 zeros (shape (n, 1024)), written
    chunk by chunk so making it costs little memory; deflated ~1000 times."""
    rows = megabytes * 2**20 // (1024 * 8)
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("X.npy", "w", force_zip64=True) as member,
    ):
        member.write(_npy_header((rows, 1024)))
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            member.write(chunk)
    return buf.getvalue()


def _npz_raw(members: dict[str, bytes]) -> bytes:
    """An .npz made of the given member bytes (headers that may lie)."""
    return _zip({f"{k}.npy": v for k, v in members.items()})


def big_png_zip(n: int = 40, side: int = 6000) -> bytes:
    """n PNGs of side x side black pixels in a zip: ~20 KB on disk, n x side^2 pixels to decode."""
    png = _png(np.zeros((side, side), np.uint8))
    return _zip({f"big{i:02d}.png": png for i in range(n)})


# ------------------------------------------------------------------------------------------ corpus
def _tables() -> list[tuple[Case, Callable[[], bytes]]]:
    header = ["a", "b", "c"]
    rows = _rows(40)
    latin1 = "name,size,weight\n" + "".join(f"caf\xe9 {i},{i % 2 * 5 + i * 0.01:.2f},{i % 3}\n" for i in range(30))
    over_limit_lines = 1_000_001 // len("1.000,2.000,3.000\n") + 10
    text_in_numeric = [r[:] for r in rows]
    text_in_numeric[3][1], text_in_numeric[7][1] = "n/a", "twelve"
    inf_rows = [r[:] for r in rows]
    inf_rows[2][0], inf_rows[5][1], inf_rows[9][2] = "inf", "-inf", "1e308"
    missing_label = [[*r, ["x", "y", ""][i % 3]] for i, r in enumerate(rows)]
    one_class = [[*r, "same"] for r in rows]
    unique_label = [[*r, f"row{i}"] for i, r in enumerate(rows)]
    quote = b'a,b,c\n1,2,3\n"4,5,6\n7,8,9\n10,11,12\n'
    return [
        (Case("empty file", "empty.csv", "table", "error", "is empty"), lambda: b""),
        (Case("only blank lines", "blank.csv", "table", "error", "is empty"), lambda: b"\n \n\r\n"),
        (Case("header only", "header_only.csv", "table", "error", "header but no rows"), lambda: b"a,b,c\n"),
        (Case("one row", "one_row.csv", "table", "error", "only 1 row"), lambda: b"a,b,c\n1,2,3\n"),
        (Case("two rows", "two_rows.csv", "table", "error", "only 2 rows"), lambda: b"a,b\n1,2\n3,4\n"),
        (Case("three rows", "three_rows.csv", "table", "error", "at least 4"), lambda: b"a,b\n1,2\n3,4\n5,7\n"),
        (
            Case("semicolons in a .csv", "semicolon.csv", "table", "ok", "separated by ';'"),
            lambda: _csv(header, rows, ";"),
        ),
        (Case("tabs in a .csv", "tabs.csv", "table", "ok", "separated by a tab"), lambda: _csv(header, rows, "\t")),
        (Case("an unknown delimiter", "colons.csv", "table", "error", "delimiter"), lambda: _csv(header, rows, ":")),
        (Case("Latin-1 text", "latin1.csv", "table", "ok", "not valid UTF-8"), lambda: latin1.encode("latin-1")),
        (
            Case("UTF-16 with a byte-order mark", "utf16.csv", "table", "ok", ""),
            lambda: _csv(header, rows).decode().encode("utf-16"),
        ),
        (
            Case("UTF-16 without a byte-order mark", "utf16le.csv", "table", "error", "binary data"),
            lambda: _csv(header, rows).decode().encode("utf-16-le"),
        ),
        (
            Case("binary garbage named .csv", "garbage.csv", "table", "error", "binary data"),
            lambda: np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        ),
        (
            Case("a row too short", "ragged_short.csv", "table", "error", "line 4 has 2 fields but the header has 3"),
            lambda: _csv(header, [*rows[:2], rows[2][:2], *rows[3:]]),
        ),
        (
            Case("a row too long", "ragged_long.csv", "table", "error", "line 3 has 4 fields but the header has 3"),
            lambda: _csv(header, [*rows[:1], rows[1] + ["9"], *rows[2:]]),
        ),
        (Case("an unclosed quote", "unclosed_quote.csv", "table", "error", "quote"), lambda: quote),
        (
            Case("a field over the csv field limit", "huge_field.csv", "table", "error", "field"),
            lambda: b"a,b,c\n1,2,3\n4,5," + b"7" * 200_000 + b"\n8,9,10\n",
        ),
        (
            Case("duplicate column names", "duplicate_columns.csv", "table", "ok", "repeated"),
            lambda: _csv(["a", "a", "b"], rows),
        ),
        (Case("blank column names", "blank_names.csv", "table", "ok", "blank"), lambda: _csv(["", "b", ""], rows)),
        (
            Case("an all-missing column", "all_missing_column.csv", "table", "ok", "with no values"),
            lambda: _csv([*header, "gone"], [[*r, ""] for r in rows]),
        ),
        (
            Case("every column missing", "all_missing.csv", "table", "error", "no usable feature columns"),
            lambda: _csv(header, [["", "", ""]] * 10),
        ),
        (
            Case("only free text", "only_text.csv", "table", "error", "no usable feature columns"),
            lambda: _csv(["name"], [[f"person {i}"] for i in range(30)]),
        ),
        (
            Case("text in a numeric column", "text_in_numeric.csv", "table", "ok", "not numbers"),
            lambda: _csv(header, text_in_numeric),
        ),
        (
            Case("inf and 1e308 values", "inf_huge.csv", "table", "ok", "infinite or huge"),
            lambda: _csv(header, inf_rows),
        ),
        (
            Case("a label with missing values", "label_missing.csv", "table", "ok", "no label", "kind"),
            lambda: _csv([*header, "kind"], missing_label),
        ),
        (
            Case("a label with one class", "label_one_class.csv", "table", "ok", "single class", "kind"),
            lambda: _csv([*header, "kind"], one_class),
        ),
        (
            Case(
                "a label with all-unique values",
                "label_unique.csv",
                "table",
                "ok",
                "different value on every row",
                "kind",
            ),
            lambda: _csv([*header, "kind"], unique_label),
        ),
        (
            Case("a label column that does not exist", "label_absent.csv", "table", "error", "does not exist", "nope"),
            lambda: _csv(header, rows),
        ),
        (
            Case("more columns than rows", "wide.csv", "table", "ok", ""),
            lambda: _csv([f"c{i}" for i in range(40)], _rows(6, 40)),
        ),
        (
            Case("more columns than the cap", "too_many_columns.csv", "table", "error", "max_columns"),
            lambda: _csv([f"c{i}" for i in range(501)], _rows(4, 501)),
        ),
        (
            Case("more rows than the cap", "too_many_rows.csv", "table", "error", "max_rows"),
            lambda: b"a,b\n" + b"1,2\n3,4\n5,4\n" * 6_667,
        ),
        (
            Case("a file over the upload limit", "too_big.csv", "table", "error", "max_upload_bytes"),
            lambda: (
                b"a,b,c\n"
                + b"".join(b"%d.000,%d.000,%d.000\n" % (i % 7, i % 5, i % 3) for i in range(over_limit_lines))
            ),
        ),
        (
            Case("binary garbage named .parquet", "garbage.parquet", "table", "error", "not a readable Parquet file"),
            lambda: b"PAR1 this is not really parquet PAR1",
        ),
        (
            Case("vectors of different lengths", "ragged_vectors.parquet", "table", "error", "different lengths"),
            lambda: _parquet({"embedding": [[1.0, 2.0], [3.0], [4.0, 5.0], [6.0, 7.0]]}),
        ),
        # issue 13: small files that decode to a lot, refused from their metadata
        (
            Case(
                "a Parquet of constant columns that decodes past the memory cap",
                "constant_columns.parquet",
                "table",
                "error",
                "max_decoded_bytes",
            ),
            lambda: constant_parquet(20_000, 400),
        ),
        (
            Case(
                "a Parquet repeating one long string", "repeated_string.parquet", "table", "error", "max_decoded_bytes"
            ),
            lambda: repeated_string_parquet(20_000, 4_000),
        ),
        # issue 13: loader gaps
        (
            Case("CR-only line endings", "cr_only.csv", "table", "ok", "CR only"),
            lambda: _csv(header, rows).replace(b"\n", b"\r"),
        ),
        (
            Case("an Excel sep=; first line", "excel_sep.csv", "table", "ok", "Excel hint"),
            lambda: b"sep=;\n" + _csv(header, rows, ";"),
        ),
        (
            Case("UTF-32 with a byte-order mark", "utf32.csv", "table", "ok", ""),
            lambda: _csv(header, rows).decode().encode("utf-32"),
        ),
        (
            Case("UTF-32 without a byte-order mark", "utf32le.csv", "table", "error", "UTF-16 or UTF-32"),
            lambda: _csv(header, rows).decode().encode("utf-32-le"),
        ),
        (
            Case('quoted "1,000" in a comma-separated file', "thousands.csv", "table", "ok", "groups thousands"),
            lambda: _csv(
                ["amount", "b", "c"], [[f'"{i % 2 * 5 + 1},{i:03d}"', r[1], r[2]] for i, r in enumerate(rows)]
            ),
        ),
        (
            Case("a Parquet with a list-of-strings column", "tags.parquet", "table", "ok", "lists or other objects"),
            lambda: _parquet(
                {"tags": [["a", "b"], ["c"]] * 20, "a": [float(r[0]) for r in rows], "b": [float(r[1]) for r in rows]}
            ),
        ),
        (
            Case(
                "a Parquet with two list-of-strings columns",
                "two_tag_columns.parquet",
                "table",
                "ok",
                "lists or other objects",
            ),
            lambda: _parquet(
                {"tags": [["a", "b"], ["c"]] * 20, "more": [["x"]] * 40, "a": [float(r[0]) for r in rows]}
            ),
        ),
    ]


def _images() -> list[tuple[Case, Callable[[], bytes]]]:
    def mixed() -> bytes:
        members = {
            "l.png": _png(_gray(8, 8)),
            "rgb.png": _png(np.stack([_gray(10, 12, s) for s in (1, 2, 3)], -1)),
            "rgba.png": _png(np.dstack([_gray(8, 8, s) for s in (4, 5, 6, 7)])),
            "p.png": _png(np.stack([_gray(8, 8, s) for s in (8, 9, 10)], -1), "P"),
            "sixteen.png": _png((np.random.default_rng(11).integers(0, 65535, (16, 16))).astype(np.uint16)),
            "la.png": _png(np.dstack([_gray(8, 8, 12), _gray(8, 8, 13)])),
            "one_bit.png": _png(_gray(8, 8, 14), "1"),
        }
        return _zip(members)

    png = _png(_gray(16, 16))
    return [
        (Case("images of mixed sizes and modes", "mixed.zip", "images", "ok", "sizes"), mixed),
        (
            Case("a truncated PNG", "truncated.png", "images", "error", "could not be read as an image"),
            lambda: png[: len(png) // 2],
        ),
        (
            Case("a truncated PNG among good ones", "some_truncated.zip", "images", "ok", "could not be read"),
            lambda: _zip({**_good_pngs(4), "cut.png": png[: len(png) // 2]}),
        ),
        (
            Case("a text file renamed .png", "text.png", "images", "error", "could not be read as an image"),
            lambda: b"just some text, not an image\n" * 10,
        ),
        (
            Case("PostScript renamed .png", "postscript.png", "images", "error", "could not be read as an image"),
            lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        ),
        (
            Case("a 20000x20000 image", "bomb.png", "images", "error", "max_image_pixels"),
            lambda: _png_claiming(20_000, 20_000),
        ),
        (
            Case("a 20000x20000 image in a zip", "bomb_in.zip", "images", "error", "max_image_pixels"),
            lambda: _zip({**_good_pngs(3), "huge.png": _png_claiming(20_000, 20_000)}),
        ),
        (Case("one image", "single.png", "images", "error", "only 1 image"), lambda: png),
        (
            Case("zip slip only", "zip_slip.zip", "images", "error", "unsafe path"),
            lambda: _zip({"../../evil.png": png, "/etc/evil.png": png, "..\\win.png": png, "C:/x.png": png}),
        ),
        (
            Case("zip slip beside good images", "zip_slip_mixed.zip", "images", "ok", "unsafe path"),
            lambda: _zip({**_good_pngs(4, "ok/"), "../escape.png": png, "a/../../escape2.png": png}),
        ),
        (Case("a zip bomb", "zip_bomb.zip", "images", "error", "zip bomb"), _zip_bomb),
        (Case("a zip entry that lies about its size", "liar.zip", "images", "ok", "could not be read"), _lying_zip),
        (
            Case("a zip holding only a zip", "nested.zip", "images", "error", "nested zips"),
            lambda: _zip({"inner.zip": _zip(_good_pngs(4))}),
        ),
        (
            Case("a zip with a zip beside images", "nested_mixed.zip", "images", "ok", "nested zips"),
            lambda: _zip({**_good_pngs(4), "inner.zip": _zip(_good_pngs(4))}),
        ),
        (
            Case("a zip with no images", "no_images.zip", "images", "error", "no images found"),
            lambda: _zip({"readme.txt": b"hello", "data.csv": b"a,b\n1,2\n"}),
        ),
        (Case("an empty zip", "empty.zip", "images", "error", "no images found"), lambda: _zip({})),
        (
            Case("not a zip at all", "not_a_zip.zip", "images", "error", "not a readable zip"),
            lambda: b"PK\x03\x04 but nothing else",
        ),
        (Case("two images", "two.zip", "images", "error", "only 2 images"), lambda: _zip(_good_pngs(2))),
        (
            Case("more images than the cap", "too_many_images.zip", "images", "error", "max_images"),
            lambda: _zip({f"{i}.png": _png(np.full((1, 1), i % 256, np.uint8)) for i in range(201)}),
        ),
        (
            Case("hidden and macOS files beside images", "hidden.zip", "images", "ok", ""),
            lambda: _zip({**_good_pngs(4), "__MACOSX/._000.png": b"junk", ".DS_Store": b"junk"}),
        ),
        (
            Case("a zip of 40 PNGs of 6000x6000 pixels", "big_pngs.zip", "images", "error", "max_total_pixels"),
            big_png_zip,
        ),
    ]


def _arrays() -> list[tuple[Case, Callable[[], bytes]]]:
    good = np.random.default_rng(0).normal(size=(30, 4))
    return [
        (
            Case("an object-dtype .npy", "object.npy", "array", "error", "never unpickled"),
            lambda: _npy(np.array([{"x": 1}, [2], "3"], dtype=object), allow_pickle=True),
        ),
        (
            Case("an object array in an .npz", "object.npz", "array", "error", "never unpickled"),
            lambda: _npz(X=np.array([[1.0, 2.0]] * 5), y=np.array([None, 1, "a", 2.0, []], dtype=object)),
        ),
        (
            Case("a raw pickle named .npy", "pickle.npy", "array", "error", "never unpickled"),
            lambda: b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.",
        ),
        (
            Case("a truncated .npy", "truncated.npy", "array", "error", "not a readable NumPy file"),
            lambda: _npy(good)[:100],
        ),
        (Case("a 1-D array", "flat.npy", "array", "error", "shape"), lambda: _npy(np.arange(10.0))),
        (
            Case("NaN in an array", "nan.npy", "array", "error", "NaN or infinite"),
            lambda: _npy(np.where(np.eye(30, 4) > 0, np.nan, good)),
        ),
        (
            Case("1e308 in a float64 array", "huge.npy", "array", "error", "too large"),
            lambda: _npy(np.where(np.eye(30, 4) > 0, 1e308, good)),
        ),
        (Case("complex numbers", "complex.npy", "array", "error", "complex"), lambda: _npy(good.astype(np.complex128))),
        (
            Case("a structured array", "structured.npy", "array", "error", "plain numeric array"),
            lambda: _npy(np.zeros(5, dtype=[("a", "f4"), ("b", "i4")])),
        ),
        (
            Case("an .npz of labels only", "labels_only.npz", "array", "error", "only labels"),
            lambda: _npz(y=np.arange(5)),
        ),
        # issue 13
        (Case("an .npy whose header claims 10^13 elements", "lying.npy", "array", "error", "header lies"), lying_npy),
        (
            Case("an .npz member whose header claims more than it holds", "lying.npz", "array", "error", "header lies"),
            lambda: _npz_raw({"X": _npy_header((1000, 1000)) + bytes(800)}),
        ),
        (Case("an .npz bomb", "bomb.npz", "array", "error", "max_compression_ratio"), lambda: npz_bomb(40)),
        (
            Case("an .npz over the row cap by its header", "many_rows.npz", "array", "error", "max_rows"),
            lambda: _npz(X=np.zeros((30_000, 4))),
        ),
    ]


def _other() -> list[tuple[Case, Callable[[], bytes]]]:
    return [
        (Case("an unsupported file type", "program.exe", "other", "error", "can't be read"), lambda: b"MZ\x90\x00"),
        (Case("no extension", "README", "other", "error", "can't be read"), lambda: b"hello"),
    ]


def build_corpus(folder: str | Path) -> list[Case]:
    """Write every input of the corpus into ``folder`` (created if needed); one Case per file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for case, make in [*_tables(), *_images(), *_arrays(), *_other()]:
        (folder / case.filename).write_bytes(make())
        cases.append(case)
    names = [c.filename for c in cases]
    assert len(set(names)) == len(names), "two cases share a file name"
    return cases


MIME = {
    ".csv": "text/csv",
    ".zip": "application/zip",
    ".png": "image/png",
    ".parquet": "application/octet-stream",
    ".npy": "application/octet-stream",
    ".npz": "application/octet-stream",
}


def mime_type(filename: str) -> str:
    """The MIME type a browser would send for ``filename``."""
    return MIME.get(Path(filename).suffix.lower(), "application/octet-stream")
