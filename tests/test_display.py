"""The figure builders: WebGL scatter with row numbers in customdata, greyed unselected points, the
display cap, and the smaller charts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer.display import charts, maps


def points(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)).astype(np.float32), rng.integers(0, 3, n)


def n_drawn(fig):
    return sum(len(t.x) for t in fig.data)


def test_scatter_is_webgl_with_one_trace_per_category_and_row_numbers():
    emb, labels = points()
    labels[:10] = -1
    names = np.array(["noise" if c < 0 else str(c) for c in labels])
    fig = maps.scatter(emb, color=names, color_kind="category")
    assert isinstance(fig, go.Figure)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert [t.name for t in fig.data] == ["0", "1", "2", "noise"]
    assert fig.data[-1].marker.color == maps.NOISE_COLOR
    rows = np.concatenate([np.asarray(t.customdata) for t in fig.data])
    assert sorted(rows.tolist()) == list(range(len(emb)))
    for t in fig.data:  # each point sits where its row is
        np.testing.assert_allclose(np.asarray(t.x), emb[np.asarray(t.customdata), 0], rtol=1e-6)
    assert fig.layout.dragmode == "lasso"


def test_numbers_get_one_trace_with_a_continuous_scale_and_missing_values_apart():
    emb, _ = points()
    values = np.linspace(0, 1, len(emb))
    values[:5] = np.nan
    fig = maps.scatter(emb, color=values, color_kind="number", color_name="anomaly")
    scaled = [t for t in fig.data if t.marker.colorscale is not None]
    assert len(scaled) == 1 and scaled[0].marker.showscale
    assert len(scaled[0].x) == len(emb) - 5
    assert [t.name for t in fig.data if t.marker.colorscale is None] == ["missing"]


def test_unselected_points_are_greyed_and_selected_ones_marked():
    emb, labels = points()
    chosen = [0, 5, 17, 42]
    fig = maps.scatter(emb, color=labels.astype(str), selected=chosen)
    marked = []
    for t in fig.data:
        assert t.unselected.marker.color == maps.UNSELECTED["marker"]["color"]
        assert t.unselected.marker.opacity < 0.5
        marked += [int(t.customdata[i]) for i in t.selectedpoints]
    assert sorted(marked) == chosen
    no_selection = maps.scatter(emb, color=labels.astype(str))
    assert all(t.selectedpoints is None for t in no_selection.data)  # nothing greyed until something is selected


def test_display_cap_draws_a_uniform_sample_and_says_so():
    emb, labels = points(n=5000)
    fig = maps.scatter(emb, color=labels.astype(str), max_points=1000, density=False)
    assert n_drawn(fig) == 1000 and not fig.layout.images
    assert "showing 1,000 of 5,000 points" in fig.layout.title.text
    assert fig.layout.meta == {"shown": 1000, "total": 5000, "density": False}
    rows = np.concatenate([np.asarray(t.customdata) for t in fig.data])
    assert len(np.unique(rows)) == 1000 and rows.max() > 4000  # spread over all rows, not the first 1000
    small = maps.scatter(emb[:500], color=labels[:500].astype(str), max_points=1000)
    assert n_drawn(small) == 500 and "showing" not in small.layout.title.text and not small.layout.images
    assert small.layout.meta == {"shown": 500, "total": 500, "density": False}


def decoded(fig) -> np.ndarray:
    """The figure's layout image as an (h, w, 4) array."""
    import base64
    import io

    from PIL import Image

    source = fig.layout.images[0].source
    assert source.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGBA"))


