"""Fixtures of the browser tests: one dashboard server and one headless Chromium for the whole test
session, and a browser session (its own context: cookies, storage, Streamlit session) per user.

The tests are skipped, saying why, only when Chromium or the playwright package is missing
(`make test` installs both). Screenshots of each step land in test-output/screenshots/; a failing
test also leaves a screenshot of every session it had open, and the server log is
test-output/browser-server.log.

Every step waits for what it checks (tests/browser/driver.py), up to $EXPLORER_BROWSER_WAIT_S
seconds (60 by default). To see that they hold on a slow machine, slow the browser down:
EXPLORER_BROWSER_CPU_THROTTLE=8 runs each page's JavaScript 8 times slower (Chrome DevTools' CPU
throttling), e.g. with ``taskset -c 0`` to put the server and the browser on one core.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from .driver import ROOT, SCREENSHOTS, VIEWPORT, WAIT_S, Dash, chromium_missing, launch, streamlit_server

SERVER_LOG = ROOT / "test-output" / "browser-server.log"
CPU_THROTTLE = float(os.environ.get("EXPLORER_BROWSER_CPU_THROTTLE", "1"))


@pytest.fixture(scope="session", autouse=True)
def _chromium_present() -> None:
    reason = chromium_missing()
    if reason:
        pytest.skip(f"browser tests need Chromium and playwright: {reason}")


@pytest.fixture(scope="session")
def loop():
    """One event loop for the session: the browser lives in it and every test runs its steps in it."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def run(loop) -> Callable[[Awaitable[Any]], Any]:
    """run(coroutine) -> its result, in the session's event loop (the tests are plain functions)."""
    return loop.run_until_complete


@pytest.fixture(scope="session")
def browser(loop):
    from playwright.async_api import async_playwright

    playwright = loop.run_until_complete(async_playwright().start())
    chromium = loop.run_until_complete(launch(playwright))
    yield chromium
    loop.run_until_complete(chromium.close())
    loop.run_until_complete(playwright.stop())


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`streamlit run app.py` on a free loopback port with its own runs folder and small caps."""
    with streamlit_server(tmp_path_factory.mktemp("browser") / "runs", SERVER_LOG) as srv:
        yield srv


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def new_session(request, browser, run) -> Callable[[str, str], Dash]:
    """new_session(name, server_url) -> a Dash in a fresh browser context (a new user: its own Streamlit
    session). Contexts close after the test; if it failed, each leaves a screenshot <name>-failed.png."""
    sessions: list[Dash] = []

    async def make(name: str, base_url: str) -> Dash:
        context = await browser.new_context(viewport=VIEWPORT)
        # Playwright's own default (30 s for an action, e.g. a click waiting for its element) is short
        # for a busy machine; every step's own waits are given explicitly in the driver.
        context.set_default_timeout(WAIT_S * 1000)
        context.set_default_navigation_timeout(2 * WAIT_S * 1000)
        page = await context.new_page()
        if CPU_THROTTLE > 1:
            cdp = await context.new_cdp_session(page)
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_THROTTLE})
        return Dash(page, base_url, name)

    def new(name: str, base_url: str) -> Dash:
        (SCREENSHOTS / f"{name}-failed.png").unlink(missing_ok=True)  # an earlier run's
        dash = run(make(name, base_url))
        sessions.append(dash)
        return dash

    yield new
    report = getattr(request.node, "report_call", None)
    for dash in sessions:
        if report is not None and report.failed:
            try:
                run(dash.shot("failed"))
            except Exception:  # noqa: BLE001 - a screenshot is a bonus; the failure is what matters
                pass
        run(dash.page.context.close())


def write_csv(path: Path, header: list[str], rows) -> Path:
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return path
