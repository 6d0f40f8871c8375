"""Data-parallel training (DDP, torchrun) against one process: the same data, seed and epochs.

    python -m bench.measure.ddp [--epochs 20] [--processes 2] [--quick]

Trains the product's dense autoencoder (d-500-500-2000-10) on scikit-learn's digits (1,797 x 64, pixel
values / 16) once in one process and once in ``--processes`` processes on gloo (CPU), started by
torchrun, and reports the final training and validation losses, their ratio (target: within 5%), the
NMI of k-means on each code against the digit labels, and the wall time. One process uses all the
threads; each of N processes gets threads / N, so both runs have the same compute.
Writes bench/results/ddp.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.suites.common import RESULTS, ROOT, log, machine, write_json


def _data():
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _config(epochs: int, quick: bool):
    from explorer.reducers import ModelConfig

    if quick:
        return ModelConfig(kind="ae", hidden=(64, 64), latent_dim=10, epochs=epochs, patience=epochs)
    return ModelConfig(kind="ae", epochs=epochs, patience=epochs)  # no early stop: the same epochs on both sides


def _fit(epochs: int, quick: bool) -> dict:
    """Train here (inside torchrun: data-parallel with the other processes); the outcome as a dict."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from explorer.reducers import Autoencoder
    from explorer.reducers.distributed import data_parallel, init_from_env, leave

    X, y = _data()
    group = init_from_env()
    t0 = time.perf_counter()
    with data_parallel(group):
        model = Autoencoder(_config(epochs, quick), device="cpu", random_state=0).fit(X)
    seconds = time.perf_counter() - t0
    leave(group)
    last = model.history_[-1]
    Z = model.transform(X)
    nmi = normalized_mutual_info_score(y, KMeans(10, n_init=4, random_state=0).fit_predict(Z))
    return {
        "processes": group.world_size if group else 1,
        "rank": group.rank if group else 0,
        "loss": last["loss"],
        "val_loss": last["val_loss"],
        "epochs": len(model.history_),
        "precision": model.train_info_["precision"],
        "train_s": round(seconds, 2),
        "nmi_kmeans": round(float(nmi), 4),
        "notes": model.train_info_["notes"],
    }


def _threads() -> int:
    import torch

    return int(os.environ.get("BENCH_THREADS") or torch.get_num_threads())


def _in_processes(n: int, epochs: int, quick: bool, out: Path) -> dict:
    threads = max(_threads() // n, 1)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={n}",
        "-m",
        "bench.measure.ddp",
        "--worker",
        str(out),
        "--epochs",
        str(epochs),
        *(["--quick"] if quick else []),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, timeout=1800)
    wall = time.perf_counter() - t0
    ranks = [json.loads(Path(f"{out}.rank{r}").read_text()) for r in range(n)]
    for r in range(n):
        Path(f"{out}.rank{r}").unlink()
    same = all(r["loss"] == ranks[0]["loss"] and r["val_loss"] == ranks[0]["val_loss"] for r in ranks)
    return {**ranks[0], "threads_per_process": threads, "wall_s": round(wall, 2), "ranks_agree": same}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="a small network, a few epochs (a smoke test)")
    p.add_argument("--out", default=str(RESULTS / "ddp.json"))
    p.add_argument("--worker", help=argparse.SUPPRESS)  # run by torchrun: write this rank's outcome here
    args = p.parse_args()
    if args.quick and args.epochs == 20:
        args.epochs = 3
    if args.worker:
        outcome = _fit(args.epochs, args.quick)
        Path(f"{args.worker}.rank{outcome['rank']}").write_text(json.dumps(outcome))
        return
    info = machine()
    log(f"digits, {args.epochs} epochs: 1 process ({_threads()} threads)")
    import torch

    torch.set_num_threads(_threads())
    t0 = time.perf_counter()
    one = {**_fit(args.epochs, args.quick), "threads_per_process": _threads()}
    one["wall_s"] = round(time.perf_counter() - t0, 2)
    log(f"  loss {one['loss']:.5f} val {one['val_loss']:.5f} in {one['train_s']} s; now {args.processes} processes")
    many = _in_processes(args.processes, args.epochs, args.quick, Path(args.out).with_suffix(".part"))
    ratio = many["loss"] / one["loss"]
    val_ratio = many["val_loss"] / one["val_loss"]
    log(
        f"  loss {many['loss']:.5f} val {many['val_loss']:.5f} in {many['train_s']} s: ratio {ratio:.4f} (val "
        f"{val_ratio:.4f})"
    )
    result = {
        "machine": info,
        "uptime": _uptime(),
        "quick": args.quick,
        "data": "sklearn digits 1797 x 64",
        "model": "ae 64-64-10" if args.quick else "ae d-500-500-2000-10",
        "epochs": args.epochs,
        "batch_size": 256,
        "one_process": one,
        "data_parallel": many,
        "loss_ratio": round(ratio, 5),
        "val_loss_ratio": round(val_ratio, 5),
        "within_5_percent": abs(ratio - 1) <= 0.05 and abs(val_ratio - 1) <= 0.05,
    }
    write_json(Path(args.out), result)
    log(f"wrote {args.out}")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
