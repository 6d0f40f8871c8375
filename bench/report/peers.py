"""The side-by-side section of docs/BENCHMARKS.md: the product's default against ClustPy's DEC, IDEC
and N2D, from bench/measure/peers.py's results (bench/results/peers.json, peers_gpu.json)."""

from __future__ import annotations

import numpy as np

from bench.report.common import Verdict, bf16_text, machine_text, ms
from bench.suites.labeled_sets import PEER_DATASETS


def summarize(results: dict) -> dict:
    """{dataset: {method: {"acc": (mean, std), ..., "seconds": median, "peak_mib": max, "seeds": n}}}."""
    by: dict = {}
    for cell in results.get("cells", {}).values():
        for method, r in cell["methods"].items():
            label = "explorer default" if cell["side"] == "ours" else f"ClustPy {method.upper()}"
            run = (cell.get("machine") or {}).get("date")  # the bench/measure/peers.py run that measured the cell
            by.setdefault(cell["dataset"], {}).setdefault(label, []).append({**r, "seed": cell["seed"], "run": run})
    out: dict = {}
    for ds, methods in by.items():
        out[ds] = {}
        for label, rows in methods.items():
            out[ds][label] = {m: ms([r[m] for r in rows]) for m in ("acc", "nmi", "ari")}
            out[ds][label]["seconds"] = float(np.median([r["seconds"] for r in rows]))
            out[ds][label]["peak_mib"] = float(max(r["peak_mib"] for r in rows))
            out[ds][label]["seeds"] = sorted(r["seed"] for r in rows)
            out[ds][label]["per_seed_seconds"] = {r["seed"]: r["seconds"] for r in rows}
            out[ds][label]["per_seed_run"] = {r["seed"]: r["run"] for r in rows}
    return out


# the targets for the default of issue 16 (the strongest published label-free results; higher than
# report_quality.TARGETS and the side-by-side issue's 0.96 / 0.91)
TARGETS = {"mnist_test": {"acc": 0.975, "nmi": 0.935}, "usps": {"acc": 0.98, "nmi": 0.95}, "pendigits": {"nmi": 0.88}}


def _epochs_text(settings: dict) -> str:
    """How long each side pretrained, as the run's settings say (older runs: one number for both)."""
    if settings.get("epochs") is not None:
        return f"{settings['epochs']} epochs on both sides"
    from explorer.pipeline.defaults import IMAGE_EXAMPLES

    return (
        f"the product as its default plans (images: {IMAGE_EXAMPLES:,} examples in all, as many epochs as that makes "
        f"of the training rows: the cells' configs record them), ClustPy {settings.get('peer_epochs', '?')} epochs"
    )


