"""The dashboard end to end in a real headless Chromium against a real `streamlit run app.py`: upload a
CSV through the uploader, train a small autoencoder, cluster, see the WebGL scatter, box-select points
and see them with their cluster make-up, save the run and open its share link read-only in a second
browser context. Each step leaves a screenshot in test-output/screenshots/."""

from __future__ import annotations

import re

import numpy as np
import pytest

from .conftest import write_csv
from .driver import WAIT_S

pytestmark = pytest.mark.browser

ALL_PAGES = [
    "Data",
    "Train",
    "Cluster",
    "Explore",
    "Understand",
    "Reconstructions & anomalies",
    "Add new data",
    "Evaluate",
    "Share",
]
READ_ONLY_PAGES = [
    "Explore",
    "Understand",
    "Cluster",
    "Reconstructions & anomalies",
    "Add new data",
    "Evaluate",
    "Share",
]
LABEL = "Label column (optional; evaluation only, never used to fit)"


def blobs_rows(n: int = 150, seed: int = 0) -> list[list]:
    """id (s<row>), four numbers in three well separated groups, and the group's name."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    X = rng.normal(size=(n, 4)) + 6 * np.eye(3, 4)[y]
    return [[f"s{i}", *(f"{v:.4f}" for v in X[i]), "xyz"[y[i]]] for i in range(n)]


def row_of(customdata) -> int:
    """A point's row number: its customdata, or the first of it (with the hover fields after it)."""
    return int(customdata[0] if isinstance(customdata, (list, tuple)) else customdata)


def rows_in_box(traces: list[dict], box: tuple[float, float, float, float]) -> set[int]:
    """Row numbers (customdata) of the drawn points inside the box (xmin, xmax, ymin, ymax)."""
    xmin, xmax, ymin, ymax = box
    return {
        row_of(r)
        for t in traces
        for x, y, r in zip(t["x"], t["y"], t["customdata"], strict=True)
        if xmin <= x <= xmax and ymin <= y <= ymax
    }


def selected_rows(traces: list[dict]) -> dict[str, list[int]]:
    """Cluster (trace name) -> row numbers Plotly marks selected."""
    return {t["name"]: [row_of(t["customdata"][i]) for i in t["selectedpoints"]] for t in traces if t["selectedpoints"]}


