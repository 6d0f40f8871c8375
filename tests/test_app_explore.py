"""The Explore page's search, filters, names on the map, neighbours, near-duplicates and curation, driven by
AppTest on a saved run of three planted groups (tests/test_app.py's blobs: rows 0-29 'round', 30-59 'square',
60-89 'star'), and the dashboard layer under them (explorer.dashboard.curate, the map's names)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app import (  # noqa: F401 - fixtures among them, used as test parameters
    APP,
    RUN_TIMEOUT_S,
    by_label,
    click,
    ok,
    runs_dir,
    saved_run,
    texts,
)

from explorer.curate import Clusters, Curation, Levels, Range, Words, mask, parse_expression
from explorer.dashboard import curate
from explorer.display import maps
from explorer.errors import InputError

pytestmark = pytest.mark.usefixtures("navigation_only", "runs_dir")
STAR = set(range(60, 90))  # the rows whose shape is 'star'


@pytest.fixture
def explore(runs_dir):  # noqa: F811 - the fixture of tests/test_app.py
    """The Explore page of a saved run opened by its link, and the run's id."""
    run_id = saved_run(runs_dir)
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = run_id
    at.run()
    ok(at)
    assert at.title[0].value == "🔭 Explore"
    return at, run_id


def spec(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def highlighted(at: AppTest) -> set[int]:
    """The rows the map draws bright (each trace's selected points, by their row in customdata)."""
    out: set[int] = set()
    for trace in spec(at)["data"]:
        if trace.get("selectedpoints") is not None:
            custom = trace["customdata"]
            out |= {int(custom[i][0] if isinstance(custom[i], list) else custom[i]) for i in trace["selectedpoints"]}
    return out


def curation_of(at: AppTest) -> Curation:
    (entry,) = at.session_state["curations"].values()
    return entry[1]  # (the run's clusters, its curation, a note)


def test_a_text_search_lists_and_highlights_the_planted_rows_and_selects_them(explore):
    at, _ = explore
    by_label(at.text_input, "Search the rows' values and ids").set_value("star").run()
    ok(at)
    assert "30 rows match" in texts(at.markdown)
    hits = at.dataframe[0].value
    assert set(hits["row"]) == STAR and set(hits["matched"]) == {"shape"}
    assert highlighted(at) == STAR  # the rest greyed
    assert "30 points selected" in texts(at.markdown)  # the hits are the selection: its table and download
    assert [d for d in at.get("download_button") if "selection" in d.proto.label]

    by_label(at.checkbox, "regex").check()
    by_label(at.text_input, "Search the rows' values and ids").set_value("^s(1|2)$").run()  # ids s1, s2 by regex
    ok(at)
    assert "2 rows match" in texts(at.markdown)
    by_label(at.text_input, "Search the rows' values and ids").set_value("(a+)+$[").run()  # a bad pattern: a message
    assert "not a valid regular expression" in texts(at.error)
    assert len(at.get("plotly_chart")) == 1  # the map stays, every point bright again
    assert highlighted(at) == set()


def test_a_filter_writes_its_expression_greys_the_rest_and_combines_with_a_pick(explore):
    at, run_id = explore
    from explorer.runs.files import load_run

    columns = [c.label for c in curate.filter_columns(load_run(run_id))]
    by_label(at.multiselect, "Filter by").set_value([columns.index("shape"), columns.index("a")]).run()
    by_label(at.multiselect, "shape").set_value(["round", "star"]).run()
    ok(at)
    high = by_label(at.slider, "a").value[1]
    by_label(at.slider, "a").set_value((3.0, high)).run()  # a: about 6 in the round group, about 0 elsewhere
    ok(at)
    expression = texts(at.code)
    assert "shape in {'round', 'star'}" in expression and "a between 3 and" in expression
    reread = mask(load_run(run_id), parse_expression(expression))  # the text reads back as the same filter
    ok_rows = set(highlighted(at))
    assert ok_rows and ok_rows <= set(range(30))  # round, and a >= 3: the first group only
    assert f"{len(ok_rows)} of 90 rows pass the filter" in texts(at.caption)
    assert set(np.flatnonzero(reread)) == ok_rows
    assert f"{len(ok_rows)} points selected" in texts(at.markdown)  # the filtered rows, like a selection
    charts = {c["layout"]["title"]["text"]: c for c in map(json.loads, (p.proto.spec for p in at.get("plotly_chart")))}
    every, focus = charts["shape"]["data"]  # the linked histograms: every row, and the rows in focus over it
    assert dict(zip(every["x"], every["y"], strict=True)) == {"round": 30, "square": 30, "star": 30}
    assert dict(zip(focus["x"], focus["y"], strict=True)) == {"round": len(ok_rows), "square": 0, "star": 0}
    assert sum(charts["a"]["data"][1]["y"]) == len(ok_rows)
    assert {"Download the filter (text)", "Download the selection (CSV)"} <= {
        d.proto.label for d in at.get("download_button")
    }

    kept = curation_of(at).labels[sorted(ok_rows)]
    other = next(c for c in curation_of(at).clusters if c != kept[0])
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([other]).run()  # AND: nothing in both
    ok(at)
    assert "points selected" not in texts(at.markdown)


def test_names_on_the_map_switch_off_and_contours_on(explore):
    at, _ = explore
    annotations = spec(at)["layout"].get("annotations", [])
    assert len(annotations) == 3  # one per cluster, at its centre
    by_label(at.checkbox, "Names on the map").uncheck().run()
    ok(at)
    assert not spec(at)["layout"].get("annotations")
    assert "contour" not in {t["type"] for t in spec(at)["data"]}
    by_label(at.checkbox, "Density contours").check().run()
    ok(at)
    assert "contour" in {t["type"] for t in spec(at)["data"]}


def test_a_rows_neighbours_are_listed_with_their_distances(explore):
    at, _ = explore
    by_label(at.radio, "Search by").set_value("a similar row").run()
    by_label(at.text_input, "Row (its id, or its number)").set_value("5").run()
    ok(at)
    assert "The 10 rows nearest to 5" in texts(at.markdown)
    table = at.dataframe[0].value
    assert len(table) == 10 and 5 not in set(table["row"])
    assert list(table["distance"]) == sorted(table["distance"])
    assert set(table["row"]) <= set(range(30))  # its own planted group
    assert highlighted(at) == {5, *table["row"]}
    by_label(at.text_input, "Row (its id, or its number)").set_value("nope").run()
    assert "no row with the id or number" in texts(at.error)


def test_rows_like_the_selected_one_fill_the_similar_search(explore):
    at, _ = explore
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([1]).run()
    first = int(np.flatnonzero(curation_of(at).labels == 1)[0])
    click(at, "Rows like the first selected one")
    assert by_label(at.radio, "Search by").value == "a similar row"
    assert by_label(at.text_input, "Row (its id, or its number)").value == str(first)
    assert f"The 10 rows nearest to {first}" in texts(at.markdown)


def test_near_duplicates_are_listed_under_a_threshold(explore):
    at, _ = explore
    by_label(at.checkbox, "Find near-duplicates").check().run()
    ok(at)
    assert "0 pairs in 0 groups" in texts(at.markdown)  # planted blobs: no duplicates by the default rule
    slider = by_label(at.slider, "Threshold (distance)")
    slider.set_value(slider.max).run()  # every row within a typical neighbour distance: groups
    ok(at)
    assert "0 pairs" not in texts(at.markdown) and len(at.dataframe) >= 1


def test_a_merge_recolours_the_map_and_undo_restores_the_labels(explore):
    at, _ = explore
    original = curation_of(at).labels
    by_label(at.multiselect, "Merge clusters (into the first chosen)").set_value([0, 1]).run()
    click(at, "Merge")
    merged = curation_of(at).labels
    assert set(merged.tolist()) == set(original.tolist()) - {1}
    assert "merged 1 into 0" in texts(at.markdown)  # the history
    assert by_label(at.multiselect, "Merge clusters (into the first chosen)").value == []  # cluster 1 is gone
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([0]).run()  # the curated cluster 0
    assert f"{int((merged == 0).sum())} points selected" in texts(at.markdown)
    assert set(at.dataframe[-1].value["cluster"]) == {0}  # the rows' table, with the curated labels
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([]).run()
    assert len(spec(at)["layout"]["annotations"]) == 2
    click(at, "Save curation")  # a link's run is read-only: refused in a sentence
    assert "read-only" in texts(at.error)
    click(at, "Undo")
    np.testing.assert_array_equal(curation_of(at).labels, original)
    assert len(spec(at)["layout"]["annotations"]) == 3


def test_a_saved_curation_colours_the_map_and_a_damaged_one_is_said(runs_dir):  # noqa: F811 - test_app's fixture
    from explorer.runs.files import load_run

    run_id = saved_run(runs_dir)
    cur, _ = curate.start_curation(load_run(run_id, runs_dir), str(runs_dir))
    cur.merge(0, 2)
    curate.save(cur, load_run(run_id, runs_dir), str(runs_dir), read_only=False)
    for damaged in (False, True):
        if damaged:
            (runs_dir / run_id / "curation.json").write_text("{")
        at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
        at.query_params["run"] = run_id
        at.run()
        ok(at)
        assert len(spec(at)["layout"]["annotations"]) == (3 if damaged else 2)
        assert ("damaged" in texts(at.warning)) == damaged


def test_split_and_rename_edit_the_curation(explore):
    at, _ = explore
    by_label(at.selectbox, "Split a cluster").set_value(0)
    by_label(at.selectbox, "With").set_value("agglomerative")  # the method picker (default: k-means)
    by_label(at.number_input, "Into (0: as many as is stable)").set_value(2).run()
    click(at, "Split")
    cur = curation_of(at)
    assert len(cur.clusters) == 4 and cur.steps[-1].kind == "split"
    assert cur.steps[-1].detail["method"] == "agglomerative" and "agglomerative" in texts(at.markdown)
    by_label(at.selectbox, "Rename a cluster").set_value(2)
    by_label(at.text_input, "New name").set_value("<b>stars</b>").run()
    click(at, "Rename")
    assert curation_of(at).names[2] == "<b>stars</b>"
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([1]).run()
    rows = np.flatnonzero(curation_of(at).labels == 1)
    click(at, f"Recluster the {len(rows)} selected rows")
    step = curation_of(at).steps[-1]
    assert step.kind == "recluster" and step.detail["rows"] == len(rows) and step.detail["k"] == 2
    assert "reclustered 30 selected rows into 2" in texts(at.markdown)
    names = [a["text"] for a in spec(at)["layout"]["annotations"]]
    assert "&lt;b&gt;stars&lt;/b&gt;" in names  # escaped on the map


# -- the layer under the page -------------------------------------------------------------------------------
def test_conditions_focus_and_combine():
    col = curate.FilterColumn("a", "number", "a", 0.0, 9.0)
    assert curate.condition(col, (1.0, 2.0)) == Range("a", 1.0, 2.0)
    assert curate.condition(curate.FilterColumn("k", "category", "k", levels=("x",)), []) is None
    assert curate.condition(curate.FilterColumn("k", "category", "k"), ["x"]) == Levels("k", ("x",))
    assert curate.condition(curate.FilterColumn("t", "text", "t"), " a, b ,") == Words("t", ("a", "b"))
    assert curate.condition(curate.FilterColumn("cluster", "clusters"), [2]) == Clusters((2,))
    keep = np.array([True, True, False, True])
    assert curate.focus(4, None, None) is None
    np.testing.assert_array_equal(curate.focus(4, keep, np.array([1, 2])), [1])
    np.testing.assert_array_equal(curate.combine(np.array([0, 2]), np.array([0, 1, 3])), [0])
    np.testing.assert_array_equal(curate.combine(np.array([], np.int64), np.array([1, 3])), [1, 3])
    np.testing.assert_array_equal(curate.combine(np.array([2]), None), [2])


def test_save_refuses_an_unsaved_run_and_writes_a_saved_ones(runs_dir):  # noqa: F811 - the fixture of tests/test_app.py
    from explorer.curate import load_curation
    from explorer.runs.files import load_run

    run = load_run(saved_run(runs_dir), runs_dir)
    cur, note = curate.start_curation(run, str(runs_dir))
    assert note is None and not cur.steps
    cur.merge(0, 1)
    unsaved = replace(run, run_id=None)
    with pytest.raises(InputError, match="Save the run first"):
        curate.save(cur, unsaved, str(runs_dir), read_only=False)
    assert "1 edit" in curate.save(cur, run, str(runs_dir), read_only=False)
    again, note = curate.start_curation(run, str(runs_dir))
    assert note is None
    np.testing.assert_array_equal(again.labels, cur.labels)
    assert load_curation(runs_dir / run.run_id) is not None
    view = curate.curated_view(run, again)
    np.testing.assert_array_equal(view.clusters.labels, cur.labels)
    assert view.explanation is None and curate.curated_view(run, Curation.of(run)) is run
    (runs_dir / run.run_id / "curation.json").write_text("{")  # damaged: said, and the run's own clusters
    fresh, note = curate.start_curation(run, str(runs_dir))
    assert not fresh.steps and "damaged" in note


def test_an_image_runs_neighbours_show_as_thumbnails(runs_dir):  # noqa: F811 - the fixture of tests/test_app.py
    from test_app import shapes_zip

    from explorer.data import load
    from explorer.pipeline import default_config, replace_nested, run_pipeline
    from explorer.runs.files import save_run

    ds = load(shapes_zip(10), name="shapes.zip")
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=4, method="kmeans", k=3, projection_method="pca")
    result = run_pipeline(ds, cfg)
    save_run(result, runs_dir)
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = result.run_id
    at.run()
    ok(at)
    by_label(at.radio, "Search by").set_value("a similar row").run()
    by_label(at.text_input, "Row (its id, or its number)").set_value("0").run()
    ok(at)
    assert len(at.image) >= 10  # the neighbours, side by side with their distances


def test_names_sit_at_cluster_centres_and_do_not_overlap():
    rng = np.random.default_rng(0)
    xy = np.concatenate(
        [
            rng.normal((0, 0), 0.1, (50, 2)),
            rng.normal((10, 10), 0.1, (50, 2)),
            rng.normal((10.1, 10.05), 0.1, (40, 2)),
            rng.normal((5, 5), 0.1, (5, 2)),
        ]
    )
    labels = np.repeat([0, 1, 2, -1], [50, 50, 40, 5])
    placed = maps.name_positions(xy, labels, {1: "one", 2: "two"})
    assert [t for *_, t in placed] == ["0", "one", "two"]  # noise has no name; larger clusters first
    (x0, y0, _), (_, y1, _), (_, y2, _) = placed
    assert abs(x0) < 0.1 and abs(y0) < 0.1
    height = maps.NAME_HEIGHT * np.ptp(xy[:, 1])
    assert abs(y2 - y1) >= height * 0.99  # nudged apart
    fig = maps.add_cluster_names(maps.scatter(xy[:, :2], color=labels.astype(str)), xy, labels, {0: "<i>x</i>"})
    assert "&lt;i&gt;x&lt;/i&gt;" in [a.text for a in fig.layout.annotations]
