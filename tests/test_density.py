"""The density image of every point (explorer.display.density) and the selection of every point inside a box or
a lasso (explorer.dashboard.explore), on points with known places."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.dashboard import explore
from explorer.display import density
from explorer.display.density import Bounds

RED, BLUE = (255, 0, 0), (0, 0, 255)


def two_squares(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cluster 0 fills the square [0, 1]^2, cluster 1 the square [3, 4] x [0, 1]; nothing in between."""
    rng = np.random.default_rng(seed)
    codes = np.repeat([0, 1], n // 2)
    xy = rng.uniform(0, 1, (n, 2)) + np.c_[3.0 * codes, np.zeros(n)]
    return xy, codes


def test_a_clusters_region_takes_its_colour_and_every_point_is_counted():
    xy, codes = two_squares()
    bounds = Bounds(0.0, 4.0, 0.0, 1.0)
    img = density.category_image(xy, codes, np.array([RED, BLUE], np.uint8), bounds=bounds, side=40)
    assert img.rgba.shape == (10, 40, 4) and img.counts.shape == (10, 40)  # square pixels: 4 x 1 -> 40 x 10
    assert img.counts.sum() == len(xy)  # counts conserved
    filled = img.rgba[..., 3] > 0
    np.testing.assert_array_equal(filled, img.counts > 0)
    assert (img.rgba[:, :10][..., :3] == RED).all() and filled[:, :10].all()  # cluster 0's square
    assert (img.rgba[:, 30:][..., :3] == BLUE).all() and filled[:, 30:].all()  # cluster 1's square
    assert not filled[:, 10:30].any() and (img.counts[:, 10:30] == 0).all()  # the gap
    assert img.counts[:, :10].sum() == (codes == 0).sum() and img.counts[:, 30:].sum() == (codes == 1).sum()


def test_a_shared_pixel_mixes_colours_by_count_and_opacity_grows_with_count():
    xy = np.array([[0.1, 0.1]] * 3 + [[0.1, 0.1]] + [[0.9, 0.9]])
    codes = np.array([0, 0, 0, 1, 0])
    img = density.category_image(xy, codes, np.array([RED, BLUE], np.uint8), bounds=Bounds(0, 1, 0, 1), side=2)
    bottom_left, top_right = img.rgba[1, 0], img.rgba[0, 1]  # row 0 is the top
    assert tuple(bottom_left[:3]) == (191, 0, 64)  # 3 red and 1 blue
    assert tuple(top_right[:3]) == RED
    assert bottom_left[3] == 255 and round(density.MIN_ALPHA * 255) == top_right[3]  # densest opaque, one point faint
    assert img.rgba[0, 0, 3] == 0 and img.rgba[1, 1, 3] == 0  # empty pixels transparent


def test_values_take_the_scale_at_their_pixels_mean_and_missing_values_the_missing_colour():
    lut = np.array([[0, 0, 0], [128, 128, 128], [255, 255, 255]], np.uint8)
    xy = np.array([[0.1, 0.5], [0.1, 0.5], [0.5, 0.5], [0.9, 0.5]])
    values = np.array([0.0, 1.0, 1.0, np.nan])
    img = density.value_image(xy, values, lut, vmin=0.0, vmax=1.0, bounds=Bounds(0, 1, 0, 1), side=3)
    row = img.rgba[1]
    assert tuple(row[0, :3]) == (128, 128, 128)  # mean 0.5: the middle of the scale
    assert tuple(row[1, :3]) == (255, 255, 255)
    assert tuple(row[2, :3]) == density.MISSING_RGB and row[2, 3] > 0  # only a missing value there
    assert img.counts.sum() == 4


def test_points_outside_the_bounds_or_not_finite_are_left_out():
    xy = np.array([[0.5, 0.5], [2.0, 0.5], [np.nan, 0.5], [1.0, 1.0], [0.0, 0.0]])
    img = density.category_image(xy, np.zeros(5, int), np.array([RED], np.uint8), bounds=Bounds(0, 1, 0, 1), side=4)
    assert img.counts.sum() == 3  # the two corners count (in the edge pixels), the far and the NaN point don't
    assert img.counts[0, 3] == 1 and img.counts[3, 0] == 1
    auto = density.category_image(xy[[0, 1, 3, 4]], np.zeros(4, int), np.array([RED], np.uint8))
    assert auto.counts.sum() == 4 and auto.bounds.xmin < 0 and auto.bounds.xmax > 2  # its own bounds hold all


def test_the_image_is_deterministic_and_a_png():
    xy, codes = two_squares()
    colors = np.array([RED, BLUE], np.uint8)
    a, b = density.category_image(xy, codes, colors), density.category_image(xy, codes, colors)
    assert a.png() == b.png() and a.png()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.data_uri().startswith("data:image/png;base64,")


def test_bad_arguments_say_what_is_wrong():
    xy, codes = two_squares(10)
    with pytest.raises(ValueError, match="codes for"):
        density.category_image(xy, codes[:5], np.array([RED, BLUE], np.uint8))
    with pytest.raises(ValueError, match="only 1 colours"):
        density.category_image(xy, codes, np.array([RED], np.uint8))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        density.value_image(xy[:, :1], np.zeros(10), np.zeros((2, 3), np.uint8))
    assert density.hex_to_rgb(["#ff0080", "rgb(1, 2, 3)"]).tolist() == [[255, 0, 128], [1, 2, 3]]
    with pytest.raises(ValueError, match="not a colour"):
        density.hex_to_rgb(["red"])


# -- selecting every point inside a shape ----------------------------------------------------------------
def grid(step: float = 0.1) -> np.ndarray:
    """Points on a grid over [0, 10)^2, offset by half a step so that none lies on a shape's edge."""
    ticks = np.arange(0, 10, step) + step / 2
    return np.array(np.meshgrid(ticks, ticks)).reshape(2, -1).T


def test_a_box_holds_the_points_inside_it():
    xy = grid()
    inside = explore.points_in_box(xy, [2.0, 5.0], [6.0, 1.0])  # corners in either order
    assert inside.sum() == 30 * 50
    assert np.all((xy[inside, 0] > 2) & (xy[inside, 0] < 5) & (xy[inside, 1] > 1) & (xy[inside, 1] < 6))


def test_a_lasso_holds_the_points_inside_its_polygon():
    xy = grid()
    triangle = explore.points_in_polygon(xy, [0, 10.03, 0], [0, 0, 10.03])  # below the line x + y = 10.03
    np.testing.assert_array_equal(triangle, xy.sum(axis=1) < 10.03)
    # a U shape (concave): the notch x in (4, 6), y above 3 is outside
    u_x, u_y = [2, 8, 8, 6, 6, 4, 4, 2], [1, 1, 9, 9, 3, 3, 9, 9]
    inside = explore.points_in_polygon(xy, u_x, u_y)
    x, y = xy[:, 0], xy[:, 1]
    expected = (x > 2) & (x < 8) & (y > 1) & (y < 9) & ~((x > 4) & (x < 6) & (y > 3))
    np.testing.assert_array_equal(inside, expected)
    circle = np.linspace(0, 2 * np.pi, 500, endpoint=False)
    disc = explore.points_in_polygon(xy, 5 + 3 * np.cos(circle), 5 + 3 * np.sin(circle))
    r = np.hypot(x - 5, y - 5)
    assert disc[r < 2.99].all() and not disc[r > 3.0].any()
    assert not explore.points_in_polygon(xy, [1, 2], [1, 2]).any()  # two vertices enclose nothing


def test_a_selection_event_selects_every_point_inside_its_shapes():
    xy = np.c_[grid(), np.zeros(len(grid()))]  # a 3-D map: its first two columns count
    event = {
        "points": [{"customdata": 0}],
        "box": [{"xref": "x", "yref": "y", "x": [0, 1], "y": [0, 1]}],
        "lasso": [{"xref": "x", "yref": "y", "x": [9.02, 10, 10], "y": [0, 0, 0.98]}],
    }
    rows = explore.rows_in_selection(xy, event)
    in_box = (xy[:, 0] < 1) & (xy[:, 1] < 1)
    in_lasso = (xy[:, 0] > 9.02) & (xy[:, 1] < xy[:, 0] - 9.02)
    np.testing.assert_array_equal(rows, np.flatnonzero(in_box | in_lasso))  # the union, sorted
    assert explore.rows_in_selection(xy, {"points": [{"customdata": 3}], "box": [], "lasso": []}) is None  # a click
    assert (
        explore.rows_in_selection(xy, {"box": [{"x": ["a", 1], "y": [0, 1]}, {"x": [1]}], "lasso": [{"x": [1, 2]}]})
        is None
    )
    assert len(explore.rows_in_selection(xy, {"box": [{"x": [20, 30], "y": [20, 30]}]})) == 0  # a box over nothing


def test_the_selection_note_counts_the_drawn_part():
    assert explore.selection_note(np.arange(10), np.arange(100), 100) is None
    note = explore.selection_note(np.arange(0, 2000, 2), np.arange(0, 2000, 4), 5000)
    assert "shows 500 of them" in note


def test_bounds_hold_the_finite_points_and_leave_out_nan_and_inf():
    xy = np.array([[0.0, 1.0], [2.0, 3.0], [np.nan, 100.0], [np.inf, 0.0], [1.0, -np.inf]], np.float32)
    b = Bounds.of(xy, pad=0.0)
    assert (b.xmin, b.xmax, b.ymin, b.ymax) == (0.0, 2.0, 1.0, 3.0)
    assert Bounds.of(np.full((3, 2), np.nan)) == Bounds(-1.0, 1.0, -1.0, 1.0)
    point = Bounds.of(np.array([[5.0, 5.0]]), pad=0.5)  # one point: a box of size 1 around it
    assert (point.xmin, point.xmax) == (4.5, 5.5)
    assert density.image_shape(Bounds(0, 4, 0, 1), side=40) == (10, 40)
    assert density.image_shape(Bounds(0, 1, 0, 4), side=40) == (40, 10)
