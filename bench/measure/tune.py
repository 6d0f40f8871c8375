"""Try variants of the default pipeline on the benchmark sets (for choosing defaults).

    python -m bench.measure.tune mnist_test --variant base --variant aug ... [--seeds 0]

Prints one line per (dataset, variant, seed) and writes them as JSON lines to $OUT or bench/out/.
Labels are used only to score the variants after the fact.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from bench.suites.common import BENCH
from bench.suites.labeled_sets import DATASETS
from explorer.cluster.methods import cluster, sweep_k
from explorer.cluster.types import ClusterConfig
from explorer.metrics import external_metrics
from explorer.pipeline import default_config, fit_representation

VARIANTS = {
    "base": {},
    "e50": {"epochs": 50},
    "e200": {"epochs": 200},
    "aug": {"augment": True},
    "aug_e50": {"augment": True, "epochs": 50},
    "aug_e200": {"augment": True, "epochs": 200},
    "aug_e150": {"augment": True, "epochs": 150},
    "lr3": {"lr": 3e-4},
    "bs128": {"batch_size": 128},
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("datasets", nargs="+")
    p.add_argument("--variant", action="append", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--neighbors", type=int, nargs="+", default=[10, 20])
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    out_dir = Path(os.environ.get("OUT", BENCH / "out"))
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "tune.jsonl"
    for name in args.datasets:
        ds = DATASETS[name]()
        k_true = ds.n_classes
        for variant in args.variant or ["base"]:
            for seed in args.seeds:
                cfg = default_config(ds)
                cfg = replace(cfg, device=args.device, seed=seed, model=replace(cfg.model, **VARIANTS[variant]))
                t0 = time.perf_counter()
                reducer = fit_representation(ds, cfg, args.device if args.device != "auto" else _auto(), lambda e: None)
                Z = reducer.transform(ds.X) if reducer is not None else ds.X
                t_train = time.perf_counter() - t0
                for nn in args.neighbors:
                    t1 = time.perf_counter()
                    res = cluster(Z, ClusterConfig(method="n2d", k=k_true, umap_neighbors=nn, random_state=seed))
                    t_cl = time.perf_counter() - t1
                    m = external_metrics(ds.labels, res.labels)
                    sw = sweep_k(res.embedding, (2, 15), random_state=seed)
                    row = {
                        "dataset": name,
                        "variant": variant,
                        "seed": seed,
                        "neighbors": nn,
                        "train_s": round(t_train, 1),
                        "cluster_s": round(t_cl, 1),
                        **{k: round(v, 4) for k, v in m.items()},
                        "auto_k": sw.suggested,
                        "device": str(getattr(reducer, "device_", "cpu")),
                    }
                    print(json.dumps(row), flush=True)
                    with open(log_path, "a") as log:  # each row on disk as soon as it is measured
                        log.write(json.dumps(row) + "\n")


def _auto() -> str:
    from explorer.device import resolve_device

    return resolve_device("auto").name


if __name__ == "__main__":
    main()
