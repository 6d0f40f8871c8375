"""Speed benchmarks: the product against plain code, training throughput, the CLI end to end, scaling.

    python -m bench.measure.speed overhead   [--dataset mnist_test] [--n 5000] [--epochs 5] [--repeats 3]
    python -m bench.measure.speed throughput [--dataset mnist_test] [--epochs 3] [--repeats 3] [--device cpu]
    python -m bench.measure.speed cli        [--dataset mnist_test] [--device auto]
    python -m bench.measure.speed scaling    [--sizes 10000 30000 100000 200000 1000000]
    python -m bench.measure.speed images70k  (70,000 images made from MNIST-test by augmentation)
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

from bench.suites.common import QUICK_OVERRIDES, RESULTS, ROOT, log, machine, median, write_json


def load_bench_dataset(name: str):
    """A benchmark set by name; load_digits when the shared data folder is missing."""
    from bench.suites.labeled_sets import DATASETS

    try:
        return DATASETS[name]()
    except FileNotFoundError:
        log(f"{name} not found; using scikit-learn's digits instead")
        return DATASETS["digits"]()


# -- product vs the plain reference --------------------------------------------------------------------
def overhead(dataset: str, n: int | None, epochs: int, repeats: int, device: str, quick: bool = False) -> dict:
    from bench.suites.reference_pipeline import ReferenceSettings, run_reference
    from explorer.metrics import external_metrics
    from explorer.pipeline import default_config, replace_nested, run_pipeline

    ds = load_bench_dataset(dataset)
    if n and n < ds.n:
        ds = ds.subset(np.arange(n))
    k = int(ds.n_classes)
    cfg = default_config(ds, k=k, epochs=epochs, device=device)
    if quick:  # a smoke test: one autoencoder, a short refinement (the compared steps are the same)
        cfg = replace_nested(cfg, **QUICK_OVERRIDES)
    m, c, p = cfg.model, cfg.cluster, cfg.projection
    if m.kind != "ae" or c.method != "n2d" or p.method != "umap":
        log(f"note: the default is {m.kind} + {c.method} + {p.method}; the reference implements ae + n2d + umap")
    settings = ReferenceSettings(
        k=k,
        latent_dim=m.latent_dim,
        hidden=tuple(m.hidden),
        epochs=m.epochs,
        batch_size=m.batch_size,
        lr=m.lr,
        val_fraction=m.val_fraction,
        patience=m.patience,
        umap_neighbors=c.umap_neighbors,
        umap_min_dist=c.umap_min_dist,
        display_neighbors=p.n_neighbors,
        display_min_dist=p.min_dist,
        device=_device(device),
        seed=cfg.seed,
        augment_shape=ds.image_shape if m.augment else None,
    )
    # untimed warm-up of both: numba compiles UMAP's kernels once per process, and its approximate
    # nearest-neighbour search (used above 4,096 rows) only when first needed
    warmup_rows = min(4500, ds.n)
    warm = ds.subset(np.arange(warmup_rows))
    run_pipeline(warm, replace_nested(cfg, epochs=1, members=1, cluster_refine=False))  # compiles; nothing measured
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
            row = {
                "who": who,
                "repeat": r,
                "wall": round(wall, 2),
                "same_steps": round(same_steps, 2),
                "timings": {k_: round(v, 2) for k_, v in timings.items()},
                "epochs_run": epochs_run,
                **{k_: round(v, 4) for k_, v in external_metrics(ds.labels, labels).items()},
            }
            runs.append(row)
            log(f"overhead repeat {r} {who:<9} same steps {same_steps:6.1f}s wall {wall:6.1f}s acc {row['acc']:.3f}")
    med = {
        who: {key: median([x[key] for x in runs if x["who"] == who]) for key in ("same_steps", "wall")}
        for who in ("product", "reference")
    }
    stages = {}
    for s in ("train", "cluster", "project"):
        stages[s] = {
            who: median([x["timings"][s] for x in runs if x["who"] == who]) for who in ("product", "reference")
        }
    ratios = [
        p_["same_steps"] / r_["same_steps"] - 1
        for p_, r_ in zip(
            [x for x in runs if x["who"] == "product"], [x for x in runs if x["who"] == "reference"], strict=True
        )
    ]
    return {
        "dataset": ds.name,
        "n": ds.n,
        "d": ds.X.shape[1],
        "k": k,
        "epochs": epochs,
        "repeats": repeats,
        "device": settings.device,
        "settings": asdict(settings),
        "runs": runs,
        "median": med,
        "stages": stages,
        "overhead_same_steps": med["product"]["same_steps"] / med["reference"]["same_steps"] - 1,
        "overhead_per_repeat": [round(x, 4) for x in ratios],
        "overhead_with_scoring": med["product"]["wall"] / med["reference"]["wall"] - 1,
        "warmup_rows": warmup_rows,
    }


def _device(choice: str) -> str:
    from explorer.device import resolve_device

    return resolve_device(choice).name


# -- training throughput ---------------------------------------------------------------------------------
def throughput(dataset: str, n: int | None, epochs: int, repeats: int, device: str) -> dict:
    import torch
    import torch.nn.functional as F

    from bench.suites.reference_pipeline import ReferenceSettings, train_autoencoder
    from explorer.pipeline import default_config
    from explorer.reducers.networks import DenseNet
    from explorer.reducers.train import fit_module

    ds = load_bench_dataset(dataset)
    if n and n < ds.n:
        ds = ds.subset(np.arange(n))
    X = np.ascontiguousarray(ds.X, np.float32)
    m = default_config(ds).model
    dev = _device(device)
    loss = lambda module, xb: F.mse_loss(module.decode(module.encode(xb)), xb)
    runs = []
    loops = ("explorer", "dataloader", "slicing")
    # repeat -1 is an untimed warm-up of every loop (CUDA context, cuBLAS handles, allocator)
    for r in range(-1, repeats):
        for who in loops if r % 2 == 0 else loops[::-1]:
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            if (
                who == "explorer"
            ):  # explorer.reducers.train's loop: data moved to the device once, batches indexed there
                torch.manual_seed(max(r, 0))
                fit_module(
                    DenseNet(X.shape[1], list(m.hidden), m.latent_dim),
                    X,
                    loss,
                    replace(m, epochs=1 if r < 0 else epochs, val_fraction=0.0),
                    device=dev,
                    seed=max(r, 0),
                )
            else:
                train_autoencoder(
                    X,
                    ReferenceSettings(
                        k=2,
                        latent_dim=m.latent_dim,
                        hidden=tuple(m.hidden),
                        epochs=1 if r < 0 else epochs,
                        batch_size=m.batch_size,
                        lr=m.lr,
                        val_fraction=0.0,
                        device=dev,
                        seed=max(r, 0),
                        loader=who,
                    ),
                )
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            sec = time.perf_counter() - t0
            if r < 0:
                continue
            runs.append(
                {"loop": who, "repeat": r, "seconds": round(sec, 3), "samples_per_s": round(epochs * len(X) / sec, 1)}
            )
            log(f"throughput repeat {r} {who:<10} {epochs * len(X) / sec:9.0f} samples/s")
    med = {who: median([x["samples_per_s"] for x in runs if x["loop"] == who]) for who in loops}
    return {
        "dataset": ds.name,
        "n": len(X),
        "d": X.shape[1],
        "epochs": epochs,
        "repeats": repeats,
        "device": dev,
        "batch_size": m.batch_size,
        "hidden": list(m.hidden),
        "runs": runs,
        "median_samples_per_s": med,
        "explorer_over_dataloader": med["explorer"] / med["dataloader"],
        "warmup": True,
    }


# -- the CLI end to end ----------------------------------------------------------------------------------
#: a CPU-bound neighbour: one thread spinning for argv[1] seconds (another user's job on a shared machine)
BUSY = "import sys, time\nend = time.time() + float(sys.argv[1])\nwhile time.time() < end:\n    pass\n"


def cli(dataset: str, device: str, extra: list[str] | None = None, busy_seconds: float = 0.0) -> dict:
    """``python -m explorer run data.npz --k K --json`` in a child process: wall time and its peak RSS.
    ``busy_seconds``: a CPU-bound neighbour process (one thread) runs beside it for its first seconds."""
    import json

    ds = load_bench_dataset(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{ds.name}.npz"
        images = ds.images[..., 0] if ds.images is not None and ds.images.shape[-1] == 1 else ds.images
        np.savez(path, X=images if images is not None else ds.X, y=np.asarray(ds.labels).astype(np.int64))
        cmd = [
            sys.executable,
            "-m",
            "explorer",
            "run",
            str(path),
            "--k",
            str(ds.n_classes),
            "--json",
            "--quiet",
            "--device",
            device,
            "--out",
            str(Path(tmp) / "runs"),
            *(extra or []),
        ]
        log("cli: " + " ".join(cmd[1:]))
        neighbour = subprocess.Popen([sys.executable, "-c", BUSY, str(busy_seconds)]) if busy_seconds > 0 else None
        t0 = time.perf_counter()
        with open(Path(tmp) / "stdout", "w+") as out, open(Path(tmp) / "stderr", "w+") as err:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0), err.seek(0)
            stdout, stderr = out.read(), err.read()
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"the CLI failed ({proc.returncode}): {stderr[-2000:]}")
        metrics = json.loads(stdout.strip().splitlines()[-1])
        saved = json.loads((Path(metrics["run_dir"]) / "config.json").read_text())
        run_cfg = saved.get("pipeline", {})
        model_json = Path(metrics["run_dir"]) / "model.json"
        train = json.loads(model_json.read_text()).get("meta", {}).get("train_info", {}) if model_json.is_file() else {}
    peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    log(f"cli: {wall:.1f}s, peak RSS {peak_mb:.0f} MB, acc {metrics.get('acc')}")
    flags = "".join(" " + e for e in extra or [])
    return {
        "dataset": ds.name,
        "n": ds.n,
        "command": f"python -m explorer run <data>.npz --k {ds.n_classes} --json --device {device}{flags}",
        "wall_s": round(wall, 1),
        "busy_neighbour_s": busy_seconds,
        "peak_rss_mb": round(peak_mb),
        "model": run_cfg.get("model"),
        "cluster_method": run_cfg.get("cluster", {}).get("method"),
        "metrics": {k: metrics.get(k) for k in ("acc", "nmi", "ari", "k", "seconds", "device")},
        "train": {k: train.get(k) for k in ("epochs", "best_epoch", "stop_reason", "precision", "notes")},
        "epochs_run": len(json.loads(model_json.read_text()).get("meta", {}).get("history", []))
        if model_json.is_file()
        else None,
        "timings": {k: round(float(v), 1) for k, v in saved.get("timings", {}).items()},
        "refine": bool(run_cfg.get("cluster", {}).get("refine")),
        "notes": [n for n in saved.get("notes", []) if "refined" in n or "Refinement" in n or "time_budget" in n],
    }


# -- how cost grows ----------------------------------------------------------------------------------------
SCALING_SIZES = [10_000, 30_000, 100_000, 200_000, 1_000_000]
SCALING_D, SCALING_K = 40, 8


def blobs_parquet(
    path: Path, n: int, d: int = SCALING_D, centers: int = SCALING_K, seed: int = 0, shared: bool = True
) -> None:
    """n rows of ``centers`` well-separated Gaussian blobs in d float32 columns, written as Parquet with a
    label column. ``shared``: every column rescaled to 0..100 (a table measured on one scale, as
    sensor read-outs or pre-normalized features are: the loader then keeps the columns' relative
    spread and the default trains the autoencoder); else each column in its own units."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    means = rng.normal(0, 6.0, (centers, d)).astype(np.float32)
    y = rng.integers(0, centers, n)
    cols = {}
    for j in range(d):  # column by column: a million rows never exist as float64
        col = means[y, j] + rng.standard_normal(n, dtype=np.float32)
        if shared:
            col = 100 * (col - col.min()) / (col.max() - col.min())
        cols[f"x{j}"] = col.astype(np.float32)
    cols["label"] = y.astype(np.int64)
    pq.write_table(pa.table(cols), path, row_group_size=100_000)


