"""The tables part of docs/BENCHMARKS.md: bench/measure/quality_tables.py's runs (bench/results/quality_tables.json)
on the table suite of bench/suites/table_suite.py -- the default pipeline against k-means on plain scikit-learn
features and against the old manifold default (n2d), the automatic k, the map's segments, the time
of customers end to end -- and the targets judged on them.
"""

from __future__ import annotations

import math

import numpy as np

from bench.report.common import Verdict, load_average, machine_text, ms, seeds_text

STEM = "quality_tables"
COMMAND = "python -m bench.measure.quality_tables"
NMI_SLACK = 0.01  # the default's NMI may be this much below k-means'
ARI_BAR = 0.95  # planted tables
K_SHARE = 2 / 3  # the planted k found in at least this share of the seeds (2 of 3)
SHARE_BAR = 0.9  # worst segment share of the map, planted tables
E2E_TABLE, E2E_BAR = "customers", 60.0  # seconds, load + default run


def tables_cmd(doc: dict) -> str:
    """The command line that (re)makes quality_tables.json as recorded."""
    from bench.suites.table_suite import PLANTED, SUITE

    parts = [COMMAND]
    if doc.get("quick"):
        parts.append("--quick")
        if list(doc["tables"]) != list(PLANTED):
            parts.append("--tables " + " ".join(doc["tables"]))
    else:
        if list(doc["tables"]) != list(SUITE):
            parts.append("--tables " + " ".join(doc["tables"]))
        if doc["seeds"] != [0, 1, 2]:
            parts.append("--seeds " + " ".join(map(str, doc["seeds"])))
    if doc.get("n2d_seeds") is not None and doc["n2d_seeds"] != doc["seeds"]:
        parts.append("--n2d-seeds " + " ".join(map(str, doc["n2d_seeds"])))
    env = doc.get("machine", {}).get("bench_threads_env")
    return (f"BENCH_THREADS={env} " if env else "") + " ".join(parts)


def by_table(doc: dict) -> dict[str, list[dict]]:
    """{table: its runs (one per seed)}, in the order the run listed the tables."""
    out: dict[str, list[dict]] = {name: [] for name in doc.get("tables", [])}
    for r in doc.get("runs", []):
        out.setdefault(r["table"], []).append(r)
    return {name: runs for name, runs in out.items() if runs}


def lacking(doc: dict) -> list[str]:
    """'table seed(s) 1, 2' for each table lacking some of the run's seeds."""
    have = {(r["table"], r["seed"]) for r in doc.get("runs", [])}
    out = []
    for name in doc.get("tables", []):
        miss = [s for s in doc["seeds"] if (name, s) not in have]
        if miss:
            out.append(f"{name} seed(s) {', '.join(map(str, miss))}")
    return out


def _mean(runs: list[dict], part: str, metric: str) -> float | None:
    vals = [r[part][metric] for r in runs if part in r]
    return ms(vals)[0] if vals else None


