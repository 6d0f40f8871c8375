"""Add new data to this run: upload rows (or images) of the same kind, see where they fall on the run's
map, which clusters they join and what drifted; download them, or save them as a run linked to this one.
Applying runs as a background job of the session (progress, Stop), as training does."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from explorer.dashboard import apply
from explorer.dashboard.cache import short_tag
from explorer.dashboard.workspace import JobKind
from explorer.data import SUPPORTED_EXTENSIONS
from explorer.display.usertext import SPREADSHEET_NOTE, file_stem, markdown_text
from pages.ui import curation, downloads, feedback, links, progress, session

if TYPE_CHECKING:
    from explorer.apply import AppliedRun

st.title("➕ Add new data")
ws, manager = session.workspace(), session.job_manager()
feedback.show_messages()
result = session.need_result()
run_tag = short_tag(result.run_id or ws.current)
shown = curation.shown(result)  # new rows join the curated clusters when the Explore page edited them
# the rows applied belong to one state of the curation: another edit shows none until they are applied again
its_state = str(curation.edits(curation.of(result, say=False)))
apply_tag = run_tag if shown is result else f"{run_tag}-{short_tag(its_state)}"
st.markdown(
    "New rows go through this run's saved preprocessing (column order, fill values, scaling, categories, "
    "image size), its model and its clustering, without retraining; they are placed on its map beside its "
    "own points, which do not move."
)

upload_key, fill_key = f"apply_upload-{run_tag}", f"apply_fill-{run_tag}"
files = st.file_uploader(
    "New data of the same kind as the run's (a table, images or arrays)",
    accept_multiple_files=True,
    key=upload_key,
    help="Readable: " + ", ".join(SUPPORTED_EXTENSIONS),
)
st.checkbox(
    "Fill feature columns the new data lacks with the training value (otherwise they are refused)", key=fill_key
)


def start() -> None:
    """The Apply button: the files chosen now (read at the click, not on every rerun) -> a job."""
    from explorer.limits import Limits

    chosen = st.session_state.get(upload_key) or []
    apply.start_apply(
        ws,
        manager,
        shown,
        apply_tag,
        [(f.name, f.getvalue()) for f in chosen],
        bool(st.session_state.get(fill_key)),
        Limits.from_env(),
    )


running = progress.job_progress(
    JobKind.APPLY
)  # the progress bar and Stop while a job runs; the page reruns when it ends
if files and not running:
    st.button("Apply to this run", type="primary", icon="➕", on_click=feedback.safely, args=(start,))
elif not files and not running:
    st.info("Upload new data to see where it falls on this run's map.")

applied = apply.applied_for(ws, apply_tag)
if applied is not None:
    with feedback.guard("Showing the new rows"):
        drift = applied.drift
        st.caption(
            f"New rows from **{markdown_text(applied.dataset.report.source or applied.dataset.name)}**"
            + (" (a newer upload is being applied)" if running else "")
        )
        c1, c2, c3 = st.columns(3)
        c1.metric("New rows", f"{applied.dataset.n:,}")
        c2.metric(
            "Like none of the clusters",
            f"{drift.unusual_share:.1%}",
            help="anomaly above the run's 99th percentile (1% of the run's own rows)",
        )
        c3.metric(
            "Drift",
            "yes" if drift.drifted else "no",
            help="yes when a cluster's share moved 5 points or more, a column's "
            "KS or TVD reached 0.1, or 2% of the rows look like none of the clusters (each beyond chance)",
        )
        for note in applied.report.notes:
            st.caption(markdown_text(note))
        st.caption(markdown_text(f"Clusters: {applied.assignment.how}. Map: {applied.placement}."))
        fig = apply.applied_figure(shown, applied)
        st.plotly_chart(fig, key=f"applied-map-{run_tag}", width="stretch")
        meta = fig.layout.meta or {}
        if meta.get("shown_new", 0) < meta.get("total_new", 0):
            st.caption(f"Showing {meta['shown_new']:,} of {meta['total_new']:,} new rows: a uniform sample.")
        st.subheader("What drifted")
        st.markdown("**Cluster shares**, then (the run) and now (the new rows)")
        st.dataframe(apply.share_table(shown, applied), hide_index=True, width="stretch")
        if drift.columns:
            st.markdown(
                "**Columns**: numbers by the Kolmogorov-Smirnov statistic, categories by total variation distance"
            )
            st.dataframe(apply.column_table(applied), hide_index=True, width="stretch")
        for note in drift.notes:
            st.caption(markdown_text(note))
        downloads.download(
            "Download the new rows (CSV)",
            partial(apply.applied_csv, shown, applied),
            rows=applied.dataset.n,
            owner=(shown, applied),
            key="applied",
            file_name=f"{file_stem(applied.dataset.name)}-applied.csv",
            mime="text/csv",
            help="id, cluster, cluster_name, x, y, confidence, runner_up, margin, anomaly, unusual. "
            + SPREADSHEET_NOTE,
        )
        if not session.read_only() and result.run_id is not None:

            def save(rows: AppliedRun) -> None:
                from explorer.apply import save_applied

                source = result if shown is result else replace(shown, run_id=result.run_id)  # curated: as shown
                saved_id = Path(str(save_applied(rows, source, session.runs_root()))).name  # a folder, or a store's URL
                st.session_state["applied_saved"] = (run_tag, saved_id)
                ws.messages.append(("success", f"Saved the new rows as run {saved_id}, linked to run {result.run_id}."))

            st.button("Save the new rows as a run", icon="💾", on_click=feedback.safely, args=(save, applied))
            saved = st.session_state.get("applied_saved")
            if saved is not None and saved[0] == run_tag:
                links.run_link(saved[1], "Open the saved new rows (read-only)")
        elif not session.read_only():
            st.caption("Save this run on the Share page first to keep the new rows as a run linked to it.")
