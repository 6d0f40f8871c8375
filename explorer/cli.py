"""Command line: the dashboard's pipeline, headless.

    explorer run DATA [--label COL] [--model ...] [--cluster ...] [--k K] ...
    explorer show RUN
    explorer explain RUN [--json]
    explorer list [--runs DIR]
    explorer compare RUN_A RUN_B [--runs DIR] [--json]

(``explorer`` is the console script ``pip install .`` puts on the PATH; ``python -m explorer`` is the same.)

A bad input or option prints one line on stderr and exits with status 2, never a traceback
(set EXPLORER_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from explorer.cluster.types import MAX_DEC_BATCHES, METHODS
from explorer.data.common import SCALINGS
from explorer.device import DEVICE_CHOICES
from explorer.errors import ExplorerError
from explorer.events import Progress
from explorer.metrics import METRICS
from explorer.project import PROJECTION_METHODS
from explorer.reducers.config import MODEL_CHOICES


class CliError(ExplorerError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        raise CliError(f"{message} (see explorer {self.prog.split()[-1]} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="explorer", description="Find structure in unlabeled data: represent, cluster, explore.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    r = sub.add_parser("run", help="load data, train, cluster, project, evaluate and save a run")
    r.add_argument("data", help="a table (.csv .tsv .parquet), images (.zip, image files, a folder) or arrays (.npy .npz): "
                                "a path, or a URL fsspec can read (s3://, gs://, https://, ...)")
    r.add_argument("--label", help="table column holding known labels (for evaluation only; never used for fitting)")
    r.add_argument("--id", dest="id_column", help="table column holding row ids")
    r.add_argument("--scaling", choices=SCALINGS,
                   help="table feature scaling (default auto: columns sharing one range are scaled together, others standardized)")
    r.add_argument("--model", choices=MODEL_CHOICES, help="representation (default: by data type)")
    r.add_argument("--cluster", choices=METHODS, help="clustering method (default n2d: AE -> UMAP -> GMM)")
    r.add_argument("--k", type=int, help="number of clusters (default: suggested by a k sweep)")
    r.add_argument("--projection", choices=PROJECTION_METHODS, help="2-D projection for display (default umap)")
    r.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="compute device (default auto)")
    r.add_argument("--epochs", type=int,
                   help="training epochs, trained in full (as is the refinement): no time budget cuts them")
    r.add_argument("--latent-dim", type=int, help="size of the latent space")
    r.add_argument("--batch-size", type=int, help="training batch size")
    r.add_argument("--lr", type=float, help="learning rate")
    r.add_argument("--members", type=int,
                   help="autoencoders trained side by side, their codes joined (default: 3 on small image sets, else 1)")
    r.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None,
                   help="images: after the clustering, train the encoder further on shifted and rotated copies "
                        "(IDEC from those clusters, as DEC-DA), then cluster the refined code again "
                        "(default: on for sets of 2,000 images or more)")
    r.add_argument("--dec-batches", type=int,
                   help="batches of DEC / IDEC, and of the refinement for images (default: 2,000; for images "
                        "50 passes over the data, between 100 and 2,000)")
    r.add_argument("--fp32", action="store_true",
                   help="train in float32 throughout (default: bf16 autocast on GPUs and on CPUs that compute bf16 natively)")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--parallel", action="store_true",
                   help="UMAP and its neighbour search unseeded, on every core: faster, but two runs differ slightly")
    r.add_argument("--out", "--runs-dir", dest="out",
                   help="folder or fsspec URL (memory://, s3://...) to keep runs in (default $EXPLORER_RUNS_DIR or ./runs)")
    r.add_argument("--devices", type=int,
                   help="train the autoencoder data-parallel in this many processes (one per GPU, or CPU processes): "
                        "starts torchrun itself; only the first process clusters and saves the run")
    r.add_argument("--json", action="store_true", help="print the metrics as one JSON object on stdout")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--no-explain", action="store_true",
                   help="do not explain the clusters (profiles, rules, stability: on by default)")
    s = sub.add_parser("show", help="print a saved run's summary")
    s.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    s.add_argument("--runs", help="folder the runs are kept in")
    s.add_argument("--json", action="store_true")
    e = sub.add_parser("explain", help="what each cluster of a saved run is: profile, rule, stability, members")
    e.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    e.add_argument("--runs", help="folder the runs are kept in")
    e.add_argument("--top", type=int, default=3, help="distinguishing columns shown per cluster (default 3)")
    e.add_argument("--json", action="store_true", help="print the whole explanation as one JSON object")
    ls = sub.add_parser("list", help="list saved runs")
    ls.add_argument("--runs", help="folder the runs are kept in")
    c = sub.add_parser("compare", help="compare the clusters of two saved runs of the same data")
    c.add_argument("run_a", help="run A: a run id (looked up under --runs) or a run folder")
    c.add_argument("run_b", help="run B: a run id or a run folder")
    c.add_argument("--runs", help="folder the runs are kept in")
    c.add_argument("--json", action="store_true", help="print the comparison as one JSON object on stdout")
    a = sub.add_parser("apply", help="apply a saved run to new data: clusters, map positions, anomaly, drift")
    a.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    a.add_argument("data", help="new data of the run's kind: a table, images (.zip, files, a folder) or arrays")
    a.add_argument("--runs", help="folder the runs are kept in")
    a.add_argument("--out", help="save the applied rows as a run of their own in this folder (linked to RUN); "
                        "with --scheduler: the folder the assignments are written to")
    a.add_argument("--fill-missing", action="store_true",
                   help="fill feature columns the new data lacks with the training value (default: refuse)")
    a.add_argument("--points", help="write the new rows' cluster, confidence, runner-up, margin, anomaly, x, y as CSV here")
    a.add_argument("--json", action="store_true", help="print the result (preprocessing, drift) as one JSON object")
    a.add_argument("--scheduler", metavar="ADDRESS",
                   help="apply on a Dask cluster (tcp://host:8786, or local:N for N processes here): DATA is a folder "
                        "or glob of Parquet files and --out the folder that gets one Parquet file of assignments per "
                        'input file (pip install "explorer[dask]")')
    a.add_argument("--resume", action="store_true",
                   help="with --scheduler: write only the partitions whose output is not in --out yet")
    a.add_argument("--ship-run", action="store_true",
                   help="with --scheduler: send the run's files to the workers instead of having them read RUN's folder")
    return p


class ProgressBar:
    """A one-line terminal progress bar on stderr, driven by the pipeline's events.

    :meth:`end_line` ends the bar's line if it is open, so what is printed next (an error) starts a
    line of its own."""

    def __init__(self, stream=None, enabled: bool = True):
        self.stream, self.enabled = stream or sys.stderr, enabled  # sys.stderr as it is now, not at import
        self.start = time.perf_counter()
        self.stage = None
        self.line_open = False

    def end_line(self) -> None:
        if self.line_open:
            self.stream.write("\n")
            self.stream.flush()
            self.line_open = False

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        stage = event.stage
        if stage != self.stage and self.stage is not None:
            self.end_line()
        self.stage = stage
        frac = float(min(max(event.fraction, 0.0), 1.0))
        width = 28
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        extra = ""
        if event.loss is not None:
            extra = f" loss {event.loss:.4g}"
            if event.val_loss is not None:
                extra += f" val {event.val_loss:.4g}"
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r{stage:>8} [{bar}] {event.message}{extra}  {elapsed:5.0f}s   ")
        self.stream.flush()
        self.line_open = True
        if stage == "done":
            self.end_line()


def format_metrics(metrics: dict[str, Any]) -> str:
    lines = []
    for key, metric in METRICS.items():
        v = metrics.get(key)
        if v is not None:
            lines.append(f"  {metric.label:<24} {v:.4f}" if isinstance(v, float) else f"  {metric.label:<24} {v}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from explorer.reducers import distributed
    if args.devices is not None:  # start torchrun, which runs this same command once per process
        distributed.check_devices(args.devices, args.device)
        if not Path(args.data).exists():  # said once here, not once per process
            raise CliError(f"{args.data}: no such file or folder.")
        if args.devices > 1:
            return distributed.launch(args.devices, _without_devices(args.argv))
    group = distributed.init_from_env()  # None unless started by torchrun with several processes
    try:
        return _run(args, group)
    finally:  # after an error on this rank: leave at once (torchrun then stops the others)
        distributed.abandon()


def _without_devices(argv: Sequence[str]) -> list[str]:
    """The command line again, without its --devices N (torchrun's processes must not start torchrun)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--devices":
            skip = True
        elif not arg.startswith("--devices="):
            out.append(arg)
    return out


def _run(args: argparse.Namespace, group) -> int:
    from explorer.data import ImageOptions, TableOptions, load
    from explorer.limits import Limits
    from explorer.pipeline import default_config, fit_representation, replace_nested, run_pipeline
    from explorer.runs.files import save_run

    if group is not None and not group.is_main:  # a helper rank: train its part, print nothing, save nothing
        args.quiet, args.json = True, False
    limits = Limits.from_env()  # the same caps as the dashboard (EXPLORER_MAX_*)
    if "EXPLORER_MAX_UPLOAD_BYTES" not in os.environ:
        # a file on your own disk is not an upload: its size is bounded by the memory budget
        # (max_decoded_bytes, from the file's metadata) and the row cap, not by the upload cap
        limits = dataclasses.replace(limits, max_upload_bytes=2**62)
    if args.epochs is not None:
        limits.check("max_epochs", args.epochs, f"--epochs asks for {args.epochs:,} epochs")
    if args.dec_batches is not None and not 1 <= args.dec_batches <= MAX_DEC_BATCHES:
        raise CliError(f"--dec-batches must be between 1 and {MAX_DEC_BATCHES:,}, got {args.dec_batches:,}.")
    source = _data_source(args.data, limits, quiet=args.quiet)
    table_opts = TableOptions(label_column=args.label, id_column=args.id_column, scaling=args.scaling or "auto")
    try:
        dataset = load(source, table=table_opts, images=ImageOptions(), limits=limits)
    finally:
        if hasattr(source, "close"):
            source.close()
    if args.label and dataset.kind != "table":
        print(f"note: --label applies to tables; {dataset.kind} take labels from folders or a 'y' array.", file=sys.stderr)
    overrides = {
        "model": args.model, "method": args.cluster, "k": args.k, "projection_method": args.projection,
        "device": args.device, "epochs": args.epochs, "latent_dim": args.latent_dim, "batch_size": args.batch_size,
        "lr": args.lr, "members": args.members, "cluster_refine": args.refine,
        "cluster_dec_max_iter": args.dec_batches, "seed": args.seed, "max_seconds": limits.max_train_seconds,
        "mixed_precision": False if args.fp32 else None, "explain": False if args.no_explain else None,
        "reproducible": False if args.parallel else None,
    }
    cfg = replace_nested(default_config(dataset), **overrides)
    if args.epochs:  # epochs asked for by name are trained in full, and the refinement's batches too:
        # no time budget cuts either, so the run does not depend on this machine's speed
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, time_budget=None),
                                  cluster=dataclasses.replace(cfg.cluster, refine_seconds=None))
    if cfg.model.epochs > limits.max_epochs:  # the default, when no --epochs was given: keep to the cap
        cfg = replace_nested(cfg, epochs=int(limits.max_epochs))
    if not args.quiet:
        print(dataset.report.to_text(), file=sys.stderr)
        print(f"model {cfg.model.kind}, clustering {cfg.cluster.method}, k {cfg.cluster.k or 'auto'}, device {cfg.device}", file=sys.stderr)
    bar = ProgressBar(enabled=not args.quiet)
    reducer, train_seconds = None, 0.0
    if group is not None:  # every rank trains its part; PCA and "none" have nothing to train together
        from explorer.device import resolve_device
        from explorer.reducers.distributed import data_parallel, leave

        t0 = time.perf_counter()
        if cfg.model.trains:
            with data_parallel(group):
                reducer = fit_representation(dataset, cfg, resolve_device(cfg.device).name, bar)
        leave(group)  # together, once trained: rank 0 alone does the rest
        train_seconds = time.perf_counter() - t0
        if not group.is_main:
            return 0
    try:
        result = run_pipeline(dataset, cfg, on_event=bar, reducer=reducer)
        result.timings["train"] = result.timings.get("train", 0.0) + train_seconds
    finally:  # an error (or Ctrl-C) during the run is printed on a line of its own, not on the bar's
        bar.end_line()
    folder = save_run(result, args.out)
    if args.json:
        print(json.dumps({**_json_safe(result.metrics), "run_id": result.run_id, "run_dir": str(folder), "device": result.device, "seconds": round(sum(result.timings.values()), 2)}))
    else:
        for note in result.notes:
            print(f"note: {note}")
        print(f"{dataset.name}: {dataset.n} rows, model {cfg.model.kind} on {result.device_description}, {result.clusters.method} found {result.clusters.k} clusters")
        print(format_metrics(result.metrics))
        times = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
        print(f"  time: {times}")
        print(f"saved run {result.run_id} in {folder}")
    return 0


