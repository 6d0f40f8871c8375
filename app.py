"""The explorer dashboard: page config, navigation, the saved-run picker and ``?run=<id>`` links.

    streamlit run app.py

Each step the user takes is a page in ``pages/``; they share this session's workspace (data, models,
runs) through ``pages/ui/``. ``?run=<id>`` opens a saved run read-only for whoever has the link.
"""

from __future__ import annotations

import streamlit as st

# streamlit puts this script's folder on sys.path, so pages/ imports; explorer is the installed package
from explorer.display.usertext import markdown_text, plain_text
from pages.ui import feedback, links, progress, session

st.set_page_config(page_title="explorer", page_icon="🔭", layout="wide")

with feedback.guard("Opening the run link"):
    st.session_state["view_run"] = None
    st.session_state["view_run"] = links.handle_run_link()
with feedback.guard("Collecting finished work"):
    session.collect_jobs()

# A shared run is for looking, not touching: no upload, no training, and it opens on the scatter.
shown = links.READ_ONLY_PAGES if session.read_only() else tuple(links.PAGES)
page = st.navigation(
    [
        st.Page(file, title=title, icon=icon, url_path=path, default=(i == 0))
        for i, (file, title, icon, path) in enumerate(links.PAGES[k] for k in shown)
    ]
)


def sidebar() -> None:
    view = session.viewed_run()
    with st.sidebar:
        if view is not None:
            st.info(
                f"Viewing saved run `{view.run_id}` (read-only): {markdown_text(view.dataset.name)}, "
                f"{view.clusters.method}, {view.clusters.k} clusters."
            )
            st.button("Back to my own work", icon="↩️", on_click=links.close_view)
            links.applied_note(view)
        else:
            ws = session.workspace()
            if ws.dataset is not None:
                st.caption(
                    f"Data: **{markdown_text(ws.dataset.name)}** · "
                    f"{ws.dataset.n:,} rows × {ws.dataset.X.shape[1]} features"
                )
            if ws.result is not None:
                from explorer.dashboard.run_view import describe_run

                st.caption(f"Run on show: {markdown_text(describe_run(ws.result))}")
            progress.jobs_status()
        if session.list_runs_enabled():
            run_picker()


def run_label(run: dict) -> str:
    """A saved run in the picker: its name (plain text), k and when it was made."""
    created = (run.get("created") or "")[:16].replace("T", " ")
    return f"{plain_text(run.get('name') or '?')} · k {run['metrics'].get('k', '?')} · {created}"


def run_picker() -> None:
    """Saved runs in the runs folder (CLI runs too), newest first; opening one views it read-only."""
    from explorer.runs.files import list_runs

    runs = list_runs(session.runs_root())
    st.divider()
    st.subheader("Saved runs")
    if not runs:
        st.caption("None yet. Save one on the Share page, or run `explorer run DATA`.")
        return
    labels = {r["run_id"]: run_label(r) for r in runs}
    st.selectbox(
        "Open a saved run",
        list(labels),
        format_func=lambda run_id: labels[run_id],
        index=None,
        placeholder="choose a run",
        key="run_picker",
    )
    st.button("Open", key="open_run", icon="📂", on_click=links.open_view)


with feedback.guard("The sidebar"):
    sidebar()
with feedback.guard():
    page.run()
