"""ClustPy's side of bench/measure/peers.py; runs in ClustPy's own environment, never imports explorer.

    <clustpy-python> -m bench.measure.peers_clustpy DATA.npy --k 10 --seed 0 --epochs 150 \
        --clustering-epochs 50 --out OUT.json

(from the repository root; the package's __init__ files import nothing, so ClustPy's environment needs no explorer).

One autoencoder is pretrained with ClustPy's defaults (d-500-500-2000-10, batch 256, Adam 1e-3, MSE) for
``--epochs`` epochs and shared by N2D, DEC and IDEC (each refines its own deep copy), so each method's
wall time is the pretraining plus its own stage. N2D runs first in the process, so it alone pays the
one-off numba compilation of UMAP, as the product's run does in its own process.
Peak memory is the process's peak resident set after the method (a running maximum: N2D's reading
covers pretraining + N2D; DEC's and IDEC's include the stages before them).
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time

import numpy as np


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--clustering-epochs", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    import torch
    import umap
    from clustpy.deep import DEC, IDEC, N2D
    from clustpy.deep._data_utils import get_train_and_test_dataloader
    from clustpy.deep._train_utils import get_trained_network

    X = np.load(a.data, allow_pickle=False).astype(np.float32)
    device = torch.device(a.device)
    from importlib.metadata import version

    out = {
        "device": str(device),
        "clustpy": version("clustpy"),
        "torch": torch.__version__,
        "umap": umap.__version__,
        "threads": torch.get_num_threads(),
        "epochs": a.epochs,
        "clustering_epochs": a.clustering_epochs,
        "methods": {},
    }

    t0 = time.perf_counter()
    trainloader, _, _ = get_train_and_test_dataloader(X, 256, None)
    net = get_trained_network(
        trainloader, n_epochs=a.epochs, device=device, embedding_size=10, random_state=np.random.RandomState(a.seed)
    )
    pretrain_s = time.perf_counter() - t0
    out["pretrain_seconds"] = round(pretrain_s, 2)

    def record(name: str, labels: np.ndarray, stage_s: float) -> None:
        out["methods"][name] = {
            "labels": np.asarray(labels).astype(int).tolist(),
            "stage_seconds": round(stage_s, 2),
            "seconds": round(pretrain_s + stage_s, 2),
            "peak_mib": round(peak_mib(), 1),
        }
        print(f"clustpy {name}: {pretrain_s + stage_s:.0f}s", flush=True)

    t0 = time.perf_counter()
    n2d = N2D(
        n_clusters=a.k,
        pretrain_epochs=a.epochs,
        neural_network=copy.deepcopy(net),
        manifold_class=umap.UMAP,
        manifold_params={"n_components": a.k, "n_neighbors": 10, "min_dist": 0.0, "random_state": a.seed},
        device=device,
        random_state=a.seed,
    ).fit(X)
    record("n2d", n2d.labels_, time.perf_counter() - t0)

    for name, cls in (("dec", DEC), ("idec", IDEC)):
        t0 = time.perf_counter()
        m = cls(
            n_clusters=a.k,
            pretrain_epochs=a.epochs,
            clustering_epochs=a.clustering_epochs,
            neural_network=copy.deepcopy(net),
            device=device,
            random_state=a.seed,
        ).fit(X)
        record(name, m.labels_, time.perf_counter() - t0)

    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