def test_upload_train_explore_select_and_share(new_session, server, run, tmp_path):
    csv = write_csv(tmp_path / "blobs.csv", ["sample_id", "a", "b", "c", "d", "kind"], blobs_rows())
    owner = new_session("owner", server.url)

    async def own_work() -> tuple[str, list[dict]]:
        await owner.open()
        await owner.shot("01-data")
        await owner.upload(csv, "blobs")
        await owner.choose(LABEL, "kind")
        await owner.choose("ID column (optional)", "sample_id")
        await owner.see("150 rows × 4 features")
        await owner.shot("02-uploaded")
        assert await owner.nav_titles(expected=ALL_PAGES) == ALL_PAGES

        await owner.train(
            "dense autoencoder",
            **{
                "Latent size": 3,
                "Epochs": 3,
                "Batch size": 32,
                "Hidden layers (encoder; the decoder mirrors them)": "16",
            },
        )
        assert (
            await owner.count('[data-testid="stPlotlyChart"]', 1) == 1
        )  # the loss curve (drawn after the success box)
        await owner.shot("03-trained")

        await owner.cluster_kmeans(3)
        await owner.shot("04-clustered")

        await owner.go("Explore")
        plot = await owner.scatter()
        traces = await owner.figure(points=150)
        assert {t["type"] for t in traces} == {"scattergl"} and sorted(t["name"].split(":")[0] for t in traces) == [
            "0",
            "1",
            "2",
        ]
        assert sum(len(t["x"]) for t in traces) == 150
        await owner.scatter()  # its canvas, should a rerun have drawn it again
        assert await plot.locator("canvas").count() >= 1  # drawn with WebGL
        await owner.shot("05-scatter")

        box = await owner.box_select((0.02, 0.02, 0.55, 0.98))
        count = await owner.selected_count()
        traces = await owner.figure(points=150, selected=count)  # the selection's rerun over, drawn in the figure
        chosen = selected_rows(traces)
        inside = rows_in_box(traces, box)
        assert 0 < count < 150 and count == len(inside) == sum(map(len, chosen.values()))
        assert set().union(*map(set, chosen.values())) == inside
        makeup = await owner.dataframe(0, min_rows=1 + len(chosen))
        assert makeup[0][:2] == ["cluster", "selected"]
        assert {r[0]: int(r[1]) for r in makeup[1:]} == {c: len(r) for c, r in chosen.items()}
        table = await owner.dataframe(1)  # the selected rows themselves, with their cluster
        assert table[0][:2] == ["id", "cluster"]
        cluster_of = {
            row: cluster.split(":")[0] for cluster, rows in chosen.items() for row in rows
        }  # legend: "0: name"
        shown = [(int(r[0].removeprefix("s")), r[1]) for r in table[1:]]
        assert shown and all(cluster_of.get(row) == cluster for row, cluster in shown)
        await owner.shot("06-selected")

        run_id = await owner.save_run()
        await owner.shot("07-saved")
        # 150 rows, over the server's 100 for a download made with the page: prepared on request, then a plain link
        await owner.click("Prepare: Points (CSV)")
        button = owner.page.get_by_role("button", name="Points (CSV)", exact=True)
        await button.wait_for(timeout=WAIT_S * 1000)
        await owner.settle()
        async with owner.page.expect_download(timeout=WAIT_S * 1000) as info:
            await button.click()
        points = tmp_path / "points.csv"
        await (await info.value).save_as(str(points))
        assert len(points.read_text().splitlines()) == 151 and points.read_text().startswith("id,cluster")
        assert await owner.count(owner.page.get_by_role("button", name="Prepare: Latent space (Parquet)"), 1) == 1
        assert await owner.errors() == []
        return run_id, traces

    run_id, traces = run(own_work())
    assert (server.runs_dir / run_id / "config.json").is_file()

    viewer = new_session("viewer", server.url)

    async def shared_view() -> None:
        await viewer.open(f"?run={run_id}", heading="Explore")
        await viewer.scatter()
        seen = await viewer.figure(points=sum(len(t["x"]) for t in traces))
        assert [(t["name"], t["x"], t["y"], t["customdata"]) for t in seen] == [
            (t["name"], t["x"], t["y"], t["customdata"]) for t in traces
        ]  # the same map, point for point
        sidebar = " ".join(
            await viewer.texts(
                '[data-testid="stSidebar"] [data-testid="stAlert"]', contains=f"Viewing saved run {run_id} (read-only)"
            )
        )
        assert f"Viewing saved run {run_id} (read-only)" in sidebar.replace("`", "")
        assert await viewer.nav_titles(expected=READ_ONLY_PAGES) == READ_ONLY_PAGES  # no Data, no Train
        assert await viewer.count('input[type="file"]', 0) == 0
        await viewer.shot("08-shared-explore")
        await viewer.go("Share")
        await viewer.see(f"Saved run {run_id}.")
        assert await viewer.count(viewer.page.get_by_role("button", name="Save this run"), 0) == 0
        await viewer.shot("09-shared-share")
        assert await viewer.errors() == []

    run(shared_view())
    assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()


