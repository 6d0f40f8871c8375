"""Render docs/BENCHMARKS.md (and its SVG charts) from the JSON results of bench/run_all.py.

    python bench/report.py [--results bench/results] [--doc docs/BENCHMARKS.md]

Every number in the document comes from the JSON files; a missing file becomes a line saying what
was not measured and the command that measures it. The document, top to bottom, and where each part
is written:

- today's defaults (the headline) and the quality targets: report_headline.py
- the commands: COMMANDS below
- quality (bench/quality.py, the NMI chart): report_quality.py
- tables (bench/quality_tables.py, the table suite of bench/tables.py): report_tables.py
- applying a run to new data (bench/apply.py): report_apply.py
- speed (bench/speed.py, bench/gpu.sh, bench/browser_timing.py): report_speed.py
- mixed precision (bench/precision.py): report_precision.py
- side by side with ClustPy (bench/peers.py): report_peers.py
- what is missing: report_missing.py
- older runs, measured with defaults that have changed since: report_quality.py

report_defaults.py decides whether a run measured today's defaults; report_common.py holds the rest
they share.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from report_apply import apply_verdicts, section_apply
from report_common import BENCH, Verdict, load
from report_headline import changes_of, collect, headline_verdicts, section_headline
from report_missing import section_missing
from report_peers import section_peers
from report_precision import section_precision
from report_quality import quality_sources, section_older, section_quality, table_vs_kmeans
from report_small import VARIANTS as SMALL_VARIANTS, section_small
from report_speed import section_speed
from report_explain import explain_verdicts, section_explain
from report_tables import section_tables, table_verdicts

COMMANDS = [
    ("python bench/run_all.py [--quick] [--only STEP...] [--dec-max-iter N]", "every step below in turn, one process at a time, then this document"),
    ("python bench/quality.py [--datasets ...] [--seeds 0 1 2] [--epochs E --epochs-above N] [--dec-max-iter N] [--tag T] [--merge]",
     "`bench/results/quality<T>.json` (the shipped defaults: `--dec-max-iter 100 --tag _defaults`)"),
    ("python bench/quality_tables.py [--tables ...] [--seeds 0 1 2] [--n2d-seeds ...] [--quick]",
     "`bench/results/quality_tables.json` (the table suite: the default against k-means on plain features)"),
    ("python bench/apply.py [--mnist-epochs 30] [--skip-mnist] [--quick]",
     "`bench/results/apply.json` (a run made on one half, applied to the other: ACC, placement, time)"),
    ("python bench/speed.py overhead", "`bench/results/overhead.json` (the product against `bench/reference_pipeline.py`)"),
    ("python bench/speed.py throughput [--device cuda]", "`bench/results/throughput.json`"),
    ("python bench/speed.py cli [--device cuda]", "`bench/results/cli.json`"),
    ("python bench/speed.py scaling [--sizes ...]", "`bench/results/scaling.json`"),
    ("bash bench/gpu.sh", "on a GPU machine: `bench/results/cli_gpu.json`, `throughput_gpu.json`"),
    ("python bench/peers.py", "`bench/results/peers.json` (needs ClustPy's own environment, see the script), then this file"),
    ("python bench/precision.py", "`bench/results/precision.json` (float32 against bf16 autocast)"),
    ("python bench/browser_timing.py", "`bench/results/browser.json` (the dashboard in headless Chromium)"),
    ("python bench/report.py", "this file and its SVG charts in `docs/`"),
]


def _commands() -> list[str]:
    return (["## How these numbers are made", "", "| command | what it writes |", "|---|---|"]
            + [f"| `{cmd}` | {what} |" for cmd, what in COMMANDS]
            + ["", "`BENCH_THREADS=1` before a command limits each process to one thread (used for some results here because "
               "other work shared the two cores; each section says where). The 2-core machine was shared with other work while "
               "measuring (sections give the load average where recorded), so absolute times are noisy; comparisons are made "
               "side by side in one process.", ""])


def render(results: Path, doc: Path) -> str:
    """Write ``doc`` (and its SVG charts beside it) from the JSON files in ``results``; returns the text."""
    doc_dir = doc.parent
    doc_dir.mkdir(parents=True, exist_ok=True)
    sources = quality_sources(results)
    evidence = collect(results, sources)
    body: list[str] = []
    tables_doc = load(results, "quality_tables")
    explain_doc = load(results, "explain")
    apply_doc = load(results, "apply")
    verdicts: list[Verdict] = (headline_verdicts(evidence) + table_vs_kmeans(sources) + table_verdicts(tables_doc)
                               + explain_verdicts(explain_doc) + apply_verdicts(apply_doc))
    section_quality(sources, doc_dir, doc_dir, body)
    section_tables(tables_doc, body)
    section_explain(explain_doc, body)
    section_apply(apply_doc, body)
    verdicts += section_small({name: load(results, name) for name, _ in SMALL_VARIANTS}, body)
    section_speed(results, doc_dir, doc_dir, body, verdicts, cli_changes=changes_of(evidence, "cli"))
    section_precision(load(results, "precision"), body)
    section_peers(load(results, "peers"), body, verdicts)
    section_peers(load(results, "peers_gpu"), body, [])  # the targets are the CPU's; the GPU table is for reference

    lines = ["# Benchmarks", "",
             "Generated by `python bench/report.py` from the JSON in `bench/results/` (do not edit by hand); regenerate "
             "everything with `python bench/run_all.py` (about an hour on a 2-core CPU; `--quick` is the smoke test). "
             "Today's defaults first, then the targets, then the details; runs with older defaults are at the bottom.", ""]
    section_headline(results, evidence, lines)
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in verdicts] + [""]
    lines += ["Quality targets: judged on the headline measurement of each dataset (today's defaults); a row says "
              "**older defaults** where none exists. The CLI rows are one run each; the ClustPy rows come from its "
              "side-by-side section.", ""]
    lines += _commands() + body + section_missing(results, sources, evidence)
    notes = results / "NOTES.md"
    if notes.is_file():
        lines += [notes.read_text().strip(), ""]
    section_older(sources, lines)
    text = "\n".join(lines).rstrip() + "\n"
    doc.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=BENCH / "results")
    p.add_argument("--doc", type=Path, default=BENCH.parent / "docs" / "BENCHMARKS.md")
    a = p.parse_args(argv)
    render(a.results, a.doc)
    print(f"wrote {a.doc}")


if __name__ == "__main__":
    main()
