"""The documents section of docs/BENCHMARKS.md, from bench/measure/text.py's results (bench/results/text.json):
AG News and Banking77 with k given, WordLlama against TF-IDF + LSA, the documents' default against the other
methods, and 10,000 documents end to end."""

from __future__ import annotations

from bench.report.common import Verdict, load_average, machine_text, ms, verdict

NAMES = {"ag_news": "AG News (test, 7,600 news, 4 topics)", "banking77": "Banking77 (test, 3,080 queries, 77 intents)"}
EMBEDDINGS = {"wordllama": "WordLlama (256-d, offline)", "tfidf": "TF-IDF + LSA"}
TARGETS = {"ag_news": {"ari": 0.50, "nmi": 0.50}, "banking77": {"nmi": 0.75}}
SPEED_TARGET_S = 60.0


def _cell(rows: list[dict], metric: str) -> str:
    mean, std = ms([r[metric] for r in rows])
    return f"{mean:.3f}" + (f" ± {std:.3f}" if len(rows) > 1 else "")


def text_verdicts(doc: dict | None) -> list[Verdict]:
    """The targets of issue 27 judged on the default (WordLlama where measured, then the documents' method)."""
    if not doc:
        return []
    out: list[Verdict] = []
    from explorer.pipeline.defaults import DOCUMENT_METHOD

    for name, bars in TARGETS.items():
        d = doc["datasets"].get(name)
        if not d:
            continue
        emb = "wordllama" if "wordllama" in d["embeddings"] else next(iter(d["embeddings"]))
        rows = d["embeddings"][emb]["runs"].get(DOCUMENT_METHOD, [])
        if not rows:
            continue
        for metric, bar in bars.items():
            mean, _ = ms([r[metric] for r in rows])
            out.append(
                (
                    f"{NAMES[name].split(' (')[0]}, k given: {metric.upper()} >= {bar:.2f}",
                    f"{mean:.3f} ({EMBEDDINGS.get(emb, emb)}, {DOCUMENT_METHOD}, {len(rows)} seeds)",
                    verdict(mean, bar),
                )
            )
    s = doc.get("speed")
    if s:
        # wall time on a machine shared by a dozen processes says little; one thread's CPU seconds (BENCH_THREADS=1)
        # are what an idle core would take, so the verdict is on them where they were recorded
        seconds = s.get("cpu_seconds", s["total_seconds"])
        basis = "CPU s on one thread" if "cpu_seconds" in s else "s wall"
        out.append(
            (
                f"{s['n']:,} documents end to end <= {SPEED_TARGET_S:.0f} s (2-core CPU)",
                f"{seconds:.0f} {basis} ({s['total_seconds']:.0f} s wall at load average "
                f"{', '.join(f'{x:.1f}' for x in s['load_average_before'])} on 2 cores)",
                verdict(seconds, SPEED_TARGET_S, "an idle core's time, from CPU seconds", higher_is_better=False)
                if "cpu_seconds" in s
                else verdict(seconds, SPEED_TARGET_S, higher_is_better=False),
            )
        )
    return out


def section_text(doc: dict | None, lines: list[str]) -> None:
    """The documents tables, appended to ``lines`` (a line saying how to measure them without results)."""
    lines += ["### Documents (text)", ""]
    if not doc:
        lines += ["Not measured yet: `python -m bench.measure.text` writes `bench/results/text.json`.", ""]
        return
    m = doc["machine"]
    lines += [
        f"`python -m bench.measure.text` on {machine_text(m)}, measured {m['date']} (load average at start "
        f"{load_average(m)}: the machine was shared, so seconds are pessimistic; the scores are not). Each set is "
        "loaded as a user's CSV of (text, label): a table of text alone is a document set, embedded by the loader; "
        "k given = the number of classes. The documents' default method for each seed; the others for fewer seeds.",
        "",
        "| set | embedding | features | method | ACC | NMI | ARI | cluster s | seeds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in doc["datasets"].items():
        for emb, e in d["embeddings"].items():
            for method, rows in e["runs"].items():
                lines.append(
                    f"| {NAMES.get(name, name)} | {EMBEDDINGS.get(emb, emb)} (load {e['load_seconds']:.0f} s) | "
                    f"{e['features']} | {method} | {_cell(rows, 'acc')} | {_cell(rows, 'nmi')} | {_cell(rows, 'ari')} "
                    f"| {ms([r['seconds'] for r in rows])[0]:.0f} | {len(rows)} |"
                )
    lines.append("")
    s = doc.get("speed")
    if s:
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in s["stages"].items())
        lines += [
            f"End to end, {s['n']:,} documents (Banking77's training queries, then AG News texts) with the defaults: "
            f"{s['total_seconds']:.0f} s in all"
            + (f" ({s['cpu_seconds']:.0f} CPU seconds on one thread)" if "cpu_seconds" in s else "")
            + f", of which loading and embedding {s['load_seconds']:.0f} s; then "
            f"{stages}; k found {s['k_found']} ({s['method']}). Load average before / after: "
            f"{', '.join(f'{x:.1f}' for x in s['load_average_before'])} / "
            f"{', '.join(f'{x:.1f}' for x in s['load_average_after'])}.",
            "",
        ]
