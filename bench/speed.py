"""Speed benchmarks: the product against plain code, training throughput, the CLI end to end, scaling.

    python bench/speed.py overhead   [--dataset mnist_test] [--n 5000] [--epochs 5] [--repeats 3]
    python bench/speed.py throughput [--dataset mnist_test] [--epochs 3] [--repeats 3] [--device cpu]
    python bench/speed.py cli        [--dataset mnist_test] [--device auto]
    python bench/speed.py scaling    [--sizes 1000 10000 100000]
    (add --quick for tiny sizes; --out DIR for the JSON, default bench/results)

Comparisons are measured side by side in one process, alternating the order, and summarised by the
median of the repeats: the machine is shared, so single timings are noisy.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, log, machine, median, write_json


def load_bench_dataset(name: str):
    """A benchmark set by name; load_digits when the shared data folder is missing."""
    from datasets import DATASETS

    try:
        return DATASETS[name]()
    except FileNotFoundError:
        log(f"{name} not found; using scikit-learn's digits instead")
        return DATASETS["digits"]()


# -- product vs the plain reference --------------------------------------------------------------------
def overhead(dataset: str, n: int | None, epochs: int, repeats: int, device: str) -> dict:
    from reference_pipeline import ReferenceSettings, run_reference

    from explorer.metrics import external_metrics
    from explorer.pipeline import default_config, replace_nested, run_pipeline

    ds = load_bench_dataset(dataset)
    if n and n < ds.n:
        ds = ds.subset(np.arange(n))
    k = int(ds.n_classes)
    cfg = default_config(ds, k=k, epochs=epochs, device=device)
    m, c, p = cfg.model, cfg.cluster, cfg.projection
    if m.kind != "ae" or c.method != "n2d" or p.method != "umap":
        log(f"note: the default is {m.kind} + {c.method} + {p.method}; the reference implements ae + n2d + umap")
    settings = ReferenceSettings(
        k=k, latent_dim=m.latent_dim, hidden=tuple(m.hidden), epochs=m.epochs, batch_size=m.batch_size, lr=m.lr,
        val_fraction=m.val_fraction, patience=m.patience, umap_neighbors=c.umap_neighbors, umap_min_dist=c.umap_min_dist,
        display_neighbors=p.n_neighbors, display_min_dist=p.min_dist, device=_device(device), seed=cfg.seed,
        augment_shape=ds.image_shape if m.augment else None,
    )
    # untimed warm-up of both: numba compiles UMAP's kernels once per process, and its approximate
    # nearest-neighbour search (used above 4,096 rows) only when first needed
    warmup_rows = min(4500, ds.n)
    warm = ds.subset(np.arange(warmup_rows))
    run_pipeline(warm, replace_nested(cfg, epochs=1))
    run_reference(warm.X, replace(settings, epochs=1))
    runs = []
    for r in range(repeats):
        order = ("product", "reference") if r % 2 == 0 else ("reference", "product")
        for who in order:
            t0 = time.perf_counter()
            if who == "product":
                res = run_pipeline(ds, cfg)
                timings, labels, epochs_run = dict(res.timings), res.labels, len(res.history)
            else:
                out = run_reference(ds.X, settings)
                timings, labels, epochs_run = out["timings"], out["labels"], out["epochs_run"]
            wall = time.perf_counter() - t0
            same_steps = sum(timings.get(s, 0.0) for s in ("train", "cluster", "project"))
            row = {"who": who, "repeat": r, "wall": round(wall, 2), "same_steps": round(same_steps, 2),
                   "timings": {k_: round(v, 2) for k_, v in timings.items()}, "epochs_run": epochs_run,
                   **{k_: round(v, 4) for k_, v in external_metrics(ds.labels, labels).items()}}
            runs.append(row)
            log(f"overhead repeat {r} {who:<9} same steps {same_steps:6.1f}s wall {wall:6.1f}s acc {row['acc']:.3f}")
    med = {who: {key: median([x[key] for x in runs if x["who"] == who]) for key in ("same_steps", "wall")} for who in ("product", "reference")}
    stages = {}
    for s in ("train", "cluster", "project"):
        stages[s] = {who: median([x["timings"][s] for x in runs if x["who"] == who]) for who in ("product", "reference")}
    ratios = [p_["same_steps"] / r_["same_steps"] - 1 for p_, r_ in zip([x for x in runs if x["who"] == "product"],
                                                                         [x for x in runs if x["who"] == "reference"])]
    return {"dataset": ds.name, "n": ds.n, "d": ds.X.shape[1], "k": k, "epochs": epochs, "repeats": repeats,
            "device": settings.device, "settings": asdict(settings), "runs": runs, "median": med, "stages": stages,
            "overhead_same_steps": med["product"]["same_steps"] / med["reference"]["same_steps"] - 1,
            "overhead_per_repeat": [round(x, 4) for x in ratios],
            "overhead_with_scoring": med["product"]["wall"] / med["reference"]["wall"] - 1, "warmup_rows": warmup_rows}


def _device(choice: str) -> str:
    from explorer.device import resolve_device

    return resolve_device(choice).name


# -- training throughput ---------------------------------------------------------------------------------
def throughput(dataset: str, n: int | None, epochs: int, repeats: int, device: str) -> dict:
    import torch
    import torch.nn.functional as F
    from reference_pipeline import ReferenceSettings, train_autoencoder

    from explorer.pipeline import default_config
    from explorer.reducers.networks import DenseNet
    from explorer.train import fit_module

    ds = load_bench_dataset(dataset)
    if n and n < ds.n:
        ds = ds.subset(np.arange(n))
    X = np.ascontiguousarray(ds.X, np.float32)
    m = default_config(ds).model
    dev = _device(device)
    loss = lambda module, xb: F.mse_loss(module.decode(module.encode(xb)), xb)  # noqa: E731
    runs = []
    loops = ("explorer", "dataloader", "slicing")
    # repeat -1 is an untimed warm-up of every loop (CUDA context, cuBLAS handles, allocator)
    for r in range(-1, repeats):
        for who in (loops if r % 2 == 0 else loops[::-1]):
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            if who == "explorer":  # explorer.train's loop: data moved to the device once, batches indexed there
                torch.manual_seed(max(r, 0))
                fit_module(DenseNet(X.shape[1], list(m.hidden), m.latent_dim), X, loss,
                           replace(m, epochs=1 if r < 0 else epochs, val_fraction=0.0), device=dev, seed=max(r, 0))
            else:
                train_autoencoder(X, ReferenceSettings(k=2, latent_dim=m.latent_dim, hidden=tuple(m.hidden), epochs=1 if r < 0 else epochs,
                                                       batch_size=m.batch_size, lr=m.lr, val_fraction=0.0, device=dev,
                                                       seed=max(r, 0), loader=who))
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            sec = time.perf_counter() - t0
            if r < 0:
                continue
            runs.append({"loop": who, "repeat": r, "seconds": round(sec, 3), "samples_per_s": round(epochs * len(X) / sec, 1)})
            log(f"throughput repeat {r} {who:<10} {epochs * len(X) / sec:9.0f} samples/s")
    med = {who: median([x["samples_per_s"] for x in runs if x["loop"] == who]) for who in loops}
    return {"dataset": ds.name, "n": len(X), "d": X.shape[1], "epochs": epochs, "repeats": repeats, "device": dev,
            "batch_size": m.batch_size, "hidden": list(m.hidden), "runs": runs, "median_samples_per_s": med,
            "explorer_over_dataloader": med["explorer"] / med["dataloader"], "warmup": True}


# -- the CLI end to end ----------------------------------------------------------------------------------
def cli(dataset: str, device: str, extra: list[str] | None = None) -> dict:
    """``python -m explorer run data.npz --k K --json`` in a child process: wall time and its peak RSS."""
    import json

    ds = load_bench_dataset(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{ds.name}.npz"
        images = ds.images[..., 0] if ds.images is not None and ds.images.shape[-1] == 1 else ds.images
        np.savez(path, X=images if images is not None else ds.X, y=np.asarray(ds.labels).astype(np.int64))
        cmd = [sys.executable, "-m", "explorer", "run", str(path), "--k", str(ds.n_classes), "--json", "--quiet",
               "--device", device, "--out", str(Path(tmp) / "runs"), *(extra or [])]
        log("cli: " + " ".join(cmd[1:]))
        t0 = time.perf_counter()
        with open(Path(tmp) / "stdout", "w+") as out, open(Path(tmp) / "stderr", "w+") as err:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0), err.seek(0)
            stdout, stderr = out.read(), err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"the CLI failed ({proc.returncode}): {stderr[-2000:]}")
        metrics = json.loads(stdout.strip().splitlines()[-1])
        run_cfg = json.loads((Path(metrics["run_dir"]) / "config.json").read_text()).get("pipeline", {})
    peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    log(f"cli: {wall:.1f}s, peak RSS {peak_mb:.0f} MB, acc {metrics.get('acc')}")
    return {"dataset": ds.name, "n": ds.n, "command": "python -m explorer run <data>.npz --k %d --json --device %s%s"
            % (ds.n_classes, device, "".join(" " + e for e in extra or [])), "wall_s": round(wall, 1),
            "peak_rss_mb": round(peak_mb), "model": run_cfg.get("model"), "cluster_method": run_cfg.get("cluster", {}).get("method"), "metrics": {k: metrics.get(k) for k in ("acc", "nmi", "ari", "k", "seconds", "device")}}


# -- how cost grows ----------------------------------------------------------------------------------------
def blobs_csv(path: Path, n: int, d: int = 32, centers: int = 20, seed: int = 0) -> None:
    """n rows of ``centers`` Gaussian blobs in d dimensions, written as a CSV with a label column."""
    import pandas as pd
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=2.0, random_state=seed)
    df = pd.DataFrame(X.astype(np.float32), columns=[f"x{i}" for i in range(d)])
    df["label"] = y
    df.to_csv(path, index=False)


def scaling(sizes: list[int], epochs: dict[int, int], device: str, save=None) -> dict:
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, run_pipeline

    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"blobs_{n}.csv"
            blobs_csv(path, n)
            t0 = time.perf_counter()
            ds = load(str(path), table=TableOptions(label_column="label"))
            t_load = time.perf_counter() - t0
        cfg = default_config(ds, k=20, epochs=epochs[n], device=device)
        res = run_pipeline(ds, cfg)
        t = {"load": t_load, **res.timings}
        row = {"n": n, "d": ds.X.shape[1], "k": 20, "epochs": epochs[n], "epochs_run": len(res.history),
               "model": cfg.model.kind, "cluster": cfg.cluster.method, "projection": cfg.projection.method,
               "seconds": {k: round(v, 2) for k, v in t.items()}, "total": round(sum(t.values()), 2),
               "train_s_per_epoch": round(res.timings["train"] / max(len(res.history), 1), 3),
               "acc": round(float(res.metrics.get("acc") or 0), 4), "nmi": round(float(res.metrics.get("nmi") or 0), 4)}
        rows.append(row)
        log(f"scaling n={n}: " + ", ".join(f"{k} {v:.1f}s" for k, v in t.items()) + f"  acc {row['acc']:.3f}")
        if save is not None:  # keep what is done if a long size is stopped
            save({"rows": rows, "device": _device(device)})
    return {"rows": rows, "device": _device(device)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("overhead", "throughput", "cli", "scaling"))
    p.add_argument("--dataset", default="mnist_test")
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="", help="suffix of the JSON file name (e.g. _gpu)")
    a = p.parse_args(argv)
    path = a.out / f"{a.what}{a.tag}.json"
    mach = machine()
    save = lambda result: write_json(path, {"machine": mach, "quick": a.quick, **result})  # noqa: E731
    save(run(a, save))
    log(f"-> {path}")


def run(a, save=None) -> dict:
    quick = a.quick
    if a.what == "overhead":
        dataset = "digits" if quick else a.dataset
        return overhead(dataset, a.n or (600 if quick else 5000), a.epochs or (2 if quick else 5), 1 if quick else a.repeats, a.device)
    if a.what == "throughput":
        dataset = "digits" if quick else a.dataset
        return throughput(dataset, a.n, a.epochs or (1 if quick else 3), 1 if quick else a.repeats, a.device)
    if a.what == "cli":
        if quick:
            return cli("digits", a.device, ["--epochs", "2"])
        return cli(a.dataset, a.device, ["--epochs", str(a.epochs)] if a.epochs else None)
    sizes = a.sizes or ([500, 1000] if quick else [1000, 10_000, 100_000])
    if quick:
        epochs = {n: 2 for n in sizes}
    else:  # the same few epochs everywhere (the default trains up to 100 with early stopping); fewer at 100k
        epochs = {n: a.epochs or (2 if n >= 100_000 else 5) for n in sizes}
    return scaling(sizes, epochs, a.device, save)


if __name__ == "__main__":
    main()