def test_above_the_cap_every_point_is_in_a_density_image_under_the_sample():
    """Two clusters side by side: the image (placed in data coordinates under the markers) is the left
    cluster's colour on the left and the right one's on the right, the markers the same colours."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 3000)
    emb = np.c_[np.where(labels == 0, -5.0, 5.0) + rng.uniform(-1, 1, 6000), rng.uniform(-1, 1, 6000)]
    fig = maps.scatter(emb, color=labels.astype(str), max_points=500)
    assert fig.layout.meta == {"shown": 500, "total": 6000, "density": True}
    assert n_drawn(fig) == 500 and "all 6,000 points as a density image" in fig.layout.title.text
    image = fig.layout.images[0]
    assert (image.xref, image.yref, image.layer, image.sizing) == ("x", "y", "below", "stretch")
    assert image.x <= emb[:, 0].min() and image.x + image.sizex >= emb[:, 0].max()
    assert image.y >= emb[:, 1].max() and image.y - image.sizey <= emb[:, 1].min()
    np.testing.assert_allclose(fig.layout.xaxis.range, [image.x, image.x + image.sizex])
    pixels = decoded(fig)
    colors = {t.name: t.marker.color for t in fig.data}
    from explorer.display.density import hex_to_rgb

    _h, w = pixels.shape[:2]
    filled = pixels[..., 3] > 0
    left, right = pixels[:, : w // 2][filled[:, : w // 2]], pixels[:, w // 2 :][filled[:, w // 2 :]]
    assert len(left) > 100 and len(right) > 100
    assert (left[:, :3] == hex_to_rgb([colors["0"]])[0]).all()
    assert (right[:, :3] == hex_to_rgb([colors["1"]])[0]).all()
    assert not filled[:, int(w * 0.45) : int(w * 0.55)].any()  # the gap between them is empty

    values = labels.astype(np.float64)
    numeric = maps.scatter(emb, color=values, color_kind="number", color_name="x", max_points=500)
    marker = next(t for t in numeric.data if t.marker.colorscale is not None).marker
    assert (marker.cmin, marker.cmax) == (0.0, 1.0)  # the markers' scale is the image's
    pixels = decoded(numeric)
    lut = maps.scale_lut()
    filled = pixels[..., 3] > 0
    assert (pixels[:, : w // 2][filled[:, : w // 2]][:, :3] == lut[0]).all()  # low values: the scale's low end
    assert (pixels[:, w // 2 :][filled[:, w // 2 :]][:, :3] == lut[-1]).all()


def test_categories_are_coded_in_legend_order_and_fold_past_the_cap():
    codes, names = maps.categories(np.array(["10", "2", "noise", "b", "2", "a", "a", "a"], dtype=object))
    assert names == ["2", "10", "a", "b", "noise"]  # numbers in order, then by size, noise last
    assert [names[c] for c in codes] == ["10", "2", "noise", "b", "2", "a", "a", "a"]
    many = np.array([f"c{i}" for i in range(100)] + ["c0"] * 5, dtype=object)
    codes, names = maps.categories(many)
    assert len(names) == maps.MAX_CATEGORIES and names[-1] == "other" and names[0] == "c0"
    assert (np.asarray(names, dtype=object)[codes][:100] == "other").sum() == 100 - (maps.MAX_CATEGORIES - 1)


def test_hover_function_is_called_for_the_drawn_rows_only():
    emb, labels = points(n=2000)
    asked = []

    def hover(rows):
        asked.append(len(rows))
        return [f"row {r}" for r in rows]

    fig = maps.scatter(emb, color=labels.astype(str), hovertext=hover, max_points=300)
    assert asked == [300]
    for t in fig.data:
        assert list(t.hovertext) == [f"row {r}" for r in t.customdata]


def test_sample_indices_and_selection_rows():
    a = maps.sample_indices(10_000, 100, seed=3)
    assert len(a) == 100 and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, maps.sample_indices(10_000, 100, seed=3))
    np.testing.assert_array_equal(maps.sample_indices(50, 100), np.arange(50))
    event_points = [
        {"customdata": 7, "point_index": 0},
        {"customdata": [3], "point_index": 1},
        {"customdata": 7},
        {"x": 1},
    ]
    np.testing.assert_array_equal(maps.rows_from_selection(event_points), [3, 7])
    assert len(maps.rows_from_selection([])) == 0


def test_many_categories_fold_into_other():
    emb, _ = points(n=2000)
    ids = np.arange(2000).astype(str)
    fig = maps.scatter(emb, color=ids)
    assert len(fig.data) == maps.MAX_CATEGORIES
    assert fig.data[-1].name == "other"


def test_small_charts():
    history = [{"epoch": i, "loss": 1 / i, "val_loss": 1.1 / i} for i in range(1, 6)]
    fig = charts.loss_curve(history, epochs=10)
    assert [t.name for t in fig.data] == ["training loss", "validation loss"]
    assert list(fig.layout.xaxis.range) == [0.5, 10.5]
    sweep = charts.k_sweep([2, 3, 4], [0.5, float("nan"), 0.4], [10.0, 8.0, None], suggested=2)
    assert len(sweep.data) == 2 and sweep.data[0].y == (0.5, None, 0.4)
    assert any("suggested k = 2" in (a.text or "") for a in sweep.layout.annotations)
    heat = charts.contingency_heatmap(np.array([[5, 1], [0, 7]]), ["a", "b"], [1, 0])
    assert isinstance(heat.data[0], go.Heatmap) and heat.data[0].z.tolist() == [[5, 1], [0, 7]]
    bars = charts.feature_errors(["x", "y", "z"], [0.1, 0.5, 0.2], top=2)
    assert list(bars.data[0].y) == ["z", "y"]  # largest at the top
    sizes = charts.cluster_sizes([-1, 0, 1], [3, 10, 12])
    assert list(sizes.data[0].x) == ["noise", "0", "1"] and sizes.data[0].marker.color[0] == maps.NOISE_COLOR


def test_standalone_html_inlines_plotly_js():
    emb, labels = points(n=50)
    html = maps.standalone_html(maps.scatter(emb, color=labels.astype(str)))
    assert "<html>" in html[:200] and "<script src=" not in html  # no script fetched from elsewhere
    assert len(html) > 1_000_000  # plotly.js itself is inside: it opens offline


@pytest.mark.parametrize("n", [4, 1])
def test_tiny_inputs(n):
    emb, labels = points(n=n)
    fig = maps.scatter(emb, color=labels.astype(str))
    assert n_drawn(fig) == n


def figure_strings(fig) -> list[str]:
    """Every string in the figure's JSON that Plotly may draw as text (names, titles, ticks, hover)."""
    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in (
                    "colorscale",
                    "template",
                    "type",
                    "mode",
                    "hoverinfo",
                    "dragmode",
                    "hovermode",
                    "clickmode",
                    "uirevision",
                    "orientation",
                    "textposition",
                    "texttemplate",
                    "hovertemplate",
                    "color",
                    "marker_color",
                    "itemsizing",
                    "autorange",
                    "side",
                    "overlaying",
                    "dash",
                    "xref",
                    "yref",
                    "annotation_position",
                ):
                    walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(fig.to_plotly_json())
    return out


