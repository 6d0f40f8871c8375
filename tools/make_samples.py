"""Build the bundled samples in sample_data/ (run once; the outputs are committed).

    python tools/make_samples.py [--shared ../shared/data]

- sample_data/mnist_digits.zip: the first 300 images of each digit of the MNIST test set, in test-set
  order, as 28x28 grayscale PNGs in class folders ``0/`` .. ``9/``, named by their MNIST-test index
  (``0/00003.png``). Read from the original IDX files in shared/data/mnist_test/.
- sample_data/penguins.csv: the Palmer penguins table exactly as shipped in the PyPI package
  ``palmerpenguins`` (``pip install palmerpenguins``; not a dependency of the project).
- sample_data/clipart.zip: colour clip art in five folders (birds, bugs, flowers, fruit, vehicles), the first
  ``PER_CLIPART_CLASS`` files of each in name order, drawn on white and fitted into 64x64 PNGs; from Debian's
  ``openclipart-png`` package (public domain), installed with ``apt-get install openclipart-png`` (or unpacked
  from its .deb: ``dpkg-deb -x``) and read from ``--openclipart``.

The output is deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PER_DIGIT = 300
#: Debian openclipart-png folder -> the sample's class folder
CLIPART_CLASSES = {
    "animals/birds": "birds",
    "animals/bugs": "bugs",
    "plants/flowers": "flowers",
    "food/fruit": "fruit",
    "transportation/vehicles": "vehicles",
}
PER_CLIPART_CLASS = 30
#: files whose picture is a browser's "linked image not found" placeholder, not clip art
CLIPART_LEFT_OUT = {"duck_yellow_ii_kurt_cagl_.png"}
CLIPART_SIDE = 64
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps keep the zip byte-identical between runs


def read_mnist_test(shared: Path) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set: images (10000, 28, 28) uint8, labels (10000,) uint8."""
    folder = shared / "mnist_test"
    images = np.frombuffer(gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, offset=16)
    labels = np.frombuffer(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8)
    return images.reshape(-1, 28, 28), labels


def make_mnist_zip(shared: Path, out: Path) -> int:
    images, labels = read_mnist_test(shared)
    chosen = np.sort(np.concatenate([np.flatnonzero(labels == d)[:PER_DIGIT] for d in range(10)]))
    with zipfile.ZipFile(out, "w") as zf:
        for index in sorted(chosen, key=lambda i: (labels[i], i)):
            buffer = io.BytesIO()
            Image.fromarray(images[index], "L").save(buffer, format="PNG", optimize=True)
            info = zipfile.ZipInfo(f"{labels[index]}/{index:05d}.png", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED  # PNG is compressed already
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue())
    return len(chosen)


def clipart_image(path: Path) -> Image.Image:
    """One clip art PNG drawn on white (transparency flattened), cropped to its drawing, scaled to fit
    CLIPART_SIDE and centred."""
    Image.MAX_IMAGE_PIXELS = None  # a few of the package's PNGs are huge (trusted input, shrunk first)
    img = Image.open(path)
    img.thumbnail((8 * CLIPART_SIDE, 8 * CLIPART_SIDE), Image.Resampling.LANCZOS)
    img = img.convert("RGBA")
    rgba = np.asarray(img)
    ink = (rgba[..., 3] > 0) & (rgba[..., :3].min(axis=2) < 245)  # drawn, and not white paper
    if ink.any():
        ys, xs = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        img = img.crop((int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1))
    img.thumbnail((CLIPART_SIDE, CLIPART_SIDE), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (CLIPART_SIDE, CLIPART_SIDE), (255, 255, 255, 255))
    canvas.alpha_composite(img, ((CLIPART_SIDE - img.width) // 2, (CLIPART_SIDE - img.height) // 2))
    return canvas.convert("RGB")


def make_clipart_zip(source: Path, out: Path) -> int:
    if not source.is_dir():
        raise SystemExit(f"{source} is missing: apt-get install openclipart-png (only needed to build this sample)")
    count = 0
    with zipfile.ZipFile(out, "w") as zf:
        for folder, name in CLIPART_CLASSES.items():
            files = sorted(
                p
                for p in (source / folder).iterdir()
                if p.suffix == ".png" and p.is_file() and p.name not in CLIPART_LEFT_OUT
            )
            for path in files[:PER_CLIPART_CLASS]:
                buffer = io.BytesIO()
                clipart_image(path).save(buffer, format="PNG", optimize=True)
                info = zipfile.ZipInfo(f"{name}/{path.name}", date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buffer.getvalue())
                count += 1
    return count


def make_penguins_csv(out: Path) -> int:
    from importlib.resources import files

    try:
        source = files("palmerpenguins") / "data" / "penguins.csv"
    except ModuleNotFoundError:
        raise SystemExit("pip install palmerpenguins first (it is only needed to build this sample)") from None
    data = source.read_bytes()
    out.write_bytes(data)
    return data.count(b"\n") - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--openclipart", type=Path, default=Path("/usr/share/openclipart/png"))
    parser.add_argument("--out", type=Path, default=ROOT / "sample_data")
    parser.add_argument(
        "--only", choices=["mnist_digits", "penguins", "clipart"], action="append", help="build only these samples"
    )
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    only = set(args.only or ["mnist_digits", "penguins", "clipart"])
    if "mnist_digits" in only:
        n = make_mnist_zip(args.shared, args.out / "mnist_digits.zip")
        print(f"mnist_digits.zip: {n} images, {(args.out / 'mnist_digits.zip').stat().st_size:,} bytes")
    if "penguins" in only:
        n = make_penguins_csv(args.out / "penguins.csv")
        print(f"penguins.csv: {n} rows, {(args.out / 'penguins.csv').stat().st_size:,} bytes")
    if "clipart" in only:
        n = make_clipart_zip(args.openclipart, args.out / "clipart.zip")
        print(f"clipart.zip: {n} images, {(args.out / 'clipart.zip').stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
