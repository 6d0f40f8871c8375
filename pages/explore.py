"""Explore: the 2-D map of the latent space. Colour it, hover it, select with a box or lasso (or click a
point) to see the rows or images behind the points and which clusters they come from; search the rows (words
or a similar row) and filter them (the rest greyed), read the clusters' names on the map, find near-duplicates,
and curate the clusters (merge, split, recluster, rename, undo, save): the tools beside the map are in
pages/ui/explore_tools.py. The logic: explorer.dashboard.explore and explorer.dashboard.curate over explorer.curate."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import streamlit as st

from explorer.dashboard import curate, explore, run_view
from explorer.dashboard.cache import short_tag
from explorer.dashboard.workspace import JobKind
from explorer.display import density, linked, maps
from explorer.display.usertext import SPREADSHEET_NOTE, file_stem, markdown_text, plain_text
from explorer.limits import Limits
from explorer.project import PROJECTION_LABELS, PROJECTION_METHODS
from pages.ui import (
    curation as curation_ui,
    display,
    downloads,
    explore_tools as tools,
    feedback,
    progress,
    session,
    widgets as w,
)

LIMITS = Limits.from_env()
DISPLAY_CAP = explore.display_cap(os.environ.get("EXPLORER_DISPLAY_CAP", maps.DISPLAY_CAP), LIMITS)[0]

st.title("🔭 Explore")
ws, manager = session.workspace(), session.job_manager()
feedback.show_messages()
if progress.job_progress(JobKind.PROJECT):
    st.stop()
result = session.need_result()
run_tag = short_tag(ws.current if not session.read_only() else result.run_id)  # names this run's widgets


def view_settings() -> tuple[str, int]:
    c1, c2, c3 = st.columns(3)
    with c1:
        method = result.config.projection.method
        if session.read_only():
            st.markdown(f"**Projection:** {PROJECTION_LABELS[method]}")
        else:  # always shows this run's map; picking another shows the run on that map (a job, or at once)
            key = f"projection-{run_tag}"
            st.session_state[key] = method
            st.selectbox(
                "Projection",
                list(PROJECTION_METHODS),
                key=key,
                format_func=lambda m: PROJECTION_LABELS[m],
                on_change=lambda: feedback.safely(
                    explore.change_projection, ws, manager, result, st.session_state[key], LIMITS
                ),
            )
    with c2:
        color_by = w.selectbox(
            "Colour by",
            explore.color_options(result),
            key=w.pkey("color_by"),
            default="cluster",
            format_func=plain_text,
        )
    with c3:
        asked = w.number(
            "Points drawn at most",
            w.pkey("cap"),
            DISPLAY_CAP,
            min_value=1000,
            max_value=int(LIMITS.max_display_points),
            step=10_000,
            help="Above this, every point is drawn as a density image and a uniform sample of this many as "
            "markers on top (hover, click). A box or lasso selects every point inside it, "
            "drawn or not; clustering always uses every point.",
        )
    cap, note = explore.display_cap(asked, LIMITS)  # checked here too, not only by the widget
    if note:
        st.caption(note)
    return color_by, cap


def hover_fields(cap: int, rows: np.ndarray) -> maps.HoverTable:
    """What the hover label says of each drawn row (:func:`explore.point_fields`): the map's sample's built
    once per run, cap and names and kept in this session (the colouring and the focus do not change it, so a
    re-colour reuses it, and one user's values stay away from everyone else); a search's hits drawn beyond
    the sample get theirs then (:func:`explore.hover_rows`)."""
    token = (edits(), tuple(sorted(run_view.cluster_names(result).items())))
    key = (run_tag, id(result), cap, token)

    def sample_table() -> tuple[np.ndarray, maps.HoverTable]:
        sample = maps.sample_indices(result.dataset.n, cap)
        return sample, maps.hover_table(explore.point_fields(view, sample))

    return explore.hover_rows(view, rows, session.cached("hover_cache", key, sample_table))


def scatter_figure(color_by: str, cap: int, highlight: np.ndarray | None, names_on_map: bool, contours: bool):
    """The scatter (above the cap: a density image of every point under a sample of markers) of the run as
    curated, ``highlight`` (rows in focus: a filter, a search) bright and the rest greyed, the clusters' names
    drawn on it or not, the density's contour lines or not; built once per run, curation, colouring, focus and
    cap, and kept in this session (the session cache keeps one user's hover text away from everyone else)."""
    token = (edits(), tuple(sorted(names.items())))
    focus_key = None if highlight is None else (len(highlight), hash(highlight.tobytes()))
    key = (run_tag, id(result), color_by, cap, token, focus_key, names_on_map, contours)
    return session.cached(
        "scatter_cache", key, lambda: _scatter(color_by, cap, highlight, names_on_map, contours, token)
    )


def _scatter(color_by: str, cap: int, highlight: np.ndarray | None, names_on_map: bool, contours: bool, token: tuple):
    """:func:`scatter_figure`'s figure, built (``token``: the curation's state and the names)."""
    values: Any
    if color_by == "cluster":  # the curated clusters, named as curated, worked out once for every focus
        values = session.cached(
            "colour_codes",
            (run_tag, id(result), token),
            lambda: maps.Categories.of(curate.label_texts(view.clusters.labels, names)),
        )
        kind = "category"
    else:
        values, kind = explore.color_values(view, color_by)
    fig = maps.scatter(
        view.embedding,
        color=values,
        color_kind=kind,
        color_name=color_by,
        hover_fields=lambda rows: hover_fields(cap, rows),
        grid=None  # the density image's pixels of every point: the same map whatever the colouring or focus
        if result.dataset.n <= cap
        else session.cached("map_grid", (run_tag, id(result)), lambda: density.Grid.of(view.embedding[:, :2])),
        max_points=cap,
        selected=highlight,
        title=PROJECTION_LABELS.get(result.config.projection.method, ""),
    )
    if contours:
        linked.add_density_contours(fig, view.embedding)
    if names_on_map:
        placed = session.cached(  # a million points: a sort and medians, the same whatever the colouring and the focus
            "name_positions",
            (run_tag, id(result), token),
            lambda: maps.name_positions(view.embedding, view.clusters.labels, names),
        )
        maps.add_cluster_names(fig, view.embedding, view.clusters.labels, names, placed)
    return fig


def selection_panel(rows: np.ndarray, note: str | None = None) -> None:
    """The selected points: their (curated) cluster make-up, then the images or rows, and a CSV download;
    ``note``: what the count means when the map draws a sample (:func:`explore.selection_note`)."""
    ds = result.dataset
    st.markdown(f"**{len(rows):,} points selected**")
    if note:
        st.caption(note)
    makeup = explore.cluster_makeup(view, rows)
    st.dataframe(
        makeup.assign(share=makeup["share"].round(3), of_cluster=makeup["of_cluster"].round(3)),
        hide_index=True,
        width="stretch",
        height=min(35 * len(makeup) + 40, 220),
    )
    if len(rows) == 1 and view.explanation is not None:
        from explorer.dashboard.understand import point_summary

        p = point_summary(result, result.explanation, int(rows[0]))
        runner = "none" if p["runner_up"] < 0 else f"{p['runner_up']}: {p['runner_up_name']}"
        st.caption(
            markdown_text(
                f"In cluster {p['cluster']}: {p['name']} · runner-up {runner} · margin "
                f"{p['margin']:.2f} (0: on the boundary, 1: deep inside)"
            )
        )
    if ds.images is not None:
        if len(rows) == 1:
            st.image(display.upscale(run_view.thumbnails(result, rows)[0], 200), width=200)
            st.markdown(explore.point_details(view, int(rows[0])))
        else:
            shown = rows[:60]
            captions = [f"{ds.ids[i]} · c{run_view.cluster_name(view.clusters.labels[i])}" for i in shown]
            display.image_grid(run_view.thumbnails(result, shown), captions, columns=5, width=64)
            if len(rows) > len(shown):
                st.caption(f"The first {len(shown)} of {len(rows):,} images.")
    else:
        st.dataframe(run_view.selection_table(view, rows[:2000]), hide_index=True, width="stretch", height=320)
    downloads.download(
        "Download the selection (CSV)",
        lambda: explore.selection_csv(view, rows),
        rows=len(rows),
        owner=(view, rows),
        key="selection",
        file_name=f"{file_stem(ds.name)}-selection.csv",
        mime="text/csv",
        help=SPREADSHEET_NOTE,
    )


def edits() -> tuple:
    """What names the curation's state for the caches (:func:`pages.ui.curation.edits`)."""
    return curation_ui.edits(curation)


with feedback.guard("Explore"):
    curation = curation_ui.of(result)
    # the run with the curated clusters (the run itself until an edit), one object per edit: files prepared
    # for download stay while it does
    view = session.cached("curated_view", (run_tag, id(result), edits()), lambda: curate.curated_view(result, curation))
    names = curation.names
    scope = tools.Scope(result, view, curation, names, run_tag)
    color_by, cap = view_settings()
    s1, s2 = st.columns(2)
    hits = keep = expression = None  # a search or a filter that fails shows why, and the map stays
    filtered: list = []
    with s1, st.expander("🔎 Search", expanded=True), feedback.guard("Search"):
        hits = tools.search_box(scope)
    with s2, st.expander("🧮 Filter", expanded=True), feedback.guard("Filter"):
        keep, expression, filtered = tools.filter_box(scope)
    in_focus = curate.focus(result.dataset.n, keep, hits)
    o1, o2, _ = st.columns(3)
    with o1:
        names_on_map = w.checkbox("Names on the map", w.pkey("names_on_map"), True)
    with o2:
        contours = w.checkbox("Density contours", w.pkey("contours"), False, help="Where the points are dense.")
    fig = scatter_figure(color_by, cap, in_focus, names_on_map, contours)
    left, right = st.columns([3, 2])
    with left:
        event = st.plotly_chart(
            fig, key=f"scatter-{run_tag}", on_select="rerun", selection_mode=("box", "lasso", "points"), width="stretch"
        )
        meta = fig.layout.meta or {}
        if meta.get("density"):
            st.caption(
                f"All {meta['total']:,} points are drawn as a density image; {meta['shown']:,} of them, a "
                "uniform sample, as markers on top (hover, click). A box or lasso selects every point inside it."
            )
        elif meta.get("shown", 0) < meta.get("total", 0):
            st.caption(
                f"Showing {meta['shown']:,} of {meta['total']:,} points: a uniform sample. "
                "Clustering and scores use every point."
            )
    inside = (
        explore.rows_in_selection(result.embedding, event.selection) if event else None
    )  # every point in a box / lasso
    rows = inside if inside is not None else maps.rows_from_selection(event.selection.points if event else [])
    with right:
        clusters = explore.cluster_ids(view)
        picked = w.multiselect(
            "Or pick clusters to inspect",
            clusters,
            key=w.pkey("pick", run_tag),
            format_func=lambda c: plain_text(curate.label_texts(np.array([c]), names)[0]),
        )
        if len(rows) == 0 and picked:
            rows = np.flatnonzero(np.isin(view.clusters.labels, picked))
        chose = len(rows) > 0  # a box, a lasso, a click or picked clusters
        rows = curate.combine(rows, in_focus)  # a selection within the filter and the search (AND)
        if len(rows):
            if len(rows) == 1 or inside is None:
                st.button(
                    "Rows like the first selected one",
                    key=f"like-{run_tag}",
                    on_click=lambda r=str(view.dataset.ids[rows[0]]): st.session_state.update(
                        {w.pkey("search_mode", run_tag): "a similar row", f"similar-{run_tag}": r}
                    ),
                )
            drawn = maps.sample_indices(result.dataset.n, cap)
            note = explore.selection_note(rows, drawn, result.dataset.n) if inside is not None else None
            if expression:
                note = (note + " " if note else "") + "Only the rows that pass the filter above."
            selection_panel(rows, note)
        else:
            st.caption(
                "Drag a box or a lasso over the map, or click a point, to see what is there. "
                "Unselected points stay visible, greyed. Double-click the map to clear the selection."
            )
    if filtered:
        with left, feedback.guard("The filtered columns"):
            tools.linked_histograms(scope, filtered, rows, "the selected rows" if chose else "the rows in focus")
    with st.expander("👯 Near-duplicates"):
        tools.duplicates_box(scope)
    with st.expander("✂️ Curate the clusters: merge, split, recluster, rename", expanded=bool(curation.steps)):
        tools.curation_box(scope, rows)
