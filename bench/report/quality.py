"""The quality part of docs/BENCHMARKS.md: bench/measure/quality.py's runs (the default pipeline against the
other methods, per dataset and seed), the NMI chart, and the older runs at the bottom.

Each dataset is shown from one run: the first of QUALITY_FILES that covers it. A dataset whose run
recorded other defaults than today's (report_defaults) goes to the "Older runs" section.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.report.common import (
    Verdict,
    default_dec_iter,
    ds_label,
    ds_order,
    fmt,
    load,
    load_average,
    ms,
    rel,
    seeds_text,
)
from bench.report.defaults import changed_defaults, quality_run_changes, run_overrides
from bench.report.svg import grouped_bars

QUALITY_FILES = ("quality_defaults", "quality")  # bench/results/<name>.json, the preferred first
METHODS = ("kmeans_raw", "pca_kmeans", "ae_kmeans", "dec", "idec", "ae_n2d", "n2d", "n2d_refined")
METHOD_NAMES = {
    "kmeans_raw": "k-means on the features",
    "pca_kmeans": "PCA + k-means",
    "ae_kmeans": "AE + k-means",
    "dec": "DEC",
    "idec": "IDEC",
    "ae_n2d": "AE -> UMAP -> GMM (N2D)",
    "n2d": "**the default (N2D: UMAP -> GMM)**",
    "n2d_refined": "**the default for images: N2D, the encoder refined on augmented copies, N2D again**",
}
N2D_BEFORE_REFINING = "N2D: UMAP -> GMM (the default before its refinement)"  # the n2d row where a refined one is there
REFINED_NOT_DEFAULT = "N2D, refined on augmented copies, N2D again (not the default: too few images)"
SHORT = {
    "kmeans_raw": "k-means",
    "pca_kmeans": "PCA+k-means",
    "ae_kmeans": "AE+k-means",
    "dec": "DEC",
    "idec": "IDEC",
    "ae_n2d": "AE+N2D",
    "n2d": "default (N2D)",
    "n2d_refined": "default (refined)",
}
# published (ACC, NMI) from ../shared/data/README.md; absent where not published
PUBLISHED = {
    "mnist_test": {"kmeans_raw": "0.54 / 0.50 (scikit-learn)", "n2d": "0.948 / 0.882 (N2D paper)"},
    "usps": {
        "kmeans_raw": "0.67 / 0.63 (DEC-keras)",
        "ae_kmeans": "0.693 / - (IDEC paper)",
        "dec": "0.741 / - (IDEC paper); 0.76 / 0.79 (DEC-keras)",
        "idec": "0.761 / - (IDEC paper)",
        "n2d": "0.958 / 0.901 (N2D paper)",
    },
    "pendigits": {"n2d": "0.885 / 0.863 (N2D paper)"},
    "sklearn_digits": {"kmeans_raw": "v-measure (= NMI) 0.62-0.69, ARI 0.47-0.57 (scikit-learn example)"},
}
# (dataset, metric, bar) for the default pipeline
TARGETS = [
    ("mnist_test", "acc", 0.95),
    ("mnist_test", "nmi", 0.89),
    ("usps", "acc", 0.96),
    ("usps", "nmi", 0.91),
    ("pendigits", "nmi", 0.87),
    ("sklearn_digits", "nmi", 0.90),
]


def default_method(summary: dict) -> str:
    """The method row that is the default pipeline in a dataset's summary: the refined N2D where the run's
    default refined (images from explorer.pipeline.REFINE_MIN_IMAGES; older runs recorded no flag and
    refined every image set), else N2D."""
    refined = "n2d_refined" in summary["methods"] and summary["runs"][0]["config"]["cluster"].get("refine", True)
    return "n2d_refined" if refined else "n2d"


@dataclass
class QualitySource:
    """One dataset as one bench/measure/quality.py run measured it."""

    stem: str  # the results file, without .json
    doc: dict  # the whole file
    summary: dict  # quality_summary(doc)[dataset]
    changes: list[str]  # settings where today's default differs
    overrides: list[str]  # settings of the default pipeline the run changed on purpose

    @property
    def current(self) -> bool:
        """Whether it measured the shipped defaults of today."""
        return not self.changes and not self.overrides


def quality_summary(q: dict) -> dict:
    """{dataset: {"runs": [...], "methods": {method: {"acc": [...], ...}}, "auto": [...], "train": [...], n, d, k}}"""
    out: dict = {}
    for run in q["runs"]:
        d = out.setdefault(
            run["dataset"],
            {"runs": [], "methods": {}, "auto": [], "train": [], "n": run["n"], "d": run["d"], "k": run["k"]},
        )
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


def quality_sources(results: Path) -> dict[str, QualitySource]:
    """{dataset: its source}, each dataset from the first of QUALITY_FILES that covers it, in document order."""
    out: dict[str, QualitySource] = {}
    for stem in QUALITY_FILES:
        q = load(results, stem)
        if not q or not q.get("runs"):
            continue
        for ds, summ in quality_summary(q).items():
            if ds not in out:
                first = summ["runs"][0]
                out[ds] = QualitySource(stem, q, summ, quality_run_changes(q, first), run_overrides(q, first))
    return dict(sorted(out.items(), key=lambda kv: ds_order(kv[0])))


def _names(q: dict) -> list[str]:
    """The run's --datasets names, in the order it ran them (plus those whose data was missing)."""
    from bench.suites.labeled_sets import RUN_NAMES

    back = {v: k for k, v in RUN_NAMES.items()}
    return list(dict.fromkeys(back.get(r["dataset"], r["dataset"]) for r in q["runs"])) + list(q.get("missing", []))


