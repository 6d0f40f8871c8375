"""Quality benchmark: the default pipeline and its alternatives on the labeled sets, over seeds.

    python -m bench.measure.quality [--datasets mnist_test usps ...] [--seeds 0 1 2] [--quick] [--out bench/results]

For each (dataset, seed) one autoencoder is trained with the product's defaults
(``default_config(ds)``, k = number of classes); it serves AE + k-means, N2D, N2D refined on augmented
copies then N2D again (the default for images), DEC and IDEC (these three refine a deep copy). k-means on
the features and PCA + k-means need no training.
The fully automatic k (the k sweep the product runs when k is not given) is recorded too, with the
scores of the default pipeline at that k. Labels are used only to score. Writes quality.json.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, log, machine, read_json, write_json
from explorer.cluster.methods import cluster
from explorer.cluster.types import DEEP_METHODS, ClusterConfig
from explorer.device import resolve_device
from explorer.metrics import external_metrics
from explorer.pipeline import cluster_latent, default_config, fit_representation, replace_nested
from explorer.pipeline.defaults import refine_skipped
from explorer.pipeline.stages import RunContext, plan_for, refine_on_copies
from explorer.reducers import AE_KINDS

FULL = ["digits", "fashion_1k", "pendigits", "usps", "mnist_test"]  # small first: a cut-short run still covers most


def _scores(ds, labels) -> dict:
    return {k: round(v, 4) for k, v in external_metrics(ds.labels, labels).items()}


def run_one(ds, seed: int, overrides: dict, refine_batches: int | None = None) -> dict:
    """All methods on one dataset with one seed: {"methods": {...}, "auto_k": {...}, "train": {...}}."""
    k = int(ds.n_classes)
    cfg = default_config(ds, k=k, seed=seed, **overrides)
    noop = lambda event: None
    out: dict = {"dataset": ds.name, "seed": seed, "k": k, "n": ds.n, "d": ds.X.shape[1], "methods": {}}
    out["config"] = cfg.to_dict()

    def record(name, labels, seconds, **extra):
        out["methods"][name] = {**_scores(ds, labels), "seconds": round(seconds, 2), **extra}
        m = out["methods"][name]
        log(
            f"  {ds.name} seed {seed} {name:<10} acc {m['acc']:.3f} nmi {m['nmi']:.3f} ari {m['ari']:.3f} "
            f"({seconds:.0f}s)"
        )

    t0 = time.perf_counter()
    res = cluster(ds.X, ClusterConfig(method="kmeans", k=k, random_state=seed))
    record("kmeans_raw", res.labels, time.perf_counter() - t0)

    t0 = time.perf_counter()
    pca_cfg = replace_nested(cfg, model="pca")
    pca = fit_representation(ds, pca_cfg, "cpu", noop)
    res = cluster(pca.transform(ds.X), ClusterConfig(method="kmeans", k=k, random_state=seed))
    record("pca_kmeans", res.labels, time.perf_counter() - t0, latent_dim=pca_cfg.model.latent_dim)

    # the one autoencoder of this (dataset, seed); the default's own model kind, or the dense AE when
    # the default trains none (narrow tables such as pendigits)
    ae_cfg = (
        cfg
        if cfg.model.kind in AE_KINDS
        else replace_nested(cfg, model="ae", latent_dim=int(min(10, max(2, ds.X.shape[1] - 1))))
    )
    t0 = time.perf_counter()
    reducer = fit_representation(ds, ae_cfg, resolve_device(ae_cfg.device).name, noop)
    Z = reducer.transform(ds.X)
    train_s = time.perf_counter() - t0
    info = getattr(reducer, "train_info_", {})
    out["train"] = {
        "seconds": round(train_s, 1),
        "epochs_run": len(reducer.history_),
        "best_epoch": info.get("best_epoch"),
        "stop_reason": info.get("stop_reason"),
        "epochs_max": ae_cfg.model.epochs,
        "device": info.get("device"),
    }
    log(
        f"  {ds.name} seed {seed} AE trained: {len(reducer.history_)} epochs ({info.get('stop_reason')}), "
        f"{train_s:.0f}s"
    )

    t0 = time.perf_counter()
    res = cluster(Z, ClusterConfig(method="kmeans", k=k, random_state=seed))
    record("ae_kmeans", res.labels, time.perf_counter() - t0)

    for method in DEEP_METHODS:
        t0 = time.perf_counter()
        m_cfg = replace_nested(ae_cfg, method=method)
        res = cluster_latent(
            RunContext(ds, m_cfg, noop), Z, copy.deepcopy(reducer)
        )  # refine trains the encoder in place
        record(
            method,
            res.labels,
            time.perf_counter() - t0,
            iterations=res.info.get("iterations"),
            stop_reason=res.info.get("stop_reason"),
        )

    t0 = time.perf_counter()
    res = cluster_latent(RunContext(ds, ae_cfg, noop), Z, reducer)  # n2d on the autoencoder's code
    if cfg is ae_cfg:
        n2d_s = time.perf_counter() - t0
        record("n2d", res.labels, n2d_s, is_default=cfg.cluster.method == "n2d" and not cfg.cluster.refine)
        own = dataclasses.replace(
            cfg,
            cluster=dataclasses.replace(  # its own batches, whatever --dec-max-iter says
                cfg.cluster, refine=True, dec_max_iter=refine_batches or default_config(ds).cluster.dec_max_iter
            ),
        )
        if refine_skipped(ds, own) is None:  # images: DEC-DA's refinement from N2D's clusters, then N2D again
            # (the default from explorer.pipeline.REFINE_MIN_IMAGES images; measured below that too)
            t0 = time.perf_counter()
            notes: list[str] = []
            refined, _, _ = refine_on_copies(
                RunContext(ds, own, noop, None, notes, plan_for(ds.n, own)), copy.deepcopy(reducer), Z, res, None
            )
            info = refined.info.get("refine", {})
            record(
                "n2d_refined",
                refined.labels,
                n2d_s + time.perf_counter() - t0,
                is_default=bool(cfg.cluster.refine),
                iterations=info.get("iterations"),
                refine_seconds=info.get("seconds"),
            )
    else:  # the default trains no autoencoder (narrow tables): AE -> UMAP -> GMM is an alternative
        record("ae_n2d", res.labels, time.perf_counter() - t0)
        t0 = time.perf_counter()
        Z = (
            ds.X
            if cfg.model.kind == "none"
            else fit_representation(ds, cfg, resolve_device(cfg.device).name, noop).transform(ds.X)
        )
        res = cluster_latent(RunContext(ds, cfg, noop), Z, None)
        record("n2d", res.labels, time.perf_counter() - t0, is_default=True)

    # fully automatic k: what the product runs when k is not given (for n2d: the sweep on a UMAP embedding)
    t0 = time.perf_counter()
    no_k = dataclasses.replace(cfg, cluster=dataclasses.replace(cfg.cluster, k=None))  # replace_nested skips None
    res = cluster_latent(RunContext(ds, no_k, noop), Z, reducer if cfg is ae_cfg else None)
    sweep = res.sweep
    auto = {
        "k": int(res.k),
        "criterion": sweep.criterion if sweep else None,
        "bic_best": sweep.bic_best if sweep else None,
        "ks": sweep.ks if sweep else None,
        "silhouette": [round(s, 4) for s in sweep.silhouette] if sweep else None,
    }
    auto.update(_scores(ds, res.labels), sweep_on="product")
    auto["seconds"] = round(time.perf_counter() - t0, 1)
    out["auto_k"] = auto
    log(
        f"  {ds.name} seed {seed} auto k = {auto['k']} ({auto['criterion']}): acc {auto['acc']:.3f} nmi "
        f"{auto['nmi']:.3f}"
    )
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--quick", action="store_true", help="800 rows of load_digits, 1 seed, 3 epochs, 30 DEC batches")
    p.add_argument("--dec-max-iter", type=int, default=None, help="cap DEC/IDEC batches (default: the product's)")
    p.add_argument("--epochs", type=int, default=None, help="cap the autoencoder's epochs (default: the product's)")
    p.add_argument(
        "--epochs-above", type=int, default=0, help="apply --epochs only to datasets with more rows than this"
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="", help="suffix of the JSON file name (quality<tag>.json)")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs of other datasets already in quality<tag>.json (re-measure only --datasets)",
    )
    args = p.parse_args(argv)
    from bench.suites.labeled_sets import DATASETS, RUN_NAMES

    overrides: dict = {}
    if args.quick:
        names, seeds = args.datasets or ["digits"], [0]
        overrides = {"epochs": 3, "cluster_dec_max_iter": 30}
    else:
        names, seeds = args.datasets or FULL, args.seeds
    capped = {}
    if args.epochs:
        capped = {"epochs": args.epochs}
        doc_cap = {"epochs": args.epochs, "above_rows": args.epochs_above}
    if args.dec_max_iter:
        overrides["cluster_dec_max_iter"] = args.dec_max_iter
    path = args.out / f"quality{args.tag}.json"
    doc = {
        "machine": machine(),
        "quick": args.quick,
        "overrides": overrides,
        "epoch_cap": doc_cap if capped else None,
        "seeds": seeds,
        "runs": [],
        "missing": [],
    }
    if args.merge and path.is_file():
        old = read_json(path)
        kept = [
            {"machine": old["machine"], **r}
            for r in old["runs"]
            if r["dataset"] not in {RUN_NAMES.get(n, n) for n in names}
        ]
        # the file's machine is this run's (each kept run carries the machine it was measured on)
        doc = {
            **old,
            "machine": doc["machine"],
            "runs": kept,
            "merged": [*old.get("merged", []), {"datasets": names, "date": doc["machine"]["date"]}],
        }
    start = time.perf_counter()
    loaded = {}
    for name in names:
        try:
            loaded[name] = DATASETS[name]()
        except FileNotFoundError as exc:
            log(f"{name}: skipped ({exc})")
            doc["missing"].append(name)
    if args.quick:  # a smoke test: 800 rows are enough to exercise every step
        loaded = {name: ds.subset(np.arange(min(800, ds.n))) for name, ds in loaded.items()}
    for seed in seeds:  # seeds outermost: a run cut short still has every dataset at seed 0
        for name, ds in loaded.items():
            log(f"{name} seed {seed}: n={ds.n} d={ds.X.shape[1]}  ({time.perf_counter() - start:.0f}s so far)")
            extra = capped if ds.n > args.epochs_above else {}
            doc["runs"].append(
                {
                    **run_one(ds, seed, {**overrides, **extra}, refine_batches=30 if args.quick else None),
                    "measured": time.strftime("%Y-%m-%d %H:%M"),
                }
            )
            doc["seconds"] = round(time.perf_counter() - start, 1)
            write_json(path, doc)
    doc["seconds"] = round(time.perf_counter() - start, 1)
    write_json(path, doc)
    log(f"quality done in {doc['seconds']:.0f}s -> {path}")
    return doc


if __name__ == "__main__":
    main()
