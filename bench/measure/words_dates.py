"""Segments that live in words and dates only: the planted bank-customer table of bench/suites/words_dates.py
loaded as an upload is (a CSV through :func:`explorer.data.load`), clustered by the default pipeline with k given
and with k chosen, and explained (issue 27).

    python -m bench.measure.words_dates [--rows 3200] [--seeds 0 1 2] [--quick] [--out bench/results/words_dates.json]

Per seed: ARI with the planted segments (k given = 4, and k chosen), the k chosen, whether the message and the
date column are both among each cluster's top 3 distinctions, and the seconds of each run. A plain k-means on the
numbers and categories alone (what the loader kept before text and dates counted) is the reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json
from bench.suites.words_dates import DATE, ID, LABEL, SEGMENTS, TEXT, planted_words_dates

TOP = 3  # the distinctions of a cluster in which the words and the dates must both be


def top_columns(explanation) -> list[list[str]]:
    """For each cluster, the columns of its first ``TOP`` distinctions."""
    return [[d.column for d in p.distinctions[:TOP]] for p in explanation.profiles]


def one(n: int, seed: int, folder: Path, modes: tuple[str, ...] = ("k_given", "k_chosen")) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from explorer.data import TableOptions, load
    from explorer.pipeline.defaults import default_config
    from explorer.pipeline.run import run_pipeline

    csv = folder / f"customers_{seed}.csv"
    planted_words_dates(n, seed).to_csv(csv, index=False)
    t0 = time.perf_counter()
    ds = load(csv, table=TableOptions(label_column=LABEL, id_column=ID))
    load_s = time.perf_counter() - t0
    truth = np.asarray(ds.labels).astype(str)
    out: dict = {"seed": seed, "rows": n, "load_s": round(load_s, 1), "features": int(ds.X.shape[1])}
    out["loader_said"] = {c: ds.report.transformed.get(c, "") for c in (TEXT, DATE)}
    for mode, k in (("k_given", len(SEGMENTS)), ("k_chosen", None)):
        if mode not in modes:
            continue
        t0 = time.perf_counter()
        res = run_pipeline(ds, default_config(ds, k=k, seed=seed))
        tops = top_columns(res.explanation) if res.explanation is not None else []
        out[mode] = {
            "ari": round(float(adjusted_rand_score(truth, res.labels)), 4),
            "k": int(res.clusters.k),
            "method": res.config.cluster.method,
            "seconds": round(time.perf_counter() - t0, 1),
            "top_columns": tops,
            "both_in_top": sum(TEXT in t and DATE in t for t in tops),
        }
        log(f"  seed {seed} {mode}: {out[mode]}")
    numbers = [j for j, f in enumerate(ds.feature_names) if not f.startswith((TEXT, DATE))]
    ref = KMeans(len(SEGMENTS), n_init=10, random_state=seed).fit_predict(ds.X[:, numbers])
    out["kmeans_numbers_and_categories_ari"] = round(float(adjusted_rand_score(truth, ref)), 4)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=3200)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--quick", action="store_true", help="400 rows, one seed, k given only (the smoke test)")
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    rows, seeds = (400, [0]) if a.quick else (a.rows, a.seeds)
    modes = ("k_given",) if a.quick else ("k_given", "k_chosen")
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            log(f"words and dates: {rows:,} customers, seed {seed}")
            runs.append(one(rows, seed, Path(tmp), modes))
    doc = {
        "what": "A planted table of bank customers whose 4 segments live only in a free-text message and a sign-up "
        "date (each column alone tells 2-3 of them apart); numbers and categories are noise; the default pipeline "
        "with k given and with k chosen",
        "quick": a.quick,
        "segments": [f"{topic}, joined {lo:.0f}-{hi:.0f} days before the last day" for topic, (lo, hi) in SEGMENTS],
        "machine": machine(),
        "load_average_at_start": load_before,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "median_seconds": {m: statistics.median(r[m]["seconds"] for r in runs) for m in modes},
    }
    out = a.out if a.out.suffix == ".json" else a.out / "words_dates.json"
    write_json(out, doc)
    log(f"wrote {out}")
    return doc


if __name__ == "__main__":
    main(sys.argv[1:])
