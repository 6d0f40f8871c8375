"""Quality on tables: the product's default pipeline on the table suite (bench/suites/table_suite.py), over seeds.

    python -m bench.measure.quality_tables [--tables penguins tips ...] [--seeds 0 1 2] [--n2d-seeds 0 1 2] \
        [--quick] [--out bench/results]
    python -m bench.measure.quality_tables --cold-only   # only customers again, in a fresh process (6.), into the file

Per table and seed, with the labels used only to score:

1. k given (the number of classes): ``default_config(ds, k=k, seed=seed)`` + ``run_pipeline``: ACC, NMI,
   ARI, seconds (the sum of the run's timings) and which partition the mixture's guard kept;
2. the baseline: scikit-learn's KMeans(k, n_init=10, random_state=seed) on ``table_suite.plain_features``
   (median-imputed, standardized numbers and one-hot categories, scikit-learn alone);
3. the old manifold default for comparison: ``method="n2d"`` (UMAP -> GMM) at the same k, with a PCA map
   (``projection_method="pca"``: the map is not scored here, and UMAP's map would only cost time);
4. k chosen automatically (``default_config(ds, seed=seed)`` as it is): the k found, whether it is the
   true k, the sweep's reason sentence, the scores at that k, and the wall time of load + run;
5. the map of that automatic run (``result.embedding``): per class, the share of its points in its
   largest connected region (DBSCAN with eps = 3 x the median distance to the 10th nearest neighbour
   over the whole map, min_samples=1, on that class's points); the minimum over classes is the
   "worst segment share"; and the 10-NN purity (share of each point's 10 nearest map neighbours in
   its class, averaged);
6. customers (20,000 x 15) end to end: the automatic run's load + run time from 4 per seed, and once a
   fresh process (imports, the loader, UMAP's compilation: what a first run costs; not in --quick).

--quick: the planted tables at 2,000 rows, seed 0 (a smoke test). Writes quality_tables.json after
each (seed, table), seeds outermost, so a run cut short still has every table at seed 0.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.suites import table_suite
from bench.suites.common import RESULTS, ROOT, log, machine, read_json, write_json

QUICK_ROWS = 2_000
MAP_NEIGHBORS = 10  # the k of the map's k-NN distance (for eps) and of its purity
EPS_FACTOR = 3.0
END_TO_END = "customers"


@contextlib.contextmanager
def planted_rows(n: int | None) -> Iterator[None]:
    """Within the block, every planted table of bench/suites/table_suite.py has ``n`` rows (None: as specified)."""
    saved = dict(table_suite.PLANTED)
    if n is not None:
        for name, spec in saved.items():
            table_suite.PLANTED[name] = dataclasses.replace(spec, n=n)
    try:
        yield
    finally:
        table_suite.PLANTED.clear()
        table_suite.PLANTED.update(saved)


def _scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from explorer.metrics import external_metrics

    return {k: round(float(v), 4) for k, v in external_metrics(y_true, y_pred).items()}


def map_quality(embedding: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Worst segment share and 10-NN purity of a 2-D map (see the module's docstring)."""
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    E = np.asarray(embedding, np.float64)[:, :2]
    classes, codes = np.unique(np.asarray(y).astype(str), return_inverse=True)
    nn = NearestNeighbors(n_neighbors=MAP_NEIGHBORS + 1).fit(E)
    dist, idx = nn.kneighbors(E)  # column 0 is the point itself
    eps = float(EPS_FACTOR * np.median(dist[:, MAP_NEIGHBORS]))
    purity = float((codes[idx[:, 1:]] == codes[:, None]).mean())
    shares: dict[str, float] = {}
    regions: dict[str, int] = {}
    for c, name in enumerate(classes):
        pts = E[codes == c]
        lab = DBSCAN(eps=max(eps, 1e-12), min_samples=1).fit_predict(pts)
        counts = np.bincount(lab)
        shares[str(name)] = round(float(counts.max() / len(pts)), 4)
        regions[str(name)] = len(counts)
    worst = min(shares, key=shares.get)
    return {
        "worst_share": shares[worst],
        "worst_class": worst,
        "shares": shares,
        "regions": regions,
        "purity10": round(purity, 4),
        "eps": round(eps, 5),
    }


