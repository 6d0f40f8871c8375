"""Drive the dashboard in a real browser: start a server, and do what a user does on each page.

Shared by the browser tests (``tests/browser/``) and ``bench/measure/browser_timing.py``. Playwright's async
API, so that several sessions (one browser context each) can be driven at once from one thread with
``asyncio.gather`` (its sync API may not be used from several threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
VIEWPORT = {"width": 1400, "height": 1000}
# Caps for a test server: small enough that a runaway test fails fast, large enough for 100k points.
SMALL_CAPS = {
    "EXPLORER_MAX_UPLOAD_BYTES": str(50 * 2**20),
    "EXPLORER_MAX_ROWS": "200000",
    "EXPLORER_MAX_EPOCHS": "50",
    "EXPLORER_MAX_TRAIN_SECONDS": "60",
    "EXPLORER_MAX_SESSION_TRAIN_SECONDS": "300",
    # downloads of more rows than this take a "Prepare" click first: the 150-row runs of test_dashboard go
    # that way, the markup test's 90 rows and the apply test's 40 are made with the page
    "EXPLORER_MAX_EAGER_DOWNLOAD_ROWS": "100",
}
# How long a step waits for what it checks, by default. Generous: on a busy 2-core machine a rerun
# can take many seconds to start and a chart many more to draw; a wait ends as soon as its thing shows.
WAIT_S = float(os.environ.get("EXPLORER_BROWSER_WAIT_S", "60"))
RUN_ID = re.compile(r"\?run=([A-Za-z0-9_-]{22})\b")
ERROR_BOXES = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def chromium_missing() -> str | None:
    """Why the browser tests can't run here, or None when they can."""
    if not Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (install Debian's chromium: `make chromium`)"
    try:
        import playwright  # noqa: F401 - only whether it imports
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
def streamlit_server(
    runs_dir: Path, log: Path, env: dict[str, str] | None = None, timeout_s: float = 90.0
) -> Iterator[Server]:
    """Start the dashboard on a free loopback port, wait for ``/_stcore/health``, stop it afterwards."""
    port = free_port()
    runs_dir.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if k not in ("EXPLORER_LIST_RUNS", "EXPLORER_SYNC_JOBS")}
    environ.update({"EXPLORER_RUNS_DIR": str(runs_dir), "PYTHONUNBUFFERED": "1", **SMALL_CAPS, **(env or {})})
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
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


# Counts the messages the page's Streamlit websocket receives (the latest socket's), so that a step can
# tell when the page has taken in every message the server sent (ScriptRuns counts them too).
FRAME_COUNTER = """(() => {
    if (window.__explorerFrames !== undefined) return;
    window.__explorerFrames = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            if (String(args[0]).includes('/_stcore/stream')) {
                window.__explorerFrames = 0;
                this.addEventListener('message', () => { window.__explorerFrames += 1; });
            }
        }
    };
})()"""


