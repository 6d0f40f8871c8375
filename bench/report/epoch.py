"""The epoch-profile section of docs/BENCHMARKS.md, from bench/measure/epoch.py's results (bench/results/epoch*.json,
one file per CPU class, instruction set and thread count): where one epoch of the image autoencoder spends its
time, and its GFLOP/s against a matmul's measured in the same run."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.report.common import load

PHASES = ("data", "augment", "forward", "backward", "optimizer", "validation")


def epoch_docs(results: Path) -> list[dict]:
    """Every bench/results/epoch*.json, in name order."""
    docs = [load(results, p.stem) for p in sorted(results.glob("epoch*.json"))]
    return [d for d in docs if d]


def _steady(epochs: list[dict]) -> list[dict]:
    """The epochs after the first (a warm-up), or the one there is."""
    return epochs[1:] or epochs


def section_epoch(docs: list[dict], lines: list[str]) -> None:
    """One table row per results file and variant, appended to ``lines`` (nothing without results)."""
    if not docs:
        return
    lines += [
        "### One epoch of the image autoencoder, phase by phase",
        "",
        "`[ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2] BENCH_THREADS=1 python -m bench.measure.epoch`: one "
        "epoch of the 784-500-500-2000-10 autoencoder on 9,000 MNIST-test rows (8,100 to train, 900 to validate),"
        " the variants alternating in one process. Times are the CPU time of the thread that trains (with one "
        "thread: what the phase costs whatever else runs; the wall time under load is not), medians of the epochs"
        " after the first; the shares are of the epoch. GFLOP/s: the epoch's FLOPs over that time, beside a "
        "2048^3 float32 matmul's in the same run (before and after). `base` is the product's training (Adam's "
        "per-tensor loop); `foreach` and `fused` Adam's other kernels; `batch512` the same FLOPs in half as many "
        "steps; `hidden1000` a third fewer FLOPs (784-500-500-1000-10); `noaugment` without the affine warp.",
        "",
        "| CPU | torch ISA | threads | load | matmul GFLOP/s | variant | epoch CPU s | GFLOP/s | "
        + " | ".join(PHASES)
        + " |",
        "|" + "---|" * (8 + len(PHASES)),
    ]
    for doc in docs:
        m = doc["machine"]
        before, after = doc["matmul_gflops_before"], doc["matmul_gflops_after"]
        matmul = f"{before['per_thread_cpu_s']:.0f} / {after['per_thread_cpu_s']:.0f}"
        load_text = f"{m['load_average_at_start'][0]:.0f}-{doc['load_average_at_end'][0]:.0f}"
        for name, v in doc["variants"].items():
            epochs = _steady(v["epochs"])
            total = statistics.median(e["epoch_thread_cpu_s"] for e in epochs)
            gflops = statistics.median(e["gflops_per_thread_cpu_s"] for e in epochs)
            shares = [statistics.median(e["thread_cpu_s"][p] / e["epoch_thread_cpu_s"] for e in epochs) for p in PHASES]
            lines.append(
                f"| {m['cpu']} | {m.get('torch_cpu_capability', '?')} | {m['torch_threads']} | {load_text} | {matmul} "
                f"| {name} | {total:.2f} | {gflops:.0f} | " + " | ".join(f"{s:.0%}" for s in shares) + " |"
            )
    lines.append("")
