"""The shapes section of docs/BENCHMARKS.md (issue 28), from bench/measure/shapes.py's results: the battery of
shapes, real sets and the table suite with k given (shapes.json), the default with k left to it on pure-noise
tables (shapes_noise.json) and on real tables (shapes_real.json); and the targets judged on them."""

from __future__ import annotations

from typing import Any

from bench.report.common import Verdict, load_average, machine_text, num, verdict

COMMAND = "python -m bench.measure.shapes"
METHODS = {
    "before": "the default without the shape check",
    "default": "the default",
    "kmeans": "k-means",
    "gmm": "full GMM",
    "genie": "Genie",
}
BELOW_KMEANS = 0.05  # no set more than this ARI below k-means
NO_GROUPS_SHARE = 0.9  # pure-noise tables: "no groups" in at least this share
SPEED_ROWS, SPEED_COLUMNS, SPEED_SECONDS = 20_000, 16, 60.0  # the automatic default on this table within this


def _measured(m: dict[str, Any]) -> str:
    return (
        f"on {machine_text(m)}, measured {m['date']} (load average at start {load_average(m)}: the machine was "
        "shared, so seconds are pessimistic; the scores are not)"
    )


def shapes_verdicts(battery: dict | None, noise: dict | None) -> list[Verdict]:
    """The targets of issue 28 on the battery (k given) and the pure-noise tables (k left to the default)."""
    out: list[Verdict] = []
    if battery and battery.get("means"):
        means = battery["means"]
        a = means["all"]
        out.append(
            (
                "shapes battery (k given): the default's mean ARI >= Genie's",
                f"{a['default']:.3f} vs {a['genie']:.3f} ({len(battery['sets'])} sets)",
                verdict(a["default"], a["genie"]),
            )
        )
        if "real" in means:
            r = means["real"]
            out.append(
                (
                    "shapes battery, real sets: the default's mean ARI >= the default without the shape check",
                    f"{r['default']:.3f} vs {r['before']:.3f}",
                    verdict(r["default"], r["before"]),
                )
            )
        worst = min(battery["sets"], key=lambda s: s["ari"]["default"] - s["ari"]["kmeans"])
        gap = worst["ari"]["default"] - worst["ari"]["kmeans"]
        out.append(
            (
                f"shapes battery: no set more than {BELOW_KMEANS} ARI below k-means",
                f"worst {worst['set']}: {gap:+.3f}",
                verdict(gap, -BELOW_KMEANS),
            )
        )
    if noise and noise.get("tables"):
        rows = noise["tables"]
        said = sum(r["no_groups"] for r in rows)
        out.append(
            (
                f'pure-noise tables: the default says "no groups" in >= {NO_GROUPS_SHARE:.0%}',
                f"{said} of {len(rows)}",
                verdict(said / len(rows), NO_GROUPS_SHARE),
            )
        )
        big = [r for r in rows if r["rows"] == SPEED_ROWS and r["numeric"] == SPEED_COLUMNS and not r["categories"]]
        for r in big:
            out.append(
                (
                    f"automatic default on {SPEED_ROWS:,} x {SPEED_COLUMNS} <= {SPEED_SECONDS:.0f} s (2-core CPU)",
                    f"{r['seconds']:.0f} s ({r['kind']} noise, {r.get('path', 'stability sweep only')}; load average "
                    f"{load_average(noise['machine'])})",
                    verdict(r["seconds"], SPEED_SECONDS, higher_is_better=False),
                )
            )
    return out


def section_shapes(battery: dict | None, noise: dict | None, real: dict | None, lines: list[str]) -> None:
    """'## Tables with shapes', appended to ``lines`` (a line saying how to measure what is missing)."""
    lines += ["## Tables with shapes, and no groups", ""]
    _battery(battery, lines)
    _noise(noise, lines)
    _real(real, lines)