def section_peers(results: dict | None, lines: list[str], verdicts: list[Verdict]) -> None:
    """The side-by-side table and the targets of issue 6, appended to ``lines`` / ``verdicts``."""
    if not results or not results.get("cells"):
        return
    summ = summarize(results)
    s = results.get("settings", {})
    where = "on the GPU" if s.get("device", "cpu") != "cpu" else "on the CPU"
    mach = results.get("machine", {})
    lines += [
        f"## Side by side with ClustPy, {where}",
        "",
        f"`python -m bench.measure.peers` (ClustPy {_clustpy_version(results)} in its own environment, see the "
        "script). "
        f"Same input matrix for both sides. Pretraining of the 784/256/16-500-500-2000-10 autoencoder where a "
        f"method trains one: {_epochs_text(s)} (the product's default trains none for "
        "tables of at most 32 columns). ClustPy with its defaults otherwise (batch 256, Adam 1e-3); its N2D with "
        "UMAP (k components, 10 neighbours, min_dist 0) as in the issue; DEC and IDEC with "
        f"{s.get('clustering_epochs')} clustering epochs. ClustPy's three methods share one pretrained autoencoder per "
        "seed (each refines its own copy) and each method's time is that pretraining plus its own stage. The product's "
        "time is its whole default run: training, clustering, the 2-D map and the scores. Each side runs in its own "
        f"fresh process, one at a time, {where} (numba's one-off compile of UMAP included on both sides). "
        "Mean ± std over seeds; time is the median over seeds; memory is the largest peak resident set (host memory). "
        f"Machine (of the latest `bench/measure/peers.py` run; cells kept from earlier runs record their own): "
        f"{machine_text(mach)}, native bf16 {bf16_text(mach, on_gpu=where == 'on the GPU')}, torch "
        f"{mach.get('torch', '?')} for the product; measured {mach.get('date', '?')}.",
        "",
        "| dataset | method | ACC | NMI | ARI | wall s | time / ClustPy N2D | peak MiB | seeds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ds in [d for d in PEER_DATASETS if d in summ] + [d for d in summ if d not in PEER_DATASETS]:
        rows = summ[ds]
        ref = rows.get("ClustPy N2D")
        order = ["explorer default"] + [f"ClustPy {m.upper()}" for m in ("n2d", "idec", "dec")]
        for label in [o for o in order if o in rows]:
            r = rows[label]
            ratio = _ratio(r, ref)
            lines.append(
                f"| {ds} | {'**' + label + '**' if label == 'explorer default' else label} | "
                + " | ".join(
                    f"{r[m][0]:.3f} ± {r[m][1]:.3f}" if len(r["seeds"]) > 1 else f"{r[m][0]:.3f}"
                    for m in ("acc", "nmi", "ari")
                )
                + f" | {r['seconds']:.0f} | {ratio if ratio is not None else '–'}"
                + f" | {r['peak_mib']:.0f} | {len(r['seeds'])} |"
            )
        ours = rows.get("explorer default")
        peers = {k: v for k, v in rows.items() if k.startswith("ClustPy")}
        if ours and peers:
            for m in ("acc", "nmi"):
                best_label, best = max(peers.items(), key=lambda kv: kv[1][m][0])
                gap = ours[m][0] - best[m][0]
                verdicts.append(
                    (
                        f"{ds}: ahead of the best ClustPy method in {m.upper()}",
                        f"{ours[m][0]:.3f} vs {best[m][0]:.3f} ({best_label}), {gap:+.3f}",
                        "met" if gap > 0 else "**not met**",
                    )
                )
            ratio = _ratio(ours, ref)
            if ratio is not None:
                how = (
                    "side by side"
                    if _side_by_side(ours, ref)
                    else "**not side by side**: ClustPy's cells from another run"
                )
                verdicts.append(
                    (
                        f"{ds}: time of the default <= ClustPy N2D",
                        f"{ratio} (median of per-seed ratios; {how})",
                        "met" if float(ratio.rstrip("×")) <= 1.0 else "**not met**",
                    )
                )
            for m, bar in TARGETS.get(ds, {}).items():
                short = "" if ours[m][0] >= bar else f", short by {bar - ours[m][0]:.3f}"
                verdicts.append(
                    (
                        f"{ds}: default {m.upper()} >= {bar}",
                        f"{ours[m][0]:.3f} ({len(ours['seeds'])} seeds{short})",
                        "met" if ours[m][0] >= bar else "**not met**",
                    )
                )
            verdicts.append(
                (
                    f"{ds}: default std of ACC over seeds <= 0.01",
                    f"{ours['acc'][1]:.3f}",
                    "met" if ours["acc"][1] <= 0.01 else "**not met**",
                )
            )
    missing = [d for d in PEER_DATASETS if d not in summ]
    if missing:
        lines += ["", f"Not measured in this run: {', '.join(missing)}."]
    lines.append("")


def _ratio(r: dict, ref: dict | None) -> str | None:
    if not ref:
        return None
    seeds = [s for s in r["per_seed_seconds"] if s in ref["per_seed_seconds"]]
    if not seeds:
        return None
    return f"{np.median([r['per_seed_seconds'][s] / ref['per_seed_seconds'][s] for s in seeds]):.2f}×"


def _side_by_side(r: dict, ref: dict) -> bool:
    """Whether each seed's two cells came from one bench/measure/peers.py run (one machine, one load), as a time ratio
    needs; ClustPy's cells written before the cells recorded their run count as another run."""
    seeds = [s for s in r["per_seed_run"] if s in ref["per_seed_run"]]
    return bool(seeds) and all(
        r["per_seed_run"][s] is not None and r["per_seed_run"][s] == ref["per_seed_run"][s] for s in seeds
    )


def _clustpy_version(results: dict) -> str:
    env = results.get("clustpy_env") or {}
    return f"{env['clustpy']} with torch {env.get('torch')}" if env.get("clustpy") else "(version not recorded)"
