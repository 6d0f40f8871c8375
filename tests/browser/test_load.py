"""Load: 8 users at once (8 browser contexts in one Chromium, driven concurrently) against one fresh
server. Each uploads its own small CSV, trains a small autoencoder, clusters and saves a run.

Checked: no error box or exception on any page; no cross-talk (every saved run holds exactly the data
its own session uploaded); the server's memory stays bounded (VmRSS sampled from /proc while the
sessions run). Reported, to test-output/load.json (or $EXPLORER_LOAD_RESULTS): sessions per minute,
the median time per session and the server's peak memory. docs/LOAD.md has the numbers of a run.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import write_csv
from .driver import ROOT, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = int(os.environ.get("EXPLORER_LOAD_SESSIONS", "8"))
MEMORY_BOUND = 4 * 2**30
RESULTS = Path(os.environ.get("EXPLORER_LOAD_RESULTS", ROOT / "test-output" / "load.json"))


def user_table(i: int) -> tuple[list[str], list[list]]:
    """Session i's own table: columns named u<i>_a.. (so a run shows whose data it holds), 120 + 10 i
    rows in three groups, values offset by 100 i."""
    rng = np.random.default_rng(i)
    n = 120 + 10 * i
    groups = np.arange(n) % 3
    X = rng.normal(size=(n, 4)) + 5 * np.eye(3, 4)[groups] + 100 * i
    header = ["row_id", *(f"u{i}_{c}" for c in "abcd")]
    return header, [[f"u{i}-{r}", *(f"{v:.4f}" for v in X[r])] for r in range(n)]


class MemorySampler(threading.Thread):
    """Samples a process's RSS every ``every_s`` seconds until stopped; keeps the peak."""

    def __init__(self, read_rss, every_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.read_rss, self.every_s = read_rss, every_s
        self.samples: list[int] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append(self.read_rss())
            self._done.wait(self.every_s)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.samples, default=0)


def cpu_seconds_of_children() -> dict[int, float]:
    """CPU seconds (user + system) of every live process below this one, by pid: the server,
    Playwright's driver and Chromium's processes."""
    parent, cpu = {}, {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(proc.name)] = int(fields[1])
        cpu[int(proc.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def below_me(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return {pid: t for pid, t in cpu.items() if below_me(pid)}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def test_eight_sessions_at_once(new_session, run, tmp_path):
    files = []
    for i in range(SESSIONS):
        header, rows = user_table(i)
        files.append((write_csv(tmp_path / f"user{i}.csv", header, rows), header, rows))

    with streamlit_server(tmp_path / "runs", ROOT / "test-output" / "load-server.log") as server:
        users = [new_session(f"load{i}", server.url) for i in range(SESSIONS)]

        async def one(i: int) -> dict:
            user, (csv, header, rows) = users[i], files[i]
            t0 = time.perf_counter()
            steps, errors = {}, []

            def lap(step: str) -> None:
                steps[step] = round(time.perf_counter() - t0 - sum(steps.values()), 1)

            await user.open()
            lap("open")
            await user.upload(csv, f"user{i}")
            await user.choose("ID column (optional)", "row_id")
            await user.see(f"{len(rows)} rows × 4 features")
            errors += await user.errors()
            lap("upload")
            await user.train("dense autoencoder", timeout_s=180, **{
                "Latent size": 2, "Epochs": 2, "Batch size": 32,
                "Hidden layers (encoder; the decoder mirrors them)": "8"})
            errors += await user.errors()
            lap("train")
            await user.cluster_kmeans(3, timeout_s=180)
            errors += await user.errors()
            lap("cluster")
            run_id = await user.save_run(timeout_s=120)
            errors += await user.errors()
            lap("save")
            await user.shot("saved")
            return {"session": i, "run_id": run_id, "seconds": time.perf_counter() - t0, "steps": steps,
                    "errors": errors}

        async def everyone() -> list[dict]:
            return await asyncio.gather(*(one(i) for i in range(SESSIONS)))

        baseline, cpu0 = server.rss_bytes(), cpu_seconds_of_children()
        sampler = MemorySampler(server.rss_bytes)
        sampler.start()
        t0 = time.perf_counter()
        try:
            done = run(everyone())
        finally:
            peak = sampler.stop()
        wall = time.perf_counter() - t0
        after, cpu1 = server.rss_bytes(), cpu_seconds_of_children()
        server_cpu = cpu1.get(server.pid, 0.0) - cpu0.get(server.pid, 0.0)
        browser_cpu = sum(t - cpu0.get(pid, 0.0) for pid, t in cpu1.items() if pid != server.pid)
        assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()

    assert [d["errors"] for d in done] == [[]] * SESSIONS
    check_no_cross_talk(done, files, server.runs_dir)
    assert peak < MEMORY_BOUND, f"server RSS peaked at {peak / 2**20:,.0f} MiB"

    seconds = [d["seconds"] for d in done]
    report = {
        "what": f"{SESSIONS} browser sessions at once (one headless Chromium, a context each) against one "
                "streamlit server: upload a CSV (120-190 rows x 4), train a dense autoencoder (2 epochs), "
                "k-means k=3 with a PCA map, save the run",
        "sessions": SESSIONS,
        "wall_s": round(wall, 1),
        "sessions_per_minute": round(SESSIONS / (wall / 60), 2),
        "median_session_s": round(statistics.median(seconds), 1),
        "max_session_s": round(max(seconds), 1),
        "session_s": [round(s, 1) for s in seconds],
        "median_step_s": {k: round(statistics.median(d["steps"][k] for d in done), 1) for k in done[0]["steps"]},
        "server_rss_mib": {"before": round(baseline / 2**20), "peak": round(peak / 2**20),
                           "after": round(after / 2**20), "samples": len(sampler.samples)},
        "memory_bound_mib": MEMORY_BOUND // 2**20,
        "server_cpu_s": round(server_cpu, 1),
        "browser_cpu_s": round(browser_cpu, 1),  # Chromium and Playwright's driver
        "job_workers": int(os.environ.get("EXPLORER_JOB_WORKERS", "2")),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_after": list(os.getloadavg()),
                    "note": "the browser, the server and the test share these cores"},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in ("sessions_per_minute", "median_session_s", "median_step_s", "server_rss_mib", "server_cpu_s", "browser_cpu_s")}))


def check_no_cross_talk(done: list[dict], files: list, runs_dir: Path) -> None:
    """Every session's saved run holds its own upload: name, columns, ids and values."""
    from explorer.runs import load_run

    assert len({d["run_id"] for d in done}) == len(done)
    for d in done:
        i = d["session"]
        _, header, rows = files[i]
        result = load_run(d["run_id"], runs_dir)
        ds = result.dataset
        assert ds.name == f"user{i}" and ds.n == len(rows)
        assert ds.feature_names == header[1:]
        assert list(ds.ids) == [r[0] for r in rows]
        raw = np.asarray(ds.table[header[1:]], dtype=float)
        np.testing.assert_allclose(raw, np.asarray([r[1:] for r in rows], dtype=float), rtol=0, atol=1e-4)
        assert result.clusters.labels.shape == (len(rows),)