def quality_cmd(q: dict, stem: str) -> str:
    """The bench/measure/quality.py command line that (re)makes bench/results/<stem>.json."""
    parts = ["python -m bench.measure.quality"]
    if q.get("quick"):
        parts.append("--quick")
    else:
        parts += ["--datasets " + " ".join(_names(q)), "--seeds " + " ".join(map(str, q["seeds"]))]
    if q.get("epoch_cap"):
        parts.append(f"--epochs {q['epoch_cap']['epochs']} --epochs-above {q['epoch_cap']['above_rows']}")
    if "cluster_dec_max_iter" in q.get("overrides", {}) and not q.get("quick"):
        parts.append(f"--dec-max-iter {q['overrides']['cluster_dec_max_iter']}")
    if stem != "quality":
        parts.append(f"--tag {stem[len('quality') :]}")
    env = q.get("machine", {}).get("bench_threads_env")
    return (f"BENCH_THREADS={env} " if env else "") + " ".join(parts)


def lacking_seeds(q: dict) -> list[str]:
    """'Dataset seed(s) 1, 2' for each dataset of the run that lacks some of its planned seeds."""
    from bench.suites.labeled_sets import RUN_NAMES

    have = {(r["dataset"], r["seed"]) for r in q["runs"]}
    out = []
    for name in _names(q):
        if name in q.get("missing", []):
            continue
        ds = RUN_NAMES.get(name, name)
        lacking = [s for s in q["seeds"] if (ds, s) not in have]
        if lacking:
            out.append(f"{ds_label(ds)} seed(s) {', '.join(map(str, lacking))}")
    return out


def _run_header(q: dict, stem: str, lines: list[str]) -> None:
    """What a run was: its command, what it changed on purpose, when, what it lacks."""
    lines += [f"Command: `{quality_cmd(q, stem)}`.", ""]
    lacking = lacking_seeds(q)
    if lacking:
        lines += [
            f"**Partial: not recorded when this document was generated: {'; '.join(lacking)}** (the run writes "
            "its file after each (dataset, seed), seeds outermost).",
            "",
        ]
    changes = []
    for k, v in q.get("overrides", {}).items():
        changes.append(
            f"**DEC and IDEC at most {v} batches** instead of the default {default_dec_iter()}, so their rows "
            "understate them (they are alternatives, not the default)"
            if k == "cluster_dec_max_iter"
            else f"`{k} = {v}`"
        )
    cap = q.get("epoch_cap")
    if cap:
        changes.append(f"`epochs = {cap['epochs']}` for the sets with more than {cap['above_rows']:,} rows")
    untouched = not cap and "epochs" not in q.get("overrides", {})
    m = q["machine"]
    lines += [
        (f"Changed on purpose from the defaults of the time: {'; '.join(changes)}. " if changes else "")
        + (
            "The autoencoder trained as `default_config` said (epochs, early stopping, augmentation). "
            if untouched
            else ""
        )
        + f"Measured {m['date']}"
        + (f" with `BENCH_THREADS={m['bench_threads_env']}`" if m.get("bench_threads_env") else "")
        + (f" (load average at the start {load_average(m)})" if m.get("load_average_at_start") else "")
        + "."
        + "".join(
            f" Re-measured {r['date']} with the defaults of then (`--merge`): {', '.join(r['datasets'])}."
            for r in q.get("merged", [])
        ),
        "",
    ]
    if q.get("missing"):
        lines += [f"Data not found, skipped: {', '.join(q['missing'])}.", ""]


