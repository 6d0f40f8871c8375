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
    "dec": "DEC", "idec": "IDEC", "ae_n2d": "AE -> UMAP -> GMM (N2D)",
    "n2d": "**the default (N2D: UMAP -> GMM)**",
}
SHORT = {"kmeans_raw": "k-means", "pca_kmeans": "PCA+k-means", "ae_kmeans": "AE+k-means", "dec": "DEC", "idec": "IDEC", "ae_n2d": "AE+N2D", "n2d": "default (N2D)"}
DATASET_NAMES = {"mnist_test": "MNIST-test", "usps": "USPS", "pendigits": "pendigits", "sklearn_digits": "load_digits",
                 "fashion_mnist_1k": "Fashion-MNIST 1k"}  # also the order of the datasets in the document
# published (ACC, NMI) from ../shared/data/README.md; None where not published
PUBLISHED = {
    "mnist_test": {"kmeans_raw": "0.54 / 0.50 (scikit-learn)", "n2d": "0.948 / 0.882 (N2D paper)"},
    "usps": {"kmeans_raw": "0.67 / 0.63 (DEC-keras)", "ae_kmeans": "0.693 / - (IDEC paper)",
             "dec": "0.741 / - (IDEC paper); 0.76 / 0.79 (DEC-keras)", "idec": "0.761 / - (IDEC paper)",
             "n2d": "0.958 / 0.901 (N2D paper)"},
    "pendigits": {"n2d": "0.885 / 0.863 (N2D paper)"},
    "sklearn_digits": {"kmeans_raw": "v-measure (= NMI) 0.62-0.69, ARI 0.47-0.57 (scikit-learn example)"},
}
# the datasets of the run of the shipped defaults (quality_defaults.json), as started; --datasets names
DEFAULTS_RUN = ["mnist_test", "usps", "pendigits", "digits"]
GPU_CLI_GOAL_S = 30  # MNIST-test end to end via the CLI on a GPU
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
    """mean ± sample std; the std of fewer than two values is n/a."""
    m, s = ms(values)
    return f"{m:.3f} ± {s:.3f}" if len(values) > 1 else f"{m:.3f} ± n/a"


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


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


def _ds_name(run_name: str) -> str:
    """bench/quality.py's --datasets name -> the dataset's own name in the results."""
    from datasets import RUN_NAMES

    return RUN_NAMES.get(run_name, run_name)


def _dec_cap(q: dict) -> int | None:
    return q.get("overrides", {}).get("cluster_dec_max_iter")


def _dataset_tables(q: dict, summ: dict, datasets: list[str], lines: list[str], planned_seeds: int | None = None) -> None:
    """One '#### dataset' block per dataset: the methods table, the training line and the automatic-k line."""
    cap = _dec_cap(q)
    names = dict(METHOD_NAMES)
    if cap:
        names["dec"], names["idec"] = f"DEC (at most {cap} batches)", f"IDEC (at most {cap} batches)"
    for ds in datasets:
        d = summ[ds]
        n_seeds = len(d["runs"])
        so_far = f" of {planned_seeds} planned, so far" if planned_seeds and n_seeds < planned_seeds else ""
        m = d["runs"][0]["config"]["model"]
        lines += [f"#### {DATASET_NAMES.get(ds, ds)} ({d['n']:,} x {d['d']}, {d['k']} classes, {_seeds(n_seeds)}{so_far})", "",
                  (f"Model as run: `{m['kind']}` hidden {tuple(m['hidden'])} latent {m['latent_dim']}, up to {m['epochs']} epochs, "
                   f"augment {m['augment']}." if m["kind"] != "none" else
                   "Default model: none (UMAP of the features themselves); the autoencoder rows use the dense AE "
                   f"hidden {tuple(m['hidden'])}, up to {m['epochs']} epochs."), ""]
        lines += ["| method | ACC | NMI | ARI | published ACC / NMI | seconds (median) |", "|---|---|---|---|---|---|"]
        for meth in ("kmeans_raw", "pca_kmeans", "ae_kmeans", "dec", "idec", "ae_n2d", "n2d"):
            if meth not in d["methods"]:
                continue
            r = d["methods"][meth]
            pub = PUBLISHED.get(ds, {}).get(meth, "")
            lines.append(f"| {names[meth]} | {fmt(r['acc'])} | {fmt(r['nmi'])} | {fmt(r['ari'])} | {pub} | {np.median(r['seconds']):.0f} |")
        tr = d["train"]
        if tr:
            lines += ["", f"Autoencoder training: {', '.join(str(t['epochs_run']) for t in tr)} epochs run of at most {tr[0]['epochs_max']} "
                      f"(stop: {', '.join(t['stop_reason'] for t in tr)}), median {np.median([t['seconds'] for t in tr]):.0f} s per training."]
        if d["auto"]:
            au = d["auto"]
            how = ("as the product runs it (for N2D the sweep on a 10-d UMAP embedding)" if all(a.get("sweep_on") == "product" for a in au)
                   else "as the older `bench/quality.py` measured it (the sweep on the autoencoder's code, not the product's)")
            lines += ["", f"Automatic k {how}: picks "
                      f"k = {', '.join(str(a['k']) for a in au)} (true {d['k']}); N2D at that k scores ACC {fmt([a['acc'] for a in au])}, "
                      f"NMI {fmt([a['nmi'] for a in au])}."]
        lines.append("")


