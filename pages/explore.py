"""Explore: the 2-D map of the latent space. Colour it, hover it, select with a box or lasso (or click a
point) to see the rows or images behind the points and which clusters they come from."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import streamlit as st

from explorer import plots, views
from explorer.pipeline import ProjectionConfig, reproject
from explorer.project import PROJECTION_METHODS
from pages import ui

PROJECTION_LABELS = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
DISPLAY_CAP = int(os.environ.get("EXPLORER_DISPLAY_CAP", plots.DISPLAY_CAP))

st.title("🔭 Explore")
ws, manager = ui.workspace(), ui.job_manager()
ui.show_messages()
if ui.job_progress("project"):
    st.stop()
result = ui.need_result()
run_tag = ui.short(ws.current if not ui.read_only() else result.run_id)  # names this run's widgets


def view_settings() -> tuple[str, int]:
    c1, c2, c3 = st.columns(3)
    with c1:
        method = result.config.projection.method
        if ui.read_only():
            st.markdown(f"**Projection:** {PROJECTION_LABELS[method]}")
        else:  # always shows this run's map; picking another shows the run on that map (a job, or at once)
            key = f"projection-{run_tag}"
            st.session_state[key] = method
            st.selectbox("Projection", list(PROJECTION_METHODS), key=key, format_func=PROJECTION_LABELS.get,
                         on_change=lambda: ui.safely(change_projection, st.session_state[key]))
    with c2:
        color_by = ui.selectbox("Colour by", views.color_options(result), key=ui.pkey("color_by"), default="cluster")
    with c3:
        cap = ui.number("Points drawn at most", ui.pkey("cap"), DISPLAY_CAP, min_value=1000, max_value=2_000_000,
                        step=10_000, help="Above this a uniform sample is drawn; clustering always uses every point.")
    return color_by, int(cap)


def change_projection(method: str) -> None:
    """Show the same run under another projection: at once when it was made before, else as a job."""
    cfg = replace(result.config, projection=ProjectionConfig(method=method))
    key = ws.run_key(ws.fingerprint, cfg)
    if key in ws.runs:
        ws.current = key
        return
    ws.start(manager, "project", lambda job: reproject(result, cfg.projection), name=f"Projecting with {PROJECTION_LABELS[method]}",
             meta={"run_key": key})
    ws.collect(manager)  # a job that already ended (synchronous mode) is taken in at once


def scatter_figure(color_by: str, cap: int):
    """The scatter, built once per run, colouring and cap and kept in this session (100k hover labels
    take a while to build; the session cache keeps one user's hover text away from everyone else)."""
    key = (run_tag, id(result), color_by, cap)
    cached = st.session_state.get("scatter_cache")
    if cached is not None and cached[0] == key:
        return cached[1]
    values, kind = views.color_values(result, color_by)
    fig = plots.scatter(result.embedding, color=values, color_kind=kind, color_name=color_by,
                        hovertext=lambda rows: views.hover_texts(result, rows), max_points=cap,
                        title=PROJECTION_LABELS.get(result.config.projection.method, ""))
    st.session_state["scatter_cache"] = (key, fig)
    return fig


def selection_panel(rows: np.ndarray) -> None:
    """The selected points: their cluster make-up, then the images or rows, and a CSV download."""
    ds = result.dataset
    st.markdown(f"**{len(rows):,} points selected**")
    makeup = views.cluster_makeup(result, rows)
    st.dataframe(makeup.assign(share=makeup["share"].round(3), of_cluster=makeup["of_cluster"].round(3)),
                 hide_index=True, width="stretch", height=min(35 * len(makeup) + 40, 220))
    if ds.images is not None:
        if len(rows) == 1:
            st.image(ui._upscale(views.thumbnails(result, rows)[0], 200), width=200)
            st.markdown(views.hover_texts(result, rows)[0].replace("<br>", "  \n").replace("<b>", "**").replace("</b>", "**"))
        else:
            shown = rows[:60]
            captions = [f"{ds.ids[i]} · c{views.cluster_name(result.clusters.labels[i])}" for i in shown]
            ui.image_grid(views.thumbnails(result, shown), captions, columns=5, width=64)
            if len(rows) > len(shown):
                st.caption(f"The first {len(shown)} of {len(rows):,} images.")
    else:
        st.dataframe(views.selection_table(result, rows[:2000]), hide_index=True, width="stretch", height=320)
    st.download_button("Download the selection (CSV)", data=lambda: views.selection_table(result, rows).to_csv(index=False),
                       file_name=f"{ds.name}-selection.csv", mime="text/csv", icon="⬇️", key="download_selection")


with ui.guard("Explore"):
    color_by, cap = view_settings()
    fig = scatter_figure(color_by, cap)
    left, right = st.columns([3, 2])
    with left:
        event = st.plotly_chart(fig, key=f"scatter-{run_tag}", on_select="rerun",
                                selection_mode=("box", "lasso", "points"), width="stretch")
        meta = fig.layout.meta or {}
        if meta.get("shown", 0) < meta.get("total", 0):
            st.caption(f"Showing {meta['shown']:,} of {meta['total']:,} points: a uniform sample. "
                       "Clustering and scores use every point.")
    rows = plots.rows_from_selection(event.selection.points if event else [])
    with right:
        clusters = sorted(set(int(c) for c in np.unique(result.clusters.labels)))
        picked = ui.multiselect("Or pick clusters to inspect", clusters, key=ui.pkey("pick", run_tag),
                                format_func=views.cluster_name)
        if len(rows) == 0 and picked:
            rows = np.flatnonzero(np.isin(result.clusters.labels, picked))
        if len(rows):
            selection_panel(rows)
        else:
            st.caption("Drag a box or a lasso over the map, or click a point, to see what is there. "
                       "Unselected points stay visible, greyed. Double-click the map to clear the selection.")