def test_user_names_in_figures_are_text_not_html():
    """Category levels, column names, class labels and titles are escaped by the builders: Plotly would
    otherwise draw <b>, <br> and <a href> in them, and decode entities."""
    import html

    from bad_inputs.markup import COLUMN, LABELS, LEVELS

    from explorer.display.usertext import plain_text

    emb, groups = points(90)
    levels = np.array(LEVELS)[groups % 3]
    figures = [
        maps.scatter(
            emb, color=levels, color_kind="category", color_name=COLUMN, title="<a href='https://evil.example'>t</a>"
        ),
        maps.scatter(emb, color=np.linspace(0, 1, 90), color_kind="number", color_name=COLUMN),
        charts.contingency_heatmap(np.eye(3, dtype=int), LABELS, [0, 1, 2]),
        charts.feature_errors([COLUMN, *LEVELS], np.array([0.1, 0.2, 0.3, 0.4])),
        charts.cluster_sizes(LABELS, [1, 2, 3]),
        charts.histogram(np.arange(5.0), f"anomaly of {COLUMN}"),
    ]
    for fig in figures:
        for text in figure_strings(fig):
            assert "<" not in text and ">" not in text and "$" not in text, text
    drawn = {html.unescape(t.name) for t in figures[0].data}
    assert drawn == {plain_text(v) for v in LEVELS}  # each level, shown as it reads
    assert html.unescape(figures[0].layout.legend.title.text) == COLUMN
    assert html.unescape(figures[1].data[-1].marker.colorbar.title.text) == COLUMN
    assert [html.unescape(y) for y in figures[2].data[0].y] == LABELS


def test_hover_fields_write_names_once_and_values_escaped_per_point():
    """Hover as fields: the names in each trace's template (escaped, and ``%`` kept from reading as a
    field), the values escaped in customdata after the row number, which selections still read."""
    emb, labels = points(n=400)
    asked = []

    def fields(rows):
        asked.append(len(rows))
        return [
            ("id", [f"r{r}" for r in rows]),
            ("<b>bold</b> %{x}", ["<a href='x'>v</a>" if r % 2 else "$1" for r in rows]),
        ]

    fig = maps.scatter(emb, color=labels.astype(str), hover_fields=fields, max_points=100)
    assert asked == [100]
    for t in fig.data:
        assert t.hovertemplate == (
            "<b>id</b>: %{customdata[1]}<br><b>&lt;b&gt;bold&lt;/b&gt; &#37;{x}</b>: %{customdata[2]}<extra></extra>"
        )
        for row, ident, value in t.customdata:
            assert ident == f"r{row}" and "<" not in value and "$" not in value
            assert value in ("&#36;1", "&lt;a href='x'&gt;v&lt;/a&gt;")
    rows = [int(t.customdata[0][0]) for t in fig.data]
    event = [{"customdata": list(t.customdata[0])} for t in fig.data]
    np.testing.assert_array_equal(maps.rows_from_selection(event), sorted(rows))


