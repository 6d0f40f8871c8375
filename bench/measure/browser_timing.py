"""How fast the Explore page answers in a real browser, at 100k and 1M points.

    python -m bench.measure.browser_timing [--sizes 100000 1000000] [--caps 30000] [--repeats 3]
                                   [--out bench/results/browser.json]

For each size: a synthetic run made straight from arrays (:func:`synthetic_result`: 10 blobs in 2-D, no
pipeline, so a million points take seconds), saved; for each interactive cap (the server's
``EXPLORER_DISPLAY_CAP``: above it the map is a density image of every point under that many markers) a
`streamlit run app.py` on a free loopback port; Debian's headless Chromium opens the run's share link
(``?run=<id>``) and measures, median of the repeats:

- re-colour: from picking another "Colour by" (cluster <-> anomaly) until Plotly has drawn the scatter
  with the new colouring (its traces carry the new names, two animation frames later);
- box-select: from releasing the mouse after dragging a box with Plotly's Box Select tool until the
  selection panel shows "N points selected" and its cluster make-up table (every point inside the box
  counts, drawn or not);
- search: from pressing Enter in "Search the rows' values and ids" (a part of an id) until "N rows match"
  shows (the hits highlighted on the map, the rest greyed, in the same script run);
- filter: from picking one more cluster in the filter by cluster until "N of M rows pass the filter" shows;
- neighbours: from pressing Enter on a row's id in "a similar row" until "The 10 rows nearest to <id>" shows;
- the server's share of each (``server_median``): until the page's websocket reports the end of the
  script run the step asked for.

``--steps`` picks the steps (each a key of the results); ``--out`` another file keeps earlier ones.

It drives the page with the browser tests' driver (tests/browser/driver.py). WebGL in headless
Chromium is software (SwiftShader): drawing is CPU work here, on the same cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.suites.common import RESULTS, ROOT, log, machine, write_json
from explorer.display.maps import DISPLAY_CAP

# tests/ is not an installed package: importable as run from the repository root, like bench itself
from tests.browser.driver import CHROMIUM, VIEWPORT, Dash, chromium_missing, launch, streamlit_server

SERVER_LOG = ROOT / "test-output" / "browser-timing-server.log"
COLOURS = ("anomaly", "cluster")  # a number on a colour scale, and k categories (a trace each)
K = 10
STEPS = ("recolour", "select", "search", "neighbours", "filter")  # what a person does, each timed


def chromium_version() -> str:
    import subprocess

    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return f"{out or 'Chromium'} ({CHROMIUM}, headless, software WebGL)"


def synthetic_result(n: int, k: int = K, seed: int = 0):
    """A RunResult made straight from arrays, no pipeline: k Gaussian blobs on a ring in 2-D (the map and
    the features), each blob a cluster and a label, the anomaly score the distance to the blob's centre.
    Cheap at a million points (a second or two), so the browser can be timed at sizes the pipeline would
    take minutes to reach."""
    import numpy as np

    from explorer.cluster.types import ClusterResult
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import RunResult, default_config, replace_nested

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    angle = 2 * np.pi * np.arange(k) / k
    centres = np.c_[10 * np.cos(angle), 10 * np.sin(angle)].astype(np.float32)
    xy = (centres[labels] + rng.normal(size=(n, 2)).astype(np.float32)).astype(np.float32)
    ds = Dataset(
        X=xy,
        feature_names=["f0", "f1"],
        ids=np.arange(n).astype(str),
        report=LoadReport(source=f"synthetic_{n}.npy", kind="embeddings", n_rows_read=n, n_rows=n, n_features=2),
        kind="embeddings",
        name=f"synthetic_{n}",
        labels=labels.astype(str),
    )
    cfg = replace_nested(default_config(ds), model="none", method="kmeans", k=k, projection_method="pca")
    clusters = ClusterResult(labels=labels.astype(np.int64), k=k, method="kmeans", centers=centres)
    anomaly = np.linalg.norm(xy - centres[labels], axis=1).astype(np.float32)
    return RunResult(
        config=cfg,
        dataset=ds,
        reducer=None,
        Z=xy,
        clusters=clusters,
        embedding=xy,
        anomaly=anomaly,
        metrics={},
        history=[],
        device="cpu",
        device_description="CPU (synthetic run, no pipeline)",
    )


def make_run(n: int, runs_dir: Path, seed: int = 0) -> tuple[str, list[int]]:
    """Save a synthetic run of n points (:func:`synthetic_result`); returns its id and its clusters' sizes."""
    import numpy as np

    from explorer.runs.files import save_run

    result = synthetic_result(n, seed=seed)
    save_run(result, runs_dir)
    return str(result.run_id), np.bincount(result.labels, minlength=K).tolist()


