"""Where one epoch of the default image autoencoder spends its time, and how close it runs to the CPU's matmul.

    [ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2] [BENCH_THREADS=1] python -m bench.measure.epoch \
        [--rows 9000] [--epochs 2] [--variants base batch512 hidden1000 noaugment] [--tag _avx2]

One epoch of the DEC / N2D autoencoder (784-500-500-2000-10, Adam, batches of 256, each batch shifted and
rotated as the image default trains), timed phase by phase: the batch's rows gathered (data), the affine warp
(augment), the forward pass and loss, the backward pass, the optimiser's step, then the validation split.
Every phase records wall time and the CPU time of this thread: with one thread (BENCH_THREADS=1) the CPU time
is what the phase costs whatever else runs on the machine, so the split holds under load; the wall times do
not. The epoch's FLOPs (2 per multiply-add, backward twice the forward) over its time give its GFLOP/s, set
against a 2048^3 float32 matmul timed in the same run. MNIST-test's rows where ``EXPLORER_BENCH_DATA`` has
them, else random pixels of the same shape (the cost does not depend on the values). Variants: ``batch512``
(the same FLOPs in larger GEMMs), ``hidden1000`` (784-500-500-1000-10: a third fewer FLOPs),
``noaugment`` (the warp's share), ``foreach`` / ``fused`` (Adam's multi-tensor and fused kernels instead of
the per-tensor loop the product runs on the CPU).
Writes epoch<tag>.json.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json

VARIANTS = {
    "base": {"batch_size": 256, "hidden": (500, 500, 2000), "augment": True},
    "batch512": {"batch_size": 512, "hidden": (500, 500, 2000), "augment": True},
    "hidden1000": {"batch_size": 256, "hidden": (500, 500, 1000), "augment": True},
    "noaugment": {"batch_size": 256, "hidden": (500, 500, 2000), "augment": False},
    "foreach": {"batch_size": 256, "hidden": (500, 500, 2000), "augment": True, "adam": {"foreach": True}},
    "fused": {"batch_size": 256, "hidden": (500, 500, 2000), "augment": True, "adam": {"fused": True}},
}
PHASES = ("data", "augment", "forward", "backward", "optimizer", "validation")


def dense_flops_per_row(d: int, hidden: tuple[int, ...], latent: int) -> int:
    """Multiply-adds of one row through encoder and decoder, times 2 (a FLOP each): the forward pass."""
    sizes = [d, *hidden, latent, *reversed(hidden), d]
    return 2 * sum(a * b for a, b in itertools.pairwise(sizes))


def matmul_gflops(repeats: int = 5, n: int = 2048) -> dict[str, float]:
    """Median float32 GFLOP/s of an n x n x n matmul on this thread setting, per wall second and per second of
    this thread's CPU time (the one that holds under load with one thread)."""
    import torch

    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        a @ b
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
    flop = 2 * n**3 / 1e9
    return {
        "per_wall_s": round(flop / statistics.median(walls), 1),
        "per_thread_cpu_s": round(flop / statistics.median(cpus), 1),
    }


def images(rows: int) -> np.ndarray:
    """(rows, 784) float32 in [0, 1]: MNIST-test's first rows where the shared data are, else random pixels."""
    try:
        from bench.suites.labeled_sets import mnist_test

        X = mnist_test().X[:rows]
        if len(X) == rows:
            return np.ascontiguousarray(X, np.float32) / max(float(X.max()), 1.0)
    except Exception as exc:  # noqa: BLE001  # no shared data on this machine: the cost is the same on any pixels
        log(f"MNIST-test not available ({exc}); random pixels")
    return np.random.default_rng(0).random((rows, 784), dtype=np.float32)


