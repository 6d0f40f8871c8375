"""Hostile names and values in a real browser (tests/bad_inputs/markup.py): a table whose file name,
column names, category levels, labels and ids hold Markdown links and images, HTML tags, LaTeX, emoji
shortcodes, directives, bare addresses and an RTL override goes through the uploader, the clustering,
the map (its legend and a hover label), the evaluation, the save and the points download, and is then
opened read-only by a second user through its link. Nowhere in the DOM (Plotly's SVG included) is
there a link or an image pointing to evil.example, the browser never asks for it, the names read as
they were written, a hover label has one line per field, and the CSV's formulas are neutralized."""

from __future__ import annotations

import csv
import io

import pytest
from bad_inputs.markup import (
    EVIL,
    HOSTILE_FILE,
    HOSTILE_NAME,
    ID_COLUMN,
    LABEL_COLUMN,
    LABELS,
    LEVELS,
    TEXT_COLUMN,
    hostile_table,
    table_csv,
)

from explorer.display.usertext import FORMULA_PREFIXES, WORD_JOINER, is_number_text, plain_text, plotly_text

pytestmark = pytest.mark.browser

LABEL = "Label column (optional; evaluation only, never used to fit)"
NAME = plain_text(HOSTILE_NAME)  # how the name reads on the page (the RTL override shown as �)
# Every attribute that makes the browser fetch or link something, anywhere in the document.
LINKS_TO_EVIL = """(evil) => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            const name = attr.name.toLowerCase();
            if (['href', 'xlink:href', 'src', 'srcset', 'action', 'formaction', 'poster', 'data', 'style',
                 'background'].includes(name) && attr.value.toLowerCase().includes(evil))
                found.push(`<${el.tagName.toLowerCase()} ${name}="${attr.value.slice(0, 120)}">`);
        }
    }
    return found;
}"""
MARKUP_MADE = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] .katex, [data-testid="stSidebar"] .katex, [data-testid="stMarkdownContainer"] img, ' +
    '[data-testid="stMarkdownContainer"] a, [data-testid="stMarkdownContainer"] em, ' +
    '[data-testid="stMarkdownContainer"] h1, [data-testid="stMarkdownContainer"] table, ' +
    '[data-testid="stMarkdownContainer"] code, [data-testid="stImageCaption"] a'
)].map(el => el.outerHTML.slice(0, 160))"""


HOSTILE_MARKERS = ("evil", "smile", "Sign in", "javascript", "HYPERLINK")  # in every hostile name, in none of ours


def visible(text: str) -> str:
    return text.replace(WORD_JOINER, "").replace("\u00a0", " ")


class Watch:
    """The URLs one browser session asked for."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))

    def evil(self) -> list[str]:
        return [u for u in self.urls if EVIL in u.lower()]


async def no_markup(dash, where: str) -> list[str]:
    """What on the page links to or loads from evil.example, or renders user text as markup."""
    await dash.settle()
    found = [f"{where}: {f}" for f in await dash.page.evaluate(LINKS_TO_EVIL, EVIL)]
    for html in await dash.page.evaluate(MARKUP_MADE):
        ours = html.startswith(("<code", '<a href="#', '<h1 id="')) and not any(s in html for s in HOSTILE_MARKERS)
        if not ours:  # the page's own titles, their anchors and inline code (run ids, commands) are fine
            found.append(f"{where}: markup {html}")
    return found


