"""The "Explore and curate" part of docs/BENCHMARKS.md's speed section: search, filter and a row's neighbours in a
real Chromium (bench/measure/browser_timing.py, ``--steps search neighbours filter``, written to
``browser_explore.json``) and curation's heavy steps headless (bench/measure/curate.py: ``curate.json``), each
against issue 30's targets."""

from __future__ import annotations

from pathlib import Path

from bench.report.common import Verdict, load, load_average

SEARCH_GOALS = {100_000: 1.0, 1_000_000: 2.0}  # seconds for a filter or a search, in a real Chromium
NEIGHBOURS_GOAL = (1_000_000, 0.5)  # a row's neighbours at this many rows, in seconds
STEPS = (("search_s", "search"), ("filter_s", "filter"), ("neighbours_s", "neighbours"))


def section_explore(res: Path, lines: list[str], verdicts: list[Verdict]) -> None:
    """'### Explore and curate': the browser's table, then the headless one; a verdict per target."""
    lines += ["### Explore and curate", ""]
    _browser(load(res, "browser_explore"), lines, verdicts)
    _headless(load(res, "curate"), lines, verdicts)


def _met(value: float, goal: float) -> str:
    return "met" if value <= goal else "**not met**"


def _browser(b: dict | None, lines: list[str], verdicts: list[Verdict]) -> None:
    if not b:
        lines += [
            "Search, filter and neighbours in a browser: not measured yet "
            "(`python -m bench.measure.browser_timing --steps search neighbours filter "
            "--out bench/results/browser_explore.json`).",
            "",
        ]
        return
    load_text = load_average(b.get("machine", {}))
    for r in b["results"]:
        n = r["points"]
        goal = SEARCH_GOALS.get(n)
        for key, name in STEPS[:2]:
            if goal is not None and key in r:
                verdicts.append(
                    (
                        f"Chromium: a {name} applied in <= {goal:g} s at {n:,} points",
                        f"{r[key]['median']} s, server {r[key]['server_median']} s (load {load_text})",
                        _met(r[key]["median"], goal),
                    )
                )
        if n == NEIGHBOURS_GOAL[0] and "neighbours_s" in r:
            verdicts.append(
                (
                    f"Chromium: a row's neighbours in <= {NEIGHBOURS_GOAL[1]:g} s at {n:,} rows",
                    f"{r['neighbours_s']['median']} s, server {r['neighbours_s']['server_median']} s "
                    f"(load {load_text})",
                    _met(r["neighbours_s"]["median"], NEIGHBOURS_GOAL[1]),
                )
            )
    lines += [
        f"`python -m bench.measure.browser_timing --steps search neighbours filter` ({b['what']}; {b['repeats']} "
        f"repeats; load average at the start {load_text}: on a shared machine these are pessimistic). Each cell: "
        "the median in the browser (all the repeats) / the server's share.",
        "",
        "| points | markers drawn | search (s) | filter (s) | a row's neighbours (s) |",
        "|---|---|---|---|---|",
    ]
    for r in b["results"]:
        cells = [
            f"{r[key]['median']} ({', '.join(map(str, r[key]['all']))}) / {r[key]['server_median']}"
            if key in r
            else "-"
            for key, _ in STEPS
        ]
        drawn = f"{min(r.get('display_cap', 0), r['points']):,}" + (" + density" if r.get("density_image") else "")
        lines.append(f"| {r['points']:,} | {drawn} | {' | '.join(cells)} |")
    lines += [
        "",
        "Every change of the map (a search's hits, a filter, a row's neighbours drawn on it) is a new chart in "
        "Streamlit 1.67, which names a chart with selections by a hash of its figure: the browser draws the map "
        'from scratch, new WebGL contexts included. docs/MAP.md ("Every change of the map is a new chart") has '
        "the measurements, what was tried and what would reach 0.5 s.",
        "",
    ]


def _headless(c: dict | None, lines: list[str], verdicts: list[Verdict]) -> None:
    if not c:
        lines += ["Near-duplicates and a recluster: not measured yet (`python -m bench.measure.curate`).", ""]
        return
    d, r = c["duplicates"], c["recluster"]
    load_text = " -> ".join(
        ", ".join(f"{x:.1f}" for x in c.get(f"load_average_at_{when}", [])) for when in ("start", "end")
    )
    verdicts += [
        (
            f"near-duplicates of {d['rows']:,} rows in <= {d['goal_s']:g} s",
            f"{d['seconds']['median']} s (load {load_text})",
            _met(d["seconds"]["median"], d["goal_s"]),
        ),
        (
            f"a recluster of a {r['rows']:,}-row cluster in <= {r['goal_s']:g} s",
            f"{r['seconds']['median']} s (load {load_text})",
            _met(r["seconds"]["median"], r["goal_s"]),
        ),
    ]
    m = c.get("merge_and_split")
    if m:
        verdicts.append(
            (
                f"{m['table']}: two planted segments merged and split again give back the planted partition "
                f"(ARI >= {m['goal_ari']:g}), undo restores the run",
                f"ARI {m['ari_after_split']} (the run {m['ari_run']}); undo exact: "
                f"{'yes' if m['undo_restores_exactly'] else 'no'}",
                "met" if m["ari_after_split"] >= m["goal_ari"] and m["undo_restores_exactly"] else "**not met**",
            )
        )
    lines += [
        f"`python -m bench.measure.curate` ({c['what']}; {c['repeats']} repeats; load average from the start to "
        f"the end {load_text} on {c.get('machine', {}).get('cores')} cores: pessimistic).",
        "",
        "| step | rows | seconds (median; all) | what it found |",
        "|---|---|---|---|",
        f"| near-duplicates ({d['dims']} dimensions, default threshold) | {d['rows']:,} | {d['seconds']['median']}; "
        f"{', '.join(map(str, d['seconds']['all']))} | {d['pairs_found']:,} pairs; "
        f"{d['planted_found']:.0%} of the {d['planted_pairs']:,} planted |",
        f"| split one cluster ({r['method']}, k by stability) | {r['rows']:,} | {r['seconds']['median']}; "
        f"{', '.join(map(str, r['seconds']['all']))} | k {r['k_by_stability']}, ARI "
        f"{r['ari_with_planted']} with the 3 planted sub-groups |",
        "",
    ]
    if m:
        lines += [
            f"On the planted `{m['table']}` table ({m['rows']:,} rows, {m['segments']} segments; k-means with k "
            f"{m['segments']}, ARI {m['ari_run']}): clusters {m['merged'][0]} and {m['merged'][1]} (segments "
            f"{' and '.join(m['merged_segments'])}, {m['merged_rows']:,} rows) merged: ARI {m['ari_after_merge']}; "
            f"split again (k {m['split_k_by_stability']} by stability): ARI {m['ari_after_split']}; two undos give "
            f"back the run's labels {'exactly' if m['undo_restores_exactly'] else '**not** exactly'}.",
            "",
        ]