def _cli_run(data: Path, args: list[str], tmp: Path) -> dict:
    """``python -m explorer run DATA ...`` in a child process: wall, peak RSS, the run's stage timings."""
    import json

    cmd = [sys.executable, "-m", "explorer", "run", str(data), "--json", "--quiet", "--out", str(tmp / "runs"), *args]
    t0 = time.perf_counter()
    with open(tmp / "stdout", "w+") as out, open(tmp / "stderr", "w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the CLI failed: {stderr[-2000:]}")
    metrics = json.loads(stdout.strip().splitlines()[-1])
    cfg = json.loads((Path(metrics["run_dir"]) / "config.json").read_text())
    timings = {k: round(float(v), 2) for k, v in cfg.get("timings", {}).items()}
    timings["load, imports and saving"] = round(wall - sum(timings.values()), 2)
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "seconds": timings,
        "metrics": {k: metrics.get(k) for k in ("acc", "nmi", "ari", "k", "rows_fitted")},
        "model": cfg["pipeline"]["model"]["kind"],
        "cluster": cfg["pipeline"]["cluster"]["method"],
        "epochs_run": len(json.loads((Path(metrics["run_dir"]) / "history.json").read_text())),
        "command": "python -m explorer run <data> --json " + " ".join(args),
    }


def scaling(sizes: list[int], device: str, save=None, extra: list[str] | None = None, shared: bool = True) -> dict:
    """The default pipeline through the CLI on blobs tables of growing size: wall time and peak memory
    per size, per stage, and each stage's measured exponent (time ~ n^a between sizes)."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            path = tmp / f"blobs_{n}.parquet"
            blobs_parquet(path, n, shared=shared)
            row = {
                "n": n,
                "d": SCALING_D,
                "k": SCALING_K,
                "shared": shared,
                **_cli_run(path, ["--label", "label", "--k", str(SCALING_K), "--device", device, *(extra or [])], tmp),
            }
        rows.append(row)
        log(
            f"scaling n={n:,}: {row['wall_s']} s, {row['peak_rss_mb']} MB, "
            + ", ".join(f"{k} {v:.1f}s" for k, v in row["seconds"].items())
            + f", nmi {row['metrics'].get('nmi')}"
        )
        if save is not None:  # keep what is done if a long size is stopped
            save({"rows": rows, "device": _device(device), "exponents": exponents(rows)})
    return {"rows": rows, "device": _device(device), "exponents": exponents(rows)}


def exponents(rows: list[dict]) -> dict:
    """Per stage (and the whole run), the slope of log time against log rows, fitted over the sizes."""
    out = {}
    stages = sorted({s for r in rows for s in r["seconds"]} | {"wall_s"})
    for st in stages:
        pts = [(r["n"], r["wall_s"] if st == "wall_s" else r["seconds"].get(st)) for r in rows]
        pts = [(n, t) for n, t in pts if t is not None and t > 0.05]
        if len(pts) >= 2:
            a = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0]
            out[st] = round(float(a), 2)
    return out


def images70k(device: str, copies: int = 7, save=None) -> dict:
    """70,000 28x28 images (MNIST's size) made from the shared MNIST-test by augmentation (each image
    and 6 randomly shifted / rotated copies), through the CLI with the image defaults."""
    from scipy import ndimage

    ds = load_bench_dataset("mnist_test")
    imgs = ds.images[..., 0] if ds.images.shape[-1] == 1 else ds.images
    rng = np.random.default_rng(0)
    out, labels = [imgs], [np.asarray(ds.labels).astype(np.int64)]
    for _ in range(copies - 1):
        moved = np.empty_like(imgs)
        for i, im in enumerate(imgs):
            r = ndimage.rotate(im.astype(np.float32), rng.uniform(-10, 10), reshape=False, order=1)
            moved[i] = np.clip(ndimage.shift(r, rng.integers(-2, 3, 2), order=0), 0, 255).astype(imgs.dtype)
        out.append(moved)
        labels.append(labels[0])
    X, y = np.concatenate(out), np.concatenate(labels)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "mnist70k.npz"
        np.savez(path, X=X, y=y)
        row = {"n": len(X), "shape": list(X.shape[1:]), **_cli_run(path, ["--k", "10", "--device", device], tmp)}
    log(f"images 70k: {row['wall_s']} s, {row['peak_rss_mb']} MB, {row['seconds']}, {row['metrics']}")
    return {"row": row, "device": _device(device)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("overhead", "throughput", "cli", "scaling", "images70k"))
    p.add_argument("--dataset", default="mnist_test")
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--units", action="store_true", help="scaling: each column in its own units (no autoencoder)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="", help="suffix of the JSON file name (e.g. _gpu)")
    p.add_argument("--fp32", action="store_true", help="cli: train in float32 (the path of a CPU without native bf16)")
    p.add_argument("--busy-seconds", type=float, default=0.0, help="cli: a CPU-bound neighbour for the first S seconds")
    a = p.parse_args(argv)
    path = a.out / f"{a.what}{a.tag}.json"
    mach = machine()
    save = lambda result: write_json(path, {"machine": mach, "quick": a.quick, **result})
    save(run(a, save))
    log(f"-> {path}")


def run(a, save=None) -> dict:
    quick = a.quick
    if a.what == "overhead":
        dataset = "digits" if quick else a.dataset
        return overhead(
            dataset,
            a.n or (600 if quick else 5000),
            a.epochs or (2 if quick else 5),
            1 if quick else a.repeats,
            a.device,
            quick=quick,
        )
    if a.what == "throughput":
        dataset = "digits" if quick else a.dataset
        return throughput(dataset, a.n, a.epochs or (1 if quick else 3), 1 if quick else a.repeats, a.device)
    if a.what == "cli":
        if quick:
            return cli("digits", a.device, ["--epochs", "2", "--members", "1", "--dec-batches", "30"])  # a smoke test
        return cli(
            a.dataset,
            a.device,
            (["--epochs", str(a.epochs)] if a.epochs else []) + (["--fp32"] if a.fp32 else []),
            busy_seconds=a.busy_seconds,
        )
    if a.what == "images70k":
        return images70k(a.device, save=save)
    return scaling(
        a.sizes or ([2000, 4000] if quick else SCALING_SIZES),
        a.device,
        save,
        ["--epochs", "2"] if quick else None,
        shared=not a.units,
    )


if __name__ == "__main__":
    main()