def _data_source(spec: str, limits: "Limits", *, quiet: bool = False) -> object:
    """What ``explorer run`` reads: a local path as it is (a file or a folder), or a URL (s3://,
    gs://, https://, ... any scheme fsspec can read but file://) opened by
    :func:`explorer.data.open_source`; the person running the CLI owns the machine, so no scheme is
    off (the dashboard's EXPLORER_URL_SCHEMES does not apply here)."""
    from explorer.data.sources import SourcePolicy, is_url, open_source

    if not is_url(spec):
        if not Path(spec).exists():
            raise CliError(f"{spec}: no such file or folder.")
        return spec
    last_step = [-1]

    def progress(done: int, total: int | None) -> None:  # a line every 10 % (every 64 MiB when the size is unknown)
        step = 10 * done // total if total else done // 2**26
        if quiet or step == last_step[0]:
            return
        last_step[0] = step
        of = f" of {total / 2**20:,.0f} MiB" if total else ""
        print(f"reading {spec}: {done / 2**20:,.0f} MiB{of}", file=sys.stderr)

    return open_source(spec, limits, progress, policy=SourcePolicy.unrestricted())


def _json_safe(d: dict) -> dict:
    import math

    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def cmd_show(args: argparse.Namespace) -> int:
    from explorer.runs.files import read_json

    path = _run_path(args.run, args.runs)
    cfg = read_json(path / "config.json")
    metrics = read_json(path / "metrics.json")
    if args.json:
        print(json.dumps({"config": cfg, "metrics": metrics}))
        return 0
    ds, pl = cfg["dataset"], cfg["pipeline"]
    print(f"run {cfg['run_id']}  ({cfg.get('created')})  {path}")
    print(f"data      {ds['name']} ({ds['kind']}), {ds['n']} rows x {ds['n_features']} features")
    print(f"model     {pl['model']['kind']}, latent {pl['model']['latent_dim']}, epochs {pl['model']['epochs']}, device {cfg.get('device_description') or cfg.get('device')}")
    print(f"clusters  {pl['cluster']['method']}, k {metrics.get('k')}; projection {pl['projection']['method']}; seed {pl['seed']}")
    print(format_metrics(metrics))
    return 0


