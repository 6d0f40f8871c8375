"""The explanations part of docs/BENCHMARKS.md: bench/measure/explain.py's results (bench/results/explain.json) --
planted columns recovered, noise kept out, stability of planted blobs, the surrogate rules' fidelity,
and the time to explain 10,000 rows x 50 columns -- and the targets judged on them.
"""

from __future__ import annotations

import numpy as np

from bench.report.common import Verdict, load_average, machine_text

COMMAND = "python -m bench.measure.explain"
RECALL_BAR = 0.9
JACCARD_BAR = 0.9
TIME_BAR = 30.0


def section_explain(doc: dict | None, lines: list[str]) -> None:
    lines += ["## Explaining clusters", ""]
    if not doc or not doc.get("planted"):
        lines += [f"Not measured yet: run `{COMMAND}` (writes `bench/results/explain.json`).", ""]
        return
    m = doc["machine"]
    lines += [
        "`bench/measure/explain.py`: what `explorer.explain.explain` says about clusters whose answer is known. "
        "Planted tables "
        "(`bench/suites/explain_tables.py`): 20,000 customer-like rows, 5 segments, each set apart from the rest in "
        "2-3 known "
        "columns (numbers moved by about three spreads, a category to one dominant level), five noise columns "
        "(numbers, "
        "an integer, categories), 3% missing in two columns; the default table pipeline with k given and with k "
        "chosen; "
        "each found cluster matched to a segment (Hungarian). Recall: the share of a segment's planted columns among "
        "its "
        f"cluster's top {doc.get('top', 3)} distinctions, averaged over the segments.",
        "",
        f"Measured {m['date']} on {machine_text(m)}"
        + (f" (load average at the start {load_average(m)})" if m.get("load_average_at_start") else "")
        + f"; the whole run took {doc.get('seconds', 0) / 60:.0f} min.",
        "",
        "| seed | k | found k | ARI | recall of planted columns in the top 3 | noise columns in any top 3 | rule "
        "fidelity | explain s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["planted"]:
        lines.append(
            f"| {r['seed']} | {'auto' if r['auto'] else 'given'} | {r['k']} | {r['ari']:.3f} | {r['recall']:.2f} | "
            f"{r['noise_in_top3']} | {r['fidelity']:.3f} | {r['explain_s']:.1f} |"
        )
    first = doc["planted"][0]
    lines += [
        "",
        "Seed 0, k given: each cluster's top 3 beside its planted columns:",
        "",
        "| cluster (name) | segment | planted | top 3 | stability (Jaccard) | rule |",
        "|---|---|---|---|---|---|",
    ]
    for c in first["clusters"]:
        jac = "-" if c["jaccard"] is None else f"{c['jaccard']:.2f}"
        lines.append(
            f"| {c['cluster']} ({c['name']}) | {c['segment']} | {', '.join(c['planted'])} | {', '.join(c['top'])} | "
            f"{jac} | {c['rule'] or '-'} |"
        )
    if doc.get("stability"):
        lines += [
            "",
            "Stability (`explorer.explain.resample`, 20 subsamples of 80%): two well-separated blobs and a pair "
            "of round blobs of spread 1 whose centres are the given distance apart (0: one blob forced into two "
            "clusters), clustered by k-means with k = 4; flagged = mean Jaccard below 0.85.",
            "",
            "| dimensions | pair's centres apart (spreads) | separated clusters' Jaccard | the pair's Jaccard | pair "
            "flagged | a separated one flagged |",
            "|---|---|---|---|---|---|",
        ]
        for s in doc["stability"]:
            lines.append(
                f"| {s['dim']} | {s['pair_offset_sd']:g} | {', '.join(f'{j:.2f}' for j in s['separated_jaccard'])} | "
                f"{', '.join(f'{j:.2f}' for j in s['pair_jaccard'])} | {'yes' if s['pair_flagged'] else 'no'} | "
                f"{'yes' if s['separated_flagged'] else 'no'} |"
            )
    if doc.get("mnist"):
        mn = doc["mnist"]
        lines += [
            "",
            f"MNIST-test's codes: the default autoencoder trained {mn['epochs']} epochs (not the default 150, to keep "
            f"the benchmark short), N2D with k = 10 (ACC {mn['acc']:.3f}, NMI {mn['nmi']:.3f}); a "
            f"depth-{mn['rule_depth']} "
            f"tree on the 10 latent codes agrees with the clusters on **{mn['fidelity']:.1%}** of the images. "
            f"{mn.get('note', '')} Explaining took {mn['explain_s']:.1f} s.",
        ]
    t = doc.get("timing")
    if t:
        parts = {k: np.median([p[k] for p in t["parts"]]) for k in t["parts"][0]}
        lines += [
            "",
            f"Time: profiles, names, rules and stability of {t['rows']:,} rows x {t['columns']} columns "
            f"({t['features']} features after encoding, clustered by {t['method']}): median **{t['median_s']:.1f} s** "
            f"of {len(t['seconds'])} ({', '.join(f'{s:.1f}' for s in t['seconds'])} s); of which "
            + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
            + ".",
        ]
    lines.append("")


def explain_verdicts(doc: dict | None) -> list[Verdict]:
    names = [
        f"Planted tables: planted columns in each cluster's top 3, recall >= {RECALL_BAR}",
        "Planted tables: no noise column in any cluster's top 3",
        "An overlapping pair is flagged unstable; separated clusters Jaccard >= 0.9",
        "Surrogate fidelity reported on MNIST-test codes and the planted tables",
        f"Profiles, names, stability and rules for 10,000 x 50 <= {TIME_BAR:.0f} s",
    ]
    if not doc or not doc.get("planted"):
        return [(n, f"not measured (`{COMMAND}`)", "-") for n in names]
    out: list[Verdict] = []
    planted = doc["planted"]
    low = [
        f"seed {r['seed']} {'auto' if r['auto'] else 'given'} {r['recall']:.2f}"
        for r in planted
        if r["recall"] < RECALL_BAR
    ]
    out.append(
        (
            names[0],
            ", ".join(f"{r['recall']:.2f}" for r in planted) + " (`explain.json`)",
            "met" if not low else f"**not met** ({'; '.join(low)})",
        )
    )
    noisy = [r for r in planted if r["noise_in_top3"]]
    out.append(
        (
            names[1],
            ", ".join(str(r["noise_in_top3"]) for r in planted) + " noise columns",
            "met" if not noisy else f"**not met** ({len(noisy)} runs)",
        )
    )
    st = doc.get("stability") or []
    pairs = [s for s in st if s["pair_offset_sd"] <= 0.5]
    ok_pairs = all(s["pair_flagged"] for s in pairs) and pairs
    sep = [j for s in st for j in s["separated_jaccard"]]
    out.append(
        (
            names[2],
            f"pairs flagged {sum(s['pair_flagged'] for s in pairs)} of {len(pairs)}; separated min {min(sep):.2f}"
            if sep
            else "not measured",
            "met" if ok_pairs and sep and min(sep) >= JACCARD_BAR else "**not met**",
        )
    )
    mn = doc.get("mnist")
    fid = ", ".join(f"{r['fidelity']:.3f}" for r in planted)
    out.append(
        (
            names[3],
            (f"MNIST-test {mn['fidelity']:.3f}; " if mn else "MNIST-test not measured; ") + f"planted {fid}",
            "met" if mn else "**not met** (MNIST-test missing)",
        )
    )
    t = doc.get("timing")
    out.append(
        (
            names[4],
            f"median {t['median_s']:.1f} s ({t['rows']:,} x {t['columns']})" if t else "not measured",
            "met" if t and t["median_s"] <= TIME_BAR else "**not met**",
        )
    )
    return out
