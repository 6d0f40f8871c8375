"""The mixed-precision section of docs/BENCHMARKS.md, from bench/measure/precision.py's results
(bench/results/precision.json): one training step and the default's quality, float32 against bf16 autocast."""

from __future__ import annotations

import statistics

from bench.report.common import ms


def section_precision(doc: dict | None, lines: list[str]) -> None:
    """The mixed-precision table, appended to ``lines`` (nothing without results)."""
    if not doc:
        return
    s = doc["steps"]
    lines += [
        "### Mixed precision (bf16 autocast)",
        "",
        f"`python -m bench.measure.precision` on {doc['machine']['cpu']} ({doc['device']}; native bf16: "
        f"{'yes' if s['native_bf16'] else 'no'}), measured {doc['machine']['date']}. One training step of the "
        f"784-500-500-2000-10 autoencoder, batch 256: float32 {s['step_ms']['float32']} ms, bf16 autocast "
        f"{s['step_ms']['bf16']} ms ({s['speedup']}x; median of {len(s['step_ms_all']['float32'])} blocks of 30 "
        "steps). "
        "The default pipeline on load_digits with the same seeds, mixed precision off and on:",
        "",
        "| precision | ACC | NMI | training s (median) | seeds |",
        "|---|---|---|---|---|",
    ]
    for mixed in (False, True):
        rows = [r for r in doc["quality"] if r["mixed_precision"] == mixed]
        if not rows:
            continue
        cells = []
        for metric in ("acc", "nmi"):
            mean, std = ms([r[metric] for r in rows])
            cells.append(f"{mean:.3f}" + (f" ± {std:.3f}" if len(rows) > 1 else ""))
        lines.append(
            f"| {rows[0]['precision']} | {cells[0]} | {cells[1]} | "
            f"{statistics.median(r['train_seconds'] for r in rows):.0f} | {len(rows)} |"
        )
    lines.append("")