def test_above_the_cap_a_focus_greys_the_image_and_draws_the_few_hits_as_markers():
    """Two clusters side by side, 6,000 points under a 500-marker cap. With the left cluster in focus (a
    filter), the image keeps the left's colour and greys the right. With three rows in focus (a search's hits,
    not all in the sample), those rows are drawn as markers too, highlighted, with their own hover fields."""
    from explorer.display.density import Grid, hex_to_rgb

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 3000)
    emb = np.c_[np.where(labels == 0, -5.0, 5.0) + rng.uniform(-1, 1, 6000), rng.uniform(-1, 1, 6000)]
    grid = Grid.of(emb)
    colouring = maps.Categories.of(labels.astype(str))
    fig = maps.scatter(emb, color=colouring, max_points=500, selected=np.flatnonzero(labels == 0), grid=grid)
    pixels, colors = decoded(fig), {t.name: t.marker.color for t in fig.data}
    _h, w = pixels.shape[:2]
    filled = pixels[..., 3] > 0
    left, right = pixels[:, : w // 2][filled[:, : w // 2]], pixels[:, w // 2 :][filled[:, w // 2 :]]
    assert (left[:, :3] == hex_to_rgb([colors["0"]])[0]).all()
    assert (right[:, :3] == hex_to_rgb([maps.FOCUS_GREY])[0]).all()
    assert n_drawn(fig) == 500  # 2,750 rows in focus beyond the sample: too many to add as markers
    in_left = sum(int(np.sum(np.asarray(t.customdata).astype(int) < 3000)) for t in fig.data)
    assert sum(len(t.selectedpoints) for t in fig.data) == in_left

    sample = maps.sample_indices(6000, 500)
    hits = np.array([h for h in range(6000) if h not in set(sample)][:3])
    asked: list = []

    def hover(rows):
        asked.append(rows)
        return [("row", [f"r{r}" for r in rows])]

    fig = maps.scatter(emb, color=colouring, max_points=500, selected=hits, grid=grid, hover_fields=hover)
    drawn = np.concatenate([np.asarray(t.customdata)[:, 0].astype(int) for t in fig.data])
    assert len(drawn) == 503 and set(hits) <= set(drawn)
    shown = np.concatenate([np.asarray(t.customdata)[list(t.selectedpoints)] for t in fig.data])
    assert sorted(shown[:, 0].astype(int)) == sorted(hits) and sorted(shown[:, 1]) == sorted(f"r{h}" for h in hits)
    assert (maps.scatter(emb, color=labels.astype(str), max_points=500).layout.images[0].source) == (
        maps.scatter(emb, color=colouring, max_points=500, grid=grid).layout.images[0].source
    )  # worked-out colours and a kept grid draw the same map


def test_a_search_whose_hits_are_all_markers_draws_one_grey_image_whatever_the_hits():
    """Few rows in focus (a search's hits, all drawn as markers): the image is every point in grey, the very same
    picture for any other hits or colouring (the browser is sent what it has), and the hits are the bright markers."""
    from explorer.display.density import Grid

    emb, labels = points(6000)
    grid = Grid.of(emb)
    colouring = maps.Categories.of(labels.astype(str))
    one = maps.scatter(emb, color=colouring, max_points=500, selected=[3, 4000], grid=grid)
    two = maps.scatter(emb, color=labels.astype(float), color_kind="number", max_points=500, selected=[17], grid=grid)
    assert one.layout.images[0].source == two.layout.images[0].source
    pixels = decoded(one)
    assert (pixels[pixels[..., 3] > 0][:, :3] == maps.FOCUS_GREY_RGB).all()
    bright = [int(r) for t in one.data for r in np.asarray(t.customdata)[list(t.selectedpoints)]]
    assert sorted(bright) == [3, 4000]
