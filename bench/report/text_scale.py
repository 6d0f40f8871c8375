"""A million rows with a short text column and a date column, end to end via the CLI, from
bench/measure/text_scale.py's results (bench/results/text_scale.json): the paragraph and its Targets row."""

from __future__ import annotations

from bench.report.common import Verdict, machine_text, num

GOAL_S = 600.0  # 10 minutes end to end on the 2-core CPU
MEMORY_GOAL_MB = 6 * 1024
TARGET = "1,000,000-row table with a short text column and a date column via the CLI <= 10 min, <= 6 GiB, offline"


def _loads(r: dict) -> str:
    return f"{', '.join(f'{x:.1f}' for x in r['load_before'])} / {', '.join(f'{x:.1f}' for x in r['load_after'])}"


def text_scale_verdicts(doc: dict | None) -> list[Verdict]:
    """The target judged on wall time where the machine was quiet, else on the child's CPU seconds (what the
    run's own work took: on an idle 2-core CPU the wall time is at most about that, the stages being mostly one
    thread), and on peak memory; offline only if the run had the network cut."""
    if not doc:
        return [(TARGET, "not measured (`python -m bench.measure.text_scale --no-network`)", "-")]
    r = doc["row"]
    seconds, basis = min(r["wall_s"], r["cpu_s"]), "wall" if r["wall_s"] <= r["cpu_s"] else "CPU s"
    problems = [f"over by {seconds - GOAL_S:.0f} s"] if seconds > GOAL_S else []
    if r["peak_rss_mb"] > MEMORY_GOAL_MB:
        problems.append(f"memory over by {(r['peak_rss_mb'] - MEMORY_GOAL_MB) / 1024:.1f} GiB")
    if not r["network"].startswith("cut"):
        problems.append("run with the network available")
    measured = (
        f"{r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} CPU s, peak {r['peak_rss_mb'] / 1024:.1f} GiB, network "
        f"{r['network']} (load average before / after {_loads(r)})"
    )
    note = f"on {basis}" + ("" if basis == "wall" else ": the machine was shared")
    return [(TARGET, measured, f"met ({note})" if not problems else f"**not met** ({'; '.join(problems)})")]


def section_text_scale(doc: dict | None, lines: list[str]) -> None:
    """The paragraph on the million-row text and dates table, appended to ``lines``."""
    lines += ["### A million rows with text and dates", ""]
    if not doc:
        lines += ["Not measured yet: `python -m bench.measure.text_scale --no-network`.", ""]
        return
    r, m = doc["row"], doc["machine"]
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in r["seconds"].items())
    lines += [
        f"{r['n']:,} rows in {r['k']} planted segments set apart only by a short text column (3 to 12 words a row, "
        "about half from the segment's topic words) and a date column (each segment joined in its own years); "
        "three numbers and two categories are noise. Parquet, then "
        f"`{r['command']}` in a fresh process, every other setting at its default (model: {r['model']}, "
        f"clustering: {r['cluster']}; above 100,000 rows the clustering and the map fit on a sample and place the "
        f"rest), network {r['network']}. On {machine_text(m)}, measured {m['date']}, load average before / after "
        f"{_loads(r)}: {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} CPU seconds (user + system of the child), peak RSS "
        f"{r['peak_rss_mb']:,} MiB. Stages: {stages}. NMI {num(r['metrics'].get('nmi'))}, ARI "
        f"{num(r['metrics'].get('ari'))} against the planted segments (k given). The text is embedded once per "
        "distinct word of the column (a text's tokens are its words' tokens), so a million short texts cost about "
        "as much as the numbers beside them; most of the cluster stage is placing the rows not fitted (each row's "
        "10 nearest fitted rows, exact, among 25,000, in every feature). "
        + (
            "Limits raised for this measurement (the load is capped in wall seconds, which a shared machine "
            "stretches): " + ", ".join(f"{k}={v}" for k, v in r["limits_from_environment"].items()) + ". "
            if r.get("limits_from_environment")
            else ""
        )
        + "Command: `python -m bench.measure.text_scale --no-network`.",
        "",
    ]