def test_a_broken_upload_shows_its_error_and_the_app_goes_on(new_session, server, run, tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11\n")
    user = new_session("broken-upload", server.url)

    async def steps() -> None:
        await user.open()
        await user.own_files()  # "My own files", and the uploader it draws
        await user.page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
        await user.see("line 3 has 2 fields but the header has 3")
        errors = await user.errors()  # the check every other test makes finds this one (once the run has ended)
        assert len(errors) == 1 and "line 3 has 2 fields" in errors[0]
        await user.heading("In use: penguins")  # the data in use stay as they were
        await user.shot("10-broken-upload")

    run(steps())


def planted_rows(n: int = 1600, seed: int = 0) -> tuple[list[str], list[list], int]:
    """A customer table with 4 planted segments (bench/suites/table_suite.py's generator, fewer rows):
    header, rows, k."""
    from dataclasses import replace

    from bench.suites import table_suite

    spec = replace(table_suite.PLANTED["customers_noisy"], n=n, seed=seed)
    frame = table_suite.planted(spec)
    rows = [
        ["" if (isinstance(v, float) and v != v) or v is None else v for v in row]
        for row in frame.astype(object).itertuples(index=False)
    ]
    return list(frame.columns), rows, spec.k


def test_a_planted_table_through_the_suggested_settings(new_session, server, run, tmp_path):
    """An analyst's table: upload it, take every suggestion (no model, the mixture, k by stability), and
    the dashboard finds the planted number of segments."""
    header, rows, k = planted_rows()
    csv = write_csv(tmp_path / "customers.csv", header, rows)
    user = new_session("planted", server.url)

    async def steps() -> None:
        await user.open()
        await user.upload(csv, "customers")
        await user.choose(LABEL, "segment")
        await user.choose("ID column (optional)", "customer_id")
        await user.go("Train", "Train a representation")
        await user.see("Suggested for these data: none (use the features as they are)")
        await user.go("Cluster")
        await user.click("Run clustering")
        metric = user.page.locator('[data-testid="stMetric"]', has_text="clusters").locator(
            '[data-testid="stMetricValue"]'
        )
        from .driver import _expect

        await _expect(metric).to_have_text(str(k), timeout=240_000)
        await user.settle()
        await user.see("the most clusters that still come back")
        accuracy = user.page.locator('[data-testid="stMetric"]', has_text="accuracy").locator(
            '[data-testid="stMetricValue"]'
        )
        await _expect(accuracy).to_have_text(re.compile(r"^0\.9[5-9]|^1\.0"), timeout=30_000)
        await user.shot("11-planted-table")
        assert await user.errors() == []

        # what each segment is: the Understand page
        await user.go("Understand", "🔎 Understand the clusters")
        overview = await user.dataframe(0, min_rows=k + 1)
        assert len(overview) == k + 1 and overview[0][:3] == ["cluster", "name", "rows"]
        assert all(row[1] for row in overview[1:])  # every cluster has a name made from its distinctions
        await user.see("Every cluster came back")
        await user.see("Rule:")
        await user.see("Typical members")
        await user.count('[data-testid="stPlotlyChart"]', 1)
        from .driver import _expect

        await user.page.get_by_text("Rename the clusters").first.click()
        box = user.page.get_by_label("Cluster 0", exact=True)
        await box.wait_for(state="visible", timeout=60_000)
        await user.settle()  # no run in progress that could draw the box again and drop what is typed
        await box.fill("loyal <b>seniors</b>")
        await _expect(box).to_have_value("loyal <b>seniors</b>", timeout=60_000)
        await user.page.get_by_role("button", name="Save the names").first.click()  # the form sends what the box holds

        cell = user.page.locator('[data-testid="stDataFrame"]').first
        await _expect(cell).to_contain_text("loyal <b>seniors</b>", timeout=60_000)  # shown as written, not as markup
        await user.go("Explore")
        legend = user.page.locator("g.legend")
        await _expect(legend.first).to_contain_text("0: loyal <b>seniors</b>", timeout=60_000)  # the legend names it
        await user.shot("12-understand")
        assert await user.errors() == []

    run(steps())


def big_run(runs_dir, n: int = 60_000, seed: int = 1):
    """A saved run of n points in 10 blobs on a ring (bench/measure/browser_timing.py's synthetic run: arrays,
    no pipeline)."""
    from bench.measure.browser_timing import synthetic_result
    from explorer.runs.files import save_run

    result = synthetic_result(n, seed=seed)
    save_run(result, runs_dir)
    return result


async def drag_lasso(dash, corners: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Lasso Select in Plotly's modebar, then drag through ``corners`` (fractions of the plot area) and
    back to the first; returns the path in data coordinates as the mouse drew it."""
    plot = await dash.scatter()
    await plot.hover()
    await plot.locator('.modebar-btn[data-title="Lasso Select"]').click()
    area = await dash.plot_area()
    pixels = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in corners]
    mouse = dash.page.mouse
    await mouse.move(*pixels[0])
    await mouse.down()
    path = [pixels[0]]
    for (x0, y0), (x1, y1) in zip(pixels, pixels[1:] + pixels[:1], strict=True):
        for step in range(1, 11):
            point = (x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10)
            await mouse.move(*point)
            path.append(point)
    await mouse.up()
    xs = await dash._to_data(plot, "xaxis", [p[0] for p in path])
    ys = await dash._to_data(plot, "yaxis", [p[1] for p in path])
    return list(zip(xs, ys, strict=True))


def test_a_large_map_is_a_density_image_and_a_box_or_lasso_selects_every_point_inside(new_session, server, run):
    """60,000 points, more than the interactive cap: every point is drawn as a density image under a
    uniform sample of markers, and a box or a lasso selects every point inside it, drawn or not."""
    from explorer.dashboard import explore
    from explorer.display import maps

    result = big_run(server.runs_dir)
    emb = result.embedding.astype(np.float64)
    cap = maps.DISPLAY_CAP
    user = new_session("bigmap", server.url)

    async def steps() -> None:
        await user.open(f"?run={result.run_id}", heading="Explore")
        await user.scatter()
        traces = await user.figure(points=cap)
        assert sum(len(t["x"]) for t in traces) == cap  # the markers: the sample
        drawn = {row_of(cd) for t in traces for cd in t["customdata"]}
        assert len(drawn) == cap
        image = await user.page.evaluate("""() => {
            const gd = document.querySelector('.js-plotly-plot');
            const el = gd.querySelector('.imagelayer image');
            return {source: (gd.layout.images[0] || {}).source.slice(0, 22), drawn: !!el,
                    x: gd.layout.images[0].x, sizex: gd.layout.images[0].sizex};
        }""")
        assert image["source"] == "data:image/png;base64," and image["drawn"]  # every point, as one picture
        assert image["x"] <= emb[:, 0].min() and image["x"] + image["sizex"] >= emb[:, 0].max()
        await user.see(f"All {len(emb):,} points are drawn as a density image")
        await user.shot("13-density")

        xmin, xmax, ymin, ymax = await user.box_select((0.05, 0.05, 0.5, 0.55))
        count = await user.selected_count()
        x, y = emb[:, 0], emb[:, 1]
        pad_x, pad_y = 0.002 * (xmax - xmin), 0.002 * (ymax - ymin)  # a pixel or so either way
        surely = ((x > xmin + pad_x) & (x < xmax - pad_x) & (y > ymin + pad_y) & (y < ymax - pad_y)).sum()
        maybe = ((x > xmin - pad_x) & (x < xmax + pad_x) & (y > ymin - pad_y) & (y < ymax + pad_y)).sum()
        drawn_inside = sum(1 for r in drawn if xmin <= x[r] <= xmax and ymin <= y[r] <= ymax)
        assert surely <= count <= maybe and count > drawn_inside > 0  # all points inside, not the sample's
        note = await user.see("The sample drawn as markers shows")
        shown = int(re.search(r"shows ([\d,]+) of them", await note.inner_text()).group(1).replace(",", ""))
        assert abs(shown - drawn_inside) <= max(3, 0.01 * drawn_inside)
        await user.shot("14-density-box")
        assert await user.errors() == []

        area = await user.plot_area()  # a double-click clears the selection
        await user.page.mouse.dblclick(area["x"] + 0.97 * area["width"], area["y"] + 0.03 * area["height"])
        await user.see("Drag a box or a lasso over the map")
        path = await drag_lasso(user, [(0.5, 0.1), (0.95, 0.5), (0.5, 0.9)])
        count = await user.selected_count()
        px, py = zip(*path, strict=True)
        expected = int(explore.points_in_polygon(emb, px, py).sum())
        assert expected > cap // 10 and abs(count - expected) <= max(20, 0.01 * expected)
        await user.shot("15-density-lasso")
        assert await user.errors() == []

    run(steps())
