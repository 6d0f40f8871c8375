"""Load: 8 users at once (8 browser contexts in one Chromium, driven concurrently) against one fresh
server. Each uploads its own small CSV, trains a small autoencoder, clusters and saves a run.

Checked: no error box or exception on any page; no cross-talk (every saved run holds exactly the data
its own session uploaded); the server's memory stays bounded (VmRSS sampled from /proc while the
sessions run). Reported, to test-output/load.json (or $EXPLORER_LOAD_RESULTS): sessions per minute,
the median time per session and the server's peak memory. docs/LOAD.md has the numbers of a run.

Fairness: one abusive session (a big table, a big autoencoder, Train pressed again and again, each
press a job of minutes, stopped and started anew) beside normal ones, which must take at most
``FAIRNESS`` (1.5) times as long per step (median over sessions) as on the same server without it.
In CI ``EXPLORER_FAIR_NORMAL`` (3) normal sessions; ``bench/measure/load_fairness.py`` runs the full 7 + 1.
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
            user, (csv, _header, rows) = users[i], files[i]
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
            await user.train(
                "dense autoencoder",
                timeout_s=180,
                **{
                    "Latent size": 2,
                    "Epochs": 2,
                    "Batch size": 32,
                    "Hidden layers (encoder; the decoder mirrors them)": "8",
                },
            )
            errors += await user.errors()
            lap("train")
            await user.cluster_kmeans(3, timeout_s=180)
            errors += await user.errors()
            lap("cluster")
            run_id = await user.save_run(timeout_s=120)
            errors += await user.errors()
            lap("save")
            await user.shot("saved")
            return {
                "session": i,
                "run_id": run_id,
                "seconds": time.perf_counter() - t0,
                "steps": steps,
                "errors": errors,
            }

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
        "server_rss_mib": {
            "before": round(baseline / 2**20),
            "peak": round(peak / 2**20),
            "after": round(after / 2**20),
            "samples": len(sampler.samples),
        },
        "memory_bound_mib": MEMORY_BOUND // 2**20,
        "server_cpu_s": round(server_cpu, 1),
        "browser_cpu_s": round(browser_cpu, 1),  # Chromium and Playwright's driver
        "job_workers": int(os.environ.get("EXPLORER_JOB_WORKERS", "4")),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "load_average_after": list(os.getloadavg()),
            "note": "the browser, the server and the test share these cores",
        },
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "sessions_per_minute",
                    "median_session_s",
                    "median_step_s",
                    "server_rss_mib",
                    "server_cpu_s",
                    "browser_cpu_s",
                )
            }
        )
    )


def check_no_cross_talk(done: list[dict], files: list, runs_dir: Path) -> None:
    """Every session's saved run holds its own upload: name, columns, ids and values."""
    from explorer.runs.files import load_run

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


# -- one abusive session beside normal ones ------------------------------------------------------------------
FAIR_NORMAL = int(os.environ.get("EXPLORER_FAIR_NORMAL", "3"))
FAIR_ROUNDS = int(os.environ.get("EXPLORER_FAIR_ROUNDS", "2"))
FAIRNESS = 1.5
# Seconds added to the bound: a step of a few seconds on a busy 2-core machine varies by about this
# much between two runs with nothing else changed; the 9 s one abusive session used to cost is far above.
FAIR_SLACK_S = float(os.environ.get("EXPLORER_FAIR_SLACK_S", "1.5"))
JOB_STEPS = ("upload", "train", "cluster")  # the steps that run jobs; the bound applies to each
ABUSER_MODEL = {
    "Latent size": 10,
    "Epochs": 50,
    "Batch size": 8,
    "Hidden layers (encoder; the decoder mirrors them)": "512, 512",
}  # minutes per press on 20,000 rows


def abuser_table(n: int = 20_000, d: int = 32) -> tuple[list[str], list[list]]:
    rng = np.random.default_rng(99)
    X = rng.normal(size=(n, d))
    return [f"x{j}" for j in range(d)], [[f"{v:.3f}" for v in row] for row in X]


async def normal_session(user, i: int, csv: Path, n_rows: int) -> dict:
    """A normal user's steps (open, upload, train a small model, cluster), timed one by one."""
    t0 = time.perf_counter()
    steps: dict[str, float] = {}

    def lap(step: str) -> None:
        steps[step] = round(time.perf_counter() - t0 - sum(steps.values()), 2)

    await user.open()
    lap("open")
    await user.upload(csv, f"user{i}")
    await user.choose("ID column (optional)", "row_id")
    await user.see(f"{n_rows} rows × 4 features")
    lap("upload")
    await user.train(
        "dense autoencoder",
        timeout_s=300,
        **{"Latent size": 2, "Epochs": 2, "Batch size": 32, "Hidden layers (encoder; the decoder mirrors them)": "8"},
    )
    lap("train")
    await user.cluster_kmeans(3, timeout_s=300)
    lap("cluster")
    return {"session": i, "steps": steps, "errors": await user.errors()}


async def abusive_session(user, csv: Path, started: asyncio.Event, done: asyncio.Event) -> dict:
    """Press Train on a big model again and again until ``done``: each press a job of minutes, stopped
    a few seconds in and started anew. ``started`` is set once its first job runs."""
    await user.open()
    await user.upload(csv, "abuser")
    await user.go("Train", "Train a representation")
    await user.choose("Model", "dense autoencoder")
    for label, value in ABUSER_MODEL.items():
        await user.number(label, value)
    presses, stopped = 0, 0
    while not done.is_set():
        await user.click("Train")  # "Train", then "Train again"
        presses += 1
        await user.page.get_by_role("button", name="Stop").first.wait_for(timeout=120_000)
        started.set()
        try:
            await asyncio.wait_for(done.wait(), timeout=4.0)
        except TimeoutError:
            pass
        await user.page.get_by_role("button", name="Stop").first.click()
        stopped += 1
        await user.see("Trained with these settings", timeout_s=180)
    return {"presses": presses, "stopped": stopped, "errors": await user.errors()}


