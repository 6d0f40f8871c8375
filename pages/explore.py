"""Explore: the 2-D map of the latent space. Colour it, hover it, select with a box or lasso (or click a
point) to see the rows or images behind the points and which clusters they come from."""
from __future__ import annotations

import os

import numpy as np
import streamlit as st

from explorer.dashboard import explore, run_view
from explorer.dashboard.cache import short_tag
from explorer.dashboard.workspace import JobKind
from explorer.display import maps
from explorer.display.usertext import SPREADSHEET_NOTE, file_stem, markdown_text, plain_text
from explorer.limits import Limits
from explorer.project import PROJECTION_LABELS, PROJECTION_METHODS
from pages.ui import display, downloads, feedback, progress, session, widgets as w

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
            st.selectbox("Projection", list(PROJECTION_METHODS), key=key, format_func=lambda m: PROJECTION_LABELS[m],
                         on_change=lambda: feedback.safely(explore.change_projection, ws, manager, result, st.session_state[key], LIMITS))
    with c2:
        color_by = w.selectbox("Colour by", explore.color_options(result), key=w.pkey("color_by"), default="cluster",
                               format_func=plain_text)
    with c3:
        asked = w.number("Points drawn at most", w.pkey("cap"), DISPLAY_CAP, min_value=1000,
                         max_value=int(LIMITS.max_display_points), step=10_000,
                         help="Above this, every point is drawn as a density image and a uniform sample of this many as "
                              "markers on top (hover, click). A box or lasso selects every point inside it, "
                              "drawn or not; clustering always uses every point.")
    cap, note = explore.display_cap(asked, LIMITS)  # checked here too, not only by the widget
    if note:
        st.caption(note)
    return color_by, cap


def hover_fields(cap: int) -> maps.HoverTable:
    """What the hover label says of each row drawn as a marker (:func:`explore.point_fields`), built once
    per run, cap and names and kept in this session: the colouring does not change it, so a re-colour
    reuses it (and one user's values stay away from everyone else)."""
    key = (run_tag, id(result), cap, tuple(sorted(run_view.cluster_names(result).items())))
    cached = st.session_state.get("hover_cache")
    if cached is None or cached[0] != key:
        cached = (key, maps.hover_table(explore.point_fields(result, maps.sample_indices(result.dataset.n, cap))))
        st.session_state["hover_cache"] = cached
    return cached[1]


def scatter_figure(color_by: str, cap: int):
    """The scatter (above the cap: a density image of every point under a sample of markers), built once
    per run, colouring and cap and kept in this session (the session cache keeps one user's hover text
    away from everyone else)."""
    key = (run_tag, id(result), color_by, cap, tuple(sorted(run_view.cluster_names(result).items())))  # names: renames redraw
    cached = st.session_state.get("scatter_cache")
    if cached is not None and cached[0] == key:
        return cached[1]
    values, kind = explore.color_values(result, color_by)
    fig = maps.scatter(result.embedding, color=values, color_kind=kind, color_name=color_by,
                        hover_fields=lambda rows: hover_fields(cap), max_points=cap,
                        title=PROJECTION_LABELS.get(result.config.projection.method, ""))
    st.session_state["scatter_cache"] = (key, fig)
    return fig


def selection_panel(rows: np.ndarray, note: str | None = None) -> None:
    """The selected points: their cluster make-up, then the images or rows, and a CSV download;
    ``note``: what the count means when the map draws a sample (:func:`explore.selection_note`)."""
    ds = result.dataset
    st.markdown(f"**{len(rows):,} points selected**")
    if note:
        st.caption(note)
    makeup = explore.cluster_makeup(result, rows)
    st.dataframe(makeup.assign(share=makeup["share"].round(3), of_cluster=makeup["of_cluster"].round(3)),
                 hide_index=True, width="stretch", height=min(35 * len(makeup) + 40, 220))
    if len(rows) == 1 and result.explanation is not None:
        from explorer.dashboard.understand import point_summary

        p = point_summary(result, result.explanation, int(rows[0]))
        runner = "none" if p["runner_up"] < 0 else f"{p['runner_up']}: {p['runner_up_name']}"
        st.caption(markdown_text(f"In cluster {p['cluster']}: {p['name']} · runner-up {runner} · margin "
                                       f"{p['margin']:.2f} (0: on the boundary, 1: deep inside)"))
    if ds.images is not None:
        if len(rows) == 1:
            st.image(display.upscale(run_view.thumbnails(result, rows)[0], 200), width=200)
            st.markdown(explore.point_details(result, int(rows[0])))
        else:
            shown = rows[:60]
            captions = [f"{ds.ids[i]} · c{run_view.cluster_name(result.clusters.labels[i])}" for i in shown]
            display.image_grid(run_view.thumbnails(result, shown), captions, columns=5, width=64)
            if len(rows) > len(shown):
                st.caption(f"The first {len(shown)} of {len(rows):,} images.")
    else:
        st.dataframe(run_view.selection_table(result, rows[:2000]), hide_index=True, width="stretch", height=320)
    downloads.download("Download the selection (CSV)", lambda: explore.selection_csv(result, rows), rows=len(rows),
                       owner=(result, rows), key="selection", file_name=f"{file_stem(ds.name)}-selection.csv",
                       mime="text/csv", help=SPREADSHEET_NOTE)


with feedback.guard("Explore"):
    color_by, cap = view_settings()
    fig = scatter_figure(color_by, cap)
    left, right = st.columns([3, 2])
    with left:
        event = st.plotly_chart(fig, key=f"scatter-{run_tag}", on_select="rerun",
                                selection_mode=("box", "lasso", "points"), width="stretch")
        meta = fig.layout.meta or {}
        if meta.get("density"):
            st.caption(f"All {meta['total']:,} points are drawn as a density image; {meta['shown']:,} of them, a "
                       "uniform sample, as markers on top (hover, click). A box or lasso selects every point inside it.")
        elif meta.get("shown", 0) < meta.get("total", 0):
            st.caption(f"Showing {meta['shown']:,} of {meta['total']:,} points: a uniform sample. "
                       "Clustering and scores use every point.")
    inside = explore.rows_in_selection(result.embedding, event.selection) if event else None  # every point in a box / lasso
    rows = inside if inside is not None else maps.rows_from_selection(event.selection.points if event else [])
    with right:
        clusters = explore.cluster_ids(result)
        picked = w.multiselect("Or pick clusters to inspect", clusters, key=w.pkey("pick", run_tag),
                                format_func=lambda c: plain_text(run_view.cluster_names(result).get(c) or run_view.cluster_name(c)))
        if len(rows) == 0 and picked:
            rows = np.flatnonzero(np.isin(result.clusters.labels, picked))
        if len(rows):
            drawn = maps.sample_indices(result.dataset.n, cap)
            selection_panel(rows, explore.selection_note(rows, drawn, result.dataset.n) if inside is not None else None)
        else:
            st.caption("Drag a box or a lasso over the map, or click a point, to see what is there. "
                       "Unselected points stay visible, greyed. Double-click the map to clear the selection.")
