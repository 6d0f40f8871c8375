"""``explorer apply RUN DATA``: new rows through a saved run (clusters, map places, anomaly, drift),
here or on a Dask cluster (``--scheduler``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.cli.args import CliError, curation_folder, load_saved, run_path
from explorer.runs.jsonio import json_text


def add_parser(sub) -> None:
    """The ``apply`` command and its options, on the subparsers ``sub``."""
    a = sub.add_parser("apply", help="apply a saved run to new data: clusters, map positions, anomaly, drift")
    a.set_defaults(handler=cmd_apply)
    a.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    a.add_argument("data", help="new data of the run's kind: a table, images (.zip, files, a folder) or arrays")
    a.add_argument("--runs", help="folder the runs are kept in")
    a.add_argument(
        "--out",
        help="save the applied rows as a run of their own in this folder (linked to RUN); "
        "with --scheduler: the folder the assignments are written to",
    )
    a.add_argument(
        "--fill-missing",
        action="store_true",
        help="fill feature columns the new data lacks with the training value (default: refuse)",
    )
    a.add_argument(
        "--points", help="write the new rows' cluster, confidence, runner-up, margin, anomaly, x, y as CSV here"
    )
    a.add_argument("--json", action="store_true", help="print the result (preprocessing, drift) as one JSON object")
    a.add_argument(
        "--own-clusters",
        action="store_true",
        help="a run whose clusters were curated (explorer curate): apply its own clusters, not the curated ones",
    )
    a.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="apply on a Dask cluster (tcp://host:8786, or local:N for N processes here): DATA is a folder "
        "or glob of Parquet files (a run made on a table) or of zips of images (a run made on images) and --out "
        'the folder that gets one Parquet file of assignments per input file (pip install "explorer[dask]")',
    )
    a.add_argument(
        "--resume",
        action="store_true",
        help="with --scheduler: write only the partitions whose output is not in --out yet",
    )
    a.add_argument(
        "--ship-run",
        action="store_true",
        help="with --scheduler: send the run's files to the workers instead of having them read RUN's folder",
    )


def _apply_on_cluster(args: argparse.Namespace) -> int:
    """``explorer apply RUN DATA --scheduler ADDRESS --out DIR [--resume]``: one Parquet file per partition."""
    from explorer.apply.distributed import apply_partitioned
    from explorer.curate.store import CURATION_JSON

    if not args.scheduler:
        raise CliError("--resume and --ship-run go with --scheduler ADDRESS.")
    folder = run_path(args.run, args.runs)
    if not args.own_clusters and (Path(folder) / CURATION_JSON).is_file():
        raise CliError(
            "this run's clusters were curated, and --scheduler applies a run's own clusters only; add "
            "--own-clusters to apply those, or apply here without --scheduler to use the curated ones."
        )
    if not args.out:
        raise CliError("--scheduler needs --out DIR: the folder the assignments are written to.")
    if args.points:
        raise CliError("--points writes one CSV; with --scheduler the assignments go to --out as Parquet files.")

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"\r{done}/{total} partitions", end="", file=sys.stderr, flush=True)

    report = apply_partitioned(
        run_path(args.run, args.runs),
        args.data,
        args.out,
        scheduler=args.scheduler,
        resume=args.resume,
        missing="impute" if args.fill_missing else "refuse",
        ship_run=args.ship_run,
        on_partition=progress,
    )
    if args.json:
        print(json_text(report.to_dict()))
    else:
        print(file=sys.stderr)
        print(report.to_text())
    return 0 if report.ok else 1


def cmd_apply(args: argparse.Namespace) -> int:
    import numpy as np

    from explorer.apply import apply_run, save_applied
    from explorer.curate.store import curated_source
    from explorer.display.usertext import csv_bytes
    from explorer.runs.exports import curated_names

    if args.scheduler or args.resume or args.ship_run:
        return _apply_on_cluster(args)
    run = load_saved(args.run, args.runs)
    run, curated = curated_source(run, curation_folder(args))
    data = Path(args.data)
    if not data.exists():
        raise CliError(f"no file or folder '{args.data}'.")
    applied = apply_run(run, data, missing="impute" if args.fill_missing else "refuse")
    names = run.explanation.names if run.explanation is not None else curated_names(run)
    saved = None
    if args.out:
        saved = save_applied(applied, run, args.out)
    saved_id = Path(str(saved)).name if saved else None  # a folder, or a run on a store (its URL)
    if args.points:
        Path(args.points).write_bytes(csv_bytes(applied.points_frame(names)))
    if args.json:
        out = applied.summary() | {
            "saved_run": saved_id,
            "curated": curated is not None,
            "clusters": {str(c): int(k) for c, k in zip(*np.unique(applied.labels, return_counts=True), strict=True)},
        }
        print(json_text(out))
        return 0
    print(f"applied run {run.run_id} to {applied.report.n_rows:,} new rows of {applied.dataset.report.source}")
    if curated:
        print(f"  clusters: {curated}")
    print(f"  clusters: {applied.assignment.how}")
    print(f"  map: {applied.placement}")
    for note in applied.report.notes:
        print(f"  - {note}")
    print(applied.drift.to_text())
    if saved is not None:
        print(f"saved as run {saved_id} ({saved}), applied_to {run.run_id}")
    return 0