def _battery(doc: dict | None, lines: list[str]) -> None:
    if not doc or not doc.get("sets"):
        lines += [f"Not measured yet: `{COMMAND}` writes `bench/results/shapes.json`.", ""]
        return
    lines += [
        f"`{COMMAND}` {_measured(doc['machine'])}. Each set is read by the product's loader from a Parquet file, k "
        "given (the number of classes), seed "
        f"{doc['seed']}; ARI against the classes. Shapes are made with scikit-learn's makers and numpy; real sets are "
        "scikit-learn's bundled copies; the suite is bench/suites/table_suite.py (planted customers at "
        f"{doc['planted_rows']:,} rows); correlated: many columns that are noisy copies of a few latent factors, "
        "with the groups planted in the factors. The default keeps Genie's clusters where they cut under "
        f"{doc['shape_cut_factor']} times the mixture's share of 10-nearest-neighbour links.",
        "",
        "| set | group | rows | features | k | " + " | ".join(METHODS.values()) + " | kept |",
        "|---|---|---|---|---|" + "---|" * len(METHODS) + "---|",
    ]
    for s in doc["sets"]:
        lines.append(
            f"| {s['set']} | {s['group']} | {s['rows']:,} | {s['features']} | {s['k']} | "
            + " | ".join(num(s["ari"][m]) for m in METHODS)
            + f" | {s['default_method']} |"
        )
    for group, m in doc.get("means", {}).items():
        lines.append(f"| **mean, {group}** | | | | | " + " | ".join(f"**{num(m[k])}**" for k in METHODS) + " | |")
    lines.append("")


def _noise(doc: dict | None, lines: list[str]) -> None:
    if not doc or not doc.get("tables"):
        lines += [f"Not measured yet: `{COMMAND} --noise` writes `bench/results/shapes_noise.json`.", ""]
        return
    rows = doc["tables"]
    lines += [
        f"Pure noise, k left to the default (`{COMMAND} --noise`, {_measured(doc['machine'])}): uniform numbers, or "
        "Gaussian ones mixed by a random matrix; with categories, columns of 5 equally likely levels and a uniform "
        "integer 0-9. Numbers on one scale take N2D's path (its silhouette in the UMAP picks a k, judged on the "
        "rows), the others the mixture's stability sweep. "
        f'**"No groups" on {doc["no_groups"]} of {doc["of"]}.**',
        "",
        "| noise | rows | numbers | categories | scaling | path | k | runner-up | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['rows']:,} | {r['numeric']} | {r['categories']} | {r.get('scaling', '-')} | "
            f"{r.get('path', '-')} | {r['k']} | {r.get('runner_up') or '-'} | {r['seconds']:.0f} |"
        )
    lines.append("")


def _real(doc: dict | None, lines: list[str]) -> None:
    if not doc or not doc.get("tables"):
        lines += [f"Not measured yet: `{COMMAND} --real` writes `bench/results/shapes_real.json`.", ""]
        return
    lines += [
        f"Real tables, k left to the default (`{COMMAND} --real`, {_measured(doc['machine'])}); agreement (NMI / "
        "ARI) of its clusters with the label and other groupings of the table, and with k given (the label's "
        "classes) the default's ARI beside k-means' on the loader's features.",
        "",
        "| table | rows | features | path | k | agreement NMI / ARI | k given: default / k-means ARI | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["tables"]:
        agree = "; ".join(f"{name} {a['nmi']:.3f} / {a['ari']:.3f}" for name, a in r["agreement"].items())
        g = r["k_given"]
        lines.append(
            f"| {r['table']} | {r['rows']:,} | {r['features']} | {r['path']} | {r['k']} | {agree} | "
            f"k = {g['k']}: {g['default_ari']:.3f} / {g['kmeans_ari']:.3f} | {r['seconds']:.0f} |"
        )
    lines.append("")
    for r in doc["tables"]:
        lines += [f"{r['table']}: {r['reason']}", ""]
