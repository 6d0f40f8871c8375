"""``explorer run DATA``: load, train, cluster, project, evaluate and save a run, with the dashboard's
defaults and caps; ``--devices N`` trains the autoencoder data-parallel in N processes."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.args import CliError
from explorer.cli.terminal import ProgressBar, format_metrics
from explorer.cluster.registry import method_names
from explorer.cluster.types import MAX_DEC_BATCHES
from explorer.data.encoder_text import TEXT_EMBEDDINGS
from explorer.data.scaling import SCALINGS
from explorer.device import DEVICE_CHOICES
from explorer.project import PROJECTION_METHODS
from explorer.reducers.config import MODEL_CHOICES, PRETRAINED
from explorer.runs.jsonio import json_text

if TYPE_CHECKING:  # pragma: no cover
    from explorer.data.files import ServerFile
    from explorer.limits import Limits


def add_parser(sub) -> None:
    """The ``run`` command and its options, on the subparsers ``sub``."""
    r = sub.add_parser("run", help="load data, train, cluster, project, evaluate and save a run")
    r.set_defaults(handler=cmd_run)
    r.add_argument(
        "data",
        help="a table (.csv .tsv .parquet), images (.zip, image files, a folder) or arrays (.npy .npz): "
        "a path, or a URL fsspec can read (s3://, gs://, https://, ...)",
    )
    r.add_argument("--label", help="table column holding known labels (for evaluation only; never used for fitting)")
    r.add_argument("--id", dest="id_column", help="table column holding row ids")
    r.add_argument(
        "--scaling",
        choices=SCALINGS,
        help="table feature scaling (default auto: columns sharing one range are scaled together, others standardized)",
    )
    r.add_argument(
        "--text-embedding",
        choices=TEXT_EMBEDDINGS,
        default="auto",
        help="how a table's free text becomes features (default auto: WordLlama's offline embedding where its "
        "wheel is installed, else TF-IDF + LSA); a table of text alone is clustered as documents",
    )
    r.add_argument(
        "--text-weight",
        type=float,
        default=1.0,
        help="how much a column of free text counts beside the others (default 1: as much as one standardized number)",
    )
    r.add_argument("--model", choices=MODEL_CHOICES, help="representation (default: by data type)")
    r.add_argument(
        "--encoder",
        help="images, --model pretrained (implied): the frozen image encoder: efficientnet-lite2 (installed, the "
        "default), efficientnet-lite0 (installed, faster, weaker), timm:<model> or "
        "open_clip:<architecture>/<pretrained tag>, found in your Hugging Face cache",
    )
    r.add_argument(
        "--encoder-weights",
        metavar="FILE",
        help="a local .safetensors file with the weights of --encoder's architecture (default efficientnet-lite2)",
    )
    r.add_argument(
        "--allow-download",
        action="store_true",
        help="fetch the encoder's weights when they are not in your cache (off: nothing is downloaded)",
    )
    r.add_argument("--cluster", choices=method_names(), help="clustering method (default n2d: AE -> UMAP -> GMM)")
    r.add_argument("--k", type=int, help="number of clusters (default: suggested by a k sweep)")
    r.add_argument("--projection", choices=PROJECTION_METHODS, help="2-D projection for display (default umap)")
    r.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="compute device (default auto)")
    r.add_argument(
        "--epochs", type=int, help="training epochs, trained in full (as is the refinement): no time budget cuts them"
    )
    r.add_argument("--latent-dim", type=int, help="size of the latent space")
    r.add_argument("--batch-size", type=int, help="training batch size")
    r.add_argument("--lr", type=float, help="learning rate")
    r.add_argument(
        "--members",
        type=int,
        help="autoencoders trained side by side, their codes joined (default: 3 on small image sets, else 1)",
    )
    r.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="images: after the clustering, train the encoder further on shifted and rotated copies "
        "(IDEC from those clusters, as DEC-DA), then cluster the refined code again "
        "(default: on for sets of 2,000 images or more)",
    )
    r.add_argument(
        "--dec-batches",
        type=int,
        help="batches of DEC / IDEC, and of the refinement for images (default: 2,000; for images "
        "50 passes over the data, between 100 and 2,000)",
    )
    r.add_argument(
        "--fp32",
        action="store_true",
        help="train in float32 throughout (default: bf16 autocast on GPUs and on CPUs that compute bf16 natively)",
    )
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument(
        "--parallel",
        action="store_true",
        help="UMAP and its neighbour search unseeded, on every core: faster, but two runs differ slightly",
    )
    r.add_argument(
        "--out",
        "--runs-dir",
        dest="out",
        help="folder or fsspec URL (memory://, s3://...) to keep runs in (default $EXPLORER_RUNS_DIR or ./runs)",
    )
    r.add_argument(
        "--devices",
        type=int,
        help="train the autoencoder data-parallel in this many processes (one per GPU, or CPU processes): "
        "starts torchrun itself; only the first process clusters and saves the run",
    )
    r.add_argument("--json", action="store_true", help="print the metrics as one JSON object on stdout")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument(
        "--no-explain",
        action="store_true",
        help="do not explain the clusters (profiles, rules, stability: on by default)",
    )


def cmd_run(args: argparse.Namespace) -> int:
    from explorer.reducers import distributed

    if args.devices is not None:  # start torchrun, which runs this same command once per process
        distributed.check_devices(args.devices, args.device)
        if not Path(args.data).exists():  # said once here, not once per process
            raise CliError(f"{args.data}: no such file or folder.")
        if args.devices > 1:
            return distributed.launch(args.devices, without_devices(args.argv))
    group = distributed.init_from_env()  # None unless started by torchrun with several processes
    try:
        return _run(args, group)
    finally:  # after an error on this rank: leave at once (torchrun then stops the others)
        distributed.abandon()


def without_devices(argv: Sequence[str]) -> list[str]:
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
    table_opts = TableOptions(
        label_column=args.label,
        id_column=args.id_column,
        scaling=args.scaling or "auto",
        text_embedding=args.text_embedding,
        text_weight=args.text_weight,
    )
    try:
        dataset = load(source, table=table_opts, images=ImageOptions(), limits=limits)
    finally:
        if hasattr(source, "close"):
            source.close()
    if args.label and dataset.kind != "table":
        print(
            f"note: --label applies to tables; {dataset.kind} take labels from folders or a 'y' array.", file=sys.stderr
        )
    overrides = {
        "model": _model_kind(args),
        "encoder": args.encoder,
        "encoder_weights": args.encoder_weights,
        "allow_download": True if args.allow_download else None,
        "method": args.cluster,
        "k": args.k,
        "projection_method": args.projection,
        "device": args.device,
        "epochs": args.epochs,
        "latent_dim": args.latent_dim,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "members": args.members,
        "cluster_refine": args.refine,
        "cluster_dec_max_iter": args.dec_batches,
        "seed": args.seed,
        "max_seconds": limits.max_train_seconds,
        "mixed_precision": False if args.fp32 else None,
        "explain": False if args.no_explain else None,
        "reproducible": False if args.parallel else None,
    }
    cfg = replace_nested(default_config(dataset), **overrides)
    if args.epochs:  # epochs asked for by name are trained in full, and the refinement's batches too:
        # no time budget cuts either, so the run does not depend on this machine's speed
        cfg = dataclasses.replace(
            cfg,
            model=dataclasses.replace(cfg.model, time_budget=None),
            cluster=dataclasses.replace(cfg.cluster, refine_seconds=None),
        )
    if cfg.model.epochs > limits.max_epochs:  # the default, when no --epochs was given: keep to the cap
        cfg = replace_nested(cfg, epochs=int(limits.max_epochs))
    if not args.quiet:
        print(dataset.report.to_text(), file=sys.stderr)
        print(
            f"model {cfg.model.kind}, clustering {cfg.cluster.method}, k {cfg.cluster.k or 'auto'}, "
            f"device {cfg.device}",
            file=sys.stderr,
        )
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
        print(
            json_text(
                {
                    **result.metrics,
                    "run_id": result.run_id,
                    "run_dir": str(folder),
                    "device": result.device,
                    "seconds": round(sum(result.timings.values()), 2),
                }
            )
        )
    else:
        for note in result.notes:
            print(f"note: {note}")
        print(
            f"{dataset.name}: {dataset.n} rows, model {cfg.model.kind} on {result.device_description}, "
            f"{result.clusters.method} found {result.clusters.k} clusters"
        )
        print(format_metrics(result.metrics))
        times = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
        print(f"  time: {times}")
        print(f"saved run {result.run_id} in {folder}")
    return 0


def _model_kind(args: argparse.Namespace) -> str | None:
    """--model, or "pretrained" when only an encoder was named; an encoder with another model is an error."""
    if args.encoder is None and args.encoder_weights is None:
        return args.model
    if args.model not in (None, PRETRAINED):
        raise CliError(
            f"--encoder and --encoder-weights choose a pretrained encoder; they do not go with --model {args.model}."
        )
    return PRETRAINED


def _data_source(spec: str, limits: Limits, *, quiet: bool = False) -> str | Path | ServerFile:
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
