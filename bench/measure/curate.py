"""How long curation's heavy steps take, headless: near-duplicates of a whole run and a recluster of one cluster.

    python -m bench.measure.curate [--dup-rows 100000] [--recluster-rows 10000] [--dims 16] [--repeats 3]
                                   [--out bench/results/curate.json]

- near-duplicates (:func:`explorer.curate.duplicates_of`, the default threshold rule): ``--dup-rows`` rows in
  ``--dims`` dimensions, 20 Gaussian blobs, of which 1% are near-copies of another row (a jitter of 1e-3 of
  the blobs' spread); how long, and how many of the planted pairs are found;
- on the planted customer table (bench/suites/table_suite.py), two planted segments merged and split again
  (:func:`merge_and_split`): the ARI with the planted partition (issue 30: >= 0.95), and undo restoring the run;
- a recluster of a ``--recluster-rows`` cluster made of 3 planted sub-groups (:meth:`explorer.curate.Curation.
  split`, the default method and k by stability, as the Explore page's "Split" does): how long, the k chosen
  and the ARI of the sub-clusters with the planted sub-groups.

Both are library calls on arrays, what the dashboard's buttons run on the server (the browser's share of a
step is in bench/measure/browser_timing.py). Timings on a shared machine are pessimistic: the load average
is recorded beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json

DUP_GOAL_S = 30.0  # near-duplicates of 100,000 rows (issue 30)
RECLUSTER_GOAL_S = 15.0  # a recluster of a 10,000-row cluster (issue 30)


def planted_duplicates(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """(n, d) float32: 20 blobs, the last 1% of rows near-copies of earlier rows; and the planted pairs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (20, d))
    Z = centres[rng.integers(0, 20, n)] + rng.normal(size=(n, d))
    copies = max(1, n // 100)
    source = rng.choice(n - copies, copies, replace=False)
    Z[n - copies :] = Z[source] + rng.normal(0, 1e-3, (copies, d))
    return Z.astype(np.float32), {(int(s), n - copies + i) for i, s in enumerate(source)}


def time_duplicates(n: int, d: int, repeats: int) -> dict:
    from explorer.curate.duplicates import duplicates_of

    Z, planted = planted_duplicates(n, d)
    times, found = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        found = duplicates_of(Z)
        times.append(time.perf_counter() - t0)
    assert found is not None
    pairs = {(int(i), int(j)) for i, j in found.pairs}
    return {
        "rows": n,
        "dims": d,
        "seconds": {"median": round(statistics.median(times), 2), "all": [round(t, 2) for t in times]},
        "pairs_found": len(pairs),
        "planted_pairs": len(planted),
        "planted_found": round(len(planted & pairs) / len(planted), 4),
        "rule": found.rule,
        "goal_s": DUP_GOAL_S,
    }


def time_recluster(n: int, d: int, repeats: int) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from explorer.curate import Curation
    from explorer.curate.curation import RECLUSTER_METHOD

    rng = np.random.default_rng(1)
    sub = rng.integers(0, 3, n)  # the cluster to split: 3 planted sub-groups
    Z = np.concatenate([rng.normal(0, 1, (n, d)) + 6 * np.eye(3, d)[sub], rng.normal(20, 1, (n, d))])
    labels = np.repeat([0, 1], n)  # cluster 0 (n rows) to split, cluster 1 beside it
    times, k, ari = [], 0, 0.0
    for _ in range(repeats):
        cur = Curation(labels.copy(), Z=Z.astype(np.float32))
        t0 = time.perf_counter()
        step = cur.split(0)
        times.append(time.perf_counter() - t0)
        k, ari = step.detail["k"], adjusted_rand_score(sub, cur.labels[:n])
    return {
        "rows": n,
        "dims": d,
        "method": RECLUSTER_METHOD,
        "k_by_stability": int(k),
        "ari_with_planted": round(float(ari), 4),
        "seconds": {"median": round(statistics.median(times), 2), "all": [round(t, 2) for t in times]},
        "goal_s": RECLUSTER_GOAL_S,
    }


def merge_and_split(table: str = "customers", seed: int = 0) -> dict:
    """On a planted customer table of bench/suites/table_suite.py, clustered by k-means with the planted k (each
    cluster one planted segment): merge two clusters, split the merged one again (k by stability), then undo
    both; the ARI with the planted segments at each step and whether undo restored the run exactly."""
    from sklearn.metrics import adjusted_rand_score

    from bench.suites.table_suite import PLANTED, as_dataset
    from explorer.curate import Curation
    from explorer.pipeline import default_config, run_pipeline

    ds = as_dataset(table)
    truth = np.asarray(ds.labels).astype(str)
    cfg = default_config(
        ds, model="none", method="kmeans", k=PLANTED[table].k, explain=False, projection_method="pca", seed=seed
    )
    run = run_pipeline(ds, cfg)
    cur = Curation.of(run)
    segment = {c: np.unique(truth[run.labels == c], return_counts=True) for c in cur.clusters}
    major = {c: str(levels[counts.argmax()]) for c, (levels, counts) in segment.items()}
    a, b = cur.clusters[:2]
    merged = cur.merge(a, b)
    after_merge = adjusted_rand_score(truth, cur.labels)
    split = cur.split(a)
    after_split = adjusted_rand_score(truth, cur.labels)
    cur.undo()
    cur.undo()
    return {
        "table": table,
        "rows": int(ds.n),
        "segments": int(PLANTED[table].k),
        "merged": [int(a), int(b)],
        "merged_segments": [major[a], major[b]],
        "merged_rows": int(merged.detail["rows"]),
        "split_k_by_stability": int(split.detail["k"]),
        "ari_run": round(float(adjusted_rand_score(truth, run.labels)), 4),
        "ari_after_merge": round(float(after_merge), 4),
        "ari_after_split": round(float(after_split), 4),
        "undo_restores_exactly": bool(np.array_equal(cur.labels, run.labels)),
        "goal_ari": 0.95,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dup-rows", type=int, default=100_000)
    parser.add_argument("--recluster-rows", type=int, default=10_000)
    parser.add_argument("--dims", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "curate.json")
    args = parser.parse_args(argv)
    log("warming up (imports, compiled kernels: not timed)")
    time_duplicates(2_000, args.dims, 1)
    time_recluster(500, args.dims, 1)
    load_start = os.getloadavg()
    log(f"near-duplicates of {args.dup_rows:,} rows")
    dups = time_duplicates(args.dup_rows, args.dims, args.repeats)
    log(f"{dups}")
    log(f"a recluster of a {args.recluster_rows:,}-row cluster")
    recluster = time_recluster(args.recluster_rows, args.dims, args.repeats)
    log(f"{recluster}")
    log("merge two planted segments of the customer table and split them again")
    planted = merge_and_split()
    log(f"{planted}")
    write_json(
        args.out,
        {
            "what": "curation's heavy steps as library calls (what the dashboard's buttons run on the server): "
            "near-duplicates of a whole run, a split of one cluster with k by stability; medians of the repeats",
            "repeats": args.repeats,
            "machine": machine(),
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "load_average_at_start": [round(v, 2) for v in load_start],
            "duplicates": dups,
            "recluster": recluster,
            "merge_and_split": planted,
        },
    )
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