def one_epoch(X: np.ndarray, variant: dict, seed: int) -> dict[str, Any]:
    """Train one epoch (90% of the rows, then the validation on 10%), phase by phase."""
    import torch
    import torch.nn.functional as F

    from explorer.reducers.autoencoder import random_affine
    from explorer.reducers.networks import DenseNet

    torch.manual_seed(seed)
    net = DenseNet(X.shape[1], list(variant["hidden"]), 10)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, **variant.get("adam", {}))  # {}: the product's
    data = torch.from_numpy(X)
    n_val = len(X) // 10
    order = torch.randperm(len(X))
    val_idx, train_idx = order[:n_val], order[n_val:]
    wall = dict.fromkeys(PHASES, 0.0)
    cpu = dict.fromkeys(PHASES, 0.0)
    mark = [time.perf_counter(), time.thread_time()]

    def lap(phase: str) -> None:
        w, c = time.perf_counter(), time.thread_time()
        wall[phase] += w - mark[0]
        cpu[phase] += c - mark[1]
        mark[:] = [w, c]

    net.train()
    perm = train_idx[torch.randperm(len(train_idx))]
    bs = int(variant["batch_size"])
    lap("data")
    wall["data"] = cpu["data"] = 0.0
    for i in range(0, len(perm), bs):
        xb = data[perm[i : i + bs]]
        lap("data")
        if variant["augment"]:
            xb = random_affine(xb, (28, 28, 1))
        lap("augment")
        loss = F.mse_loss(net.decode(net.encode(xb)), xb)
        lap("forward")
        loss.backward()
        lap("backward")
        opt.step()
        opt.zero_grad(set_to_none=True)
        lap("optimizer")
    net.eval()
    with torch.no_grad():
        for i in range(0, n_val, bs):
            xb = data[val_idx[i : i + bs]]
            F.mse_loss(net.decode(net.encode(xb)), xb).item()
    lap("validation")
    per_row = dense_flops_per_row(X.shape[1], tuple(variant["hidden"]), 10)
    flops = 3 * per_row * len(train_idx) + per_row * n_val  # backward: twice the forward
    total_wall, total_cpu = sum(wall.values()), sum(cpu.values())
    return {
        "wall_s": {k: round(v, 3) for k, v in wall.items()},
        "thread_cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "epoch_wall_s": round(total_wall, 3),
        "epoch_thread_cpu_s": round(total_cpu, 3),
        "gflop": round(flops / 1e9, 1),
        "gflops_per_wall_s": round(flops / total_wall / 1e9, 1),
        "gflops_per_thread_cpu_s": round(flops / total_cpu / 1e9, 1),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--rows", type=int, default=9000)
    p.add_argument("--epochs", type=int, default=2, help="epochs per variant (the first warms up)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="")
    a = p.parse_args(argv)

    doc: dict[str, Any] = {"machine": machine(), "rows": a.rows}
    X = images(a.rows)
    doc["matmul_gflops_before"] = matmul_gflops()
    runs: dict[str, list[dict]] = {name: [] for name in a.variants}
    for epoch in range(a.epochs):  # the variants alternate, so a change in the machine's load hits them alike
        for name in a.variants:
            row = one_epoch(X, VARIANTS[name], seed=epoch)
            runs[name].append(row)
            log(
                f"{name:<11} epoch {epoch}: wall {row['epoch_wall_s']:.2f} s, "
                f"thread CPU {row['epoch_thread_cpu_s']:.2f} s, "
                f"{row['gflops_per_thread_cpu_s']} GFLOP/s per CPU s  {row['thread_cpu_s']}"
            )
    doc["matmul_gflops_after"] = matmul_gflops()
    doc["variants"] = {name: {"config": VARIANTS[name], "epochs": rows} for name, rows in runs.items()}
    doc["load_average_at_end"] = list(os.getloadavg())
    name = f"epoch{a.tag}.json"
    write_json(a.out / name, doc)
    log(f"matmul {doc['matmul_gflops_before']} / {doc['matmul_gflops_after']} GFLOP/s; wrote {a.out / name}")


if __name__ == "__main__":
    main()