def _dataset_tables(q: dict, summ: dict, datasets: list[str], lines: list[str]) -> None:
    """One '#### dataset' block per dataset: the methods table, the training line and the automatic-k line."""
    cap = q.get("overrides", {}).get("cluster_dec_max_iter")
    names = dict(METHOD_NAMES)
    if cap:
        names["dec"], names["idec"] = f"DEC (at most {cap} batches)", f"IDEC (at most {cap} batches)"
    planned = len(q["seeds"])
    for ds in datasets:
        d = summ[ds]
        n_seeds = len(d["runs"])
        so_far = f" of {planned} planned, so far" if n_seeds < planned else ""
        m = d["runs"][0]["config"]["model"]
        lines += [
            f"#### {ds_label(ds)} ({d['n']:,} x {d['d']}, {d['k']} classes, {seeds_text(n_seeds)}{so_far})",
            "",
            (
                f"Model as run: `{m['kind']}` hidden {tuple(m['hidden'])} latent {m['latent_dim']}, up to "
                f"{m['epochs']} epochs, "
                f"augment {m['augment']}."
                if m["kind"] != "none"
                else "Default model: none (UMAP of the features themselves); the autoencoder rows use the dense AE "
                f"hidden {tuple(m['hidden'])}, up to {m['epochs']} epochs."
            ),
            "",
            "| method | ACC | NMI | ARI | published ACC / NMI | seconds (median) |",
            "|---|---|---|---|---|---|",
        ]
        default = default_method(d)
        for meth in (x for x in METHODS if x in d["methods"]):
            r = d["methods"][meth]
            name = (
                N2D_BEFORE_REFINING
                if meth == "n2d" and default == "n2d_refined"
                else REFINED_NOT_DEFAULT
                if meth == "n2d_refined" and default == "n2d"
                else names[meth]
            )
            lines.append(
                f"| {name} | {fmt(r['acc'])} | {fmt(r['nmi'])} | {fmt(r['ari'])} | "
                f"{PUBLISHED.get(ds, {}).get(meth, '')} | {np.median(r['seconds']):.0f} |"
            )
        tr = d["train"]
        if tr:
            lines += [
                "",
                f"Autoencoder training: {', '.join(str(t['epochs_run']) for t in tr)} epochs run of at most "
                f"{tr[0]['epochs_max']} (stop: {', '.join(t['stop_reason'] for t in tr)}), median "
                f"{np.median([t['seconds'] for t in tr]):.0f} s per training.",
            ]
        if d["auto"]:
            au = d["auto"]
            how = (
                "as the product runs it (for N2D the sweep on a 10-d UMAP embedding)"
                if all(a.get("sweep_on") == "product" for a in au)
                else "as the older `bench/measure/quality.py` measured it (the sweep on the autoencoder's code, not "
                "the product's)"
            )
            lines += [
                "",
                f"Automatic k {how}: picks k = {', '.join(str(a['k']) for a in au)} (true {d['k']}); N2D at that k "
                f"scores ACC {fmt([a['acc'] for a in au])}, NMI {fmt([a['nmi'] for a in au])}.",
            ]
        lines.append("")


def _by_run(sources: dict[str, QualitySource], current: bool) -> dict[str, list[str]]:
    """{results file: its datasets} among the sources that are (not) the current defaults."""
    out: dict[str, list[str]] = {}
    for ds, s in sources.items():
        if s.current == current:
            out.setdefault(s.stem, []).append(ds)
    return out


def _chart(sources: dict[str, QualitySource], svg_dir: Path, doc_dir: Path, lines: list[str]) -> None:
    """NMI per method and dataset (the SVG), and which method beat the default where one did."""
    label = {ds: ds_label(ds) + ("" if s.current else " (older defaults)") for ds, s in sources.items()}
    lines += ["Where the default stands (mean NMI; a method listed beat the default):", ""]
    for ds, s in sources.items():
        methods = s.summary["methods"]
        default = default_method(s.summary)
        if default not in methods:
            continue
        base = ms(methods[default]["nmi"])[0]
        better = [
            f"{SHORT[m]} {ms(r['nmi'])[0]:.3f}" for m, r in methods.items() if m != default and ms(r["nmi"])[0] > base
        ]
        lines.append(
            f"- {label[ds]}: default {base:.3f}; "
            + (f"better: {', '.join(better)}" if better else "no alternative did better")
        )
    lines.append("")
    series = [m for m in SHORT if any(m in s.summary["methods"] for s in sources.values())]
    vals, errs = {}, {}
    for ds, s in sources.items():
        for m in (x for x in series if x in s.summary["methods"]):
            vals[(label[ds], SHORT[m])], errs[(label[ds], SHORT[m])] = ms(s.summary["methods"][m]["nmi"])
    marks = {label[ds]: bar for ds, metric, bar in TARGETS if metric == "nmi" and ds in sources}
    svg = grouped_bars(
        [label[ds] for ds in sources],
        [SHORT[m] for m in series],
        vals,
        errs,
        title="NMI by method (mean over seeds, bars: ± std; dashes: targets)",
        ylabel="NMI",
        marks=marks,
    )
    (svg_dir / "benchmarks_nmi.svg").write_text(svg)
    lines += [f"![NMI by method and dataset]({rel(svg_dir / 'benchmarks_nmi.svg', doc_dir)})", ""]