async def hover_first_point_of(dash, trace_name: str) -> list[str]:
    """Move the mouse onto the first point of the trace ``trace_name`` (as the figure names it) and
    return the lines of the hover label Plotly draws."""
    plot = await dash.scatter()
    xy = await plot.evaluate(
        """(gd, name) => {
        const t = gd._fullData.find(t => t.name === name);
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
        return [box.left + xa._offset + xa.l2p(t.x[0]), box.top + ya._offset + ya.l2p(t.y[0])];
    }""",
        trace_name,
    )
    label = dash.page.locator(".hoverlayer .hovertext").first
    for dx in (0, 1, -1, 2):  # land on the point (WebGL picking is pixel exact)
        await dash.page.mouse.move(xy[0] + dx, xy[1] + dx)
        try:
            await label.wait_for(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - not on the point: try the next pixel
            continue
    return await label.evaluate("el => [...el.querySelectorAll('tspan.line')].map(t => t.textContent)")


def test_hostile_names_render_as_text_everywhere(new_session, server, run, tmp_path):
    rows = hostile_table()
    user = new_session("markup-owner", server.url)
    seen = Watch(user.page)

    async def own_work() -> tuple[str, list[str]]:
        problems: list[str] = []
        await user.open()
        await user.own_files()
        await user.page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": HOSTILE_FILE, "mimeType": "text/csv", "buffer": table_csv(rows)}]
        )
        await user.page.wait_for_function(
            """(want) => [...document.querySelectorAll('h3')].some(
            h => h.innerText.replaceAll('\\u2060', '').includes(want))""",
            arg=f"In use: {NAME}",
            timeout=120_000,
        )
        await user.choose(LABEL, plain_text(LABEL_COLUMN))
        await user.choose("ID column (optional)", ID_COLUMN)
        sidebar = " ".join(await user.texts('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]'))
        assert f"Data: {NAME} · 90 rows" in visible(sidebar), sidebar
        problems += await no_markup(user, "data")
        await user.shot("markup-01-data")

        await user.cluster_kmeans(3)
        caption = " ".join(await user.texts('[data-testid="stMain"] [data-testid="stCaptionContainer"]'))
        assert f"{NAME}: 90 rows" in visible(caption)
        problems += await no_markup(user, "cluster")

        await user.go("Explore")
        await user.choose("Colour by", plain_text(TEXT_COLUMN))
        await user.scatter()
        legend = await user.page.locator(".legend .legendtext").all_text_contents()
        assert sorted(legend) == sorted(plain_text(v) for v in LEVELS), legend
        lines = await hover_first_point_of(user, plotly_text(LEVELS[0]))
        assert f"{plain_text(TEXT_COLUMN)}: {LEVELS[0]}" in lines, lines  # the value as it is, on its line
        assert len(lines) == 4 + len(rows[0]), lines  # id, cluster, label, anomaly, then each column: no forged line
        problems += await no_markup(user, "explore, hovering")
        await user.shot("markup-02-hover")

        for page in ("Reconstructions & anomalies", "Evaluate"):
            await user.go(page)
            problems += await no_markup(user, page)
        ticks = await user.page.locator(".js-plotly-plot .ytick text").all_text_contents()
        assert set(ticks) == set(LABELS), ticks  # the heatmap's classes, as they are

        run_id = await user.save_run()
        problems += await no_markup(user, "share")
        download = await download_of(user, "Points (CSV)")
        points = tmp_path / "points.csv"
        await download.save_as(str(points))
        assert download.suggested_filename.endswith("-points.csv") and "/" not in download.suggested_filename
        return run_id, problems

    async def download_of(session, label: str, attempts: int = 3):
        """The file a download button gives, once the page is idle; a click a rerun swallowed (seen in CI on a
        loaded machine: no download, the button left spinning) is tried again on the page drawn anew, up to
        ``attempts`` times in all."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        for attempt in range(attempts):
            if attempt:
                await session.go("Share")
            await session.settle()
            try:
                async with session.page.expect_download(timeout=30_000) as info:
                    await session.page.get_by_role("button", name=label).click(timeout=30_000)
                return await info.value
            except PlaywrightTimeout:
                if attempt == attempts - 1:
                    raise

    run_id, problems = run(own_work())
    table = list(csv.DictReader(io.StringIO((tmp_path / "points.csv").read_text())))
    assert len(table) == 90 and "'=1+1 #0" in {r["id"] for r in table} and "-5" in {r["id"] for r in table}
    assert all(not v.startswith(FORMULA_PREFIXES) or is_number_text(v) for r in table for v in r.values())
    assert "'-2+3" in {r["label"] for r in table}

    viewer = new_session("markup-viewer", server.url)
    watched = Watch(viewer.page)

    async def shared_view() -> list[str]:
        found: list[str] = []
        await viewer.open(f"?run={run_id}", heading="Explore")
        await viewer.scatter()
        banner = " ".join(
            await viewer.texts(
                '[data-testid="stSidebar"] [data-testid="stAlert"]', contains=f"Viewing saved run {run_id}"
            )
        )
        assert f"Viewing saved run {run_id} (read-only): {NAME}, kmeans, 3 clusters." in visible(banner), banner
        found += await no_markup(viewer, "shared explore")
        await viewer.go("Cluster")
        summary = " ".join(await viewer.texts('[data-testid="stMain"] [data-testid="stMarkdownContainer"]'))
        assert f"Data {NAME} (table, 90 rows)" in visible(summary), summary
        for page in ("Cluster", "Evaluate", "Share"):
            await viewer.go(page)
            found += await no_markup(viewer, f"shared {page}")
        await viewer.shot("markup-03-shared")
        return found

    problems += run(shared_view())
    assert not problems, "\n".join(problems)
    assert seen.evil() == [] and watched.evil() == []  # nothing was fetched from evil.example
    assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()
