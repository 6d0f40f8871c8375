"""PyTorch's threads on a quiet and a busy machine (bench/measure/threads.py -> bench/results/threads.json): a
section of docs/BENCHMARKS.md (issue 29)."""

from __future__ import annotations

from bench.report.common import load_average, machine_text


def section_threads(doc: dict | None, lines: list[str]) -> None:
    """Append the section to ``lines``."""
    lines += ["## Threads under load", ""]
    if not doc:
        lines += ["Not measured yet: `python -m bench.measure.threads`.", ""]
        return
    med = doc["median_seconds"]
    settings = list(med)
    quiet = settings[0]
    lines += [
        f"`python -m bench.measure.threads`: {doc['steps']} training steps of a dense autoencoder's shape in a fresh "
        f"process per variant, the variants taking turns; alone, then beside {doc['busy']} processes that keep a core "
        f"busy each ({machine_text(doc['machine'])}, load {load_average(doc['machine'])} at the start). Median "
        "seconds; in brackets, against the same variant on the quiet machine.",
        "",
        "| variant | " + " | ".join(settings) + " |",
        "|---|" + "---|" * len(settings),
    ]
    for name in med[quiet]:
        cells = [f"{med[quiet][name]:.2f}"] + [
            f"{med[s][name]:.2f} ({med[s][name] / med[quiet][name]:.1f}x)" for s in settings[1:]
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "OpenMP's threads spin while they wait for each other; beside busy processes the spinning takes the time "
        "slice the other thread needs. `import explorer` sets the short spin unless the user set `GOMP_SPINCOUNT` "
        "or `OMP_WAIT_POLICY`: nearly the quiet machine's speed, and most of passive waiting's gain under load.",
        "",
    ]
