"""A million-row table with a short text column and a date column, end to end through the CLI.

    python -m bench.measure.text_scale [--n 1000000] [--k 6] [--no-network]

A generated table (:func:`segments_table`): ``k`` planted segments set apart only by a short text column (3 to 12
words a row, about half drawn from the segment's topic words, the rest from shared noise words) and a date column
(each segment joined in its own stretch of years), beside numbers and categories that are noise. Written as
Parquet, then ``python -m explorer run <file> --label segment --k K --json`` in a fresh process with every other
setting at its default (the large-data path: fits on a sample, places the other rows by their neighbours). Wall
time, CPU seconds and peak RSS of the child process, the run's stage timings, NMI / ARI against the planted
segments, the load average before and after. ``--no-network``: the child runs in a new network namespace
(``unshare -rn``): nothing can be reached. Writes bench/results/text_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, ROOT, log, machine, write_json

TOPICS = (
    "card payment declined refund charge fee statement billing invoice overdraft transfer balance",
    "mortgage house loan rate fixed term deposit property valuation broker repayment equity",
    "app login password crash update screen error phone notification fingerprint version bug",
    "branch queue staff manager appointment visit desk counter opening hours closed wait",
    "savings interest pension invest fund portfolio retirement isa yield bonus growth dividend",
    "travel abroad currency exchange holiday airport euro dollar trip insurance lounge passport",
    "business account invoice payroll merchant terminal supplier vat tax accountant company client",
    "student overdraft graduate tuition campus allowance budget rent loan semester course tutor",
)
NOISE_WORDS = (
    "the a my i you we it is was be to of and in for on with this that have not but please thanks "
    "hello still again today yesterday last week month really very just also asked told said need want "
    "would could should can help issue problem question about still now soon never always time know "
    "think good bad great ok fine okay quick slow new old same other another any some every each done"
)
NOISE = NOISE_WORDS.split()
ERAS = ((2008, 2010), (2012, 2014), (2016, 2017), (2019, 2020), (2021, 2022), (2023, 2023), (2024, 2024), (2025, 2025))


def segments_table(path: Path, n: int, k: int = 6, seed: int = 0) -> None:
    """n rows in ``k`` planted segments (``segment``) set apart by ``comment`` (short text) and ``joined`` (a date);
    ``balance``, ``age``, ``products`` (numbers) and ``region``, ``channel`` (categories) are noise. Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    topics = [np.array(t.split(), dtype=object) for t in TOPICS[:k]]
    noise = np.array(NOISE, dtype=object)
    lengths = rng.integers(3, 13, n)
    width = int(lengths.max())
    from_topic = rng.random((n, width)) < 0.5
    words = noise[rng.integers(0, len(noise), (n, width))]
    for s in range(k):  # each segment's topic words where the draw says so
        rows = np.flatnonzero(y == s)
        picks = topics[s][rng.integers(0, len(topics[s]), (len(rows), width))]
        words[rows] = np.where(from_topic[rows], picks, words[rows])
    comments = [" ".join(w[:m]) for w, m in zip(words.tolist(), lengths.tolist(), strict=True)]
    starts = np.array([np.datetime64(f"{ERAS[s][0]}-01-01") for s in range(k)]).astype("datetime64[D]")
    ends = np.array([np.datetime64(f"{ERAS[s][1]}-12-31") for s in range(k)]).astype("datetime64[D]")
    span = (ends - starts).astype(np.int64)[y]
    joined = starts[y] + (rng.random(n) * span).astype(np.int64).astype("timedelta64[D]")
    table = {
        "comment": comments,
        "joined": joined.astype("datetime64[D]").astype(str),  # as a CSV export writes dates: ISO text
        "balance": rng.lognormal(7, 1.2, n).round(2),
        "age": rng.integers(18, 90, n),
        "products": rng.integers(1, 5, n),
        "region": np.array(["north", "south", "east", "west", "centre"])[rng.integers(0, 5, n)],
        "channel": np.array(["web", "app", "phone", "branch"])[rng.integers(0, 4, n)],
        "segment": y.astype(np.int64),
    }
    pq.write_table(pa.table(table), path, row_group_size=100_000)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cli_run(data: Path, args: list[str], out: Path, no_network: bool) -> dict:
    """``python -m explorer run DATA ...`` in a child (in a new network namespace with ``no_network``): wall, CPU
    seconds and peak RSS of the child, the run's stage timings and scores."""
    cmd = [sys.executable, "-m", "explorer", "run", str(data), "--json", "--quiet", "--out", str(out / "runs"), *args]
    if no_network:
        cmd = [shutil.which("unshare") or "unshare", "-rn", *cmd]
    load_before = load_average()
    t0 = time.perf_counter()
    with open(out / "stdout", "w+") as so, open(out / "stderr", "w+") as se:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=so, stderr=se, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage (unshare execs the CLI in place)
        wall = time.perf_counter() - t0
        so.seek(0), se.seek(0)
        stdout, stderr = so.read(), se.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the CLI failed: {stderr[-3000:]}")
    metrics = json.loads(stdout.strip().splitlines()[-1])
    run_dir = Path(metrics["run_dir"])
    cfg = json.loads((run_dir / "config.json").read_text())
    timings = {k: round(float(v), 2) for k, v in cfg.get("timings", {}).items()}
    timings["load, imports and saving"] = round(wall - sum(timings.values()), 2)
    report = json.loads((run_dir / "preprocess.json").read_text()) if (run_dir / "preprocess.json").is_file() else {}
    kinds = {c.get("name"): c.get("kind") for c in report.get("columns", []) if isinstance(c, dict)}
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "load_before": load_before,
        "load_after": load_average(),
        "seconds": timings,
        "metrics": {key: metrics.get(key) for key in ("acc", "nmi", "ari", "k", "rows_fitted")},
        "model": cfg["pipeline"]["model"]["kind"],
        "cluster": cfg["pipeline"]["cluster"]["method"],
        "features": kinds,
        "notes": [n for n in cfg.get("notes", []) if "text" in n.lower() or "date" in n.lower()][:6],
        "network": "cut (unshare -rn)" if no_network else "available",
        "limits_from_environment": {k: v for k, v in os.environ.items() if k.startswith("EXPLORER_MAX_")},
        "command": "python -m explorer run <data>.parquet --json " + " ".join(args),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=6)
    p.add_argument("--no-network", action="store_true", help="run the CLI with the network cut (unshare -rn)")
    p.add_argument("--keep", type=Path, default=None, help="write the table here and keep it")
    p.add_argument("--out", type=Path, default=RESULTS / "text_scale.json")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = a.keep or folder / f"segments_{a.n}.parquet"
        t0 = time.perf_counter()
        if not path.is_file():
            segments_table(path, a.n, a.k)
        log(
            f"table of {a.n:,} rows written in {time.perf_counter() - t0:.0f} s ({path.stat().st_size / 2**20:.0f} MiB)"
        )
        args = ["--label", "segment", "--k", str(a.k), "--device", "cpu"]
        row = {"n": a.n, "k": a.k, **cli_run(path, args, folder, a.no_network)}
    log(
        f"text scale n={a.n:,}: {row['wall_s']} s wall, {row['cpu_s']} s CPU, {row['peak_rss_mb']} MiB, "
        f"load {row['load_before']} -> {row['load_after']}; "
        + ", ".join(f"{k} {v:.1f}s" for k, v in row["seconds"].items())
        + f"; nmi {row['metrics'].get('nmi')}, ari {row['metrics'].get('ari')}"
    )
    write_json(a.out, {"row": row, "machine": machine()})


if __name__ == "__main__":
    main()
