"""Build the bundled samples in sample_data/ (run once; the outputs are committed).

    python tools/make_samples.py [--shared ../shared/data]

- sample_data/mnist_digits.zip: the first 300 images of each digit of the MNIST test set, in test-set
  order, as 28x28 grayscale PNGs in class folders ``0/`` .. ``9/``, named by their MNIST-test index
  (``0/00003.png``). Read from the original IDX files in shared/data/mnist_test/.
- sample_data/penguins.csv: the Palmer penguins table exactly as shipped in the PyPI package
  ``palmerpenguins`` (``pip install palmerpenguins``; not a dependency of the project).

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
    parser.add_argument("--out", type=Path, default=ROOT / "sample_data")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    n = make_mnist_zip(args.shared, args.out / "mnist_digits.zip")
    print(f"mnist_digits.zip: {n} images, {(args.out / 'mnist_digits.zip').stat().st_size:,} bytes")
    n = make_penguins_csv(args.out / "penguins.csv")
    print(f"penguins.csv: {n} rows, {(args.out / 'penguins.csv').stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