async def drawn_with(dash: Dash, colour: str, timeout_s: float = 300) -> None:
    """Wait until the scatter's traces are those of ``colour`` and the browser has painted them."""
    await dash.page.wait_for_function(
        """colour => {
            const gd = document.querySelector('.js-plotly-plot');
            if (!gd || !gd._fullData || !gd._fullData.length) return false;
            const names = gd._fullData.map(t => String(t.name));
            const traces = colour === 'cluster' ? names.every(n => /^\\d+$/.test(n)) : names.includes(colour);
            if (!traces) return false;
            const wanted = (gd.layout.images || []).map(i => i.source);
            if (!wanted.length) return true;  // no density image: the markers are all
            const drawn = [...gd.querySelectorAll('.imagelayer image')];
            const href = el => el.href ? el.href.baseVal : el.getAttribute('href');
            return drawn.length === wanted.length && drawn.every((el, i) => href(el) === wanted[i]);
        }""",
        arg=colour,
        timeout=timeout_s * 1000,
    )
    await dash.page.evaluate("""() => Promise.all([...document.querySelectorAll('.js-plotly-plot image')].map(
        el => {
            const img = new Image();
            img.src = el.href ? el.href.baseVal : el.getAttribute('href');
            return img.decode().catch(() => null);
        }))""")
    await dash.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def server_done(dash: Dash, before: int, t0: float, timeout_s: float = 300) -> float:
    """Seconds from t0 until the server reports the end of the script run asked for after ``before``
    (the page's websocket: ScriptRuns), i.e. the server's share of a step."""
    deadline = time.monotonic() + timeout_s
    while dash.runs.finished <= before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return time.perf_counter() - t0


async def recolour_times(dash: Dash, repeats: int) -> tuple[list[float], list[float]]:
    box = dash.page.get_by_role("combobox", name="Colour by", exact=True)
    times, server = [], []
    for i in range(repeats):
        colour = COLOURS[i % 2]
        await box.click()
        option = dash.page.get_by_role("option", name=colour, exact=True)
        await option.wait_for()
        before = dash.runs.seq
        t0 = time.perf_counter()
        await option.click()
        served = asyncio.ensure_future(server_done(dash, before, t0))
        await drawn_with(dash, colour)
        times.append(time.perf_counter() - t0)
        server.append(await served)
        await dash.settle()
    return times, server


async def box_select_times(dash: Dash, repeats: int) -> tuple[list[float], list[int], list[float]]:
    times, counts, server = [], [], []
    hint = dash.page.get_by_text("Drag a box or a lasso over the map")
    for i in range(repeats):
        await hint.wait_for(timeout=120_000)  # nothing selected
        before = dash.runs.seq
        await dash.drag_box((0.1, 0.1, 0.45 + 0.05 * i, 0.9))
        t0 = time.perf_counter()
        served = asyncio.ensure_future(server_done(dash, before, t0))
        counts.append(await dash.selected_count(timeout_s=300))
        await dash.page.locator('[data-testid="stDataFrame"]').first.locator("table").wait_for(state="attached")
        times.append(time.perf_counter() - t0)
        server.append(await served)
        await dash.settle()
        area = await dash.plot_area()  # a double-click outside the box clears the selection
        await dash.page.mouse.dblclick(area["x"] + 0.97 * area["width"], area["y"] + 0.03 * area["height"])
    return times, counts, server


async def answered(dash: Dash, commit, answer: str, timeout_s: float = 300) -> tuple[float, float]:
    """Seconds from ``commit()`` (the user's last key or click) until the script run it asked for has ended
    (the map greys or highlights in the same run), the text ``answer`` shows and the page has drawn it (two
    animation frames); and the server's share (:func:`server_done`)."""
    before = dash.runs.seq
    t0 = time.perf_counter()
    await commit()
    server = await server_done(dash, before, t0, timeout_s)
    await dash.page.get_by_text(answer, exact=False).first.wait_for(timeout=timeout_s * 1000)
    await dash.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    took = time.perf_counter() - t0
    await dash.settle()
    return took, server


async def search_times(dash: Dash, repeats: int) -> tuple[list[float], list[float]]:
    label = "Search the rows' values and ids"
    times, server = [], []
    for i in range(repeats):
        term = "12345678"[i % 4 : i % 4 + 4]  # a part of some ids ("1234", "2345", ...)
        await dash.number(label, "")  # no search: nothing matches on show
        box = dash.page.get_by_label(label, exact=True)
        await box.fill(term)
        took, served = await answered(dash, lambda b=box: b.press("Enter"), " rows match")
        times.append(took)
        server.append(served)
    await dash.number(label, "")
    return times, server


async def filter_times(dash: Dash, repeats: int, sizes: list[int]) -> tuple[list[float], list[float]]:
    """Filter by cluster, one more cluster each repeat (``sizes``: the clusters' sizes, for the count shown)."""
    await pick(dash, "Filter by", "cluster")
    times, server = [], []
    for i in range(repeats):
        await dash.settle()
        await dash.page.get_by_role("combobox", name="Clusters").first.click()
        option = dash.page.get_by_role("option", name=str(i), exact=True)
        await option.wait_for()
        passing = f"{sum(sizes[: i + 1]):,} of {sum(sizes):,} rows pass the filter"
        took, served = await answered(dash, option.click, passing)
        await dash.page.keyboard.press("Escape")
        times.append(took)
        server.append(served)
    return times, server


