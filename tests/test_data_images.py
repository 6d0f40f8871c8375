"""Images: every format, class folders, modes and sizes, and the zip / decompression bomb guards."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from explorer.data import ImageOptions, load, load_images, load_sample
from explorer.errors import InputError, LimitError
from explorer.limits import Limits

FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP", "tif": "TIFF"}


def encode(image: Image.Image, ext: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=FORMATS[ext], **kw)
    return buffer.getvalue()


def gray(value: int, size: tuple[int, int] = (16, 12)) -> Image.Image:
    """A (w, h) = size grayscale image with a bright square on a ``value`` background."""
    a = np.full(size[::-1], value, np.uint8)
    a[2:6, 2:6] = 250
    return Image.fromarray(a, "L")


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but holds no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def class_zip() -> bytes:
    """Two class folders, every format in each, under one top folder."""
    members = {}
    for label, value in (("cats", 20), ("dogs", 120)):
        for ext in FORMATS:
            members[f"pets/{label}/{label}_{ext}.{ext}"] = encode(gray(value), ext)
    members["__MACOSX/pets/cats/._cats_png.png"] = b"resource fork"
    members["pets/.DS_Store"] = b"junk"
    members["pets/README.txt"] = b"about"
    return make_zip(members)


def test_zip_with_class_folders_every_format():
    ds = load(class_zip(), name="pets.zip")
    assert ds.kind == "images" and ds.name == "pets" and ds.images.shape == (12, 12, 16, 1)
    assert ds.images.dtype == np.uint8 and ds.X.dtype == np.float32
    assert ds.X.shape == (12, 12 * 16) and ds.X.min() >= 0 and ds.X.max() <= 1
    assert ds.feature_names[:2] == ["px0", "px1"]
    assert sorted(set(ds.labels)) == ["cats", "dogs"]
    assert "pets/cats/cats_webp.webp" in ds.ids.tolist() and len(set(ds.ids)) == 12
    for label, value in (("cats", 20), ("dogs", 120)):  # lossless formats keep the pixels exactly
        png = ds.images[ds.ids.tolist().index(f"pets/{label}/{label}_png.png"), ..., 0]
        assert png[0, 0] == value and png[3, 3] == 250
    text = ds.report.to_text()
    assert "folder names are the labels" in text and "README.txt" in text and "MACOSX" not in text


def test_loose_uploads_and_paths_in_class_folders(tmp_path):
    uploads = []
    for i, ext in enumerate(FORMATS):
        f = io.BytesIO(encode(gray(30 * i), ext))
        f.name = f"img{i}.{ext}"
        uploads.append(f)
    ds = load(uploads)
    assert ds.n == 6 and ds.labels is None and ds.ids.tolist() == [f.name for f in uploads]
    paths = []
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(2):
            path = tmp_path / label / f"{i}.png"
            gray(50 * i).save(path)
            paths.append(path)
    ds = load(paths)
    assert ds.ids.tolist() == ["a/0.png", "a/1.png", "b/0.png", "b/1.png"]
    assert ds.labels.tolist() == ["a", "a", "b", "b"]


def test_directory_with_hidden_files_and_nested_zip(tmp_path):
    for label in ("x", "y"):
        (tmp_path / "set" / label).mkdir(parents=True)
        for i in range(2):
            gray(10 + i).save(tmp_path / "set" / label / f"{i}.bmp")
    (tmp_path / "set" / ".hidden.png").write_bytes(b"not read")
    (tmp_path / "set" / "more.zip").write_bytes(make_zip({"z.png": encode(gray(1), "png")}))
    ds = load(tmp_path / "set")
    assert ds.n == 4 and ds.name == "set" and set(ds.labels) == {"x", "y"}
    assert any("nested zips" in n and "more.zip" in n for n in ds.report.notes)


def test_modes_are_converted():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:4, :, 3] = 255  # top half opaque red, bottom half fully transparent
    members = {
        "rgba.png": encode(Image.fromarray(rgba, "RGBA"), "png"),
        "palette.gif": encode(Image.fromarray(np.full((8, 8, 3), (0, 0, 255), np.uint8)).convert("P"), "gif"),
        "deep.png": encode(Image.fromarray(np.full((8, 8), 65535, np.uint16)), "png"),
        "cmyk.jpg": encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "jpg"),
        "la.png": encode(Image.new("LA", (8, 8), (100, 0)), "png"),
    }
    ds = load(make_zip(members), name="modes.zip")
    assert ds.images.shape == (5, 8, 8, 3)  # one color image makes the set RGB
    img = dict(zip(ds.ids, ds.images, strict=True))
    assert img["rgba.png"][0, 0].tolist() == [200, 0, 0] and img["rgba.png"][7, 0].tolist() == [255, 255, 255]
    assert img["la.png"][0, 0].tolist() == [255, 255, 255]  # transparent gray -> white
    assert img["deep.png"][0, 0].tolist() == [255, 255, 255]  # 16-bit full scale -> 255
    assert img["palette.gif"][0, 0].tolist() == [0, 0, 255]
    assert img["cmyk.jpg"][0, 0, 0] > 200 and img["cmyk.jpg"][0, 0, 1] < 60
    gray_only = load(
        make_zip(
            {k: v for k, v in members.items() if k in ("deep.png", "la.png")}
            | {"rgb_gray.png": encode(Image.new("RGB", (8, 8), (9, 9, 9)), "png"), "gray.png": encode(gray(7), "png")}
        ),
        name="g.zip",
    )
    assert gray_only.images.shape[-1] == 1  # RGB with R == G == B counts as gray
    assert load(make_zip(members), name="m.zip", images=ImageOptions(mode="L")).images.shape[-1] == 1
    forced = load(
        gray_only_zip := make_zip({f"{i}.png": encode(gray(i), "png") for i in range(4)}),
        name="f.zip",
        images=ImageOptions(mode="RGB"),
    )
    assert forced.images.shape[-1] == 3 and gray_only_zip


def test_sizes_mixed_capped_and_chosen():
    members = {f"{i}.png": encode(gray(i, (100, 50)), "png") for i in range(3)}
    members["odd.png"] = encode(gray(9, (30, 30)), "png")
    ds = load(make_zip(members), name="s.zip")
    assert ds.images.shape == (4, 32, 64, 1)  # most common 50x100 (h x w), capped at 64 keeping the aspect
    text = ds.report.to_text()
    assert "2 sizes" in text and "the 1 not of the most common size" in text and "shrunk from 50x100 to 32x64" in text
    ds = load(make_zip(members), name="s.zip", images=ImageOptions(size=(10, 20)))
    assert ds.images.shape == (4, 10, 20, 1)


def test_animated_gif_uses_first_frame():
    frames = [gray(10), gray(200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    ds = load(
        make_zip(
            {
                "anim.gif": buffer.getvalue(),
                "a.png": encode(gray(10), "png"),
                "b.png": encode(gray(10), "png"),
                "c.png": encode(gray(10), "png"),
            }
        ),
        name="g.zip",
    )
    assert ds.images[0, 0, 0, 0] == 10 and "first was used" in ds.report.to_text()


def test_broken_files_are_skipped_and_named():
    good = encode(gray(5), "png")
    ds = load(
        make_zip(
            {
                "a.png": good,
                "b.png": good,
                "c.png": good,
                "d.png": good,
                "cut.png": good[: len(good) // 2],
                "fake.jpg": b"hello, not a jpeg",
            }
        ),
        name="b.zip",
    )
    assert ds.n == 4
    note = next(n for n in ds.report.notes if "could not be read" in n)
    assert "cut.png" in note and "fake.jpg" in note
    with pytest.raises(InputError, match=r"none of the 2 files could be read.*fake.jpg"):
        load(make_zip({"fake.jpg": b"nope", "cut.png": good[:40]}), name="b.zip")
    with pytest.raises(InputError, match=r"no images found.*not images.*notes.txt"):
        load(make_zip({"notes.txt": b"hi"}), name="t.zip")
    with pytest.raises(InputError, match="not a readable zip"):
        load(b"PK but no zip", name="z.zip")
    with pytest.raises(InputError, match="at least 4"):
        load(make_zip({"a.png": good}), name="one.zip")


def test_zip_slip_entries_are_skipped():
    good = encode(gray(5), "png")
    members = {"../evil.png": good, "/etc/evil.png": good, "ok/../../evil2.png": good, "C:/win.png": good}
    ds = load(make_zip(members | {f"fine/{i}.png": good for i in range(4)}), name="slip.zip")
    assert ds.ids.tolist() == ["fine/0.png", "fine/1.png", "fine/2.png", "fine/3.png"]
    note = next(n for n in ds.report.notes if "unsafe path" in n)
    assert "../evil.png" in note and "/etc/evil.png" in note
    with pytest.raises(InputError, match=r"no images found.*unsafe path"):
        load(make_zip(members), name="slip.zip")


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """One member: 50 MB of zeros that compress to about 50 kB."""
    return make_zip({"bomb.bmp": bytes(50 * 2**20), "a.png": encode(gray(1), "png")})


def test_zip_bomb_declared_size(zip_bomb):
    assert len(zip_bomb) < 1_000_000
    with pytest.raises(LimitError, match=r"max_unzipped_bytes.*EXPLORER_MAX_UNZIPPED_BYTES"):
        load(zip_bomb, name="bomb.zip", limits=Limits(max_unzipped_bytes=10 * 2**20))


def test_zip_bomb_compression_ratio(zip_bomb):
    with pytest.raises(LimitError, match="zip bomb"):
        load(zip_bomb, name="bomb.zip")


def test_bytes_actually_read_are_capped(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.bmp").write_bytes(encode(gray(i, (64, 64)), "bmp"))  # ~5 kB each
    with pytest.raises(LimitError, match="max_unzipped_bytes"):
        load(tmp_path, limits=Limits(max_unzipped_bytes=12_000))


@pytest.mark.parametrize("width,height", [(20000, 20000), (7000, 7000)])
def test_decompression_bomb_is_refused_from_its_header(width, height):
    good = encode(gray(5), "png")
    members = {"a.png": good, "b.png": good, "bomb.png": png_header(width, height)}
    with pytest.raises(LimitError, match=r"max_image_pixels|too many pixels"):
        load(make_zip(members), name="bomb.zip")


def test_pixel_and_count_limits():
    good = encode(gray(5), "png")
    members = {f"{i}.png": good for i in range(5)}
    with pytest.raises(LimitError, match=r"is 16x12 = 192 pixels.*max_image_pixels=100"):
        load(make_zip(members), name="p.zip", limits=Limits(max_image_pixels=100))
    with pytest.raises(LimitError, match=r"5 images.*max_images=4"):
        load(make_zip(members), name="p.zip", limits=Limits(max_images=4))
    with pytest.raises(InputError, match="image mode 'CMYK'"):
        load_images(make_zip(members), name="p.zip", options=ImageOptions(mode="CMYK"))  # type: ignore[arg-type]  # the point


def test_mnist_sample():
    ds = load_sample("mnist_digits")
    assert ds.images.shape == (3000, 28, 28, 1) and ds.X.shape == (3000, 784)
    assert sorted(set(ds.labels)) == [str(d) for d in range(10)]
    assert (np.unique(ds.labels, return_counts=True)[1] == 300).all()
    assert ds.ids[0] == "0/00003.png" and ds.n_classes == 10


def test_clipart_sample():
    from explorer.data import SAMPLES

    ds = load_sample("clipart")
    assert ds.images.shape == (150, 64, 64, 3) and ds.n_classes == 5
    assert sorted(set(ds.labels)) == ["birds", "bugs", "flowers", "fruit", "vehicles"]
    assert (np.unique(ds.labels, return_counts=True)[1] == 30).all()
    assert (ds.images[:, 0, 0] > 200).mean() > 0.5  # drawn on white
    assert SAMPLES["clipart"].stat().st_size < 2_000_000
    readme = (SAMPLES["clipart"].parent / "README.md").read_text()
    assert "openclipart-png" in readme and "public domain" in readme and "not photos" in readme
