"""Drive the dashboard in a real browser: start a server, and do what a user does on each page.

Shared by the browser tests (``tests/browser/``) and ``bench/browser_timing.py``. Playwright's async
API, so that several sessions (one browser context each) can be driven at once from one thread with
``asyncio.gather`` (its sync API may not be used from several threads).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
VIEWPORT = {"width": 1400, "height": 1000}
# Caps for a test server: small enough that a runaway test fails fast, large enough for 100k points.
SMALL_CAPS = {
    "EXPLORER_MAX_UPLOAD_BYTES": str(50 * 2**20),
    "EXPLORER_MAX_ROWS": "200000",
    "EXPLORER_MAX_EPOCHS": "50",
    "EXPLORER_MAX_TRAIN_SECONDS": "60",
    "EXPLORER_MAX_SESSION_TRAIN_SECONDS": "300",
}
RUN_ID = re.compile(r"\?run=([A-Za-z0-9_-]{22})\b")
ERROR_BOXES = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def chromium_missing() -> str | None:
    """Why the browser tests can't run here, or None when they can."""
    if not Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (install Debian's chromium: `make chromium`)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running ``streamlit run app.py``: its address, process, runs folder and log."""

    url: str
    process: subprocess.Popen
    runs_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        """The server's resident memory now (VmRSS from /proc; 0 once it has gone)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@contextlib.contextmanager
def streamlit_server(runs_dir: Path, log: Path, env: dict[str, str] | None = None,
                     timeout_s: float = 90.0) -> Iterator[Server]:
    """Start the dashboard on a free loopback port, wait for ``/_stcore/health``, stop it afterwards."""
    port = free_port()
    runs_dir.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if k not in ("EXPLORER_LIST_RUNS", "EXPLORER_SYNC_JOBS")}
    environ.update({"EXPLORER_RUNS_DIR": str(runs_dir), "PYTHONUNBUFFERED": "1", **SMALL_CAPS, **(env or {})})
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, runs_dir, log)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {timeout_s:.0f} s:\n{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _expect(locator):
    from playwright.async_api import expect  # here, so that without playwright the tests skip, not fail

    return expect(locator)


async def launch(playwright):
    """Debian's headless Chromium (WebGL through SwiftShader, so Plotly's Scattergl draws)."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Dash:
    """One browser session of the dashboard (a page in its own context), and the steps a user takes."""

    def __init__(self, page, base_url: str, name: str = "") -> None:
        self.page, self.base_url, self.name = page, base_url.rstrip("/"), name

    # -- getting around ---------------------------------------------------------------------------------
    async def open(self, query: str = "", heading: str = "Data") -> None:
        await self.page.goto(self.base_url + "/" + query)
        await self.heading(heading, timeout_s=60)

    async def heading(self, text: str, timeout_s: float = 30) -> None:
        await self.page.get_by_role("heading", name=text).first.wait_for(timeout=timeout_s * 1000)

    async def go(self, title: str, heading: str | None = None) -> None:
        """Click a page in the sidebar's navigation and wait for its title."""
        await self.page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
        await self.heading(heading or title)

    async def nav_titles(self) -> list[str]:
        texts = await self.page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        return [t.split("\n")[-1].strip() for t in texts]

    async def see(self, text: str, timeout_s: float = 30):
        loc = self.page.get_by_text(text).first
        await loc.wait_for(timeout=timeout_s * 1000)
        return loc

    async def errors(self) -> list[str]:
        """Texts of the exception elements and red error boxes on the page (none is good)."""
        return [t.strip() for t in await self.page.locator(ERROR_BOXES).all_inner_texts()]

    async def shot(self, step: str) -> Path:
        """A full-page screenshot, kept as test output: test-output/screenshots/<session>-<step>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name + '-' if self.name else ''}{step}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    # -- widgets ------------------------------------------------------------------------------------------
    async def choose(self, label: str, option: str) -> None:
        """Pick ``option`` (its shown text) in the select box labelled ``label``."""
        box = self.page.get_by_role("combobox", name=label, exact=True)
        if (await box.input_value()) == option:
            return
        await box.click()
        async with self.rerun():
            await self.page.get_by_role("option", name=option, exact=True).click()
        await self._value_is(box, option)

    async def number(self, label: str, value: float | str) -> None:
        """Type ``value`` into the number or text input labelled ``label`` and commit it (Enter)."""
        box = self.page.get_by_label(label, exact=True)
        await box.fill(str(value))
        async with self.rerun():
            await box.press("Enter")
        await self._value_is(box, str(value))

    async def tick(self, label: str, on: bool) -> None:
        box = self.page.get_by_role("checkbox", name=label, exact=True)
        if await box.is_checked() != on:
            async with self.rerun():
                await self.page.locator('[data-testid="stCheckbox"]', has_text=label).locator("label").click()
        await (_expect(box).to_be_checked() if on else _expect(box).not_to_be_checked())

    @contextlib.asynccontextmanager
    async def rerun(self, start_s: float = 3, timeout_s: float = 120):
        """``async with dash.rerun(): <change a widget>`` waits for the rerun the change starts to end.

        A button's callback gets the values of the last finished run, and a widget that a rerun draws
        again may lose a value typed meanwhile, so each change waits for its rerun before the next.
        A MutationObserver counts the app's script state turning "running", however briefly; if no
        run starts within ``start_s`` seconds (nothing changed), it carries on.
        """
        await self.page.evaluate("""() => {
            const app = document.querySelector('[data-testid=stApp]');
            window.__explorerRuns = 0;
            window.__explorerObserver?.disconnect();
            window.__explorerObserver = new MutationObserver(() => {
                if (app.dataset.testScriptState === 'running') window.__explorerRuns += 1;
            });
            window.__explorerObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
        }""")
        yield
        with contextlib.suppress(Exception):
            await self.page.wait_for_function("() => window.__explorerRuns > 0", timeout=start_s * 1000)
        await self.settle(timeout_s)

    async def settle(self, timeout_s: float = 120) -> None:
        """Wait until no script run is in progress."""
        await self.page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            timeout=timeout_s * 1000)

    async def click(self, label: str) -> None:
        await self.page.get_by_role("button", name=label).first.click()

    @staticmethod
    async def _value_is(box, value: str) -> None:
        await _expect(box).to_have_value(value, timeout=10_000)

    # -- the steps -----------------------------------------------------------------------------------------
    async def upload(self, path: Path, name: str) -> None:
        """Data page: "My own files", then the file through the real uploader; waits until it is in use."""
        await self.page.get_by_text("My own files", exact=True).click()
        await self.page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
        await self.heading(f"In use: {name}", timeout_s=60)

    async def train(self, model: str, timeout_s: float = 120, **numbers: float | str) -> None:
        """Train page: the model and its settings (input label -> value), Train, wait until trained."""
        await self.go("Train", "Train a representation")
        await self.choose("Model", model)
        for label, value in numbers.items():
            await self.number(label, value)
        await self.click("Train")
        await self.see("Trained with these settings", timeout_s)

    async def cluster_kmeans(self, k: int, timeout_s: float = 120) -> None:
        """Cluster page: k-means with k clusters on a PCA map; waits for the run's cluster count."""
        await self.go("Cluster")
        await self.choose("Clustering", "k-means")
        await self.tick("Choose k by a sweep (silhouette, BIC)", False)
        await self.number("k (clusters)", k)
        await self.choose("Projection for the scatter", "PCA")
        await self.click("Run clustering")
        metric = self.page.locator('[data-testid="stMetric"]', has_text="clusters").locator('[data-testid="stMetricValue"]')
        await _expect(metric).to_have_text(str(k), timeout=timeout_s * 1000)

    async def scatter(self, timeout_s: float = 60):
        """The Explore page's Plotly figure, once its WebGL canvas is drawn."""
        plot = self.page.locator(".js-plotly-plot").first
        await plot.locator("canvas").first.wait_for(timeout=timeout_s * 1000)
        return plot

    async def plot_area(self) -> dict:
        """The scatter's plot area (where dragging selects) in page pixels: x, y, width, height."""
        plot = await self.scatter()
        return await plot.locator(".nsewdrag").first.bounding_box()

    async def drag_box(self, frac=(0.05, 0.05, 0.6, 0.95)) -> tuple[float, float, float, float]:
        """Box Select in Plotly's modebar, then drag over the plot area from (x0, y0) to (x1, y1),
        given as fractions of the plot area; returns as soon as the mouse is released, with the box
        in page pixels (x0, y0, x1, y1)."""
        plot = await self.scatter()
        await plot.hover()  # the modebar shows on hover
        await plot.locator('.modebar-btn[data-title="Box Select"]').click()
        area = await self.plot_area()
        x0, y0 = area["x"] + frac[0] * area["width"], area["y"] + frac[1] * area["height"]
        x1, y1 = area["x"] + frac[2] * area["width"], area["y"] + frac[3] * area["height"]
        mouse = self.page.mouse
        await mouse.move(x0, y0)
        await mouse.down()
        await mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
        await mouse.move(x1, y1, steps=5)
        await mouse.up()
        return x0, y0, x1, y1

    async def box_select(self, frac=(0.05, 0.05, 0.6, 0.95)) -> tuple[float, float, float, float]:
        """drag_box(frac); returns the box in data coordinates (xmin, xmax, ymin, ymax)."""
        x0, y0, x1, y1 = await self.drag_box(frac)
        plot = await self.scatter()
        x_range = await self._to_data(plot, "xaxis", [x0, x1])
        y_range = await self._to_data(plot, "yaxis", [y0, y1])
        return min(x_range), max(x_range), min(y_range), max(y_range)

    @staticmethod
    async def _to_data(plot, axis: str, pixels: list[float]) -> list[float]:
        """Page pixels along ``axis`` -> data coordinates, with Plotly's own axis conversion."""
        return await plot.evaluate("""(gd, [axis, pixels]) => {
            const ax = gd._fullLayout[axis], box = gd.getBoundingClientRect();
            const origin = axis === 'xaxis' ? box.left : box.top;
            return pixels.map(p => ax.p2d(p - origin - ax._offset));
        }""", [axis, pixels])

    async def figure(self) -> list[dict]:
        """The scatter's traces as Plotly drew them (its decoded ``_fullData``): name, type, x, y,
        customdata (row numbers) and selectedpoints (indices into the trace, null when nothing is selected)."""
        return await self.page.evaluate("""() => {
            const gd = document.querySelector('.js-plotly-plot');
            const list = a => a == null ? null : Array.from(a);
            return gd._fullData.map(t => ({name: t.name, type: t.type, x: list(t.x), y: list(t.y),
                                      customdata: list(t.customdata), selectedpoints: list(t.selectedpoints)}));
        }""")

    async def selected_count(self, timeout_s: float = 60) -> int:
        """Wait for the selection panel and return its "N points selected"."""
        loc = self.page.get_by_text(re.compile(r"^[\d,]+ points selected$")).first
        await loc.wait_for(timeout=timeout_s * 1000)
        return int((await loc.inner_text()).split()[0].replace(",", ""))

    async def dataframe(self, index: int = 0, within: str = "") -> list[list[str]]:
        """The cells of the ``index``-th st.dataframe (below the CSS selector ``within``), header first,
        as its grid exposes them to assistive technology (the rows in view)."""
        grid = self.page.locator(f'{within} [data-testid="stDataFrame"]'.strip()).nth(index)
        await grid.locator("table").first.wait_for(state="attached")
        return await grid.evaluate("""g => [...g.querySelectorAll('table tr')].map(
            tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.trim()))""")

    async def save_run(self, timeout_s: float = 60) -> str:
        """Share page: Save this run; returns the run id from the read-only link shown."""
        await self.go("Share")
        await self.click("Save this run")
        code = self.page.locator('[data-testid="stCode"]', has_text="?run=").first
        await code.wait_for(timeout=timeout_s * 1000)
        match = RUN_ID.search(await code.inner_text())
        assert match, await code.inner_text()
        return match.group(1)
