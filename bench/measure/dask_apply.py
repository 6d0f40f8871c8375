"""Applying a saved run on a Dask LocalCluster, rows per second against workers (issue 17): results in
bench/results/dask_apply.json.

    python -m bench.measure.dask_apply [--rows 200000] [--partitions 16] [--workers 1 2] [--method mixture]

A planted customer-like table (bench/suites/explain_tables.py, 5 segments, categorical columns) : the table
default clustering (``--method``, k = 5) fitted on 5,000 rows and saved; ``--rows`` new rows of the same
kind written as ``--partitions`` Parquet files. For each worker count: a LocalCluster of that many
processes, one thread each; one warm-up partition per worker first (imports, the run loaded once per
worker), then the whole dataset applied into a fresh folder, timed from submit to the last file written
(:func:`explorer.apply.apply_partitioned`). The load average before and after each measurement is
recorded, and the workers' CPU seconds: ``busy_workers`` (CPU seconds / wall seconds) near the worker
count means each worker had a core; well below it, they waited for cores other processes held (the
2-core machine is shared; with Linux's autogroup scheduling the workers, all in this session, share
one session's slice of a saturated CPU however many they are). ``rows_per_cpu_second`` staying flat
across worker counts says the work itself scales; the wall-clock speedup is then what the free cores allow.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--partitions", type=int, default=16)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--method", default="mixture")
    p.add_argument("--out", type=Path, default=RESULTS / "dask_apply.json")
    args = p.parse_args()

    import distributed

    from bench.suites.explain_tables import distinct_segments
    from explorer.apply import apply_partitioned
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.files import save_run

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        tmp = Path(tmp)
        train = distinct_segments(5_000, 5, seed=0).table
        ds = load(train.to_csv(index=False).encode(), name="customers.csv", table=TableOptions(label_column="segment"))
        run_path = save_run(
            run_pipeline(ds, default_config(ds, method=args.method, k=5, explain=False, projection_method="pca")),
            tmp / "runs",
        )
        log(f"run {run_path.name} ({args.method}) on {len(train):,} rows")
        new = distinct_segments(args.rows, 5, seed=1).table
        data = tmp / "data"
        data.mkdir()
        for i, idx in enumerate(np.array_split(np.arange(len(new)), args.partitions)):
            new.iloc[idx].to_parquet(data / f"part-{i:04d}.parquet", index=False)
        warm = tmp / "warm"
        warm.mkdir()
        new.iloc[:200].to_parquet(warm / "w.parquet", index=False)
        rows = []
        for n in args.workers:
            with (
                distributed.LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
                ) as lc,
                distributed.Client(lc) as client,
            ):
                client.wait_for_workers(n)
                client.run(_warm_up, str(run_path), str(warm / "w.parquet"))  # on every worker, before the clock
                load_before = os.getloadavg()[0]
                cpu_before = sum(client.run(_cpu_seconds).values())
                t0 = time.perf_counter()
                report = apply_partitioned(run_path, data, tmp / f"out-{n}", scheduler=client)
                seconds = time.perf_counter() - t0
                cpu = sum(client.run(_cpu_seconds).values()) - cpu_before
                load_after = os.getloadavg()[0]
            assert report.ok, report.failed
            rows.append(
                {
                    "workers": n,
                    "rows": report.rows,
                    "partitions": report.partitions,
                    "seconds": seconds,
                    "rows_per_second": report.rows / seconds,
                    "worker_cpu_seconds": cpu,
                    "busy_workers": cpu / seconds,
                    "rows_per_cpu_second": report.rows / cpu,
                    "load_1min_before": load_before,
                    "load_1min_after": load_after,
                }
            )
            log(
                f"{n} worker(s): {report.rows:,} rows in {seconds:.1f} s = {report.rows / seconds:,.0f} rows/s; "
                f"workers' CPU {cpu:.1f} s ({cpu / seconds:.2f} cores busy, {report.rows / cpu:,.0f} rows per "
                "CPU-second); "
                f"load {load_before:.2f} -> {load_after:.2f}"
            )
        base = rows[0]["rows_per_second"]
        for r in rows:
            r["speedup"] = r["rows_per_second"] / base
        write_json(
            args.out,
            {
                "machine": machine(),
                "method": args.method,
                "train_rows": len(train),
                "rows": args.rows,
                "partitions": args.partitions,
                "results": rows,
                "target": "2 workers >= 1.6x the rows per second of 1 worker",
                "cores": os.cpu_count(),
            },
        )
        log(f"-> {args.out}")


def _cpu_seconds() -> float:
    """This worker process's CPU time so far (user + system)."""
    t = os.times()
    return t.user + t.system


def _warm_up(run_path: str, part: str) -> int:
    """On one worker: import, load the run into its cache, apply one small partition (nothing written)."""
    from pathlib import Path

    from explorer.apply.distributed import RunRef, _worker_run, assign_table, run_digest

    run = _worker_run(RunRef(str(Path(run_path).resolve()), run_digest(Path(run_path))), None)
    return len(assign_table(run, Path(part)))


if __name__ == "__main__":
    main()
