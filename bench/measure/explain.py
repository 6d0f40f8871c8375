"""Explanations, measured (issue "explain every cluster"): results in bench/results/explain.json, a section
of docs/BENCHMARKS.md (bench/report/explain.py).

    python -m bench.measure.explain [--seeds 0 1 2] [--mnist-epochs 30] [--skip-mnist] [--quick] [--out DIR]

(``--quick``: the smoke test: 3,000 planted rows, seed 0, k given, 2-D blobs, 2,000 rows timed once, no MNIST.)

1. Planted tables (bench/suites/explain_tables.py: 20,000 rows, 5 segments each set apart in 2-3 known columns,
   noise columns, missing values): the default pipeline with k given; each found cluster is matched to a
   segment (Hungarian, on the contingency); recall = the share of a segment's planted columns among its
   cluster's top 3 distinctions, averaged over segments; and how many noise columns reach any top 3.
   The same with k chosen by the product (auto).
2. Stability: planted blobs (well separated, and an overlapping pair: one round blob split in two, and two
   blobs half a spread apart, in 2-D and 8-D): the mean Jaccard of each cluster over the resamples, and
   whether the overlapping ones are flagged.
3. The surrogate tree's fidelity on the planted tables (columns) and on MNIST-test's codes (the default
   autoencoder trained ``--mnist-epochs`` epochs, then N2D with k = 10).
4. Time: profiles, names, rules and stability (explorer.explain.explain) for 10,000 rows x 50 columns
   (the planted table with extra noise columns), clustered by the table default; median of 3.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json

TOP = 3


def match(labels: np.ndarray, truth: np.ndarray) -> dict[int, str]:
    """cluster -> the segment it is matched to (Hungarian on the contingency)."""
    from scipy.optimize import linear_sum_assignment

    clusters, segs = np.unique(labels), np.unique(truth)
    table = np.array([[np.sum((labels == c) & (truth == s)) for s in segs] for c in clusters])
    rows, cols = linear_sum_assignment(-table)
    return {int(clusters[r]): str(segs[c]) for r, c in zip(rows, cols, strict=True)}


def planted_run(seed: int, auto: bool, n: int = 20_000) -> dict[str, Any]:
    from bench.suites.explain_tables import distinct_segments
    from explorer.data import TableOptions, load
    from explorer.metrics import evaluate
    from explorer.pipeline import default_config, run_pipeline

    d = distinct_segments(n=n, seed=seed)
    import io

    buf = io.BytesIO()
    d.table.to_parquet(buf, index=False)
    ds = load(
        buf.getvalue(), name="distinct.parquet", table=TableOptions(label_column="segment", id_column="customer_id")
    )
    k = len(d.planted)
    cfg = default_config(ds, seed=seed, projection_method="pca", **({} if auto else {"k": k}))
    t = time.perf_counter()
    result = run_pipeline(ds, cfg)
    wall = time.perf_counter() - t
    ex = result.explanation
    truth = np.asarray(ds.labels).astype(str)
    matched = match(result.labels, truth)
    recalls, noise_hits, per = [], 0, []
    for c in ex.clusters:
        seg = matched.get(c.cluster)
        top = [x.column for x in c.distinctions[:TOP]]
        hits = [col for col in top if col in d.noise]
        noise_hits += len(hits)
        if seg in d.planted:
            planted = d.planted[seg]
            recalls.append(len(planted & set(top)) / len(planted))
        per.append(
            {
                "cluster": c.cluster,
                "segment": seg,
                "name": c.name,
                "top": top,
                "planted": sorted(d.planted.get(seg, [])),
                "noise_in_top": hits,
                "jaccard": c.jaccard,
                "rule": c.rule,
                "rule_precision": c.rule_precision,
            }
        )
    scores = evaluate(result.Z, result.labels, y_true=truth)
    return {
        "seed": seed,
        "auto": auto,
        "k": int(result.clusters.k),
        "true_k": k,
        "nmi": scores.get("nmi"),
        "ari": scores.get("ari"),
        "recall": float(np.mean(recalls)) if recalls else 0.0,
        "segments_matched": len(recalls),
        "noise_in_top3": noise_hits,
        "fidelity": ex.rules.fidelity,
        "rule_depth": ex.rules.depth,
        "explain_s": round(result.timings.get("explain", 0.0), 2),
        "run_s": round(wall, 2),
        "clusters": per,
    }


def stability_cases(dims: tuple[int, ...] = (2, 8)) -> list[dict[str, Any]]:
    from sklearn.cluster import KMeans

    from explorer.explain.resample import DOUBTFUL, cluster_stability, refitter

    out = []
    for dim in dims:
        for offset in (0.0, 0.5, 4.0):
            rng = np.random.default_rng(2)

            def centre(x: float, y: float, dim: int = dim) -> np.ndarray:
                return np.r_[x, y, np.zeros(dim - 2)]

            Z = np.concatenate(
                [
                    rng.normal(centre(-10, 0), 0.5, (400, dim)),
                    rng.normal(centre(10, 0), 0.5, (400, dim)),
                    rng.normal(centre(0, 10), 1.0, (400, dim)),
                    rng.normal(centre(offset, 10), 1.0, (400, dim)),
                ]
            )
            labels = KMeans(4, n_init=5, random_state=0).fit_predict(Z)
            fit, what = refitter("kmeans", 4)
            st = cluster_stability(Z, labels, fit, method=what, random_state=0)
            separated = sorted({int(labels[0]), int(labels[400])})
            pair = sorted(set(range(4)) - set(separated))
            out.append(
                {
                    "dim": dim,
                    "pair_offset_sd": offset,
                    "separated_jaccard": [st.jaccard[c] for c in separated],
                    "pair_jaccard": [st.jaccard[c] for c in pair],
                    "pair_flagged": all(st.jaccard[c] < DOUBTFUL for c in pair),
                    "separated_flagged": any(st.jaccard[c] < DOUBTFUL for c in separated),
                }
            )
            log(
                f"  stability {dim}-D, pair {offset} sd apart: separated {out[-1]['separated_jaccard']}, pair "
                f"{out[-1]['pair_jaccard']}"
            )
    return out


def mnist_fidelity(epochs: int, seed: int = 0) -> dict[str, Any]:
    from bench.suites.labeled_sets import mnist_test
    from explorer.explain import ExplainConfig, explain
    from explorer.pipeline import default_config, run_pipeline

    ds = mnist_test()
    cfg = default_config(ds, k=10, seed=seed, epochs=epochs, projection_method="pca")
    cfg = replace(cfg, explain=None)
    t = time.perf_counter()
    result = run_pipeline(ds, cfg)
    run_s = time.perf_counter() - t
    t = time.perf_counter()
    ex = explain(result, ExplainConfig(random_state=seed))
    return {
        "epochs": epochs,
        "seed": seed,
        "acc": result.metrics.get("acc"),
        "nmi": result.metrics.get("nmi"),
        "fidelity": ex.rules.fidelity,
        "rule_depth": ex.rules.depth,
        "note": ex.rules.note,
        "jaccard": {str(c.cluster): c.jaccard for c in ex.clusters},
        "run_s": round(run_s, 1),
        "explain_s": round(time.perf_counter() - t, 2),
        "seconds": {k: round(v, 2) for k, v in ex.seconds.items()},
    }


def timing(repeats: int = 3, n: int = 10_000) -> dict[str, Any]:
    from bench.suites.explain_tables import distinct_segments
    from explorer.data import TableOptions, load
    from explorer.explain import explain
    from explorer.pipeline import default_config, run_pipeline

    d = distinct_segments(n=n, seed=0, extra_numeric=30, extra_categorical=6)
    import io

    buf = io.BytesIO()
    d.table.to_parquet(buf, index=False)
    ds = load(buf.getvalue(), name="wide.parquet", table=TableOptions(label_column="segment", id_column="customer_id"))
    columns = d.table.shape[1] - 2  # less the id and the label
    cfg = replace(default_config(ds, k=len(d.planted), projection_method="pca"), explain=None)
    result = run_pipeline(ds, cfg)
    walls, parts = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        ex = explain(result)
        walls.append(time.perf_counter() - t)
        parts.append(ex.seconds)
        log(f"  explain {ds.n:,} x {columns}: {walls[-1]:.1f}s { ({k: round(v, 1) for k, v in ex.seconds.items()}) }")
    return {
        "rows": ds.n,
        "columns": columns,
        "features": int(ds.X.shape[1]),
        "method": result.clusters.method,
        "seconds": [round(w, 2) for w in walls],
        "median_s": round(statistics.median(walls), 2),
        "parts": [{k: round(v, 2) for k, v in p.items()} for p in parts],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--mnist-epochs", type=int, default=30)
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--quick", action="store_true", help="the smoke test (small, seed 0, no MNIST)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    quick = args.quick
    seeds = [0] if quick else args.seeds
    start = time.perf_counter()
    doc: dict[str, Any] = {"machine": machine(), "quick": quick, "seeds": seeds, "top": TOP}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "explain.json"
    log("timing: explain 10,000 rows x 50 columns" if not quick else "timing (quick)")
    doc["timing"] = timing(1, 2_000) if quick else timing()
    write_json(path, doc)
    doc["planted"] = []
    for seed in seeds:
        for auto in (False,) if quick else (False, True):
            r = planted_run(seed, auto, 3_000 if quick else 20_000)
            doc["planted"].append(r)
            log(
                f"  planted seed {seed} {'auto k' if auto else 'k given'}: k {r['k']}, ari {r['ari']:.3f}, recall "
                f"{r['recall']:.2f}, noise in top 3: {r['noise_in_top3']}, fidelity {r['fidelity']:.3f}, explain "
                f"{r['explain_s']}s"
            )
            write_json(path, doc)
    doc["stability"] = stability_cases((2,) if quick else (2, 8))
    write_json(path, doc)
    if not (args.skip_mnist or quick):
        log(f"MNIST-test: autoencoder {args.mnist_epochs} epochs, N2D, k = 10")
        doc["mnist"] = mnist_fidelity(args.mnist_epochs)
        log(
            f"  fidelity {doc['mnist']['fidelity']:.3f} (depth {doc['mnist']['rule_depth']}), acc {doc['mnist']['acc']}"
        )
    doc["seconds"] = round(time.perf_counter() - start, 1)
    write_json(path, doc)
    log(f"explain done in {doc['seconds']:.0f}s -> {path}")
    return doc


if __name__ == "__main__":
    main()
