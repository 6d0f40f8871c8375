"""One abusive session beside seven normal ones, in a real browser: the full version of
tests/browser/test_load.py::test_one_abusive_session_does_not_slow_the_others (CI runs it with 3).

    python -m bench.measure.load_fairness [--normal 7] [--rounds 2] [--out bench/results/load_fairness.json]

The normal sessions upload a small CSV, train a small autoencoder and cluster it, first on an idle
server, then beside one session that presses Train on a big autoencoder again and again (20,000 x 32
rows, each press a job of minutes, stopped after about 4 s and started anew); idle and abused phases
take turns. Reported: the normal sessions' median time per step in both, their ratio, the abuser's
presses and the server's CPU time; the test's bound is 1.5x idle (+1.5 s) for each job step.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from bench.suites.common import RESULTS, ROOT


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--normal", type=int, default=7)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "load_fairness.json"))
    a = p.parse_args()
    env = {**os.environ, "EXPLORER_FAIR_NORMAL": str(a.normal), "EXPLORER_FAIR_ROUNDS": str(a.rounds)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-s", "tests/browser/test_load.py", "-k", "abusive"]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    shutil.copy(ROOT / "test-output" / "load_fairness.json", a.out)
    print(f"wrote {a.out} (the test {'passed' if code == 0 else 'failed'})")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
