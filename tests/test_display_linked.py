"""The figures linked to the map (explorer.display.linked): a column's histogram for the rows in focus against
every row, and the map's density as contour lines, on planted data."""

from __future__ import annotations

import numpy as np

from explorer.display import linked


def test_a_numbers_histogram_puts_the_focus_where_it_was_planted():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0, 1, 100), rng.uniform(10, 11, 100), [np.nan, np.inf]])
    h = linked.histogram_counts(values, np.arange(100, 200), categorical=False)
    assert h.everything.sum() == 200 and h.focus.sum() == 100  # missing and infinite left out
    centres = np.asarray(h.labels)
    assert h.focus[centres < 5].sum() == 0 and h.focus[centres > 5].sum() == 100  # the high group only
    assert np.all(h.focus <= h.everything) and len(h.labels) == linked.BINS
    one = linked.histogram_counts(np.full(5, 3.0), np.arange(2), categorical=False)  # one value: one bin
    assert one.everything.tolist() == [5] and one.focus.tolist() == [2]


def test_a_categorys_histogram_keeps_the_common_levels_and_the_rest_as_other():
    levels = [f"<b>{i}</b>" for i in range(15)]
    values = np.array([lv for i, lv in enumerate(levels) for _ in range(20 - i)] + [None], dtype=object)
    inside = np.flatnonzero(values == levels[0])
    h = linked.histogram_counts(values, inside, categorical=True)
    assert h.labels[:2] == [levels[0], levels[1]] and h.labels[-1] == linked.OTHER
    assert len(h.labels) == linked.MAX_LEVELS + 1 and h.everything.sum() == len(values)
    assert h.focus.tolist() == [20] + [0] * linked.MAX_LEVELS
    fig = linked.linked_histogram(values, inside, "<i>kind</i>", categorical=True)
    assert "&lt;b&gt;0&lt;/b&gt;" in fig.data[0].x and "&lt;i&gt;" in fig.layout.title.text  # escaped


def test_density_contours_ring_the_planted_blobs():
    rng = np.random.default_rng(1)
    xy = np.concatenate([rng.normal((0, 0), 0.3, (2000, 2)), rng.normal((10, 5), 0.3, (2000, 2))])
    xs, ys, z = linked.contour_grid(xy)
    assert z.shape == (linked.CONTOUR_SIDE, linked.CONTOUR_SIDE)
    peaks = np.argsort(z.ravel())[::-1][:40]
    near = [
        min(np.hypot(xs[j] - cx, ys[i] - cy) for cx, cy in ((0, 0), (10, 5)))
        for i, j in zip(*np.unravel_index(peaks, z.shape), strict=True)
    ]
    assert max(near) < 1.0  # the densest cells are the blobs' centres
    import plotly.graph_objects as go

    fig = linked.add_density_contours(go.Figure(), xy)
    (trace,) = fig.data
    assert trace.type == "contour" and trace.hoverinfo == "skip" and trace.contours.coloring == "none"
