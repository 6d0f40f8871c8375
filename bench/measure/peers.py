"""The product's default pipeline side by side with ClustPy's DEC, IDEC and N2D.

    python -m bench.measure.peers [--clustpy-python PATH] [--datasets mnist_test usps pendigits] [--seeds 0 1 2]
                          [--epochs N] [--clustering-epochs 50] [--side both|ours|clustpy] [--fresh]

ClustPy (PyPI ``clustpy``) lives in its own environment and is never a dependency of the product:

    python3.11 -m venv ../peers-venv
    ../peers-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 clustpy umap-learn==0.5.12

Each (dataset, seed, side) runs in a fresh process, one at a time, on the same input matrix (the
benchmark set as the product loads it): the product's side is ``run_pipeline`` with
``default_config(dataset, k=classes, seed=seed)`` (training, clustering, the 2-D map and the scores,
exactly what ``python -m explorer run`` does); ClustPy's side is ``bench/measure/peers_clustpy.py``. Both
pretrain their autoencoders for ``--epochs`` when it is given (where the product's default trains one);
without it the product trains as its default plans (MNIST-test: 150 epochs, its budget of examples) and
ClustPy for ``PEER_EPOCHS`` (150, the product's on MNIST-test). Wall
seconds are measured inside each process from the data in memory to the labels; peak memory is the
process's peak resident set. Labels are used only to score. Results accumulate in
``bench/results/peers.json`` (a cell already there is kept unless ``--fresh`` re-measures the cells this
run names: its datasets, seeds and sides), and
``docs/BENCHMARKS.md`` is regenerated from them.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report.peers import section_peers, summarize  # noqa: F401  (the table in docs/BENCHMARKS.md)
from bench.suites.common import QUICK_OVERRIDES, RESULTS, ROOT, log, machine, read_json, write_json
from bench.suites.labeled_sets import PEER_DATASETS as DATASETS

PEER_METHODS = ("dec", "idec", "n2d")
DEFAULT_PEER_PYTHON = ROOT.parent / "peers-venv" / "bin" / "python"


PEER_EPOCHS = 150  # ClustPy's pretraining epochs without --epochs: the product's plan on MNIST-test


def _peer_epochs(args: argparse.Namespace) -> int:
    return PEER_EPOCHS if args.epochs is None else int(args.epochs)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours_cell(dataset: str, seed: int, epochs: int | None, out: Path, device: str = "cpu", quick: bool = False) -> None:
    """The product's default pipeline on one (dataset, seed), in this (fresh) process; ``epochs``: the
    autoencoder's, in place of the default's (None: the default's); ``quick`` (the test's smoke run): one
    autoencoder and 30 refinement batches."""
    from bench.suites.labeled_sets import DATASETS as LOADERS
    from explorer.pipeline import default_config, replace_nested, run_pipeline
    from explorer.reducers import AE_KINDS

    ds = LOADERS[dataset]()
    cfg = default_config(ds, k=int(ds.n_classes), seed=seed, device=device)
    if epochs is not None and cfg.model.kind in AE_KINDS:
        cfg.model.epochs = epochs
    if quick:
        cfg = replace_nested(cfg, **QUICK_OVERRIDES)
    t0 = time.perf_counter()
    res = run_pipeline(ds, cfg)
    seconds = time.perf_counter() - t0
    write_json(
        out,
        {
            "labels": res.labels.astype(int).tolist(),
            "seconds": round(seconds, 2),
            "peak_mib": round(_peak_mib(), 1),
            "timings": {k: round(v, 2) for k, v in res.timings.items()},
            "config": cfg.to_dict(),
            "epochs_run": len(res.history),
        },
    )


def _run(cmd: list[str]) -> None:
    log("  $ " + " ".join(str(c) for c in cmd))
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )  # -m bench... from here
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[2]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")


def run_cells(args: argparse.Namespace) -> dict:
    from bench.suites.labeled_sets import DATASETS as LOADERS
    from explorer.metrics import external_metrics

    out_path = RESULTS / f"peers{args.tag}.json"
    results = read_json(out_path) if out_path.is_file() else {"cells": {}}  # --fresh re-measures only this run's cells
    results["machine"] = machine()
    results["settings"] = {
        "epochs": args.epochs,
        "peer_epochs": _peer_epochs(args),
        "device": args.device,
        "clustering_epochs": args.clustering_epochs,
        "clustpy_n2d_umap": {"n_neighbors": 10, "min_dist": 0.0, "n_components": "k"},
    }
    cells = results.setdefault("cells", {})
    sides = ["ours", "clustpy"] if args.side == "both" else [args.side]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            ds = LOADERS[name]()
            k = int(ds.n_classes)
            data = Path(tmp) / f"{name}.npy"
            np.save(data, np.ascontiguousarray(ds.X, dtype=np.float32))
            for seed in args.seeds:
                for side in sides:
                    key = f"{name}/{seed}/{side}"
                    if key in cells and not args.fresh:
                        continue
                    out = Path(tmp) / f"{name}_{seed}_{side}.json"
                    if side == "ours":
                        epochs = [] if args.epochs is None else ["--epochs", str(args.epochs)]
                        _run(
                            [
                                sys.executable,
                                "-m",
                                "bench.measure.peers",
                                "_ours",
                                name,
                                "--seed",
                                str(seed),
                                *epochs,
                                "--device",
                                args.device,
                                "--out",
                                str(out),
                            ]
                        )
                        raw = {"default": read_json(out)}
                    else:
                        _run(
                            [
                                str(args.clustpy_python),
                                "-m",
                                "bench.measure.peers_clustpy",
                                str(data),
                                "--k",
                                str(k),
                                "--seed",
                                str(seed),
                                "--epochs",
                                str(_peer_epochs(args)),
                                "--clustering-epochs",
                                str(args.clustering_epochs),
                                "--device",
                                args.device,
                                "--out",
                                str(out),
                            ]
                        )
                        peer = read_json(out)
                        results["clustpy_env"] = {
                            f: peer.get(f) for f in ("clustpy", "torch", "umap", "threads", "device")
                        }
                        raw = peer["methods"]
                    cell = {}
                    for method, r in raw.items():
                        scores = external_metrics(ds.labels, np.asarray(r.pop("labels")))
                        cell[method] = {**{m: round(v, 4) for m, v in scores.items()}, **r}
                        log(
                            f"{name} seed {seed} {side}:{method} acc {scores['acc']:.3f} nmi {scores['nmi']:.3f} "
                            f"{r['seconds']:.0f}s {r['peak_mib']:.0f} MiB"
                        )
                    cells[key] = {
                        "dataset": name,
                        "seed": seed,
                        "side": side,
                        "n": int(ds.n),
                        "d": int(ds.X.shape[1]),
                        "k": k,
                        "methods": cell,
                        "machine": results["machine"],
                    }
                    write_json(out_path, results)  # after every cell: a cut-short run keeps what it measured
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_ours":
        p = argparse.ArgumentParser()
        p.add_argument("cmd")
        p.add_argument("dataset")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--epochs", type=int, default=None)
        p.add_argument("--device", default="cpu")
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--quick", action="store_true")
        a = p.parse_args()
        ours_cell(a.dataset, a.seed, a.epochs, a.out, a.device, a.quick)
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clustpy-python", type=Path, default=Path(os.environ.get("CLUSTPY_PYTHON", DEFAULT_PEER_PYTHON)))
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"pretraining epochs, both sides (default: the product's own plan; ClustPy {PEER_EPOCHS})",
    )
    p.add_argument("--clustering-epochs", type=int, default=50, help="ClustPy DEC / IDEC clustering epochs")
    p.add_argument("--side", choices=("both", "ours", "clustpy"), default="both")
    p.add_argument("--fresh", action="store_true", help="re-measure cells already in bench/results/peers<tag>.json")
    p.add_argument("--device", default="cpu", help="both sides (cpu, or cuda on a GPU machine)")
    p.add_argument("--tag", default="", help="suffix of the results file (peers<tag>.json; _gpu for --device cuda)")
    args = p.parse_args()
    if args.device != "cpu" and not args.tag:
        args.tag = "_gpu"
    if args.side != "ours" and not (args.clustpy_python.is_file() or str(args.clustpy_python) == "python3"):
        sys.exit(
            f"ClustPy's python not found at {args.clustpy_python}: make its environment (see the top of this file) "
            "or pass --clustpy-python."
        )
    if args.clustpy_python.parent != Path():  # a path, not a name on $PATH: the cells run in ROOT
        args.clustpy_python = args.clustpy_python.absolute()
    run_cells(args)
    from bench.report.document import render

    render(RESULTS, ROOT / "docs" / "BENCHMARKS.md")
    log("wrote docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