def _n(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _k_needed(n_seeds: int) -> int:
    return max(1, math.ceil(K_SHARE * n_seeds - 1e-9))


def _quick_note(doc: dict) -> str:
    return f", **--quick: {doc['planted_rows']:,} rows, a smoke test**" if doc.get("quick") else ""


def _code_text(code: dict | None) -> str:
    """Which commit of the library was measured."""
    if not code or not code.get("commit"):
        return "The commit measured is not recorded."
    dirty = code.get("explorer_dirty")
    return (
        f"Library at commit `{code['commit'][:10]}`"
        + (
            " with uncommitted changes in `explorer/`"
            if dirty
            else " (`explorer/` unchanged from it)"
            if dirty is False
            else ""
        )
        + " when the run started."
    )


def section_tables(doc: dict | None, lines: list[str]) -> None:
    """'## Tables', appended to ``lines``; without results, a line saying what was not measured."""
    lines += ["## Tables", ""]
    if not doc or not doc.get("runs"):
        lines += [
            "Not measured yet: the table suite (penguins, tips, gapminder, wine and the planted customers tables): "
            f"run `{COMMAND}` (writes `bench/results/{STEM}.json`).",
            "",
        ]
        return
    runs = by_table(doc)
    m = doc["machine"]
    n2d_seeds = doc.get("n2d_seeds", doc["seeds"])
    lines += [
        "`bench/measure/quality_tables.py` on the table suite of `bench/suites/table_suite.py`: real tables with "
        "categories and missing values "
        "(penguins, tips, gapminder, wine) and generated customer tables with planted segments, each loaded through "
        "the "
        "product's own loader from a Parquet file (the labels are used only to score). The default is "
        '`explorer.pipeline.default_config(ds)` + `run_pipeline`: for these tables the "mixture" clustering (k-means '
        "refined by a mixture model for numbers and categories, with a guard that keeps k-means' partition when the "
        "mixture degenerates: an emptied cluster or a component collapsed onto one value) "
        "and a UMAP map. The baseline is scikit-learn alone: `KMeans(k, n_init=10)` on median-imputed, standardized "
        "numbers "
        "and one-hot categories (`table_suite.plain_features`). "
        'The old manifold default is `method="n2d"` (UMAP -> GMM) at '
        "the same k"
        + (
            ""
            if n2d_seeds == doc["seeds"]
            else f", **measured on seed(s) {', '.join(map(str, n2d_seeds))} only** (to keep the run short)"
        )
        + ". Mean over the seeds; k = the number of classes unless said.",
        "",
        f"Command: `{tables_cmd(doc)}`. Measured {m['date']} on {machine_text(m)}"
        + (f" (load average at the start {load_average(m)})" if m.get("load_average_at_start") else "")
        + f"; the whole run took {doc.get('seconds', 0) / 60:.0f} min{_quick_note(doc)}. {_code_text(doc.get('code'))}",
        "",
    ]
    miss = lacking(doc)
    if miss:
        lines += [
            f"**Partial: not recorded when this document was generated: {'; '.join(miss)}** (the run writes its file "
            "after each (seed, table), seeds outermost).",
            "",
        ]

    lines += [
        "### k given: the default against k-means on plain features",
        "",
        "| table | rows x columns | k | seeds | default NMI | default ARI | k-means NMI | k-means ARI | old default "
        "(n2d) NMI "
        "| n2d ARI | mixture kept | default s (median) | default NMI >= k-means - 0.01 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rs in runs.items():
        r0 = rs[0]
        dn, da = _mean(rs, "default", "nmi"), _mean(rs, "default", "ari")
        kn, ka = _mean(rs, "kmeans", "nmi"), _mean(rs, "kmeans", "ari")
        kept = sum(1 for r in rs if r["default"].get("kept") == "mixture")
        ok = dn >= kn - NMI_SLACK
        lines.append(
            f"| {name}{' (planted)' if r0['planted'] else ''} | {r0['rows']:,} x {r0['columns']} | {r0['k']} | "
            f"{len(rs)} | "
            f"**{dn:.3f}** | **{da:.3f}** | {kn:.3f} | {ka:.3f} | {_n(_mean(rs, 'n2d', 'nmi'))} | "
            f"{_n(_mean(rs, 'n2d', 'ari'))} | "
            f"{kept}/{len(rs)} | {np.median([r['default']['seconds'] for r in rs]):.1f} | "
            + ("yes" if ok else f"**no** ({dn - kn:+.3f})")
            + " |"
        )
    left = {name: sorted({c for r in rs for c in r["default"].get("left_out") or []}) for name, rs in runs.items()}
    left = {name: cols for name, cols in left.items() if cols}
    if left:
        lines += [
            "",
            "Left out of the clustering and the map by the default (columns unrelated to every other one): "
            + "; ".join(f"{name}: {', '.join(f'`{c}`' for c in cols)}" for name, cols in left.items())
            + ".",
        ]
    elif any("left_out" in r["default"] for rs in runs.values() for r in rs):
        lines += ["", "The default left no column out of the clustering."]
    lines += [
        "",
        "Columns: of the file, with the id and the label column (customers: 14 features, the id, the segment); "
        "the product's features add the one-hot levels (and the loader's derived columns). \"mixture kept\": seeds "
        "where the guard kept the mixture's partition "
        "rather than k-means'. Seconds: the sum of the run's timings (clustering, the UMAP map, scoring).",
        "",
    ]

    lines += [
        "### k chosen automatically",
        "",
        "`default_config(ds)` with no k: the stability sweep picks k (the same run makes the map below).",
        "",
        "| table | true k | k found per seed | true k found | NMI at that k | the sweep's reason (first seed) |",
        "|---|---|---|---|---|---|",
    ]
    for name, rs in runs.items():
        found = sum(1 for r in rs if r["auto"]["k"] == r["k"])
        lines.append(
            f"| {name} | {rs[0]['k']} | {', '.join(str(r['auto']['k']) for r in rs)} | {found}/{len(rs)} | "
            f"{_mean(rs, 'auto', 'nmi'):.3f} | {(rs[0]['auto'].get('reason') or '-').replace('|', '/')} |"
        )
    lines.append("")

    mp = doc.get("map", {})
    lines += [
        "### The map: do segments show as regions?",
        "",
        f"On the 2-D map of the automatic run: per class, the share of its points in its largest connected region "
        f"(DBSCAN on that class's points, eps = {mp.get('eps_factor', 3):g} x the median distance to the "
        f"{mp.get('neighbors', 10)}th nearest neighbour over the whole map, min_samples = 1); the worst class's share "
        f'is the "worst segment share" (1 = every class is one region). {mp.get("neighbors", 10)}-NN purity: the share '
        "of each point's nearest map neighbours in its own class.",
        "",
        "| table | worst segment share (mean) | per seed (worst class) | 10-NN purity (mean) |",
        "|---|---|---|---|",
    ]
    for name, rs in runs.items():
        lines.append(
            f"| {name} | {ms([r['map']['worst_share'] for r in rs])[0]:.3f} | "
            + ", ".join(f"{r['map']['worst_share']:.3f} ({r['map']['worst_class']})" for r in rs)
            + f" | {ms([r['map']['purity10'] for r in rs])[0]:.3f} |"
        )
    lines.append("")

    e = doc.get("end_to_end")
    lines += [f"### {E2E_TABLE} end to end", ""]
    if not e:
        lines += [f"Not measured: the run did not include {E2E_TABLE} (`{COMMAND} --tables {E2E_TABLE}`).", ""]
    else:
        cold = e.get("cold")
        lines += [
            f"{E2E_TABLE} ({e['rows']:,} x {e['columns']}), the automatic default run from the file on (the loader, "
            "the k sweep, the mixture, the UMAP map, scoring): "
            + ", ".join(f"{s:.1f} s" for s in e["warm_s"])
            + f" (seeds {', '.join(map(str, e['seeds']))}; median "
            f"{np.median(e['warm_s']):.1f} s) inside the benchmark's process, where UMAP is already compiled"
            + (
                f"; {_cold_text(cold)} in a fresh Python process (imports and UMAP's compilation included, seed 0)"
                if cold
                else ""
            )
            + f"{_quick_note(doc)}.",
            "",
        ]
        earlier = e.get("cold_earlier") or []
        if earlier:
            lines += [
                "Earlier fresh-process measurements, replaced by the one above (`--cold-only`): "
                + "; ".join(_cold_text(c) for c in earlier)
                + ".",
                "",
            ]


def _cold_text(cold: dict) -> str:
    """'50.1 s (load average 0.4, ...; 2026-...)' of one fresh-process run."""
    when = [
        x
        for x in (
            f"load average at its start {', '.join(f'{v:.1f}' for v in cold['load_average'])}"
            if cold.get("load_average")
            else "",
            cold.get("measured", ""),
        )
        if x
    ]
    failed = f", **failed with exit {cold['rc']}**" if cold.get("rc") else ""
    return f"{cold['seconds']:.1f} s" + (f" ({'; '.join(when)}{failed})" if when or failed else "")


def table_verdicts(doc: dict | None) -> list[Verdict]:
    """The targets on tables, one row each (a table failing a target is named)."""
    names = [
        f"Tables: default NMI >= k-means NMI - {NMI_SLACK} on every table",
        f"Planted tables: default ARI >= {ARI_BAR} on each",
        "Planted tables: automatic k = the planted k in >= 2 of 3 seeds",
        f"Planted tables: worst segment share of the map >= {SHARE_BAR}",
        f"{E2E_TABLE} end to end (the file loaded, the automatic default run) <= {E2E_BAR:.0f} s",
    ]
    if not doc or not doc.get("runs"):
        return [(n, f"not measured (`{COMMAND}`)", "-") for n in names]
    runs = by_table(doc)
    planted = {n: rs for n, rs in runs.items() if rs[0]["planted"]}
    tag = f"; `{STEM}.json`" + (", --quick" if doc.get("quick") else "")
    out: list[Verdict] = []

    def row(name: str, cells: list[str], failed: list[str], n_seeds: set[int], what: str = "not measured") -> Verdict:
        if not cells:
            return (name, what, "-")
        seeds = seeds_text(next(iter(n_seeds))) if len(n_seeds) == 1 else "/".join(map(str, sorted(n_seeds))) + " seeds"
        return (
            name,
            "; ".join(cells) + f" ({seeds}{tag})",
            "met" if not failed else f"**not met** ({', '.join(failed)})",
        )

    cells, failed = [], []
    for n, rs in runs.items():
        dn, kn = _mean(rs, "default", "nmi"), _mean(rs, "kmeans", "nmi")
        cells.append(f"{n} {dn:.3f} vs {kn:.3f}")
        if dn < kn - NMI_SLACK:
            failed.append(f"{n} {dn - kn:+.3f}")
    out.append(row(names[0], cells, failed, {len(rs) for rs in runs.values()}))

    cells, failed = [], []
    for n, rs in planted.items():
        a = _mean(rs, "default", "ari")
        cells.append(f"{n} {a:.3f}")
        if a < ARI_BAR:
            failed.append(n)
    out.append(row(names[1], cells, failed, {len(rs) for rs in planted.values()}, "no planted table measured"))

    cells, failed = [], []
    for n, rs in planted.items():
        found = sum(1 for r in rs if r["auto"]["k"] == r["k"])
        cells.append(f"{n} {found}/{len(rs)} (k {', '.join(str(r['auto']['k']) for r in rs)}; true {rs[0]['k']})")
        if found < _k_needed(len(rs)):
            failed.append(n)
    out.append(row(names[2], cells, failed, {len(rs) for rs in planted.values()}, "no planted table measured"))

    cells, failed = [], []
    for n, rs in planted.items():
        s = ms([r["map"]["worst_share"] for r in rs])[0]
        cells.append(f"{n} {s:.3f} (lowest seed {min(r['map']['worst_share'] for r in rs):.3f})")
        if s < SHARE_BAR:
            failed.append(n)
    out.append(row(names[3], cells, failed, {len(rs) for rs in planted.values()}, "no planted table measured"))

    e = doc.get("end_to_end")
    if not e:
        out.append((names[4], f"not measured (`{COMMAND} --tables {E2E_TABLE}`)", "-"))
    else:
        med = float(np.median(e["warm_s"]))
        cold = e.get("cold")
        measured = (
            f"{e['rows']:,} x {e['columns']}: median {med:.1f} s over {seeds_text(len(e['warm_s']))} (UMAP compiled)"
            + (f"; fresh process {cold['seconds']:.1f} s" if cold and not cold.get("rc") else "")
            + f" (`{STEM}.json`"
            + (", --quick" if doc.get("quick") else "")
            + ")"
        )
        worst = max([med] + ([cold["seconds"]] if cold and not cold.get("rc") else []))
        ok = med <= E2E_BAR
        note = "" if worst <= E2E_BAR else f"the fresh process takes {worst - E2E_BAR:.1f} s more"
        out.append(
            (
                names[4],
                measured,
                ("met" + (f" ({note})" if note else "")) if ok else f"**not met** (over by {med - E2E_BAR:.1f} s)",
            )
        )
    return out


def missing_items(doc: dict | None) -> list[str]:
    """For 'What is missing': the table suite not run, seeds not recorded, the n2d comparison cut."""
    if not doc or not doc.get("runs"):
        return [f"tables: the table suite has not been run (`{COMMAND}`)"]
    items = []
    miss = lacking(doc)
    if miss:
        items.append(f"tables, `{STEM}.json`: not recorded when this document was generated: {'; '.join(miss)}")
    if doc.get("n2d_seeds") is not None and doc["n2d_seeds"] != doc["seeds"]:
        items.append(
            f"tables: the old n2d default was measured on seed(s) {', '.join(map(str, doc['n2d_seeds']))} only"
        )
    if doc.get("quick"):
        items.append(f"tables: only the --quick smoke run ({doc['planted_rows']:,}-row planted tables) is recorded")
    return items