class ScriptRuns:
    """A session's script runs as the server reports them, read off the page's websocket.

    The page's own signal (``data-test-script-state`` on stApp) can't say when a change has been
    dealt with: it turns "running" only once the server answers, which on a busy machine takes
    seconds, and React may batch "running" and "notRunning" into one render so that "running" never
    shows. The websocket says it exactly: the page sends a BackMsg ``rerun_script`` for each change
    (a click, a new widget value, a page switch, an upload) and the server answers each full run with
    a ForwardMsg ``script_finished`` and ``session_status_changed`` when it starts and stops running.
    """

    def __init__(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._back, self._forward = BackMsg, ForwardMsg
        self._done = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
        self.seq = 0  # events seen, in order
        self.requested = 0  # seq of the last full-run request the page sent
        self.finished = 0  # seq of the last full run's end
        self.requests = 0  # full-run requests sent
        self.running = False  # the server's last word: is a script (or fragment) running?
        self.frames = 0  # messages received on the latest socket

    def watch(self, ws) -> None:
        if "/_stcore/stream" not in ws.url:
            return
        self.frames = 0
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = self._back()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a message of ours to follow
            return
        if msg.WhichOneof("type") == "rerun_script" and not msg.rerun_script.fragment_id:
            self.seq += 1
            self.requested, self.requests = self.seq, self.requests + 1

    def _received(self, payload) -> None:
        self.frames += 1
        if isinstance(payload, str):
            return
        msg = self._forward()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a message of ours to follow
            return
        kind = msg.WhichOneof("type")
        if kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "new_session" and msg.new_session.HasField("initialize"):
            self.running = msg.new_session.initialize.session_status.script_is_running
        elif kind == "script_finished" and msg.script_finished in self._done:
            self.seq += 1
            self.finished = self.seq

    @property
    def quiet(self) -> bool:
        """No run in progress and none asked for that hasn't ended."""
        return not self.running and self.requested <= self.finished


class Dash:
    """One browser session of the dashboard (a page in its own context), and the steps a user takes."""

    def __init__(self, page, base_url: str, name: str = "") -> None:
        self.page, self.base_url, self.name = page, base_url.rstrip("/"), name
        self.runs = ScriptRuns()
        page.on("websocket", self.runs.watch)
        self._counting = False

    # -- getting around ---------------------------------------------------------------------------------
    async def open(self, query: str = "", heading: str = "Data") -> None:
        """Load the app (``query`` e.g. ``?run=<id>``), wait for ``heading`` and for the first run to end."""
        if not self._counting:
            await self.page.add_init_script(FRAME_COUNTER)
            self._counting = True
        await self.page.goto(self.base_url + "/" + query)
        await self.heading(heading, timeout_s=2 * WAIT_S)
        await self.settle()

    async def heading(self, text: str, timeout_s: float = WAIT_S) -> None:
        await self.page.get_by_role("heading", name=text).first.wait_for(timeout=timeout_s * 1000)

    async def go(self, title: str, heading: str | None = None) -> None:
        """Click a page in the sidebar's navigation, wait for its title and for its run to end (the
        previous page's elements, left stale meanwhile, are gone then)."""
        await self.settle()
        await self.page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
        await self.heading(heading or title)
        await self.settle()

    async def nav_titles(self, expected: list[str] | None = None, timeout_s: float = WAIT_S) -> list[str]:
        """The page titles in the sidebar's navigation. With ``expected``, first waits (up to
        ``timeout_s``) until they are those; either way returns what is there (the caller asserts)."""
        links = self.page.locator('[data-testid="stSidebarNav"] a')
        if expected is not None:
            with contextlib.suppress(AssertionError):
                await _expect(links).to_have_text(
                    [re.compile(rf"(^|\n)\s*{re.escape(t)}\s*$") for t in expected],
                    use_inner_text=True,
                    timeout=timeout_s * 1000,
                )
        texts = await links.all_inner_texts()
        return [t.split("\n")[-1].strip() for t in texts]

    async def see(self, text: str, timeout_s: float = WAIT_S):
        loc = self.page.get_by_text(text).first
        await loc.wait_for(timeout=timeout_s * 1000)
        return loc

    async def errors(self) -> list[str]:
        """Texts of the exception elements and red error boxes on the page (none is good), once the
        script run in progress has ended (a run draws its error boxes, and clears stale ones, by then)."""
        await self.settle()
        return [t.strip() for t in await self.page.locator(ERROR_BOXES).all_inner_texts()]

    async def texts(self, selector: str, contains: str | None = None, timeout_s: float = WAIT_S) -> list[str]:
        """Inner texts of the elements matching ``selector`` once the run in progress has ended; with
        ``contains``, first waits (up to ``timeout_s``) until one of them has that text (backticks of
        inline code aside). Returns what is there either way (the caller asserts)."""
        await self.settle()
        loc = self.page.locator(selector)
        if contains is not None:
            pattern = re.compile(r"`?".join(re.escape(c) for c in contains))
            with contextlib.suppress(AssertionError):
                await _expect(loc.filter(has_text=pattern).first).to_be_attached(timeout=timeout_s * 1000)
        return await loc.all_inner_texts()

    async def count(self, selector_or_locator, n: int, timeout_s: float = WAIT_S) -> int:
        """How many elements match, once the run in progress has ended and (waiting up to ``timeout_s``)
        there are ``n`` of them; returns the count then, whatever it is (the caller asserts)."""
        await self.settle()
        loc = self.page.locator(selector_or_locator) if isinstance(selector_or_locator, str) else selector_or_locator
        with contextlib.suppress(AssertionError):
            await _expect(loc).to_have_count(n, timeout=timeout_s * 1000)
        return await loc.count()

    async def shot(self, step: str) -> Path:
        """A full-page screenshot, kept as test output: test-output/screenshots/<session>-<step>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name + '-' if self.name else ''}{step}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    # -- widgets ------------------------------------------------------------------------------------------
    async def choose(self, label: str, option: str) -> None:
        """Pick ``option`` (its shown text) in the select box labelled ``label``."""
        await self.settle()
        box = self.page.get_by_role("combobox", name=label, exact=True)
        if (await box.input_value()) == option:
            return
        await box.click()
        async with self.rerun():
            await self.page.get_by_role("option", name=option, exact=True).click()
        await self._value_is(box, option)

    async def number(self, label: str, value: float | str) -> None:
        """Type ``value`` into the number or text input labelled ``label`` and commit it (Enter);
        nothing to do when it holds that value already (Enter would start no rerun to wait for)."""
        await self.settle()
        box = self.page.get_by_label(label, exact=True)
        if (await box.input_value()) == str(value):
            return
        await box.fill(str(value))
        async with self.rerun():
            await box.press("Enter")
        await self._value_is(box, str(value))

    async def tick(self, label: str, on: bool) -> None:
        await self.settle()
        box = self.page.get_by_role("checkbox", name=label, exact=True)
        if await box.is_checked() != on:
            async with self.rerun():
                await self.page.locator('[data-testid="stCheckbox"]', has_text=label).locator("label").click()
        timeout = WAIT_S * 1000
        await (_expect(box).to_be_checked(timeout=timeout) if on else _expect(box).not_to_be_checked(timeout=timeout))

    @contextlib.asynccontextmanager
    async def rerun(self, start_s: float = 10, timeout_s: float = 2 * WAIT_S):
        """``async with dash.rerun(): <change a widget>`` waits for the rerun the change starts to end.

        A button's callback gets the values of the last finished run, and a widget that a rerun draws
        again may lose a value typed meanwhile, so each change waits for its rerun before the next.
        It first waits for any run in progress to end; then, after the change, for the page to ask the
        server for a run (the page does that at once; if it hasn't within ``start_s`` seconds, nothing
        changed) and for the server to finish it (see ``settle``).
        """
        await self.settle(timeout_s)
        before = self.runs.requests
        yield
        deadline = time.monotonic() + start_s
        while self.runs.requests == before and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.settle(timeout_s)

    async def settle(self, timeout_s: float = 2 * WAIT_S) -> None:
        """Wait until no script run is in progress or asked for: the server has finished every full
        run the page asked for (ScriptRuns), the page has taken in all the server sent and shows
        its script state "notRunning", and it has drawn that (two animation frames)."""
        deadline = time.monotonic() + timeout_s
        idle = self.page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
        while True:
            while not self.runs.quiet:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.name}: script runs not over after {timeout_s:.0f} s "
                        f"(running={self.runs.running}, asked={self.runs.requested}, "
                        f"ended={self.runs.finished})"
                    )
                await asyncio.sleep(0.05)
            frames = self.runs.frames
            if self._counting:  # the page has had every message the server sent (a socket opened
                # meanwhile restarts both counts; hence a bound on this wait, not an error)
                with contextlib.suppress(Exception):
                    await self.page.wait_for_function(
                        "n => (window.__explorerFrames ?? n) >= n",
                        arg=frames,
                        timeout=min(15.0, max(1.0, deadline - time.monotonic())) * 1000,
                        polling=50,
                    )
            await idle.wait_for(timeout=max(1.0, deadline - time.monotonic()) * 1000)
            await self.page.evaluate("""() => new Promise(r => {
                setTimeout(r, 2000);  // should frames not be drawn (a page in the background)
                requestAnimationFrame(() => requestAnimationFrame(r));
            })""")
            if self.runs.quiet and self.runs.frames == frames:
                return

    async def click(self, label: str) -> None:
        """Click the button ``label``, once the run in progress has ended (its callback then gets the
        values of the widgets as they are now)."""
        await self.settle()
        await self.page.get_by_role("button", name=label).first.click()

    @staticmethod
    async def _value_is(box, value: str) -> None:
        await _expect(box).to_have_value(value, timeout=WAIT_S * 1000)

    # -- the steps -----------------------------------------------------------------------------------------
    async def upload(self, path: Path, name: str) -> None:
        """Data page: "My own files", then the file through the real uploader; waits until it is in use
        and the run that loaded it has ended."""
        await self.own_files()
        await self.page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
        await self.heading(f"In use: {name}", timeout_s=2 * WAIT_S)
        await self.settle()

    async def own_files(self) -> None:
        """Data page: pick "My own files" and wait for the rerun that draws the uploader."""
        async with self.rerun():
            await self.page.get_by_text("My own files", exact=True).click()
        await self.page.locator('[data-testid="stFileUploader"] input[type="file"]').wait_for(
            state="attached", timeout=WAIT_S * 1000
        )

    async def train(self, model: str, timeout_s: float = 180, **numbers: float | str) -> None:
        """Train page: the model and its settings (input label -> value), Train, wait until trained."""
        await self.go("Train", "Train a representation")
        await self.choose("Model", model)
        for label, value in numbers.items():
            await self.number(label, value)
        await self.click("Train")
        await self.see("Trained with these settings", timeout_s)
        await self.settle()  # the run that shows the trained model (and draws its loss curve) ends

    async def cluster_kmeans(self, k: int, timeout_s: float = 180) -> None:
        """Cluster page: k-means with k clusters on a PCA map; waits for the run's cluster count."""
        await self.go("Cluster")
        await self.choose("Clustering", "k-means")
        await self.tick("Choose k by a sweep", False)
        await self.number("k (clusters)", k)
        await self.choose("Projection for the scatter", "PCA")
        await self.click("Run clustering")
        metric = self.page.locator('[data-testid="stMetric"]', has_text="clusters").locator(
            '[data-testid="stMetricValue"]'
        )
        await _expect(metric).to_have_text(str(k), timeout=timeout_s * 1000)
        await self.settle()

    async def scatter(self, timeout_s: float = WAIT_S):
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
        return await plot.evaluate(
            """(gd, [axis, pixels]) => {
            const ax = gd._fullLayout[axis], box = gd.getBoundingClientRect();
            const origin = axis === 'xaxis' ? box.left : box.top;
            return pixels.map(p => ax.p2d(p - origin - ax._offset));
        }""",
            [axis, pixels],
        )

    async def figure(
        self, points: int | None = None, selected: int | None = None, timeout_s: float = WAIT_S
    ) -> list[dict]:
        """The scatter's traces as Plotly drew them (its decoded ``_fullData``): name, type, x, y,
        customdata (row numbers) and selectedpoints (indices into the trace, null when nothing is selected).

        Read once the script run in progress has ended and the figure is drawn with data: ``points``
        points in all and ``selected`` of them selected, where given (a rerun may draw the figure again,
        and a selection reaches ``selectedpoints`` in its own time). Waits up to ``timeout_s`` for that,
        then reads what is there, whatever it is (the caller asserts).
        """
        await self.settle()
        with contextlib.suppress(Exception):
            await self.page.wait_for_function(
                """([points, selected]) => {
                const gd = document.querySelector('.js-plotly-plot');
                if (!gd || !gd._fullData || !gd._fullData.length) return false;
                const n = a => a == null ? 0 : a.length;
                const total = gd._fullData.reduce((s, t) => s + n(t.x), 0);
                const chosen = gd._fullData.reduce((s, t) => s + n(t.selectedpoints), 0);
                return total > 0 && (points === null || total === points) && (selected === null || chosen === selected);
            }""",
                arg=[points, selected],
                timeout=timeout_s * 1000,
                polling=100,
            )
        return await self.page.evaluate("""() => {
            const gd = document.querySelector('.js-plotly-plot');
            const list = a => a == null ? null : Array.from(a);
            return gd._fullData.map(t => ({name: t.name, type: t.type, x: list(t.x), y: list(t.y),
                                      customdata: list(t.customdata), selectedpoints: list(t.selectedpoints)}));
        }""")

    async def selected_count(self, timeout_s: float = WAIT_S) -> int:
        """Wait for the selection panel and return its "N points selected"."""
        loc = self.page.get_by_text(re.compile(r"^[\d,]+ points selected$")).first
        await loc.wait_for(timeout=timeout_s * 1000)
        return int((await loc.inner_text()).split()[0].replace(",", ""))

    async def dataframe(
        self, index: int = 0, within: str = "", min_rows: int = 2, timeout_s: float = WAIT_S
    ) -> list[list[str]]:
        """The cells of the ``index``-th st.dataframe (below the CSS selector ``within``), header first,
        as its grid exposes them to assistive technology (the rows in view).

        Read once the script run in progress has ended and the grid's table has ``min_rows`` rows
        (header included) with text in their first cells, waiting up to ``timeout_s`` for that; then
        what is there, whatever it is (the caller asserts)."""
        await self.settle()
        selector = f'{within} [data-testid="stDataFrame"]'.strip()
        grid = self.page.locator(selector).nth(index)
        await grid.locator("table").first.wait_for(state="attached", timeout=timeout_s * 1000)
        with contextlib.suppress(Exception):
            await self.page.wait_for_function(
                """([selector, index, minRows]) => {
                const g = document.querySelectorAll(selector)[index];
                const rows = g ? [...g.querySelectorAll('table tr')] : [];
                return rows.length >= minRows && rows.every(tr => {
                    const first = tr.querySelector('th, td');
                    return first && first.innerText.trim() !== '';
                });
            }""",
                arg=[selector, index, min_rows],
                timeout=timeout_s * 1000,
                polling=100,
            )
        return await grid.evaluate("""g => [...g.querySelectorAll('table tr')].map(
            tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.trim()))""")

    async def save_run(self, timeout_s: float = 2 * WAIT_S) -> str:
        """Share page: Save this run; returns the run id from the read-only link shown."""
        await self.go("Share")
        await self.click("Save this run")
        code = self.page.locator('[data-testid="stCode"]', has_text="?run=").first
        await code.wait_for(timeout=timeout_s * 1000)
        await _expect(code).to_contain_text(RUN_ID, timeout=WAIT_S * 1000)
        await self.settle()
        match = RUN_ID.search(await code.inner_text())
        assert match, await code.inner_text()
        return match.group(1)
