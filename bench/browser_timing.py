"""How fast the Explore page answers in a real browser, at 10k and 100k points.

    python bench/browser_timing.py [--sizes 10000 100000] [--repeats 5] [--out bench/results/browser.json]

For each size: synthetic embeddings (Gaussian blobs, 32 dimensions) run through the library with model
"none", k-means and a PCA map, saved as a run; a `streamlit run app.py` on a free loopback port; Debian's
headless Chromium opens the run's share link (``?run=<id>``) and measures, median of the repeats:

- re-colour: from picking another "Colour by" (cluster <-> anomaly) until Plotly has drawn the scatter
  with the new colouring (its traces carry the new names, two animation frames later);
- box-select: from releasing the mouse after dragging a box with Plotly's Box Select tool until the
  selection panel shows "N points selected" and its cluster make-up table.

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

from common import RESULTS, ROOT, log, machine, write_json

sys.path.insert(0, str(ROOT))  # for tests/ (not a package that is installed); explorer itself is installed
from tests.browser.driver import CHROMIUM, Dash, VIEWPORT, chromium_missing, launch, streamlit_server  # noqa: E402

SERVER_LOG = ROOT / "test-output" / "browser-timing-server.log"
COLOURS = ("anomaly", "cluster")  # a number on a colour scale, and k categories (a trace each)
K = 10


def chromium_version() -> str:
    import subprocess

    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return f"{out or 'Chromium'} ({CHROMIUM}, headless, software WebGL)"


def make_run(n: int, runs_dir: Path, work: Path, seed: int = 0) -> str:
    """Save a run of n synthetic embeddings (model "none", k-means, PCA map); returns its id."""
    import numpy as np
    from sklearn.datasets import make_blobs

    from explorer.data import load
    from explorer.pipeline import default_config, replace_nested, run_pipeline
    from explorer.runs import save_run

    X, _ = make_blobs(n_samples=n, centers=K, n_features=32, cluster_std=2.0, random_state=seed)
    path = work / f"embeddings_{n}.npy"
    np.save(path, X.astype(np.float32))
    ds = load(path)
    cfg = replace_nested(default_config(ds), model="none", method="kmeans", k=K, projection_method="pca")
    result = run_pipeline(ds, cfg)
    save_run(result, runs_dir)
    return result.run_id


async def drawn_with(dash: Dash, colour: str, timeout_s: float = 300) -> None:
    """Wait until the scatter's traces are those of ``colour`` and the browser has painted them."""
    await dash.page.wait_for_function(
        """colour => {
            const gd = document.querySelector('.js-plotly-plot');
            if (!gd || !gd._fullData || !gd._fullData.length) return false;
            const names = gd._fullData.map(t => String(t.name));
            return colour === 'cluster' ? names.every(n => /^\\d+$/.test(n)) : names.includes(colour);
        }""", arg=colour, timeout=timeout_s * 1000)
    await dash.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def recolour_times(dash: Dash, repeats: int) -> list[float]:
    box = dash.page.get_by_role("combobox", name="Colour by", exact=True)
    times = []
    for i in range(repeats):
        colour = COLOURS[i % 2]
        await box.click()
        option = dash.page.get_by_role("option", name=colour, exact=True)
        await option.wait_for()
        t0 = time.perf_counter()
        await option.click()
        await drawn_with(dash, colour)
        times.append(time.perf_counter() - t0)
        await dash.settle()
    return times


async def box_select_times(dash: Dash, repeats: int) -> tuple[list[float], list[int]]:
    times, counts = [], []
    hint = dash.page.get_by_text("Drag a box or a lasso over the map")
    for i in range(repeats):
        await hint.wait_for(timeout=120_000)  # nothing selected
        await dash.drag_box((0.1, 0.1, 0.45 + 0.05 * i, 0.9))
        t0 = time.perf_counter()
        counts.append(await dash.selected_count(timeout_s=300))
        await dash.page.locator('[data-testid="stDataFrame"]').first.locator("table").wait_for(state="attached")
        times.append(time.perf_counter() - t0)
        await dash.settle()
        area = await dash.plot_area()  # a double-click outside the box clears the selection
        await dash.page.mouse.dblclick(area["x"] + 0.97 * area["width"], area["y"] + 0.03 * area["height"])
    return times, counts


async def measure(url: str, run_id: str, repeats: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        dash = Dash(await (await browser.new_context(viewport=VIEWPORT)).new_page(), url, "bench")
        t0 = time.perf_counter()
        await dash.open(f"?run={run_id}", heading="Explore")
        await drawn_with(dash, "cluster")
        first = time.perf_counter() - t0
        await dash.settle()
        try:
            recolour = await recolour_times(dash, repeats)
            await dash.choose("Colour by", "cluster")
            await drawn_with(dash, "cluster")
            select, counts = await box_select_times(dash, repeats)
        except Exception:
            log(f"failed; the page as it was: {await dash.shot('browser-timing-failed')}")
            raise
        errors = await dash.errors()
        await browser.close()
    assert not errors, errors
    return {
        "open_link_s": round(first, 2),
        "recolour_s": {"median": round(statistics.median(recolour), 2), "all": [round(t, 2) for t in recolour]},
        "box_select_s": {"median": round(statistics.median(select), 2), "all": [round(t, 2) for t in select],
                         "points_selected": counts},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "browser.json")
    args = parser.parse_args(argv)
    missing = chromium_missing()
    if missing:
        print(f"browser_timing: {missing}", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = {}
        for n in args.sizes:
            log(f"saving a run of {n:,} points")
            runs[n] = make_run(n, work / "runs", work)
        with streamlit_server(work / "runs", SERVER_LOG) as server:
            for n in args.sizes:
                log(f"{n:,} points: {args.repeats} re-colourings and box selections")
                timing = asyncio.run(measure(server.url, runs[n], args.repeats))
                results.append({"points": n, **timing, "server_rss_mib": round(server.rss_bytes() / 2**20)})
                log(f"{n:,} points: {timing}")
    write_json(args.out, {
        "what": "Explore page in headless Chromium (software WebGL): a saved run opened by its link; "
                "re-colour = pick another 'Colour by' until the scatter is redrawn; box-select = mouse "
                "released until the selection panel shows; medians of the repeats",
        "repeats": args.repeats,
        "browser": chromium_version(),
        "machine": machine(),
        "results": results,
    })
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