def _run_path(run: str, runs: str | None) -> Path:
    """A saved run's folder from its id (under ``runs``) or the folder itself."""
    from explorer.runs.files import RUN_ID_PATTERN, default_root

    path = Path(run)
    if path.is_dir() and (path / "config.json").is_file():
        return path
    root = Path(runs) if runs else default_root()
    if not RUN_ID_PATTERN.fullmatch(run) or not (root / run / "config.json").is_file():
        raise CliError(f"no saved run '{run}' (looked in {root}); give a run id from `explorer list` or a run folder.")
    return root / run


def cmd_explain(args: argparse.Namespace) -> int:
    from explorer.explain import explain
    from explorer.runs.files import _clean, _json_default

    if args.top < 1:
        raise CliError("--top must be 1 or more.")
    result = _load_saved(args.run, args.runs)
    ex = result.explanation
    computed = ex is None
    if computed:  # saved without one (explorer 0.2 runs, or --no-explain): explain it now, not saved
        ex = explain(result)
    if args.json:
        print(json.dumps({"run_id": result.run_id, "computed_now": computed, **_clean(ex.to_dict())}, allow_nan=False, default=_json_default))
        return 0
    ids = result.dataset.ids
    if computed:
        print("note: the run was saved without an explanation; computed now (not saved).", file=sys.stderr)
    print(f"run {result.run_id}: {len(ex.clusters)} clusters of {result.dataset.n:,} rows ({result.clusters.method})")
    for c in ex.clusters:
        level = f", {c.stability} (Jaccard {c.jaccard:.2f})" if c.stability else ""
        print(f"\n[{c.cluster}] {c.name}: {c.size:,} rows ({c.share:.0%}){level}")
        for d in c.distinctions[: args.top]:
            print(f"    {d.sentence}   (separation {d.separation:.2f})")
        if c.rule:
            print(f"    rule: {c.rule}   (precision {c.rule_precision:.0%}, covers {c.rule_coverage:.0%})")
        print(f"    typical: {', '.join(str(ids[i]) for i in c.typical)}")
        print(f"    borderline: {', '.join(str(ids[i]) for i in c.borderline)}")
    if ex.rules is not None:
        where = "the columns" if ex.rules.on == "columns" else "the latent codes"
        print(f"\nrules: a depth-{ex.rules.depth} tree on {where} agrees with the clusters on {ex.rules.fidelity:.0%} of rows.")
        if ex.rules.note:
            print(f"  {ex.rules.note}")
    flagged = [c for c in ex.clusters if c.flagged]
    if flagged:
        print("\nwarning: " + "; ".join(f"cluster {c.cluster} ({c.name}) is {c.stability} (Jaccard {c.jaccard:.2f})"
                                        for c in flagged) + ": its members would change on another run.")
    return 0


