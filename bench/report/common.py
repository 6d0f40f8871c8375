"""What every part of docs/BENCHMARKS.md shares: reading the results, the dataset names, number
formatting, target verdicts and how a machine is described.

No section is rendered here; bench/report/document.py puts the sections together.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parents[1]  # bench/

# the datasets' names in the document; also their order in it
DATASET_NAMES = {
    "mnist_test": "MNIST-test",
    "usps": "USPS",
    "pendigits": "pendigits",
    "sklearn_digits": "load_digits",
    "fashion_mnist_1k": "Fashion-MNIST 1k",
}
TABLE_DATASETS = {"pendigits"}  # the benchmark sets the product loads as tables; the others are images

# (target, measured, verdict): one row of the targets table
Verdict = tuple[str, str, str]


def load(results: Path, name: str) -> dict | None:
    """bench/results/<name>.json, or None when that step has not been run."""
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def ds_label(ds: str) -> str:
    """A dataset's name in the document."""
    return DATASET_NAMES.get(ds, ds)


def ds_order(ds: str) -> int:
    """Sort key: the order of DATASET_NAMES, unknown datasets last."""
    return list(DATASET_NAMES).index(ds) if ds in DATASET_NAMES else len(DATASET_NAMES)


def ms(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def fmt(values: list[float]) -> str:
    """Mean ± sample std; the std of fewer than two values is n/a."""
    m, s = ms(values)
    return f"{m:.3f} ± {s:.3f}" if len(values) > 1 else f"{m:.3f} ± n/a"


def seeds_text(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def num(v: Any, digits: int = 3) -> str:
    """A score with three decimals (or ``digits``), '-' where there is none."""
    return "-" if v is None else f"{float(v):.{digits}f}"


def rel(path: Path, base: Path) -> str:
    """``path`` relative to the document's folder (for links and images)."""
    return os.path.relpath(path, base)


def verdict(value: float, bar: float, note: str = "", higher_is_better: bool = True) -> str:
    """'met' or '**not met** (short by / over by ...)', with an optional note in the brackets."""
    ok = value >= bar if higher_is_better else value <= bar
    if ok:
        return f"met ({note})" if note else "met"
    gap = f"short by {bar - value:.3f}" if higher_is_better else f"over by {value - bar:.3f}"
    return f"**not met** ({gap}" + (f"; {note})" if note else ")")


def load_average(m: dict) -> str:
    return ", ".join(f"{x:.1f}" for x in m.get("load_average_at_start", []))


def machine_text(m: dict) -> str:
    """'AMD EPYC, 2 cores, 2 torch threads' (with the GPU in front where there is one)."""
    threads = f"{m.get('torch_threads', '?')} torch thread{'' if m.get('torch_threads') == 1 else 's'}"
    if m.get("bench_threads_env"):
        threads += " (BENCH_THREADS)"
    cpu = f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {threads}"
    return f"{m['gpu']}; host {cpu}" if m.get("gpu") else cpu


def bf16_text(m: dict, on_gpu: bool) -> str:
    """Whether the device that trained computes bf16 natively, as the machine record says."""
    value = m.get("gpu_bf16") if on_gpu else m.get("native_bf16")
    return "not recorded" if value is None else ("yes" if value else "no")


def default_epochs() -> int:
    """The autoencoder's epochs when nothing overrides them (ModelConfig's own default)."""
    from explorer.pipeline import ModelConfig

    return ModelConfig().epochs


def default_dec_iter() -> int:
    """DEC / IDEC's batches when nothing overrides them."""
    from explorer.cluster.types import ClusterConfig

    return ClusterConfig().dec_max_iter