def code_version() -> dict[str, Any]:
    """The commit measured and whether explorer/ differed from it when the run started (the library is
    imported once, at the first run, so a later edit does not reach this process; a fresh process would see it)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    return {
        "commit": commit or None,
        "explorer_dirty": bool(git("status", "--porcelain", "explorer")) if commit else None,
    }


def _left_out(ds: Any, info: dict) -> list[str]:
    """The table's columns the clustering left out (one-hot levels named by their column), if any."""
    names = [str(ds.feature_names[j]) for j in info.get("columns_left_out") or []]
    return list(dict.fromkeys(n.split("=", 1)[0] for n in names))


def run_one(name: str, seed: int, with_n2d: bool) -> dict[str, Any]:
    """Every measurement of one (table, seed)."""
    from sklearn.cluster import KMeans

    from explorer.pipeline import default_config, run_pipeline

    frame, *_ = table_suite.table(name)
    t0 = time.perf_counter()
    ds = table_suite.as_dataset(name)
    load_s = time.perf_counter() - t0
    y = np.asarray(ds.labels)
    k = int(ds.n_classes)
    out: dict[str, Any] = {
        "table": name,
        "seed": seed,
        "planted": name in table_suite.PLANTED,
        "rows": int(frame.shape[0]),
        "columns": int(frame.shape[1]),
        "features": int(ds.X.shape[1]),
        "k": k,
        "load_s": round(load_s, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }

    # 1. the default pipeline at the true k
    cfg = default_config(ds, k=k, seed=seed)
    t0 = time.perf_counter()
    res = run_pipeline(ds, cfg)
    wall = time.perf_counter() - t0
    out["config"] = cfg.to_dict()
    out["default"] = {
        **_scores(y, res.labels),
        "seconds": round(sum(res.timings.values()), 2),
        "wall_s": round(wall, 2),
        "timings": {k_: round(v, 2) for k_, v in res.timings.items()},
        "method": res.clusters.method,
        "kept": res.clusters.info.get("kept"),
        "left_out": _left_out(ds, res.clusters.info),
    }
    d = out["default"]
    log(
        f"  {name} seed {seed} default   nmi {d['nmi']:.3f} ari {d['ari']:.3f} acc {d['acc']:.3f} "
        f"(kept {d['kept']}, {d['seconds']:.0f}s)"
    )

    # 2. the baseline: scikit-learn alone
    t0 = time.perf_counter()
    F = table_suite.plain_features(name)
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(F)
    out["kmeans"] = {**_scores(y, pred), "seconds": round(time.perf_counter() - t0, 2), "features": int(F.shape[1])}
    b = out["kmeans"]
    log(
        f"  {name} seed {seed} k-means   nmi {b['nmi']:.3f} ari {b['ari']:.3f} acc {b['acc']:.3f} ({b['seconds']:.0f}s)"
    )

    # 3. the old manifold default (UMAP -> GMM), map by PCA to save time
    if with_n2d:
        n2d_cfg = default_config(ds, k=k, seed=seed, method="n2d", projection_method="pca")
        res_n2d = run_pipeline(ds, n2d_cfg)
        out["n2d"] = {**_scores(y, res_n2d.labels), "seconds": round(sum(res_n2d.timings.values()), 2)}
        m = out["n2d"]
        log(f"  {name} seed {seed} old n2d   nmi {m['nmi']:.3f} ari {m['ari']:.3f} ({m['seconds']:.0f}s)")

    # 4. k chosen by the product; its wall time from the load on (a user's whole default run)
    t0 = time.perf_counter()
    ds_auto = table_suite.as_dataset(name)
    auto_cfg = default_config(ds_auto, seed=seed)
    res_auto = run_pipeline(ds_auto, auto_cfg)
    e2e = time.perf_counter() - t0
    sweep = res_auto.clusters.sweep
    out["auto"] = {
        "k": int(res_auto.clusters.k),
        "true_k": res_auto.clusters.k == k,
        **_scores(y, res_auto.labels),
        "criterion": sweep.criterion if sweep else None,
        "reason": sweep.reason if sweep else None,
        "runner_up": sweep.runner_up if sweep else None,
        "ks": list(sweep.ks) if sweep else None,
        "stability": [None if not np.isfinite(s) else round(float(s), 4) for s in sweep.stability]
        if sweep and sweep.stability is not None
        else None,
        "kept": res_auto.clusters.info.get("kept"),
        "left_out": _left_out(ds_auto, res_auto.clusters.info),
        "seconds": round(sum(res_auto.timings.values()), 2),
        "timings": {k_: round(v, 2) for k_, v in res_auto.timings.items()},
        "end_to_end_s": round(e2e, 2),
    }
    a = out["auto"]
    log(f"  {name} seed {seed} auto k = {a['k']} (true {k}): nmi {a['nmi']:.3f}, {e2e:.0f}s end to end; {a['reason']}")

    # 5. the map of the automatic run
    out["map"] = map_quality(res_auto.embedding, y)
    mp = out["map"]
    log(
        f"  {name} seed {seed} map: worst segment share {mp['worst_share']:.3f} ({mp['worst_class']}), "
        f"10-NN purity {mp['purity10']:.3f}"
    )
    return out


COLD_SCRIPT = """
from bench.suites.table_suite import as_dataset
from explorer.pipeline import default_config, run_pipeline
ds = as_dataset({name!r})
res = run_pipeline(ds, default_config(ds, seed=0))
print("K", res.clusters.k)
"""


def cold_run(name: str) -> dict[str, Any]:
    """The automatic default run of ``name`` in a fresh Python process, seed 0, timed from the process's
    start: the imports, making the table and loading it, UMAP's compilation and the run (what a first run costs)."""
    load_average = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", COLD_SCRIPT.format(name=name)],
        cwd=ROOT,  # bench/ importable from here
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - t0
    k = next((int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("K ")), None)
    return {
        "seconds": round(wall, 2),
        "rc": proc.returncode,
        "k": k,
        "load_average": load_average,
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "error": proc.stderr[-2000:] if proc.returncode else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="+", default=None, choices=table_suite.SUITE)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--n2d-seeds",
        type=int,
        nargs="+",
        default=None,
        help="seeds of the old n2d comparison (default: all of --seeds)",
    )
    p.add_argument("--quick", action="store_true", help=f"the planted tables at {QUICK_ROWS:,} rows, seed 0")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument(
        "--cold-only",
        action="store_true",
        help=f"re-measure only {END_TO_END} in a fresh process, into the existing quality_tables.json",
    )
    args = p.parse_args(argv)
    path = args.out / "quality_tables.json"
    if args.cold_only:
        doc = read_json(path)
        if not doc.get("end_to_end"):
            raise SystemExit(f"{path} has no {END_TO_END} run to add the fresh-process time to")
        e = doc["end_to_end"]
        if e.get("cold"):
            e.setdefault("cold_earlier", []).append(e["cold"])
        e["cold"] = {**cold_run(END_TO_END), "code": code_version()}
        write_json(path, doc)
        log(f"{END_TO_END} in a fresh process: {e['cold']['seconds']:.0f}s -> {path}")
        return doc
    if args.quick:
        names, seeds, rows = args.tables or list(table_suite.PLANTED), [0], QUICK_ROWS
    else:
        names, seeds, rows = args.tables or list(table_suite.SUITE), args.seeds, None
    n2d_seeds = seeds if args.n2d_seeds is None else args.n2d_seeds
    doc: dict[str, Any] = {
        "machine": machine(),
        "code": code_version(),
        "quick": args.quick,
        "tables": names,
        "seeds": seeds,
        "n2d_seeds": n2d_seeds,
        "planted_rows": rows,
        "map": {"neighbors": MAP_NEIGHBORS, "eps_factor": EPS_FACTOR},
        "runs": [],
        "end_to_end": None,
    }
    start = time.perf_counter()
    with planted_rows(rows):
        for seed in seeds:
            for name in names:
                log(f"{name} seed {seed}  ({time.perf_counter() - start:.0f}s so far)")
                doc["runs"].append(
                    {**run_one(name, seed, seed in n2d_seeds), "measured": time.strftime("%Y-%m-%d %H:%M")}
                )
                doc["seconds"] = round(time.perf_counter() - start, 1)
                write_json(path, doc)
    e2e = [r for r in doc["runs"] if r["table"] == END_TO_END]
    if e2e:
        doc["end_to_end"] = {
            "table": END_TO_END,
            "rows": e2e[0]["rows"],
            "columns": e2e[0]["columns"],
            "warm_s": [r["auto"]["end_to_end_s"] for r in e2e],
            "seeds": [r["seed"] for r in e2e],
            "cold": None if args.quick else cold_run(END_TO_END),
        }
        if doc["end_to_end"]["cold"]:
            log(f"{END_TO_END} in a fresh process: {doc['end_to_end']['cold']['seconds']:.0f}s")
    doc["seconds"] = round(time.perf_counter() - start, 1)
    write_json(path, doc)
    log(f"quality_tables done in {doc['seconds']:.0f}s -> {path}")
    return doc


if __name__ == "__main__":
    main()