def section_quality(sources: dict[str, QualitySource], svg_dir: Path, doc_dir: Path, lines: list[str]) -> None:
    """'## Quality': the protocol, the chart, and the method tables of the runs of today's defaults."""
    from explorer.cluster.types import GMM_N_INIT, N2D_SWEEP_DIM

    lines += ["## Quality", ""]
    if not sources:
        lines += ["Not measured yet: run `python -m bench.measure.quality`.", ""]
        return
    lines += [
        "`bench/measure/quality.py`: k = the number of classes (the protocol of the published results). Each "
        "(dataset, seed) "
        "trains one autoencoder with the product's defaults (`explorer.pipeline.default_config(ds)`), which serves AE "
        "+ "
        "k-means, DEC, IDEC (each refining a copy) and the default N2D clustering (UMAP of the code to k dimensions, "
        "then "
        f"a full-covariance GMM with {GMM_N_INIT} restarts). k-means on the features and PCA + k-means use the same "
        "seed. "
        "Mean ± standard deviation over the seeds (ddof = 1; n/a with one seed). ACC is accuracy after Hungarian "
        "matching.",
        "",
        "Automatic k: `bench/measure/quality.py` runs the product's own path with no k (for the n2d default, "
        "`sweep_k` — k-means "
        f"silhouette, diagonal-GMM BIC to break ties — on a {N2D_SWEEP_DIM}-dimensional UMAP embedding, then the GMM "
        "at the "
        "k it picks). Rows measured before this change swept the autoencoder's code instead; each line says which.",
        "",
    ]
    _chart(sources, svg_dir, doc_dir, lines)
    current = _by_run(sources, current=True)
    if not current:
        lines += [
            "No `bench/measure/quality.py` run of today's defaults is recorded: every method table is under "
            "[Older runs](#older-runs-defaults-that-have-changed-since).",
            "",
        ]
    for stem, datasets in current.items():
        q = sources[datasets[0]].doc
        lines += [f"### `{stem}.json`: {', '.join(ds_label(d) for d in datasets)}", ""]
        _run_header(q, stem, lines)
        _dataset_tables(q, {d: sources[d].summary for d in datasets}, datasets, lines)


def section_older(sources: dict[str, QualitySource], lines: list[str]) -> None:
    """'## Older runs': the method tables of the datasets whose only run used other defaults than today's."""
    older = _by_run(sources, current=False)
    if not older:
        return
    lines += [
        "## Older runs (defaults that have changed since)",
        "",
        "Measured with defaults that have changed since, or with settings of the default changed on purpose (each run "
        "says which): **not the shipped defaults**. "
        "The headline and the targets use them only where no run of today's defaults exists (and say so). Kept for "
        "the comparison between methods, which the runs of today's defaults do not all repeat.",
        "",
    ]
    for stem, datasets in older.items():
        q = sources[datasets[0]].doc
        lines += [f"### `{stem}.json`: {', '.join(ds_label(d) for d in datasets)}", ""]
        _run_header(q, stem, lines)
        differ = changed_defaults(q, only=set(datasets))
        if differ:
            lines += ["Today's defaults differ: " + "; ".join(differ) + ".", ""]
        _dataset_tables(q, {d: sources[d].summary for d in datasets}, datasets, lines)


def table_vs_kmeans(sources: dict[str, QualitySource]) -> list[Verdict]:
    """pendigits, the one labeled table (features scaled as the loader does by default): the default not below
    k-means."""
    s = sources.get("pendigits")
    if not s or not {"n2d", "kmeans_raw"} <= set(s.summary["methods"]):
        return []
    m = s.summary["methods"]
    a, b = ms(m["n2d"]["acc"])[0], ms(m["kmeans_raw"]["acc"])[0]
    n1, n2 = ms(m["n2d"]["nmi"])[0], ms(m["kmeans_raw"]["nmi"])[0]
    where = f"`{s.stem}.json`" + ("" if s.current else ", older defaults")
    return [
        (
            "pendigits (table): default not below k-means on the features as loaded",
            f"ACC {a:.3f} vs {b:.3f}, NMI {n1:.3f} vs {n2:.3f} ({where})",
            ("met" if a >= b and n1 >= n2 else "**not met**") + f" ({seeds_text(len(s.summary['runs']))})",
        )
    ]