def run_fairness(new_session, run, tmp_path: Path, normal: int, log_name: str, rounds: int = 2) -> dict:
    """The measurement the test and bench/measure/load_fairness.py share: the normal sessions' step times on an
    idle server, then beside the abusive session (fresh sessions each time); returns the report."""
    files = []
    for i in range(normal + 1):
        header, rows = user_table(i)
        files.append((write_csv(tmp_path / f"user{i}.csv", header, rows), len(rows)))
    big = write_csv(tmp_path / "abuser.csv", *abuser_table())
    env = {"EXPLORER_CLIENT_KEY": "session"}  # every context comes from 127.0.0.1: one address (see SECURITY.md)
    with streamlit_server(tmp_path / "runs", ROOT / "test-output" / log_name, env=env) as server:
        warm = new_session("fair-warm", server.url)  # first imports (torch, the Train page) out of the figures
        run(normal_session(warm, normal, *files[normal]))

        def close(users) -> None:  # a finished phase's pages stop drawing (and polling) before the next
            for user in users:
                run(user.page.context.close())

        def idle_phase(tag: str) -> list[dict]:
            users = [new_session(f"fair-{tag}{i}", server.url) for i in range(normal)]

            async def all_of_them() -> list[dict]:
                return list(await asyncio.gather(*(normal_session(users[i], i, *files[i]) for i in range(normal))))

            try:
                return run(all_of_them())
            finally:
                close(users)

        def abuse_phase(tag: str) -> tuple[dict, list[dict]]:
            # new_session drives the event loop itself: the contexts are made before the abuser starts
            abuser = new_session(f"fair-{tag}abuser", server.url)
            users = [new_session(f"fair-{tag}{i}", server.url) for i in range(normal)]

            async def beside() -> tuple[dict, list[dict]]:
                started, done = asyncio.Event(), asyncio.Event()
                task = asyncio.ensure_future(abusive_session(abuser, big, started, done))
                await asyncio.wait_for(started.wait(), timeout=300)
                try:
                    normal_done = await asyncio.gather(*(normal_session(users[i], i, *files[i]) for i in range(normal)))
                finally:
                    done.set()
                return await task, list(normal_done)

            try:
                return run(beside())
            finally:
                close([abuser, *users])

        # idle and abused phases take turns, so that a change in the machine's load (other work on
        # these cores) falls on both alike
        idle, busy, abuses, cpu = [], [], [], {"idle_phase": 0.0, "abuse_phase": 0.0}
        for r in range(rounds):
            c0 = cpu_seconds_of_children().get(server.pid, 0.0)
            idle += idle_phase(f"idle{r}-")
            c1 = cpu_seconds_of_children().get(server.pid, 0.0)
            abuse, done = abuse_phase(f"busy{r}-")
            c2 = cpu_seconds_of_children().get(server.pid, 0.0)
            busy += done
            abuses.append(abuse)
            cpu["idle_phase"] += c1 - c0
            cpu["abuse_phase"] += c2 - c1
        log = server.log.read_text(errors="replace")

    def medians(done: list[dict]) -> dict[str, float]:
        return {k: round(statistics.median(d["steps"][k] for d in done), 2) for k in done[0]["steps"]}

    return {
        "what": f"{normal} normal browser sessions (upload a CSV of 120-190 rows, train a dense autoencoder 2 epochs, "
        "k-means k=3) on an idle server, then {normal} fresh ones beside one abusive session (20,000 x 32 "
        "table, a 512-512 autoencoder 50 epochs at batch size 8, Train pressed again and again, each job "
        "stopped after about 4 s and started anew)".replace("{normal}", str(normal)),
        "normal_sessions": normal,
        "median_step_s_idle": medians(idle),
        "median_step_s_beside_abuser": medians(busy),
        "ratio": {k: round(medians(busy)[k] / max(medians(idle)[k], 1e-9), 2) for k in idle[0]["steps"]},
        "bound": f"<= {FAIRNESS} x idle + {FAIR_SLACK_S} s, for {', '.join(JOB_STEPS)}",
        "rounds": rounds,
        "abuser": {"train_presses": [a["presses"] for a in abuses], "stopped": [a["stopped"] for a in abuses]},
        "server_cpu_s": {k: round(v, 1) for k, v in cpu.items()},
        "errors": [d["errors"] for d in idle + busy] + [a["errors"] for a in abuses],
        "traceback_in_log": "Traceback" in log,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_after": list(os.getloadavg())},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def test_one_abusive_session_does_not_slow_the_others(new_session, run, tmp_path):
    report = run_fairness(new_session, run, tmp_path, FAIR_NORMAL, "fairness-server.log", FAIR_ROUNDS)
    out = ROOT / "test-output" / "load_fairness.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in ("median_step_s_idle", "median_step_s_beside_abuser", "ratio", "abuser")}))
    assert not report["traceback_in_log"]
    assert all(e == [] for e in report["errors"]), report["errors"]
    assert min(report["abuser"]["train_presses"]) >= 2, report["abuser"]  # the abuse really went on meanwhile
    idle, busy = report["median_step_s_idle"], report["median_step_s_beside_abuser"]
    slow = {k: (idle[k], busy[k]) for k in JOB_STEPS if busy[k] > FAIRNESS * idle[k] + FAIR_SLACK_S}
    assert not slow, f"steps slowed by the abusive session beyond {FAIRNESS}x + {FAIR_SLACK_S} s (idle, beside): {slow}"
