"""Search, filter, names on the map and a merge on the Explore page, in a real headless Chromium against a
real `streamlit run app.py`: a person opens a saved run of three planted groups (50 'round', 50 'square',
50 'star') by its link, searches "star" and sees those 50 points bright and listed, filters the shape to
'round' and reads the filter's expression and count (the shape's histogram beside the map), turns on the
density contours, sees one name per cluster on the map, merges two clusters (two names left) and undoes it
(three again), without an error."""

from __future__ import annotations

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .driver import WAIT_S, _expect
from .test_apply import saved_run

pytestmark = pytest.mark.browser
COUNT_NAMES = "(document.querySelector('.js-plotly-plot').layout.annotations || []).length"  # names on the map


async def pick(user, label: str, option: str, tries: int = 3) -> None:
    """Add ``option`` (its shown text) to the multiselect labelled ``label``, and wait until the widget shows it
    chosen. A click on the open list can be lost while a run draws the page again on a busy machine (the list
    closes under the mouse): then it is picked again, as a person would."""
    box = user.page.get_by_role("combobox", name=label).first
    widget = user.page.locator('[data-testid="stMultiSelect"]').filter(has=box)
    chosen = widget.locator(".react-aria-ComboBox [data-tag]", has=user.page.get_by_title(option, exact=True))
    for _ in range(tries):
        await user.settle()
        await box.click()
        listed = user.page.get_by_role("option", name=option, exact=True)
        if await listed.count():
            async with user.rerun():
                await listed.click()
        await user.page.keyboard.press("Escape")
        try:
            await chosen.first.wait_for(state="visible", timeout=WAIT_S * 1000 / tries)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"{option!r} not chosen in {label!r} after {tries} tries")


async def names_on_map(user, n: int) -> int:
    """How many names the map draws, once it draws ``n`` (waiting up to WAIT_S)."""
    await user.settle()
    await user.page.wait_for_function(f"() => {COUNT_NAMES} === {n}", timeout=WAIT_S * 1000, polling=100)
    return await user.page.evaluate(f"() => {COUNT_NAMES}")


def test_search_filter_names_and_a_merge(new_session, server, run, tmp_path):
    run_id = saved_run(server.runs_dir, tmp_path)
    user = new_session("explore", server.url)

    async def steps() -> None:
        await user.open(f"?run={run_id}", heading="Explore")
        await user.scatter()
        assert await names_on_map(user, 3) == 3

        await user.number("Search the rows' values and ids", "star")
        await user.see("50 rows match")
        traces = await user.figure(points=150, selected=50)
        assert sum(len(t["selectedpoints"] or []) for t in traces) == 50
        assert await user.selected_count() == 50
        await user.shot("01-searched")
        await user.number("Search the rows' values and ids", "")

        await pick(user, "Filter by", "shape")
        await pick(user, "shape", "round")
        code = user.page.locator('[data-testid="stCode"]', has_text="shape in").first
        await _expect(code).to_contain_text("shape in {'round'}", timeout=WAIT_S * 1000)
        await user.see("50 of 150 rows pass the filter")
        assert await user.selected_count() == 50
        assert await user.count(".js-plotly-plot", 2) == 2  # the map, and the filtered column's histogram
        await user.tick("Density contours", True)
        await user.page.wait_for_function(
            "() => document.querySelector('.js-plotly-plot')._fullData.some(t => t.type === 'contour')",
            timeout=WAIT_S * 1000,
        )
        await user.shot("02-filtered")

        await user.page.get_by_text("Curate the clusters", exact=False).first.click()
        await pick(user, "Merge clusters (into the first chosen)", "0")  # a run without names: its numbers
        await pick(user, "Merge clusters (into the first chosen)", "1")
        async with user.rerun():
            await user.click("Merge")
        assert await names_on_map(user, 2) == 2
        await user.see("History")
        await user.shot("03-merged")
        async with user.rerun():
            await user.click("Undo")
        assert await names_on_map(user, 3) == 3
        assert await user.errors() == []

    run(steps())
