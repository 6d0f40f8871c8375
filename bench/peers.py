"""The product's default pipeline side by side with ClustPy's DEC, IDEC and N2D.

    python bench/peers.py [--clustpy-python PATH] [--datasets mnist_test usps pendigits] [--seeds 0 1 2]
                          [--epochs 150] [--clustering-epochs 50] [--side both|ours|clustpy] [--fresh]

ClustPy (PyPI ``clustpy``) lives in its own environment and is never a dependency of the product:

    python3.11 -m venv ../peers-venv
    ../peers-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 clustpy umap-learn==0.5.12

Each (dataset, seed, side) runs in a fresh process, one at a time, on the same input matrix (the
benchmark set as the product loads it): the product's side is ``run_pipeline`` with
``default_config(dataset, k=classes, seed=seed)`` (training, clustering, the 2-D map and the scores,
exactly what ``python -m explorer run`` does); ClustPy's side is ``bench/peers_clustpy.py``. Both
pretrain their autoencoders for the same ``--epochs`` (where the product's default trains one). Wall
seconds are measured inside each process from the data in memory to the labels; peak memory is the
process's peak resident set. Labels are used only to score. Results accumulate in
``bench/results/peers.json`` (a cell already there is kept unless ``--fresh`` re-measures the cells this
run names: its datasets, seeds and sides), and
``docs/BENCHMARKS.md`` is regenerated from them.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import RESULTS, ROOT, log, machine, read_json, write_json

DATASETS = ["pendigits", "usps", "mnist_test"]
PEER_METHODS = ("dec", "idec", "n2d")
DEFAULT_PEER_PYTHON = ROOT.parent / "peers-venv" / "bin" / "python"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours_cell(dataset: str, seed: int, epochs: int, out: Path, device: str = "cpu") -> None:
    """The product's default pipeline on one (dataset, seed), in this (fresh) process."""
    from datasets import DATASETS as LOADERS

    from explorer.pipeline import default_config, run_pipeline
    from explorer.reducers.autoencoder import AE_KINDS

    ds = LOADERS[dataset]()
    cfg = default_config(ds, k=int(ds.n_classes), seed=seed, device=device)
    if cfg.model.kind in AE_KINDS:
        cfg.model.epochs = epochs
    t0 = time.perf_counter()
    res = run_pipeline(ds, cfg)
    seconds = time.perf_counter() - t0
    write_json(out, {"labels": res.labels.astype(int).tolist(), "seconds": round(seconds, 2), "peak_mib": round(_peak_mib(), 1),
                     "timings": {k: round(v, 2) for k, v in res.timings.items()}, "config": cfg.to_dict(),
                     "epochs_run": len(res.history)})