def _target_verdict(v: float, bar: float, note: str) -> str:
    if v >= bar:
        return f"met ({note})" if note else "met"
    return f"**not met** (short by {bar - v:.3f}" + (f"; {note})" if note else ")")


def section_quality(q: dict | None, svg_dir: Path, doc_dir: Path, lines: list[str], verdicts: list[tuple[str, str, str]],
                    results_dir: Path) -> None:
    lines += ["## Quality", ""]
    qd = load(results_dir, "quality_defaults")
    if qd is not None and not qd.get("runs"):
        qd = None
    if not q and not qd:
        lines += ["Not measured yet: run `python bench/quality.py`.", ""]
        return
    old = quality_summary(q) if q else {}
    new = quality_summary(qd) if qd else {}
    # each dataset from one source: the defaults run where it covers the dataset, else the earlier run
    order = sorted(set(new) | set(old), key=lambda ds: list(DATASET_NAMES).index(ds) if ds in DATASET_NAMES else len(DATASET_NAMES))
    src = {ds: ("new" if ds in new else "old") for ds in order}
    summ_of = {ds: (new if src[ds] == "new" else old)[ds] for ds in order}
    planned = len(qd["seeds"]) if qd else None
    old_label = "earlier run: old defaults, capped epochs"

    def src_note(ds: str) -> str:
        return f"defaults run, {seeds_note(ds)}" if src[ds] == "new" else f"{old_label}, {seeds_note(ds)}"

    def seeds_note(ds: str) -> str:
        n = len(summ_of[ds]["runs"])
        return _seeds(n) + (f" of {planned} so far" if src[ds] == "new" and n < planned else "")

    def src_short(ds: str) -> str:
        return "defaults run" if src[ds] == "new" else old_label

    from explorer.cluster import GMM_N_INIT, N2D_SWEEP_DIM

    lines += [
        f"k = the number of classes (the protocol of the published results). Each (dataset, seed) trains one autoencoder "
        "with the product's defaults (`explorer.pipeline.default_config(ds)`), which serves AE + k-means, DEC, IDEC (each "
        "refining a copy) and the default N2D clustering (UMAP of the code to k dimensions, then a full-covariance GMM "
        f"with {GMM_N_INIT} restarts). k-means on the features and PCA + k-means use the same seed. Mean ± standard "
        "deviation over the seeds (ddof = 1; n/a with one seed). ACC is accuracy after Hungarian matching.",
        "",
        "Automatic k: `bench/quality.py` now runs the product's own path with no k (for the n2d default, `sweep_k` "
        f"— k-means silhouette, diagonal-GMM BIC to break ties — on a {N2D_SWEEP_DIM}-dimensional UMAP embedding, then the "
        "GMM at the k it picks). Rows measured before this change swept the autoencoder's code instead; each line says which.",
        "",
    ]
    # headline: the default per dataset
    lines += ["### Headline: the default pipeline (AE -> UMAP -> GMM) per dataset", ""]
    if qd:
        lines += ["From the run of the shipped defaults without epoch caps (next section) where it covers the dataset; "
                  f"rows marked *{old_label}* come from the earlier run with the previous defaults and the autoencoder "
                  "capped at 20 epochs on the large sets (last section), and are not the shipped defaults.", ""]
    else:
        lines += ["No run of the shipped defaults is recorded yet (`bench/results/quality_defaults.json`, written by `python "
                  "bench/quality.py --datasets " + " ".join(DEFAULTS_RUN) + " --dec-max-iter 100 --tag _defaults`): every "
                  "row here comes from the earlier run below, with the settings and the defaults it records.", ""]
    lines += ["| dataset | source | ACC | NMI | ARI | published ACC / NMI (N2D paper) |", "|---|---|---|---|---|---|"]
    for ds in order:
        d = summ_of[ds]
        if "n2d" not in d["methods"]:
            continue
        r = d["methods"]["n2d"]
        pub = PUBLISHED.get(ds, {}).get("n2d", "").replace(" (N2D paper)", "")
        s = src_note(ds)
        lines.append(f"| {DATASET_NAMES.get(ds, ds)} | {s if src[ds] == 'new' else '*' + s + '*'} | {fmt(r['acc'])} | "
                     f"{fmt(r['nmi'])} | {fmt(r['ari'])} | {pub} |")
    lines.append("")
    lines += ["Where the default stands (mean NMI, each dataset from the source above; a method listed beat the default):", ""]
    for ds in order:
        d = summ_of[ds]
        if "n2d" not in d["methods"]:
            continue
        base = ms(d["methods"]["n2d"]["nmi"])[0]
        better = [f"{SHORT[m]} {ms(r['nmi'])[0]:.3f}" for m, r in d["methods"].items() if m != "n2d" and ms(r["nmi"])[0] > base]
        lines.append(f"- {DATASET_NAMES.get(ds, ds)}{'' if src[ds] == 'new' else ' (' + old_label + ')'}: default {base:.3f}; "
                     + (f"better: {', '.join(better)}" if better else "no alternative did better"))
    lines.append("")
    # the chart
    glabel = {ds: DATASET_NAMES.get(ds, ds) + ("" if src[ds] == "new" or not qd else " (earlier run)") for ds in order}
    series = [m for m in SHORT if any(m in summ_of[g]["methods"] for g in order)]
    vals = {(glabel[g], SHORT[m]): ms(summ_of[g]["methods"][m]["nmi"])[0] for g in order for m in series if m in summ_of[g]["methods"]}
    errs = {(glabel[g], SHORT[m]): ms(summ_of[g]["methods"][m]["nmi"])[1] for g in order for m in series if m in summ_of[g]["methods"]}
    marks = {glabel[ds]: bar for ds, metric, bar in TARGETS if metric == "nmi" and ds in summ_of}
    svg = grouped_bars([glabel[g] for g in order], [SHORT[m] for m in series], vals, errs,
                       title="NMI by method (mean over seeds, bars: ± std; dashes: targets)", ylabel="NMI", marks=marks)
    (svg_dir / "benchmarks_nmi.svg").write_text(svg)
    lines += [f"![NMI by method and dataset]({_rel(svg_dir / 'benchmarks_nmi.svg', doc_dir)})", ""]

    # the defaults run in full
    if qd:
        done = len(qd["runs"])
        n_planned = len(qd["seeds"]) * (len(DEFAULTS_RUN) - len(qd.get("missing", [])))
        lines += ["### The shipped defaults, uncapped", "",
                  "Command: `" + _cmd(qd, datasets=DEFAULTS_RUN, tag="_defaults") + "`.", ""]
        if done < n_planned:
            not_reached = [ds for ds in DEFAULTS_RUN if _ds_name(ds) not in new and ds not in qd.get("missing", [])]
            lines += [f"**Partial: {done} of {n_planned} (dataset, seed) runs recorded so far** (the run writes its file after "
                      "each one, seeds outermost; this document shows what was there when it was generated)."
                      + (f" Not reached yet, so shown from the earlier run below: {', '.join(DATASET_NAMES.get(_ds_name(d), d) for d in not_reached)}."
                         if not_reached else ""), ""]
        cap = _dec_cap(qd)
        lines += ["The autoencoder trains as `default_config` says (epochs, early stopping, augmentation untouched). "
                  + (f"**Only DEC and IDEC were capped: at most {cap} batches instead of the default {_default_dec_iter()}**, "
                     "so their rows understate them; they are alternatives, not the default. " if cap else "")
                  + f"Measured {qd['machine']['date']}" + (" with `BENCH_THREADS=" + str(qd['machine']['bench_threads_env']) + "`"
                                                          if qd["machine"].get("bench_threads_env") else "") + "."
                  + "".join(f" Re-measured {m['date']} with the defaults of then (`--merge`): {', '.join(m['datasets'])}."
                            for m in qd.get("merged", [])), ""]
        if qd.get("missing"):
            lines += [f"Data not found, skipped: {', '.join(qd['missing'])}.", ""]
        stale = _changed_defaults(qd)
        if stale:
            lines += ["**The product's defaults changed after this run**: " + "; ".join(stale) + ".", ""]
        _dataset_tables(qd, new, [ds for ds in order if ds in new], lines, planned_seeds=planned)

    # the earlier run, only where the defaults run does not cover the dataset
    old_only = [ds for ds in order if ds in old and ds not in new]
    if q and old_only:
        title = "### Earlier run (old defaults, capped epochs)" if qd or q.get("epoch_cap") or _changed_defaults(q) else "### Main run"
        lines += [title, ""]
        if qd:
            cap = q.get("epoch_cap")
            capped = [DATASET_NAMES.get(d, d) for d in old_only if cap and old[d]["n"] > cap["above_rows"]]
            lines += [f"Shown only for the datasets the defaults run above does not cover ({', '.join(DATASET_NAMES.get(d, d) for d in old_only)}). "
                      "These are **not** the shipped defaults: the defaults changed after this run (below)"
                      + (f", and the autoencoder was capped at {cap['epochs']} epochs on {', '.join(capped)}" if capped else "") + ".", ""]
        lines += ["Command: `" + _cmd(q) + f"`. Seeds: {', '.join(str(s) for s in q['seeds'])}.", ""]
        changes = [f"`{k} = {v}`" for k, v in q.get("overrides", {}).items() if k != "epochs" or q.get("quick")]
        cap = q.get("epoch_cap")
        if cap:
            changes.append(f"`epochs = {cap['epochs']}` for the sets with more than {cap['above_rows']:,} rows")
        if changes:
            lines += [f"Settings changed from the defaults of the time: {'; '.join(changes)} (to fit the shared 2-core CPU).", ""]
        stale = _changed_defaults(q, only=set(old_only))
        if stale:
            lines += ["The product's defaults changed after this run: " + "; ".join(stale) + ".", ""]
        _dataset_tables(q, old, old_only, lines)

    # the one-seed check of the uncapped defaults, where nothing better covers the dataset
    uncapped = load(results_dir, "quality_uncapped")
    rows = [r for r in (uncapped or {}).get("runs", []) if r["dataset"] not in new]
    if rows:
        m0 = rows[0]["config"]["model"]
        lines += ["### Check: the defaults without the epoch cap, one seed", "",
                  f"`default_config` untouched (model `{m0['kind']}`, up to {m0['epochs']} epochs with early stopping, augment "
                  f"{m0['augment']}), seed(s) {', '.join(map(str, uncapped['seeds']))} only: `" + _cmd(uncapped) + " --datasets ... --tag _uncapped`.", "",
                  "| dataset | seed | epochs run | default (N2D) ACC | NMI | same seed in the earlier run: ACC | NMI |", "|---|---|---|---|---|---|---|"]
        capped = {(r["dataset"], r["seed"]): r for r in q["runs"]} if q else {}
        for r in rows:
            for ds_, metric, bar in TARGETS:
                if ds_ == r["dataset"]:
                    v = r["methods"]["n2d"][metric]
                    verdicts.append((f"{DATASET_NAMES.get(ds_, ds_)} {metric.upper()} >= {bar}, defaults untouched (check run, seed {r['seed']} only)",
                                     f"{v:.3f}", _target_verdict(v, bar, "")))
            c = capped.get((r["dataset"], r["seed"]))
            cm = c["methods"]["n2d"] if c else None
            lines.append(f"| {DATASET_NAMES.get(r['dataset'], r['dataset'])} | {r['seed']} | {r['train']['epochs_run']} | "
                         f"{r['methods']['n2d']['acc']:.3f} | {r['methods']['n2d']['nmi']:.3f} | "
                         + (f"{cm['acc']:.3f} | {cm['nmi']:.3f} |" if cm else "- | - |"))
        lines.append("")

    # verdicts, each dataset from its source
    for ds, metric, bar in TARGETS:
        if ds not in summ_of or "n2d" not in summ_of[ds]["methods"]:
            verdicts.append((f"{DATASET_NAMES.get(ds, ds)} {metric.upper()} >= {bar}", "not measured", "-"))
            continue
        v = ms(summ_of[ds]["methods"]["n2d"][metric])[0]
        verdicts.append((f"{DATASET_NAMES.get(ds, ds)} {metric.upper()} >= {bar}", f"{v:.3f} ({src_short(ds)})",
                         _target_verdict(v, bar, seeds_note(ds))))
    for ds in order:
        d = summ_of[ds]
        label = f"{DATASET_NAMES.get(ds, ds)}: seed-to-seed std of ACC <= 0.02"
        if "n2d" in d["methods"] and len(d["methods"]["n2d"]["acc"]) > 1:
            s = ms(d["methods"]["n2d"]["acc"])[1]
            verdicts.append((label, f"{s:.3f} ({src_short(ds)})",
                             f"met ({seeds_note(ds)})" if s <= 0.02 else f"**not met** (over by {s - 0.02:.3f}; {seeds_note(ds)})"))
        else:
            verdicts.append((label, f"n/a ({src_short(ds)})", f"- (std needs 2 seeds; {seeds_note(ds)})"))
    d = summ_of.get("pendigits")
    if d and "n2d" in d["methods"] and "kmeans_raw" in d["methods"]:  # the one labeled table (features scaled as the loader does by default)
        a, b = ms(d["methods"]["n2d"]["acc"])[0], ms(d["methods"]["kmeans_raw"]["acc"])[0]
        n1, n2 = ms(d["methods"]["n2d"]["nmi"])[0], ms(d["methods"]["kmeans_raw"]["nmi"])[0]
        verdicts.append(("pendigits (table): default not below k-means on the features as loaded",
                         f"ACC {a:.3f} vs {b:.3f}, NMI {n1:.3f} vs {n2:.3f} ({src_short('pendigits')})",
                         ("met" if a >= b and n1 >= n2 else "**not met**") + f" ({seeds_note('pendigits')})"))


