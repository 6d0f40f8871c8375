"""Photos: the pretrained image encoder's features of CIFAR-10 photos and the clusterings on them.

    python -m bench.measure.photos [--per-class 300] [--seeds 0 1 2] [--zip ../shared/data/cifar10/cifar10_test.zip]
        [--tag _10k]

A subset of ``--per-class`` photos per class (3,000 by default: 300 of each of 10) is written as a zip of JPEGs in class
folders and loaded through :func:`explorer.data.load`, as an upload is. The photos are encoded once with the default
encoder (``--model pretrained``: EfficientNet-Lite2), timed; then, k given = the number of classes, on the same
features: k-means, N2D (UMAP then a GMM: method "n2d"), the clustering head (SCAN's neighbour agreement: method "head")
and a GMM on a PCA of the features (``--pca`` components),
ACC / NMI per seed. The JSON records the CPU model (lscpu), the ISA torch dispatches to
(``torch.backends.cpu.get_cpu_capability()``), the thread count and the load. Writes photos.json under bench/results/.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, ROOT, log, machine, write_json

CIFAR_ZIP = ROOT.parent / "shared" / "data" / "cifar10" / "cifar10_test.zip"


def subset_zip(path: Path, per_class: int) -> bytes:
    """The first ``per_class`` photos of each class folder of the zip at ``path``, as a new zip's bytes."""
    taken: dict[str, int] = {}
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for name in sorted(src.namelist()):
            if name.endswith("/") or "/" not in name:
                continue
            folder = name.split("/", 1)[0]
            if taken.get(folder, 0) < per_class:
                taken[folder] = taken.get(folder, 0) + 1
                dst.writestr(name, src.read(name))
    return out.getvalue()


def cpu_model() -> str:
    """The CPU's model name as lscpu reports it ("unknown" without lscpu)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def scores(y: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from explorer.metrics import external_metrics, hungarian_accuracy

    return {"acc": round(hungarian_accuracy(y, labels), 4), "nmi": round(external_metrics(y, labels)["nmi"], 4)}


def main() -> None:
    import torch

    from explorer.cluster.methods import cluster
    from explorer.cluster.types import ClusterConfig
    from explorer.data import load
    from explorer.reducers import PCA, ModelConfig, make_reducer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=CIFAR_ZIP)
    ap.add_argument("--per-class", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pca", type=int, default=50)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="", help="results in photos<TAG>.json (e.g. _10k for --per-class 1000)")
    args = ap.parse_args()

    started_on = machine()
    t0 = time.perf_counter()
    ds = load(subset_zip(args.zip, args.per_class), name="cifar10_subset.zip")
    load_s = time.perf_counter() - t0
    assert ds.labels is not None, "the subset's class folders give the labels"
    k = len(np.unique(ds.labels))
    log(f"loaded {ds.n} photos {ds.image_shape} in {load_s:.1f} s; k = {k}")

    encoder = make_reducer(ModelConfig(kind="pretrained"), image_shape=ds.image_shape, device="auto")
    t0 = time.perf_counter()
    F = encoder.fit(ds.X).transform(ds.X)
    encode_s = time.perf_counter() - t0
    load_after_encoding = os.getloadavg()[0]
    log(f"encoded to {F.shape} in {encode_s:.1f} s on {encoder.device_}")

    pca = PCA(n_components=args.pca).fit(F)
    P = pca.transform(F)
    runs: dict[str, list[dict]] = {"kmeans": [], "n2d": [], "head": [], f"gmm_pca{args.pca}": []}
    for seed in args.seeds:
        for name, Z, method in (
            ("kmeans", F, "kmeans"),
            ("n2d", F, "n2d"),
            ("head", F, "head"),
            (f"gmm_pca{args.pca}", P, "gmm"),
        ):
            t0 = time.perf_counter()
            res = cluster(Z, ClusterConfig(method=method, k=k, random_state=seed))
            row = {"seed": seed, **scores(ds.labels, res.labels), "seconds": round(time.perf_counter() - t0, 1)}
            runs[name].append(row)
            log(f"{name} seed {seed}: {row}")
    summary = {
        name: {m: round(float(np.mean([r[m] for r in rows])), 4) for m in ("acc", "nmi", "seconds")}
        for name, rows in runs.items()
    }
    out = {
        "what": f"CIFAR-10 test, {args.per_class} photos per class through the upload path (zip of JPEGs), k = {k}",
        "machine": started_on,
        "load_after_encoding": round(load_after_encoding, 1),
        "cpu_model_lscpu": cpu_model(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "device": encoder.device_,
        "n": ds.n,
        "image_shape": list(ds.image_shape or ()),
        "load_seconds": round(load_s, 1),
        "encode_seconds": round(encode_s, 1),
        "encoder": {"name": encoder.encoder, **encoder.export_state()[0]},
        "runs": runs,
        "summary": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"photos{args.tag}.json", out)
    log(f"wrote {args.out / f'photos{args.tag}.json'}: {summary}")


if __name__ == "__main__":
    main()