async def neighbour_times(dash: Dash, repeats: int) -> tuple[list[float], list[float]]:
    await dash.settle()
    async with dash.rerun():
        await dash.page.get_by_text("a similar row", exact=True).first.click()
    label = "Row (its id, or its number)"
    times, server = [], []
    for i in range(repeats):
        row = str(1000 * (i + 1))
        await dash.settle()
        box = dash.page.get_by_label(label, exact=True)
        await box.fill(row)
        took, served = await answered(dash, lambda b=box: b.press("Enter"), f"rows nearest to {row}")
        times.append(took)
        server.append(served)
    return times, server


async def pick(dash: Dash, label: str, option: str) -> None:
    """Add ``option`` to the multiselect ``label`` (untimed), and close its list."""
    await dash.settle()
    await dash.page.get_by_role("combobox", name=label).first.click()
    async with dash.rerun():
        await dash.page.get_by_role("option", name=option, exact=True).click()
    await dash.page.keyboard.press("Escape")


def summary(times: list[float], server: list[float], **more) -> dict:
    return {
        "median": round(statistics.median(times), 2),
        "all": [round(t, 2) for t in times],
        "server_median": round(statistics.median(server), 2),
        **more,
    }


async def measure(
    url: str, run_id: str, repeats: int, steps: tuple[str, ...] = STEPS, sizes: list[int] | None = None
) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        dash = Dash(await (await browser.new_context(viewport=VIEWPORT)).new_page(), url, "bench")
        t0 = time.perf_counter()
        await dash.open(f"?run={run_id}", heading="Explore")
        await drawn_with(dash, "cluster")
        first = time.perf_counter() - t0
        await dash.settle()
        out: dict = {"open_link_s": round(first, 2)}
        try:
            if "recolour" in steps:
                out["recolour_s"] = summary(*await recolour_times(dash, repeats))
                await dash.choose("Colour by", "cluster")
                await drawn_with(dash, "cluster")
            if "select" in steps:
                select, counts, select_server = await box_select_times(dash, repeats)
                out["box_select_s"] = summary(select, select_server, points_selected=counts)
            if "search" in steps:
                out["search_s"] = summary(*await search_times(dash, repeats))
            if "neighbours" in steps:
                out["neighbours_s"] = summary(*await neighbour_times(dash, repeats))
            if "filter" in steps:
                out["filter_s"] = summary(*await filter_times(dash, repeats, sizes or [1] * K))
        except Exception:
            log(f"failed; the page as it was: {await dash.shot('browser-timing-failed')}")
            raise
        errors = await dash.errors()
        await browser.close()
    assert not errors, errors
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--caps",
        type=int,
        nargs="+",
        default=[DISPLAY_CAP],
        help="interactive caps to time (markers drawn; above it the density image); one server each",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="the steps to time")
    parser.add_argument("--out", type=Path, default=RESULTS / "browser.json")
    args = parser.parse_args(argv)
    missing = chromium_missing()
    if missing:
        print(f"browser_timing: {missing}", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs, sizes = {}, {}
        for n in args.sizes:
            log(f"saving a synthetic run of {n:,} points")
            runs[n], sizes[n] = make_run(n, work / "runs")
        for cap in args.caps:
            env = {
                "EXPLORER_DISPLAY_CAP": str(cap),
                "EXPLORER_MAX_ROWS": str(max(args.sizes)),
                "EXPLORER_MAX_DISPLAY_POINTS": str(max(cap, 200_000)),
            }
            with streamlit_server(work / "runs", SERVER_LOG, env=env) as server:
                for n in args.sizes:
                    log(f"{n:,} points, cap {cap:,}: {', '.join(args.steps)}, {args.repeats} times each")
                    timing = asyncio.run(measure(server.url, runs[n], args.repeats, tuple(args.steps), sizes[n]))
                    results.append(
                        {
                            "points": n,
                            "display_cap": cap,
                            "density_image": n > cap,
                            **timing,
                            "server_rss_mib": round(server.rss_bytes() / 2**20),
                        }
                    )
                    log(f"{n:,} points, cap {cap:,}: {timing}")
    write_json(
        args.out,
        {
            "what": "Explore page in headless Chromium (software WebGL): a saved synthetic run opened by its link; "
            "re-colour = pick another 'Colour by' until the scatter (and its density image) is redrawn; "
            "box-select = mouse released until the selection panel shows; search, filter, neighbours = Enter or "
            "click until the answer shows; medians of the repeats",
            "steps": list(args.steps),
            "repeats": args.repeats,
            "browser": chromium_version(),
            "machine": machine(),
            "results": results,
        },
    )
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
