"""Run every benchmark and render docs/BENCHMARKS.md.

    python -m bench.run_all            # full: quality (3 seeds), tables, explanations, speed, scaling; then the report
    python -m bench.run_all --quick    # smoke test: load_digits / synthetic data, tiny sizes, < 2 min
    python -m bench.run_all --only quality cli --dec-max-iter 300

Each step runs in its own process, one after another (two CPU-heavy processes at once on a small
machine slow each other down many times), and writes bench/results/<step>.json (or --out DIR).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STEPS = ("quality", "tables", "explain", "apply", "text", "words_dates", "overhead", "throughput", "cli", "scaling")


def commands(out: Path, quick: bool, dec_max_iter: int | None) -> dict[str, list[str]]:
    q = ["--quick"] if quick else []
    o = ["--out", str(out)]
    dec = ["--dec-max-iter", str(dec_max_iter)] if dec_max_iter else []
    m = [sys.executable, "-m"]
    return {
        "quality": [*m, "bench.measure.quality", *q, *o, *dec],
        "tables": [*m, "bench.measure.quality_tables", *q, *o],
        "explain": [*m, "bench.measure.explain", *q, *o],
        "apply": [*m, "bench.measure.apply", *q, *o],
        "text": [*m, "bench.measure.text", *q, *o],
        "words_dates": [*m, "bench.measure.words_dates", *q, *o],
        "overhead": [*m, "bench.measure.speed", "overhead", *q, *o],
        "throughput": [*m, "bench.measure.speed", "throughput", *q, *o],
        "cli": [*m, "bench.measure.speed", "cli", *q, *o],
        "scaling": [*m, "bench.measure.speed", "scaling", *q, *o],
    }


def use_this_checkout() -> None:
    """Make every step subprocess import ``bench`` and ``explorer`` from this checkout, not another copy
    installed in the environment, wherever it was started from (PYTHONPATH). This process already does:
    ``python -m bench.run_all`` found bench (and so explorer) in the checkout, ahead of site-packages."""
    import os

    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def in_process(cmd: list[str]) -> int:
    """Run a step's main() in this process (the quick mode: UMAP's compilation is paid once, not per step);
    ``cmd``: [python, "-m", module, *args], as :func:`commands` makes it."""
    import importlib
    import traceback

    module = importlib.import_module(cmd[2])
    try:
        module.main(cmd[3:])
        return 0
    except Exception:  # noqa: BLE001 - report and go on with the next step, like a failed subprocess
        traceback.print_exc()
        return 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS))
    p.add_argument("--out", type=Path, default=BENCH / "results")
    p.add_argument(
        "--doc",
        type=Path,
        default=None,
        help="where to write the report (default docs/BENCHMARKS.md; with --quick, OUT/BENCHMARKS.md)",
    )
    p.add_argument("--dec-max-iter", type=int, default=None)
    a = p.parse_args(argv)
    use_this_checkout()
    a.out.mkdir(parents=True, exist_ok=True)
    cmds = commands(a.out, a.quick, a.dec_max_iter)
    failed = []
    for step in a.only:
        t0 = time.perf_counter()
        print(f"== {step}: {' '.join(cmds[step][1:])}", flush=True)
        rc = in_process(cmds[step]) if a.quick else subprocess.call(cmds[step])
        print(f"== {step}: exit {rc} after {time.perf_counter() - t0:.0f}s", flush=True)
        if rc:
            failed.append(step)
    doc = a.doc or (a.out / "BENCHMARKS.md" if a.quick else ROOT / "docs" / "BENCHMARKS.md")
    report = [sys.executable, "-m", "bench.report.document", "--results", str(a.out), "--doc", str(doc)]
    rc = in_process(report) if a.quick else subprocess.call(report)
    return 1 if failed or rc else 0


if __name__ == "__main__":
    sys.exit(main())
