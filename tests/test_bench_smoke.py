"""The benchmarks' quick mode runs end to end and writes its results and the report (a smoke test).

Runs ``python -m bench.run_all --quick`` in a subprocess on scikit-learn's digits and synthetic blobs
(no ../shared/data needed); tiny sizes, one seed, a few epochs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_mode_writes_results_and_report(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BENCH_THREADS": os.environ.get("BENCH_THREADS", "1"),
        "EXPLORER_BENCH_DATA": str(tmp_path / "no-data"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # about 1 min on an idle 2-core machine; generous for a shared one
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("quality", "overhead", "throughput", "cli", "scaling", "explain", "apply"):
        data = json.loads((tmp_path / f"{name}.json").read_text())
        assert data["quick"] is True
        assert data["machine"]["cores"] >= 1
    quality = json.loads((tmp_path / "quality.json").read_text())
    methods = quality["runs"][0]["methods"]
    assert set(methods) == {
        "kmeans_raw",
        "pca_kmeans",
        "ae_kmeans",
        "dec",
        "idec",
        "n2d",
        "n2d_refined",
    }  # digits are images
    assert all(0.0 <= m["nmi"] <= 1.0 for m in methods.values())
    doc = (tmp_path / "BENCHMARKS.md").read_text()
    for heading in (
        "## Targets",
        "## Quality",
        "## Speed",
        "### GPU",
        "### How cost grows",
        "## Explaining clusters",
        "## Applying a run to new data",
    ):
        assert heading in doc
    assert (tmp_path / "benchmarks_nmi.svg").read_text().startswith("<svg")