def _apply_on_cluster(args: argparse.Namespace) -> int:
    """``explorer apply RUN DATA --scheduler ADDRESS --out DIR [--resume]``: one Parquet file per partition."""
    from explorer.apply.distributed import apply_partitioned
    from explorer.runs.files import _clean, _json_default

    if not args.scheduler:
        raise CliError("--resume and --ship-run go with --scheduler ADDRESS.")
    if not args.out:
        raise CliError("--scheduler needs --out DIR: the folder the assignments are written to.")
    if args.points:
        raise CliError("--points writes one CSV; with --scheduler the assignments go to --out as Parquet files.")

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"\r{done}/{total} partitions", end="", file=sys.stderr, flush=True)

    report = apply_partitioned(_run_path(args.run, args.runs), args.data, args.out, scheduler=args.scheduler,
                               resume=args.resume, missing="impute" if args.fill_missing else "refuse",
                               ship_run=args.ship_run, on_partition=progress)
    if args.json:
        print(json.dumps(_clean(report.to_dict()), allow_nan=False, default=_json_default))
    else:
        print(file=sys.stderr)
        print(report.to_text())
    return 0 if report.ok else 1


def cmd_apply(args: argparse.Namespace) -> int:
    import numpy as np

    from explorer.apply import apply_run, save_applied
    from explorer.runs.files import _clean, _json_default
    from explorer.display.usertext import csv_bytes

    if args.scheduler or args.resume or args.ship_run:
        return _apply_on_cluster(args)
    run = _load_saved(args.run, args.runs)
    data = Path(args.data)
    if not data.exists():
        raise CliError(f"no file or folder '{args.data}'.")
    applied = apply_run(run, data, missing="impute" if args.fill_missing else "refuse")
    names = run.explanation.names if run.explanation is not None else {}
    saved = None
    if args.out:
        saved = save_applied(applied, run, args.out)
    saved_id = Path(str(saved)).name if saved else None  # a folder, or a run on a store (its URL)
    if args.points:
        Path(args.points).write_bytes(csv_bytes(applied.points_frame(names)))
    if args.json:
        out = applied.summary() | {"saved_run": saved_id,
                                   "clusters": {str(c): int(k) for c, k in zip(*np.unique(applied.labels, return_counts=True))}}
        print(json.dumps(_clean(out), allow_nan=False, default=_json_default))
        return 0
    print(f"applied run {run.run_id} to {applied.report.n_rows:,} new rows of {applied.dataset.report.source}")
    print(f"  clusters: {applied.assignment.how}")
    print(f"  map: {applied.placement}")
    for note in applied.report.notes:
        print(f"  - {note}")
    print(applied.drift.to_text())
    if saved is not None:
        print(f"saved as run {saved_id} ({saved}), applied_to {run.run_id}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from explorer.runs.files import list_runs

    runs = list_runs(args.runs)
    if not runs:
        print("no saved runs")
    for r in runs:
        m = r["metrics"]
        acc = f" acc {m['acc']:.3f}" if m.get("acc") is not None else ""
        print(f"{r['run_id']}  {r['created']}  {r['name']:<20} k {m.get('k')}{acc}")
    return 0


def _load_saved(run: str, runs: str | None):
    """A saved run from its id (under ``runs``, a folder or an fsspec URL) or its folder."""
    from explorer.errors import RunNotFound
    from explorer.runs.files import default_root, load_run
    from explorer.runs.store import is_url

    root = runs or default_root()
    if isinstance(root, str) and is_url(root) and not Path(run).is_dir():
        try:
            return load_run(run, root=root)
        except RunNotFound as exc:
            raise CliError(f"no saved run '{run}' in {root} ({exc}); give a run id from `explorer list`.") from None
    return load_run(_run_path(run, runs))


def cmd_compare(args: argparse.Namespace) -> int:
    from explorer.compare import compare_runs

    a, b = _load_saved(args.run_a, args.runs), _load_saved(args.run_b, args.runs)
    comparison = compare_runs(a, b)
    if args.json:
        print(json.dumps(comparison.to_dict()))
        return 0
    for side, run in (("A", a), ("B", b)):
        print(f"{side}  run {run.run_id}  {run.dataset.name}, {run.config.model.kind}, {run.clusters.method}, k {run.clusters.k}")
    for note in comparison.notes:
        print(f"note: {note}")
    print(f"ARI {comparison.ari:.4f}   NMI {comparison.nmi:.4f}   ({comparison.n:,} rows)")
    print("matched pairs (A -> B):")
    for p in comparison.pairs:
        print(f"  {comparison.name_a(p.a):>12} -> {comparison.name_b(p.b):<12} {p.rows:>7,} rows  "
              f"{100 * p.share_of_a:3.0f}% of A's  Jaccard {p.jaccard:.2f}")
    if not comparison.pairs:
        print("  none")
    print("findings:")
    for sentence in comparison.findings:
        print(f"  - {sentence}")
    print("rows in both (rows: A's clusters, columns: B's):")
    print("\n".join("  " + line for line in comparison.frame().to_string().splitlines()))
    return 0


class TerminalSafe:
    """A text stream that replaces control characters other than newline, carriage return and tab
    (ANSI escape sequences, bell, backspace) with U+FFFD: file, column and cluster names come from
    users, and a name holding an escape sequence would otherwise drive the terminal it is printed in."""

    _keep = {"\n", "\r", "\t"}

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        import unicodedata

        clean = "".join(ch if ch in self._keep or unicodedata.category(ch) != "Cc" else "\ufffd" for ch in text)
        return self._stream.write(clean)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    streams = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, TerminalSafe):
        sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments; a run id that starts with ``-`` (made before ids avoided it) read as an option,
    so the error then says how to pass it."""
    from explorer.runs.files import RUN_ID_PATTERN

    try:
        return parser.parse_args(argv)
    except CliError as exc:
        dashed = [a for a in (sys.argv[1:] if argv is None else argv) if a.startswith("-") and RUN_ID_PATTERN.fullmatch(a)]
        if dashed:
            raise CliError(f"{exc}; {dashed[0]!r} looks like a run id that starts with '-': put it after '--' "
                           f"(explorer compare -- {dashed[0]} OTHER) or give the run's folder path") from None
        raise


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    debug = os.environ.get("EXPLORER_DEBUG") == "1"
    try:
        args = _parse(parser, argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # explorer run --devices N runs it again
        if args.command is None:
            parser.print_help()
            return 2
        return {"run": cmd_run, "show": cmd_show, "list": cmd_list, "explain": cmd_explain,
                "compare": cmd_compare, "apply": cmd_apply}[args.command](args)
    except ExplorerError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller dataset or a smaller batch size.", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unplanned still gets one line, not a traceback
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set EXPLORER_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
