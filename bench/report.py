"""Render docs/BENCHMARKS.md (and its SVG charts) from the JSON results of bench/run_all.py.

    python bench/report.py [--results bench/results] [--doc docs/BENCHMARKS.md]

Every number in the document comes from the JSON files; a missing file becomes a line saying what
was not measured and the command that measures it.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import common  # noqa: F401  (puts the repository on sys.path)
from svg import grouped_bars, loglog_lines

BENCH = Path(__file__).resolve().parent
METHOD_NAMES = {
    "kmeans_raw": "k-means on the features", "pca_kmeans": "PCA + k-means", "ae_kmeans": "AE + k-means",
    "dec": "DEC", "idec": "IDEC", "n2d": "**default: AE -> UMAP -> GMM (N2D)**",
}
SHORT = {"kmeans_raw": "k-means", "pca_kmeans": "PCA+k-means", "ae_kmeans": "AE+k-means", "dec": "DEC", "idec": "IDEC", "n2d": "default (N2D)"}
DATASET_NAMES = {"mnist_test": "MNIST-test", "usps": "USPS", "pendigits": "pendigits", "fashion_mnist_1k": "Fashion-MNIST 1k",
                 "sklearn_digits": "load_digits"}
# published (ACC, NMI) from ../shared/data/README.md; None where not published
PUBLISHED = {
    "mnist_test": {"kmeans_raw": "0.54 / 0.50 (scikit-learn)", "n2d": "0.948 / 0.882 (N2D paper)"},
    "usps": {"kmeans_raw": "0.67 / 0.63 (DEC-keras)", "ae_kmeans": "0.693 / - (IDEC paper)",
             "dec": "0.741 / - (IDEC paper); 0.76 / 0.79 (DEC-keras)", "idec": "0.761 / - (IDEC paper)",
             "n2d": "0.958 / 0.901 (N2D paper)"},
    "pendigits": {"n2d": "0.885 / 0.863 (N2D paper)"},
    "sklearn_digits": {"kmeans_raw": "v-measure (= NMI) 0.62-0.69, ARI 0.47-0.57 (scikit-learn example)"},
}
# (dataset, metric, bar) for the default pipeline
TARGETS = [("mnist_test", "acc", 0.95), ("mnist_test", "nmi", 0.89), ("usps", "acc", 0.96), ("usps", "nmi", 0.91),
           ("pendigits", "nmi", 0.87), ("sklearn_digits", "nmi", 0.90)]


def load(results: Path, name: str) -> dict | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def ms(values: list[float]) -> tuple[float, float]:
    """mean and sample standard deviation (ddof=1; 0 for a single value)."""
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def fmt(values: list[float]) -> str:
    m, s = ms(values)
    return f"{m:.3f} ± {s:.3f}" if len(values) > 1 else f"{m:.3f}"


def quality_summary(q: dict) -> dict:
    """{dataset: {"runs": [...], "methods": {method: {"acc": [...], ...}}, "auto": [...], "train": [...]}}"""
    out: dict = {}
    for run in q["runs"]:
        d = out.setdefault(run["dataset"], {"runs": [], "methods": {}, "auto": [], "train": [], "n": run["n"], "d": run["d"], "k": run["k"]})
        d["runs"].append(run)
        for m, r in run["methods"].items():
            mm = d["methods"].setdefault(m, {"acc": [], "nmi": [], "ari": [], "seconds": [], "iterations": []})
            for key in ("acc", "nmi", "ari", "seconds"):
                mm[key].append(r[key])
            if r.get("iterations") is not None:
                mm["iterations"].append(r["iterations"])
        if "auto_k" in run:
            d["auto"].append(run["auto_k"])
        if "train" in run:
            d["train"].append(run["train"])
    return out


def section_quality(q: dict | None, svg_dir: Path, doc_dir: Path, lines: list[str], verdicts: list[tuple[str, str, str]],
                    results_dir: Path) -> None:
    lines += ["## Quality", ""]
    if not q:
        lines += ["Not measured yet: run `python bench/quality.py`.", ""]
        return
    summ = quality_summary(q)
    ov = q.get("overrides", {})
    cfg0 = q["runs"][0]["config"] if q["runs"] else {}
    lines += [
        "Command: `" + _cmd(q) + "`.",
        "",
        f"Seeds: {', '.join(str(s) for s in q['seeds'])}; k = the number of classes (the protocol of the published "
        "results). Each (dataset, seed) trains one autoencoder with the product's defaults "
        "(`explorer.pipeline.default_config(ds)`), which serves AE + k-means, DEC, IDEC (each refining a copy) and the "
        "default N2D clustering. k-means on the features and PCA + k-means use the same seed. Mean ± standard "
        "deviation over the seeds (ddof = 1). ACC is accuracy after Hungarian matching.",
        "",
    ]
    changes = [f"`{k} = {v}`" for k, v in ov.items() if k != "epochs" or q.get("quick")]
    cap = q.get("epoch_cap")
    if cap:
        changes.append(f"`epochs = {cap['epochs']}` for the sets with more than {cap['above_rows']:,} rows")
    if changes:
        lines += [f"**Settings changed from the product's defaults for this run: {'; '.join(changes)}.** The default model "
                  f"trains up to {_default_epochs()} epochs with early stopping and DEC/IDEC run up to "
                  f"{_default_dec_iter()} batches; the caps were needed to fit the run into the time available on the "
                  "shared 2-core CPU (see *What is missing*).", ""]
    if q.get("missing"):
        lines += [f"Data not found, skipped: {', '.join(q['missing'])}.", ""]
    if cfg0:
        m, c = cfg0["model"], cfg0["cluster"]
        lines += [f"Default configuration as run: model `{m['kind']}` hidden {tuple(m['hidden'])} latent {m['latent_dim']}, "
                  f"epochs {m['epochs']}, batch {m['batch_size']}, lr {m['lr']}, augment {m['augment']}; clustering "
                  f"`{c['method']}` (UMAP to k dims, {c['umap_neighbors']} neighbours, min_dist {c['umap_min_dist']}, "
                  f"full GMM); DEC/IDEC at most {c['dec_max_iter']} batches, update interval {c['dec_update_interval']}.", ""]
    stale = _changed_defaults(q)
    if stale:
        lines += ["**The product's defaults changed after this run** (the results below are for the defaults recorded "
                  "in the run, shown above): " + "; ".join(stale) + ". Rerun `python bench/quality.py` to measure the "
                  "new defaults.", ""]
    for ds, d in summ.items():
        seeds = len(d["runs"])
        lines += [f"### {DATASET_NAMES.get(ds, ds)} ({d['n']:,} x {d['d']}, {d['k']} classes, {seeds} seed{'s' if seeds > 1 else ''})", ""]
        lines += ["| method | ACC | NMI | ARI | published ACC / NMI | seconds (median) |", "|---|---|---|---|---|---|"]
        for m in ("kmeans_raw", "pca_kmeans", "ae_kmeans", "dec", "idec", "n2d"):
            if m not in d["methods"]:
                continue
            r = d["methods"][m]
            pub = PUBLISHED.get(ds, {}).get(m, "")
            lines.append(f"| {METHOD_NAMES[m]} | {fmt(r['acc'])} | {fmt(r['nmi'])} | {fmt(r['ari'])} | {pub} | {np.median(r['seconds']):.0f} |")
        tr = d["train"]
        if tr:
            lines += ["", f"Autoencoder training: {', '.join(str(t['epochs_run']) for t in tr)} epochs run of at most {tr[0]['epochs_max']} "
                      f"(stop: {', '.join(t['stop_reason'] for t in tr)}), median {np.median([t['seconds'] for t in tr]):.0f} s per training."]
        if d["auto"]:
            au = d["auto"]
            picks = ", ".join(str(a["k"]) for a in au)
            lines += ["", f"Fully automatic k (the k sweep on the autoencoder's code, as when no k is given): picks "
                      f"k = {picks} (true {d['k']}); the default pipeline at that k scores ACC {fmt([a['acc'] for a in au])}, "
                      f"NMI {fmt([a['nmi'] for a in au])}."]
        lines.append("")
    # where the default stands among the methods
    lines += ["Where the default stands (mean NMI; a method listed beat the default on that set):", ""]
    for ds, d in summ.items():
        if "n2d" not in d["methods"]:
            continue
        base = ms(d["methods"]["n2d"]["nmi"])[0]
        better = [f"{SHORT[m]} {ms(r['nmi'])[0]:.3f}" for m, r in d["methods"].items() if m != "n2d" and ms(r["nmi"])[0] > base]
        lines.append(f"- {DATASET_NAMES.get(ds, ds)}: default {base:.3f}; " + (f"better: {', '.join(better)}" if better else "no alternative did better"))
    lines.append("")
    uncapped = load(results_dir, "quality_uncapped")
    if uncapped and uncapped["runs"]:
        m0 = uncapped["runs"][0]["config"]["model"]
        lines += ["### Check: the defaults as they were at the time of this check, without the epoch cap", "",
                  f"The same benchmark with `default_config` untouched (model `{m0['kind']}`, up to {m0['epochs']} epochs with "
                  f"early stopping, augment {m0['augment']}), seed(s) "
                  f"{', '.join(map(str, uncapped['seeds']))} only (time allowed no more): `" + _cmd(uncapped) + " --datasets ... --tag _uncapped`.", "",
                  "| dataset | seed | epochs run | default (N2D) ACC | NMI | same seed in the main run above: ACC | NMI |", "|---|---|---|---|---|---|---|"]
        capped = {(r["dataset"], r["seed"]): r for r in q["runs"]}
        for r in uncapped["runs"]:
            for ds_, metric, bar in TARGETS:
                if ds_ == r["dataset"]:
                    v = r["methods"]["n2d"][metric]
                    verdicts.append((f"{DATASET_NAMES.get(ds_, ds_)} {metric.upper()} >= {bar}, defaults untouched (check run, seed {r['seed']} only)",
                                     f"{v:.3f}", "met" if v >= bar else f"**not met** (short by {bar - v:.3f})"))
            c = capped.get((r["dataset"], r["seed"]))
            cm = c["methods"]["n2d"] if c else None
            lines.append(f"| {DATASET_NAMES.get(r['dataset'], r['dataset'])} | {r['seed']} | {r['train']['epochs_run']} | "
                         f"{r['methods']['n2d']['acc']:.3f} | {r['methods']['n2d']['nmi']:.3f} | "
                         + (f"{cm['acc']:.3f} | {cm['nmi']:.3f} |" if cm else "- | - |"))
        lines.append("")
    # the chart
    groups = [ds for ds in summ]
    series = [m for m in SHORT if any(m in summ[g]["methods"] for g in groups)]
    vals = {(DATASET_NAMES.get(g, g), SHORT[m]): ms(summ[g]["methods"][m]["nmi"])[0] for g in groups for m in series if m in summ[g]["methods"]}
    errs = {(DATASET_NAMES.get(g, g), SHORT[m]): ms(summ[g]["methods"][m]["nmi"])[1] for g in groups for m in series if m in summ[g]["methods"]}
    marks = {DATASET_NAMES.get(ds, ds): bar for ds, metric, bar in TARGETS if metric == "nmi" and ds in summ}
    svg = grouped_bars([DATASET_NAMES.get(g, g) for g in groups], [SHORT[m] for m in series], vals, errs,
                       title="NMI by method (mean over seeds, bars: ± std)", ylabel="NMI", marks=marks)
    (svg_dir / "benchmarks_nmi.svg").write_text(svg)
    lines += [f"![NMI by method and dataset]({_rel(svg_dir / 'benchmarks_nmi.svg', doc_dir)})", ""]
    # verdicts
    for ds, metric, bar in TARGETS:
        if ds not in summ or "n2d" not in summ[ds]["methods"]:
            verdicts.append((f"{DATASET_NAMES.get(ds, ds)} {metric.upper()} >= {bar}", "not measured", "-"))
            continue
        v = ms(summ[ds]["methods"]["n2d"][metric])[0]
        verdicts.append((f"{DATASET_NAMES.get(ds, ds)} {metric.upper()} >= {bar}", f"{v:.3f}",
                         "met" if v >= bar else f"**not met** (short by {bar - v:.3f})"))
    for ds, d in summ.items():
        if "n2d" in d["methods"] and len(d["methods"]["n2d"]["acc"]) > 1:
            s = ms(d["methods"]["n2d"]["acc"])[1]
            verdicts.append((f"{DATASET_NAMES.get(ds, ds)}: seed-to-seed std of ACC <= 0.02", f"{s:.3f}",
                             "met" if s <= 0.02 else f"**not met** (over by {s - 0.02:.3f})"))
        else:
            verdicts.append((f"{DATASET_NAMES.get(ds, ds)}: seed-to-seed std of ACC <= 0.02", "one seed only", "-"))
    for ds, d in summ.items():
        if ds == "pendigits" and "n2d" in d["methods"]:  # the one labeled table (standardized features)
            a, b = ms(d["methods"]["n2d"]["acc"])[0], ms(d["methods"]["kmeans_raw"]["acc"])[0]
            n1, n2 = ms(d["methods"]["n2d"]["nmi"])[0], ms(d["methods"]["kmeans_raw"]["nmi"])[0]
            ok = a >= b and n1 >= n2
            verdicts.append(("pendigits (table): default not below k-means on the standardized features",
                             f"ACC {a:.3f} vs {b:.3f}, NMI {n1:.3f} vs {n2:.3f}", "met" if ok else "**not met**"))


def _changed_defaults(q: dict) -> list[str]:
    """For each dataset: the model fields where today's default_config differs from the one the run recorded
    (fields the run overrode on purpose, epochs and DEC batches, are left out)."""
    from datasets import _images, _table

    from explorer.pipeline import default_config

    out, seen = [], set()
    for run in q["runs"]:
        if run["dataset"] in seen:
            continue
        seen.add(run["dataset"])
        recorded = run["config"]["model"]
        n, d = run["n"], run["d"]
        kind = "table" if run["dataset"] == "pendigits" else "images"
        if kind == "table":
            ds = _table(run["dataset"], np.zeros((n, d), np.float32), np.zeros(n, int))
        else:
            side = int(round(math.sqrt(d)))
            ds = _images(run["dataset"], np.zeros((n, side, side, 1), np.uint8), np.zeros(n, int))
        now = default_config(ds).to_dict()["model"]
        capped = {"epochs"} if (q.get("epoch_cap") and n > q["epoch_cap"]["above_rows"]) or q.get("quick") else set()
        diff = [f"{k} {recorded[k]} -> {now[k]}" for k in now if k not in capped and now[k] != recorded.get(k)
                and not (isinstance(now[k], (list, tuple)) and list(now[k]) == list(recorded.get(k) or []))]
        if capped and now["epochs"] != _default_epochs():
            diff.append(f"default epochs now {now['epochs']}")
        if diff:
            out.append(f"{DATASET_NAMES.get(run['dataset'], run['dataset'])}: {', '.join(diff)}")
    return out


def _default_epochs() -> int:
    from explorer.pipeline import ModelConfig

    return ModelConfig().epochs


def _default_dec_iter() -> int:
    from explorer.cluster import ClusterConfig

    return ClusterConfig().dec_max_iter


def _cmd(q: dict) -> str:
    parts = ["python bench/quality.py"]
    if q.get("quick"):
        parts.append("--quick")
    ov = q.get("overrides", {})
    if q.get("epoch_cap"):
        parts.append(f"--epochs {q['epoch_cap']['epochs']} --epochs-above {q['epoch_cap']['above_rows']}")
    if "cluster_dec_max_iter" in ov and not q.get("quick"):
        parts.append(f"--dec-max-iter {ov['cluster_dec_max_iter']}")
    env = "BENCH_THREADS=%s " % q["machine"]["bench_threads_env"] if q.get("machine", {}).get("bench_threads_env") else ""
    return env + " ".join(parts)


def _num(v) -> str:
    return "-" if v is None else f"{float(v):.3f}"


def _rel(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(path, base)


def section_speed(res: Path, svg_dir: Path, doc_dir: Path, lines: list[str], verdicts: list) -> None:
    lines += ["## Speed", ""]
    o = load(res, "overhead")
    lines += ["### The product against plain code", ""]
    if o:
        s = o["settings"]
        lines += [
            f"`bench/reference_pipeline.py` runs the default pipeline's steps written plainly (its own training loop on "
            f"tensor slices, `umap.UMAP`, `sklearn.mixture.GaussianMixture`) with the same settings: {o['dataset']} "
            f"first {o['n']:,} rows, architecture {o['d']}-{'-'.join(map(str, s['hidden']))}-{s['latent_dim']}, "
            f"{o['epochs']} epochs{' on shifted / rotated copies (the image default)' if s.get('augment_shape') else ''}, batch {s['batch_size']}, k = {o['k']}, device {o['device']}. {o['repeats']} repeats, "
            "product and reference alternating, in one process, after an untimed warm-up of both on "
            f"{o.get('warmup_rows', 300):,} rows (numba compiles UMAP's kernels once per process; below 4,096 rows the warm-up "
            "does not reach UMAP's nearest-neighbour search, whose compilation then lands in the first timed repeat; the "
            "median discounts it). Command: `python bench/speed.py overhead`.",
            "",
            "| stage (median s) | product | reference | ratio |", "|---|---|---|---|",
        ]
        for st, v in o["stages"].items():
            lines.append(f"| {st} | {v['product']:.1f} | {v['reference']:.1f} | {v['product'] / max(v['reference'], 1e-9):.2f} |")
        mp, mr = o["median"]["product"], o["median"]["reference"]
        lines += [f"| **same steps (train + cluster + project)** | {mp['same_steps']:.1f} | {mr['same_steps']:.1f} | "
                  f"{mp['same_steps'] / mr['same_steps']:.2f} |",
                  f"| whole call (the product also scores the run: anomaly scores, silhouette, trustworthiness) | {mp['wall']:.1f} | {mr['wall']:.1f} | {mp['wall'] / mr['wall']:.2f} |",
                  "", f"Overhead on the same steps: **{o['overhead_same_steps']:+.1%}** (per repeat: "
                  f"{', '.join(f'{x:+.1%}' for x in o['overhead_per_repeat'])}). Accuracy, product vs reference: "
                  f"{np.median([r['acc'] for r in o['runs'] if r['who'] == 'product']):.3f} vs "
                  f"{np.median([r['acc'] for r in o['runs'] if r['who'] == 'reference']):.3f}.", ""]
        v = o["overhead_same_steps"]
        verdicts.append(("product overhead over the plain reference <= 5%",
                         f"{v:+.1%} on the same steps; {o['overhead_with_scoring']:+.1%} for the whole call, which also scores the run",
                         "met" if v <= 0.05 else f"**not met** (over by {v - 0.05:.1%})"))
    else:
        lines += ["Not measured yet: `python bench/speed.py overhead`.", ""]
        verdicts.append(("product overhead over the plain reference <= 5%", "not measured", "-"))

    lines += ["### Autoencoder training throughput", ""]
    for tag, label in (("", "CPU"), ("_gpu", "GPU")):
        t = load(res, "throughput" + tag)
        if not t:
            continue
        med = t["median_samples_per_s"]
        lines += [f"{label} ({t['device']}): {t['dataset']} {t['n']:,} x {t['d']}, architecture {t['d']}-{'-'.join(map(str, t['hidden']))}, "
                  f"batch {t['batch_size']}, {t['epochs']} epochs per measurement, {t['repeats']} repeats alternating; median samples/s:", "",
                  "| loop | samples/s |", "|---|---|",
                  f"| explorer.train (data resident on the device, batches indexed there) | {med['explorer']:,.0f} |",
                  f"| torch DataLoader (TensorDataset, shuffle=True, batch moved per step) | {med['dataloader']:,.0f} |",
                  f"| plain tensor slicing (the reference's loop) | {med['slicing']:,.0f} |", "",
                  f"explorer / DataLoader = **{t['explorer_over_dataloader']:.2f}x** (ratio of the medians; per repeat: "
                  + ", ".join(f"{a['samples_per_s'] / b['samples_per_s']:.2f}x" for a, b in zip(
                      [x for x in t["runs"] if x["loop"] == "explorer"], [x for x in t["runs"] if x["loop"] == "dataloader"]))
                  + "). The loss is the plain reconstruction loss here (no augmentation), so only the data path differs."
                  + ("" if t.get("warmup") else " This measurement had no untimed warm-up: the first loop of the first "
                     "repeat includes the device's start-up cost, which the median discounts (the current "
                     "`bench/speed.py` warms up first)."), ""]
    if not load(res, "throughput"):
        lines += ["Not measured yet: `python bench/speed.py throughput`.", ""]

    lines += ["### The CLI end to end on MNIST-test", ""]
    c = load(res, "cli")
    if c:
        lines += [f"`{c['command']}` ({c['dataset']}, {c['n']:,} images as an .npz of uint8 28x28 with y): wall time "
                  f"**{c['wall_s']:.0f} s** ({c['wall_s'] / 60:.1f} min), peak memory of the child (ru_maxrss) **{c['peak_rss_mb']:,} MB**; "
                  f"the run scored ACC {_num(c['metrics'].get('acc'))}, NMI {_num(c['metrics'].get('nmi'))} on device {c['metrics'].get('device')}. "
                  "Command: `python bench/speed.py cli`.", ""]
        cm = c["metrics"]
        if c["dataset"] == "mnist_test" and cm.get("acc") is not None:
            mdl = c.get("model")
            used = (f" (model `{mdl['kind']}`, {mdl['epochs']} epochs max, augment {mdl['augment']}; clustering "
                    f"`{c.get('cluster_method')}`)") if mdl else ""
            lines += ["This run is also a quality check of the product's defaults at the time of the run" + used
                      + ", seed 0, one run: see the last rows of the targets table.", ""]
            for metric, bar in (("acc", 0.95), ("nmi", 0.89)):
                v = float(cm[metric])
                verdicts.append((f"MNIST-test {metric.upper()} >= {bar}, current defaults via the CLI run (seed 0 only)", f"{v:.3f}",
                                 "met" if v >= bar else f"**not met** (short by {bar - v:.3f})"))
        full = "--epochs" not in c["command"]
        verdicts.append(("MNIST-test end to end via the CLI <= 5 min (2-core CPU)", f"{c['wall_s'] / 60:.1f} min" + ("" if full else " (epochs capped, see text)"),
                         ("met" if c["wall_s"] <= 300 else f"**not met** (over by {(c['wall_s'] - 300) / 60:.1f} min)")))
    else:
        lines += ["Not measured yet: `python bench/speed.py cli`.", ""]
        verdicts.append(("MNIST-test end to end via the CLI <= 5 min (2-core CPU)", "not measured", "-"))

    lines += ["### GPU", ""]
    cg = load(res, "cli_gpu")
    if cg:
        gm = cg["machine"]
        lines += [f"Machine: {gm.get('gpu')}, host CPU {gm['cpu']} ({gm['cores']} cores), torch {gm['torch']}; measured {gm['date']}.", "",
                  f"`{cg['command']}` on {gm.get('gpu')}: wall time **{cg['wall_s']:.0f} s**, peak host memory "
                  f"{cg['peak_rss_mb']:,} MB; ACC {_num(cg['metrics'].get('acc'))}, NMI {_num(cg['metrics'].get('nmi'))}. Throughput: see above.", ""]
    else:
        lines += ["Not measured here (no GPU on this machine). Filled by `bash bench/gpu.sh` run on a GPU machine "
                  "(the CLI end to end with `--device cuda`, and the throughput comparison on the GPU), then "
                  "`python bench/report.py`.", ""]

    lines += ["### How cost grows", ""]
    sc = load(res, "scaling")
    if sc:
        rows = sc["rows"]
        stages = list(rows[0]["seconds"].keys())
        lines += ["20 Gaussian blobs in 32 dimensions written as a CSV, loaded with `explorer.data.load`, then "
                  "`run_pipeline` with the default table configuration and k = 20; the stage times are the pipeline's "
                  f"`timings`. Device {sc['device']}. Command: `python bench/speed.py scaling`.", "",
                  "| rows | epochs | " + " | ".join(f"{s} (s)" for s in stages) + " | total (s) | train s / epoch | ACC |",
                  "|---" * (len(stages) + 5) + "|"]
        for r in rows:
            lines.append(f"| {r['n']:,} | {r['epochs_run']} | " + " | ".join(f"{r['seconds'][s]:.1f}" for s in stages)
                         + f" | {r['total']:.1f} | {r['train_s_per_epoch']:.2f} | {r['acc']:.3f} |")
        lines += ["", "The first size's cluster stage includes numba's one-time compilation of UMAP's kernels (the first UMAP "
                  "call in the process). The cluster stage (n2d: UMAP to k = 20 dimensions, then a full-covariance GMM with "
                  "10 restarts) costs several times the 2-D projection (one UMAP) at every size."]
        eps = sorted({r["epochs"] for r in rows})
        lines += ["", f"Epochs per size: {', '.join('%s: %s' % (format(r['n'], ','), r['epochs']) for r in rows)} (the default trains up to "
                  "100 with early stopping; training time grows linearly with rows x epochs, see s / epoch)." if len(eps) > 1 else "", ""]
        if len(rows) > 1:
            svg = loglog_lines([r["n"] for r in rows], {s: [r["seconds"][s] for r in rows] for s in stages},
                               title="Seconds per stage against rows", xlabel="rows", ylabel="seconds")
            (svg_dir / "benchmarks_scaling.svg").write_text(svg)
            lines += [f"![Seconds per stage against rows]({_rel(svg_dir / 'benchmarks_scaling.svg', doc_dir)})", ""]
    else:
        lines += ["Not measured yet: `python bench/speed.py scaling`.", ""]

    lines += ["### The dashboard in a browser", "",
              "Not measured yet (re-colour and selection time on 10k and 100k points in a real browser): the "
              "browser tests are being built separately.", ""]


def section_missing(results: Path, q: dict | None) -> list[str]:
    """What the full protocol asks for and these results lack, and which settings were cut."""
    out = ["## What is missing", ""]
    items = []
    if q:
        want = ["digits", "fashion_1k", "pendigits", "usps", "mnist_test"] if not q.get("quick") else []
        names = {"digits": "sklearn_digits", "fashion_1k": "fashion_mnist_1k"}
        have = {(r["dataset"], r["seed"]) for r in q["runs"]}
        for ds in want:
            lacking = [s for s in q["seeds"] if (names.get(ds, ds), s) not in have]
            if lacking:
                items.append(f"quality: {DATASET_NAMES.get(names.get(ds, ds), ds)} lacks seed(s) {', '.join(map(str, lacking))} "
                             "(the run was stopped for time)")
        cap = q.get("epoch_cap")
        if cap:
            items.append(f"quality: the autoencoder was trained for at most {cap['epochs']} epochs (not the default's "
                         f"100 or more, with early stopping) on the sets with more than {cap['above_rows']:,} rows: "
                         "MNIST-test, USPS and pendigits. Their scores are therefore those of an under-trained default "
                         "and a lower bound for it; `python bench/quality.py` (no caps) runs the defaults as they are")
        dec = q.get("overrides", {}).get("cluster_dec_max_iter")
        if dec and not q.get("quick"):
            items.append(f"quality: DEC and IDEC ran at most {dec} batches (default {_default_dec_iter()}); they are "
                         "the least informative alternatives here and the costliest on a CPU")
    else:
        items.append("quality: not run")
    for step in ("overhead", "throughput", "cli", "scaling"):
        if not load(results, step):
            items.append(f"speed: `python bench/speed.py {step}` has not been run")
    c = load(results, "cli")
    if c and "--epochs" in c["command"]:
        items.append("speed: the CLI run capped the epochs (see its command); the default trains up to "
                     f"{_default_epochs()} epochs with early stopping")
    items.append("GPU numbers: to be filled by `bash bench/gpu.sh` on a GPU machine")
    items.append("the dashboard in a real browser (re-colour / select on 10k and 100k points): not measured yet")
    return out + [f"- {i}." for i in items] + [""]


def render(results: Path, doc: Path) -> str:
    doc_dir = doc.parent
    svg_dir = doc_dir
    svg_dir.mkdir(parents=True, exist_ok=True)
    q = load(results, "quality")
    mach = next((x["machine"] for x in (q, load(results, "overhead"), load(results, "cli"), load(results, "scaling")) if x), None)
    lines = ["# Benchmarks", "",
             "Generated by `python bench/report.py` from the JSON in `bench/results/`; regenerate everything with "
             "`python bench/run_all.py` (about an hour on a 2-core CPU; `--quick` is the smoke test). Do not edit by hand.", "",
             "| command | what it writes |", "|---|---|",
             "| `python bench/run_all.py [--quick] [--only STEP...] [--dec-max-iter N]` | every step below in turn, one process at a time, then this document |",
             "| `python bench/quality.py [--seeds 0 1 2] [--epochs E --epochs-above N] [--dec-max-iter N]` | `bench/results/quality.json` |",
             "| `python bench/speed.py overhead` (product vs `bench/reference_pipeline.py`) | `bench/results/overhead.json` |",
             "| `python bench/speed.py throughput [--device cuda]` | `bench/results/throughput.json` |",
             "| `python bench/speed.py cli [--device cuda]` | `bench/results/cli.json` |",
             "| `python bench/speed.py scaling [--sizes ...]` | `bench/results/scaling.json` |",
             "| `bash bench/gpu.sh` (on a GPU machine) | `bench/results/cli_gpu.json`, `throughput_gpu.json` |",
             "| `python bench/report.py` | this file and its SVG charts in `docs/` |", "",
             "`BENCH_THREADS=1` before a command limits each process to one thread (used here because other work "
             "shared the two cores; see the machine line).", ""]
    if mach:
        lines += [f"Machine: {mach['cpu']}, {mach['cores']} cores, torch {mach['torch']} ({mach['torch_threads']} thread(s) per "
                  f"process{'' if not mach.get('bench_threads_env') else ', set by BENCH_THREADS'}), scikit-learn {mach['sklearn']}, "
                  f"umap-learn {mach.get('umap')}, Python {mach['python']}, GPU {mach.get('gpu') or 'none'}; measured {mach['date']}. "
                  f"The machine was shared with other work while measuring (load average at the start "
                  f"{', '.join(f'{x:.1f}' for x in mach.get('load_average_at_start', []))}), so absolute times are noisy; "
                  "comparisons are made side by side in one process.", ""]
    body: list[str] = []
    verdicts: list[tuple[str, str, str]] = []
    section_quality(q, svg_dir, doc_dir, body, verdicts, results)
    section_speed(results, svg_dir, doc_dir, body, verdicts)
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in verdicts]
    if q and (q.get("epoch_cap") or q.get("overrides") or _changed_defaults(q)):
        lines += ["", "The quality rows (all but the CLI and check-run rows) come from the main quality run below, with the settings it "
                  "records: read its notes on capped epochs and on defaults that changed since. The CLI rows are the "
                  "defaults at the time of that run, at one seed."]
    lines += [""] + body
    lines += section_missing(results, q)
    notes = results / "NOTES.md"
    if notes.is_file():
        lines += [notes.read_text().strip(), ""]
    text = "\n".join(lines).rstrip() + "\n"
    doc.write_text(text)
    return text


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=BENCH / "results")
    p.add_argument("--doc", type=Path, default=BENCH.parent / "docs" / "BENCHMARKS.md")
    a = p.parse_args(argv)
    render(a.results, a.doc)
    print(f"wrote {a.doc}")


if __name__ == "__main__":
    main()