def _run(cmd: list[str]) -> None:
    log("  $ " + " ".join(str(c) for c in cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[1]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")


def run_cells(args: argparse.Namespace) -> dict:
    from datasets import DATASETS as LOADERS

    from explorer.metrics import external_metrics

    out_path = RESULTS / f"peers{args.tag}.json"
    results = read_json(out_path) if out_path.is_file() else {"cells": {}}  # --fresh re-measures only this run's cells
    results["machine"] = machine()
    results["settings"] = {"epochs": args.epochs, "device": args.device, "clustering_epochs": args.clustering_epochs,
                           "clustpy_n2d_umap": {"n_neighbors": 10, "min_dist": 0.0, "n_components": "k"}}
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
                        _run([sys.executable, __file__, "_ours", name, "--seed", str(seed), "--epochs", str(args.epochs), "--device", args.device, "--out", str(out)])
                        raw = {"default": read_json(out)}
                    else:
                        _run([str(args.clustpy_python), str(Path(__file__).with_name("peers_clustpy.py")), str(data), "--k", str(k),
                              "--seed", str(seed), "--epochs", str(args.epochs), "--clustering-epochs", str(args.clustering_epochs),
                              "--device", args.device, "--out", str(out)])
                        peer = read_json(out)
                        results["clustpy_env"] = {f: peer.get(f) for f in ("clustpy", "torch", "umap", "threads", "device")}
                        raw = peer["methods"]
                    cell = {}
                    for method, r in raw.items():
                        scores = external_metrics(ds.labels, np.asarray(r.pop("labels")))
                        cell[method] = {**{m: round(v, 4) for m, v in scores.items()}, **r}
                        log(f"{name} seed {seed} {side}:{method} acc {scores['acc']:.3f} nmi {scores['nmi']:.3f} "
                            f"{r['seconds']:.0f}s {r['peak_mib']:.0f} MiB")
                    cells[key] = {"dataset": name, "seed": seed, "side": side, "n": int(ds.n), "d": int(ds.X.shape[1]),
                                  "k": k, "methods": cell}
                    write_json(out_path, results)  # after every cell: a cut-short run keeps what it measured
    return results


# -- the table in docs/BENCHMARKS.md (rendered by bench/report.py) ------------------------------------
def _ms(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def summarize(results: dict) -> dict:
    """{dataset: {method: {"acc": (mean, std), ..., "seconds": median, "peak_mib": max, "seeds": n}}}."""
    by: dict = {}
    for cell in results.get("cells", {}).values():
        for method, r in cell["methods"].items():
            label = "explorer default" if cell["side"] == "ours" else f"ClustPy {method.upper()}"
            by.setdefault(cell["dataset"], {}).setdefault(label, []).append({**r, "seed": cell["seed"]})
    out: dict = {}
    for ds, methods in by.items():
        out[ds] = {}
        for label, rows in methods.items():
            out[ds][label] = {m: _ms([r[m] for r in rows]) for m in ("acc", "nmi", "ari")}
            out[ds][label]["seconds"] = float(np.median([r["seconds"] for r in rows]))
            out[ds][label]["peak_mib"] = float(max(r["peak_mib"] for r in rows))
            out[ds][label]["seeds"] = sorted(r["seed"] for r in rows)
            out[ds][label]["per_seed_seconds"] = {r["seed"]: r["seconds"] for r in rows}
    return out


TARGETS = {"mnist_test": {"acc": 0.96, "nmi": 0.91}, "usps": {"acc": 0.96, "nmi": 0.91}, "pendigits": {"nmi": 0.88}}


def section_peers(results: dict | None, lines: list[str], verdicts: list[tuple[str, str, str]]) -> None:
    """The side-by-side table and the targets of issue 6, appended to ``lines`` / ``verdicts``."""
    if not results or not results.get("cells"):
        return
    summ = summarize(results)
    s = results.get("settings", {})
    where = "on the GPU" if s.get("device", "cpu") != "cpu" else "on the CPU"
    mach = results.get("machine", {})
    lines += [f"## Side by side with ClustPy, {where}", "",
              f"`python bench/peers.py` (ClustPy {_clustpy_version(results)} in its own environment, see the script). "
              f"Same input matrix for both sides, same pretraining budget: {s.get('epochs')} epochs of the "
              "784/256/16-500-500-2000-10 autoencoder where a method trains one (the product's default trains none for "
              "tables of at most 32 columns). ClustPy with its defaults otherwise (batch 256, Adam 1e-3); its N2D with "
              "UMAP (k components, 10 neighbours, min_dist 0) as in the issue; DEC and IDEC with "
              f"{s.get('clustering_epochs')} clustering epochs. ClustPy's three methods share one pretrained autoencoder per "
              "seed (each refines its own copy) and each method's time is that pretraining plus its own stage. The product's "
              "time is its whole default run: training, clustering, the 2-D map and the scores. Each side runs in its own "
              f"fresh process, one at a time, {where} (numba's one-off compile of UMAP included on both sides). "
              "Mean ± std over seeds; time is the median over seeds; memory is the largest peak resident set (host memory). "
              f"Machine: {mach.get('cpu', '?')}, {mach.get('cores', '?')} cores, GPU {mach.get('gpu') or 'none'}, torch "
              f"{mach.get('torch', '?')} for the product; measured "
              f"{mach.get('date', '?')}.", "",
              "| dataset | method | ACC | NMI | ARI | wall s | time / ClustPy N2D | peak MiB | seeds |",
              "|---|---|---|---|---|---|---|---|---|"]
    for ds in [d for d in DATASETS if d in summ] + [d for d in summ if d not in DATASETS]:
        rows = summ[ds]
        ref = rows.get("ClustPy N2D")
        order = ["explorer default"] + [f"ClustPy {m.upper()}" for m in ("n2d", "idec", "dec")]
        for label in [o for o in order if o in rows]:
            r = rows[label]
            ratio = _ratio(r, ref)
            lines.append(f"| {ds} | {'**' + label + '**' if label == 'explorer default' else label} | "
                         + " | ".join(f"{r[m][0]:.3f} ± {r[m][1]:.3f}" if len(r["seeds"]) > 1 else f"{r[m][0]:.3f}"
                                      for m in ("acc", "nmi", "ari"))
                         + f" | {r['seconds']:.0f} | {ratio if ratio is not None else '–'}"
                         + f" | {r['peak_mib']:.0f} | {len(r['seeds'])} |")
        ours = rows.get("explorer default")
        peers = {k: v for k, v in rows.items() if k.startswith("ClustPy")}
        if ours and peers:
            for m in ("acc", "nmi"):
                best_label, best = max(peers.items(), key=lambda kv: kv[1][m][0])
                gap = ours[m][0] - best[m][0]
                verdicts.append((f"{ds}: ahead of the best ClustPy method in {m.upper()}",
                                 f"{ours[m][0]:.3f} vs {best[m][0]:.3f} ({best_label}), {gap:+.3f}", "met" if gap > 0 else "**not met**"))
            ratio = _ratio(ours, ref)
            if ratio is not None:
                verdicts.append((f"{ds}: time of the default <= ClustPy N2D", f"{ratio} (median of per-seed ratios)",
                                 "met" if float(ratio.rstrip('×')) <= 1.0 else "**not met**"))
            for m, bar in TARGETS.get(ds, {}).items():
                short = "" if ours[m][0] >= bar else f", short by {bar - ours[m][0]:.3f}"
                verdicts.append((f"{ds}: default {m.upper()} >= {bar}", f"{ours[m][0]:.3f} ({len(ours['seeds'])} seeds{short})",
                                 "met" if ours[m][0] >= bar else "**not met**"))
            verdicts.append((f"{ds}: default std of ACC over seeds <= 0.01", f"{ours['acc'][1]:.3f}",
                             "met" if ours["acc"][1] <= 0.01 else "**not met**"))
    missing = [d for d in DATASETS if d not in summ]
    if missing:
        lines += ["", f"Not measured in this run: {', '.join(missing)}."]
    lines.append("")


def _ratio(r: dict, ref: dict | None) -> str | None:
    if not ref:
        return None
    seeds = [s for s in r["per_seed_seconds"] if s in ref["per_seed_seconds"]]
    if not seeds:
        return None
    return f"{np.median([r['per_seed_seconds'][s] / ref['per_seed_seconds'][s] for s in seeds]):.2f}×"


def _clustpy_version(results: dict) -> str:
    env = results.get("clustpy_env") or {}
    return f"{env['clustpy']} with torch {env.get('torch')}" if env.get("clustpy") else "(version not recorded)"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_ours":
        p = argparse.ArgumentParser()
        p.add_argument("cmd")
        p.add_argument("dataset")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--epochs", type=int, default=150)
        p.add_argument("--device", default="cpu")
        p.add_argument("--out", type=Path, required=True)
        a = p.parse_args()
        ours_cell(a.dataset, a.seed, a.epochs, a.out, a.device)
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clustpy-python", type=Path, default=Path(os.environ.get("CLUSTPY_PYTHON", DEFAULT_PEER_PYTHON)))
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=150, help="pretraining epochs, both sides (the product's image default)")
    p.add_argument("--clustering-epochs", type=int, default=50, help="ClustPy DEC / IDEC clustering epochs")
    p.add_argument("--side", choices=("both", "ours", "clustpy"), default="both")
    p.add_argument("--fresh", action="store_true", help="re-measure cells already in bench/results/peers<tag>.json")
    p.add_argument("--device", default="cpu", help="both sides (cpu, or cuda on a GPU machine)")
    p.add_argument("--tag", default="", help="suffix of the results file (peers<tag>.json; _gpu for --device cuda)")
    args = p.parse_args()
    if args.device != "cpu" and not args.tag:
        args.tag = "_gpu"
    if args.side != "ours" and not (args.clustpy_python.is_file() or str(args.clustpy_python) == "python3"):
        sys.exit(f"ClustPy's python not found at {args.clustpy_python}: make its environment (see the top of this file) "
                 "or pass --clustpy-python.")
    run_cells(args)
    import report

    report.render(RESULTS, ROOT / "docs" / "BENCHMARKS.md")
    log("wrote docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
