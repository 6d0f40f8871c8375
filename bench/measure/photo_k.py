"""Photos without k: how many clusters the photo default picks, against the true number of kinds.

    python -m bench.measure.photo_k [--per-class 100] [--seeds 0 1 2] [--features DIR]

Two sets through the upload path, encoded once with the default encoder (``--model pretrained``): the bundled clip
art (sample_data/clipart.zip: 150 images, 5 kinds) and a CIFAR-10 test subset (``--per-class`` photos of each of
10 classes). Per seed: the clustering head's own k sweep (:func:`explorer.cluster.head.sweep_head_k`: modularity
of its clusters on the graph of mined neighbours) and the k-means silhouette sweep that picked k before, each k
with the head's ACC / NMI at that k, and the head at the true k. ``--features DIR``: read ``<set>.npz`` (F, y)
instead of encoding (a cache of the features). Writes photo_k.json under bench/results/.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from bench.measure.photos import CIFAR_ZIP, scores, subset_zip
from bench.suites.common import RESULTS, ROOT, log, machine, write_json

CLIPART = ROOT / "sample_data" / "clipart.zip"


def features(name: str, per_class: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(the encoder's features (n, 1280), the true kinds (n,)) of the set ``name``."""
    if cache is not None and (cache / f"{name}.npz").is_file():
        d = np.load(cache / f"{name}.npz", allow_pickle=False)
        return d["F"].astype(np.float32), d["y"]
    from explorer.data import load
    from explorer.reducers import ModelConfig, make_reducer

    data = CLIPART.read_bytes() if name == "clipart" else subset_zip(CIFAR_ZIP, per_class)
    ds = load(data, name=f"{name}.zip")
    assert ds.labels is not None, "the class folders give the labels"
    encoder = make_reducer(ModelConfig(kind="pretrained"), image_shape=ds.image_shape, device="auto")
    return encoder.fit(ds.X).transform(ds.X).astype(np.float32), np.asarray(ds.labels)


def main() -> None:
    from explorer.cluster.methods import cluster
    from explorer.cluster.sweep import sweep_k
    from explorer.cluster.types import ClusterConfig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--features", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    started_on = machine()
    sets: dict[str, dict] = {}
    for name in ("clipart", f"cifar{args.per_class}"):
        F, y = features(name, args.per_class, args.features)
        true_k = len(np.unique(y))
        silhouette_k = sweep_k(F, (2, 15), random_state=0).suggested
        rows = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            chosen = cluster(F, ClusterConfig(method="head", random_state=seed))
            seconds = time.perf_counter() - t0
            at_true = cluster(F, ClusterConfig(method="head", k=true_k, random_state=seed))
            row = {
                "seed": seed,
                "k": chosen.k,
                "chosen": scores(y, chosen.labels),
                "true_k": scores(y, at_true.labels),
                "modularity": [round(q, 4) for q in (chosen.sweep.modularity or [])] if chosen.sweep else [],
                "seconds": round(seconds, 1),
                "load": round(os.getloadavg()[0], 1),
            }
            rows.append(row)
            log(f"{name} seed {seed}: {row}")
        sets[name] = {"n": len(y), "true_k": true_k, "silhouette_k": silhouette_k, "runs": rows}
    out = {"what": "the photo default's k (the head's modularity sweep) against the truth", "machine": started_on}
    out["sets"] = sets
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "photo_k.json", out)
    log(f"wrote {args.out / 'photo_k.json'}")


if __name__ == "__main__":
    main()
