"""The pages, ``?run=<id>`` links and the read-only view of a saved run."""

from __future__ import annotations

import re

import streamlit as st

from explorer.dashboard.apply import applied_source
from explorer.dashboard.messages import visitor_text
from explorer.display.usertext import markdown_text
from explorer.errors import ExplorerError, RunNotFound

from .session import runs_root

PAGES = {  # name: (file, title, icon, url path)
    "data": ("pages/data.py", "Data", "📂", "data"),
    "train": ("pages/train.py", "Train", "🧠", "train"),
    "cluster": ("pages/cluster.py", "Cluster", "🧩", "cluster"),
    "explore": ("pages/explore.py", "Explore", "🔭", "explore"),
    "understand": ("pages/understand.py", "Understand", "🔎", "understand"),
    "reconstruct": ("pages/reconstruct.py", "Reconstructions & anomalies", "🪞", "reconstructions"),
    "apply": ("pages/apply.py", "Add new data", "➕", "apply"),
    "evaluate": ("pages/evaluate.py", "Evaluate", "📏", "evaluate"),
    "share": ("pages/share.py", "Share", "🔗", "share"),
}
READ_ONLY_PAGES = (
    "explore",
    "understand",
    "cluster",
    "reconstruct",
    "apply",
    "evaluate",
    "share",
)  # a shared run opens on its map


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Opening the saved run…")
def load_saved_run(run_id: str, root: str):
    """A saved run, loaded once per server (only whoever has its id can ask for it)."""
    from explorer.runs.files import load_run

    return load_run(run_id, root)


def handle_run_link():
    """Open the run named by ``?run=<id>`` read-only (kept while the user moves between pages).

    Returns the loaded RunResult, or None when no run is being viewed. A bad or unknown id shows a
    message and the app goes on as usual. The URL is kept in step with what is viewed, so it can be
    copied and shared at any time.
    """
    if st.session_state.pop("view_closed", False):
        st.query_params.pop("run", None)
    elif not st.session_state.pop("view_picked", False):
        linked = st.query_params.get("run")
        if linked and linked != st.session_state.get("view_id"):
            st.session_state["view_id"] = linked
    view_id = st.session_state.get("view_id")
    if not view_id:
        return None
    try:
        result = load_saved_run(view_id, runs_root())
    except ExplorerError as exc:
        st.session_state["view_id"] = None
        st.query_params.pop("run", None)
        shown = re.sub(r"[^A-Za-z0-9_-]", "?", view_id[:40]) + (
            "…" if len(view_id) > 40 else ""
        )  # no markup from a link
        prefix = "" if isinstance(exc, RunNotFound) else "the saved run can't be opened: "
        st.error(f"Can't open the shared run `{shown}`: {visitor_text(prefix + str(exc))}")
        return None
    if st.query_params.get("run") != view_id:
        st.query_params["run"] = view_id
    return result


def share_link(run_id: str) -> str:
    """The address that opens ``run_id`` read-only: the app's root URL with ``?run=<id>``."""
    base = (st.context.url or "").rstrip("/")
    for _, _, _, path in PAGES.values():  # the link opens the run's map, not the page it was made on
        if base.endswith("/" + path):
            base = base[: -len(path) - 1]
    return f"{base}/?run={run_id}" if base else f"?run={run_id}"


def open_view() -> None:
    """The run picker's Open button: view the chosen saved run read-only."""
    run_id = st.session_state.get("run_picker")
    if run_id:
        st.session_state["view_id"] = run_id
        st.session_state["view_picked"] = True


def close_view() -> None:
    """Leave the shared run and go back to this session's own work."""
    st.session_state["view_id"] = None
    st.session_state["view_closed"] = True


def run_link(run_id: str, label: str) -> None:
    """A link that opens the saved run ``run_id`` read-only (only a well-formed run id becomes a link)."""
    from explorer.runs.ids import RUN_ID_PATTERN

    if RUN_ID_PATTERN.fullmatch(str(run_id)):
        st.markdown(f"[{markdown_text(label)}](?run={run_id})")


def applied_note(result) -> None:
    """For a saved run of applied rows: which run it was applied to (its name escaped), with a link."""
    source = applied_source(result, runs_root())
    if source is None:
        return
    run_id, name = source
    named = " (not in this runs folder)" if name is None else f" ({markdown_text(name)})" if name else ""
    st.info(
        f"This run holds new rows applied to run `{run_id}`{named}: the same model and clustering, "
        "their clusters and map places as that run gave them."
    )
    if name is not None:
        run_link(run_id, "Open the run it came from")