def _changed_defaults(q: dict, only: set[str] | None = None) -> list[str]:
    """For each dataset: the model fields where today's default_config differs from the one the run recorded
    (fields the run overrode on purpose, epochs and DEC batches, are left out)."""
    from datasets import _images, _table

    from explorer.pipeline import default_config

    out, seen = [], set()
    for run in q["runs"]:
        if run["dataset"] in seen or (only is not None and run["dataset"] not in only):
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
        diff = [f"{k} {recorded.get(k)} -> {now[k]}" for k in now if k not in capped and now[k] != recorded.get(k)
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


def _cmd(q: dict, datasets: list[str] | None = None, tag: str = "") -> str:
    parts = ["python bench/quality.py"]
    if q.get("quick"):
        parts.append("--quick")
    if datasets:
        parts.append("--datasets " + " ".join(datasets))
        parts.append("--seeds " + " ".join(map(str, q["seeds"])))
    ov = q.get("overrides", {})
    if q.get("epoch_cap"):
        parts.append(f"--epochs {q['epoch_cap']['epochs']} --epochs-above {q['epoch_cap']['above_rows']}")
    if "cluster_dec_max_iter" in ov and not q.get("quick"):
        parts.append(f"--dec-max-iter {ov['cluster_dec_max_iter']}")
    if tag:
        parts.append(f"--tag {tag}")
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
        cmach = c.get("machine", {})
        if cmach.get("bench_threads_env"):
            lines += [f"This wall time was measured with `BENCH_THREADS={cmach['bench_threads_env']}` (torch and the rest of the "
                      f"process on one thread) on a {cmach.get('cores')}-core machine shared with other work (load average at the "
                      f"start {', '.join(f'{x:.1f}' for x in cmach.get('load_average_at_start', []))}): it is not what the CLI "
                      "takes with the cores to itself.", ""]
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
        one_thread = " (BENCH_THREADS=%s, shared machine)" % cmach["bench_threads_env"] if cmach.get("bench_threads_env") else ""
        verdicts.append(("MNIST-test end to end via the CLI <= 5 min (2-core CPU)", f"{c['wall_s'] / 60:.1f} min" + one_thread
                         + ("" if full else " (epochs capped, see text)"),
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
        from explorer.cluster import GMM_N_INIT

        w = cg["wall_s"]
        epochs = (cg.get("model") or {}).get("epochs")
        if w > GPU_CLI_GOAL_S:
            lines += [f"**This misses the {GPU_CLI_GOAL_S} s goal by {w - GPU_CLI_GOAL_S:.0f} s ({w / GPU_CLI_GOAL_S:.1f}x the goal).** "
                      "The GPU is not where the time goes: most of it is UMAP on the CPU. The clustering's UMAP (n2d: the code to "
                      "k dimensions) and the 2-D projection's UMAP each run on a single thread, because a seed is set and "
                      "umap-learn then gives up parallelism for reproducibility; then a full-covariance GMM with "
                      f"{GMM_N_INIT} restarts on the CPU. The autoencoder training itself"
                      + (f" ({epochs} epochs)" if epochs else "") + " took about 15-25 s on the GPU in the earlier tuning "
                      "runs (`bench/tune.py`; that per-stage time is not in this JSON, which records only the wall time).", ""]
        verdicts.append((f"MNIST-test end to end via the CLI <= {GPU_CLI_GOAL_S} s ({gm.get('gpu')})", f"{w:.0f} s",
                         "met" if w <= GPU_CLI_GOAL_S else f"**not met** (over by {w - GPU_CLI_GOAL_S:.0f} s; UMAP on the CPU, see GPU)"))
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

    lines += ["### The dashboard in a browser", ""]
    b = load(res, "browser")
    if b:
        m = b.get("machine", {})
        lines += [f"`python bench/browser_timing.py` ({b['what']}; {b['repeats']} repeats; {m.get('cores')} cores, "
                  f"load average at the start {', '.join(f'{v:.1f}' for v in m.get('load_average_at_start', []))}). "
                  "More in [LOAD.md](LOAD.md).", "",
                  "| points | open the link (s) | re-colour (s, median) | box-select (s, median) | server RSS (MiB) |",
                  "|---|---|---|---|---|"]
        for r in b["results"]:
            lines.append(f"| {r['points']:,} | {r['open_link_s']} | {r['recolour_s']['median']} | "
                         f"{r['box_select_s']['median']} | {r['server_rss_mib']} |")
        lines.append("")
    else:
        lines += ["Not measured yet: `python bench/browser_timing.py`.", ""]


def section_missing(results: Path, q: dict | None) -> list[str]:
    """What the full protocol asks for and these results lack, and which settings were cut."""
    out = ["## What is missing", ""]
    items = []
    names = {"digits": "sklearn_digits", "fashion_1k": "fashion_mnist_1k"}
    qd = load(results, "quality_defaults")
    covered = {r["dataset"] for r in (qd or {}).get("runs", [])}
    if qd and qd.get("runs"):
        have = {(r["dataset"], r["seed"]) for r in qd["runs"]}
        lack = []
        for ds in DEFAULTS_RUN:
            if ds in qd.get("missing", []):
                continue
            lacking = [s for s in qd["seeds"] if (names.get(ds, ds), s) not in have]
            if lacking:
                lack.append(f"{DATASET_NAMES.get(names.get(ds, ds), ds)} seed(s) {', '.join(map(str, lacking))}")
        if lack:
            items.append("quality, defaults run: not recorded when this document was generated: " + "; ".join(lack))
        dec = _dec_cap(qd)
        if dec:
            items.append(f"quality, defaults run: DEC and IDEC ran at most {dec} batches (default {_default_dec_iter()})")
    if q:
        old_only = sorted({r["dataset"] for r in q["runs"]} - covered, key=lambda d: list(DATASET_NAMES).index(d) if d in DATASET_NAMES else 99)
        if covered and old_only:
            items.append(f"quality: {', '.join(DATASET_NAMES.get(d, d) for d in old_only)} only from the earlier run with the "
                         "old defaults, not from a run of the shipped defaults")
        cap = q.get("epoch_cap")
        capped = [DATASET_NAMES.get(d, d) for d in old_only if any(r["dataset"] == d and cap and r["n"] > cap["above_rows"] for r in q["runs"])]
        if cap and capped:
            items.append(f"quality, earlier run: the autoencoder was trained for at most {cap['epochs']} epochs on "
                         f"{', '.join(capped)}, so those scores are a lower bound for an under-trained default")
        if not covered:
            dec = q.get("overrides", {}).get("cluster_dec_max_iter")
            if dec and not q.get("quick"):
                items.append(f"quality: DEC and IDEC ran at most {dec} batches (default {_default_dec_iter()})")
    elif not covered:
        items.append("quality: not run")
    for step in ("overhead", "throughput", "cli", "scaling"):
        if not load(results, step):
            items.append(f"speed: `python bench/speed.py {step}` has not been run")
    c = load(results, "cli")
    if c and "--epochs" in c["command"]:
        items.append("speed: the CLI run capped the epochs (see its command); the default trains up to "
                     f"{_default_epochs()} epochs with early stopping")
    if c and c.get("machine", {}).get("bench_threads_env"):
        items.append("speed: the CPU CLI time with the cores to itself (it was measured on one thread on a shared machine)")
    if not load(results, "cli_gpu"):
        items.append("GPU numbers: to be filled by `bash bench/gpu.sh` on a GPU machine")
    if not load(results, "browser"):
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
             "| `python bench/quality.py [--datasets ...] [--seeds 0 1 2] [--epochs E --epochs-above N] [--dec-max-iter N] [--tag T]` | `bench/results/quality<T>.json` (the shipped defaults: `--dec-max-iter 100 --tag _defaults`) |",
             "| `python bench/speed.py overhead` (product vs `bench/reference_pipeline.py`) | `bench/results/overhead.json` |",
             "| `python bench/speed.py throughput [--device cuda]` | `bench/results/throughput.json` |",
             "| `python bench/speed.py cli [--device cuda]` | `bench/results/cli.json` |",
             "| `python bench/speed.py scaling [--sizes ...]` | `bench/results/scaling.json` |",
             "| `bash bench/gpu.sh` (on a GPU machine) | `bench/results/cli_gpu.json`, `throughput_gpu.json` |",
             "| `python bench/peers.py` (needs ClustPy's own environment, see the script) | `bench/results/peers.json`, then this file |",
             "| `python bench/precision.py` (float32 vs bf16 autocast) | `bench/results/precision.json` |",
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
    from precision import section_precision

    section_precision(load(results, "precision"), body)
    from peers import section_peers

    section_peers(load(results, "peers"), body, verdicts)
    section_peers(load(results, "peers_gpu"), body, [])  # the targets are the CPU's; the GPU table is for reference
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in verdicts]
    if q or load(results, "quality_defaults"):
        lines += ["", "Quality rows: from the run of the shipped defaults (no epoch cap) where it covers the dataset, with its "
                  "number of seeds so far; rows marked *earlier run* come from the older run with the previous defaults and "
                  "capped epochs. The CLI rows are one run each, with the defaults of the time."]
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
