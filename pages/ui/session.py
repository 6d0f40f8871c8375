"""This session's workspace, the server's job manager and the run the pages show."""

from __future__ import annotations

import logging
import os

import streamlit as st

from explorer.dashboard.jobs.manager import JOB_NICE, JobManager
from explorer.dashboard.jobs.usage import client_key
from explorer.dashboard.workspace import Workspace

from . import compat

LIST_RUNS_ENV = "EXPLORER_LIST_RUNS"
log = logging.getLogger("explorer.app")

# The rerun waits for the first workspace() call (every page and app.py make one early): raised during
# this module's import, it broke the same import in every other session importing it at that moment -
# a fresh server's first visitors, or all open tabs reconnecting after a restart - which then failed
# with "cannot import name 'ui' from 'pages'" (found by tests/browser/test_load.py).
_rerun_through_app = compat.leave_legacy_pages_mode()  # on this module's first import: every page imports it


@st.cache_resource
def job_manager() -> JobManager:
    """One manager per server process: jobs outlive reruns and page switches; each is owned by a
    session; its ledger keeps each client's time, so budgets outlive a session (docs/SECURITY.md)."""
    per_client = os.environ.get("EXPLORER_JOBS_PER_CLIENT", "").strip()
    return JobManager(
        max_workers=int(os.environ.get("EXPLORER_JOB_WORKERS", "4")),
        per_client=int(per_client) if per_client else None,
        nice=int(os.environ.get("EXPLORER_JOB_NICE", str(JOB_NICE))),
    )


def _client_key(owner: str) -> str:
    """Who this session's work counts against: its address (or the proxy's X-Forwarded-For), by
    EXPLORER_CLIENT_KEY; see explorer.dashboard.jobs.usage.client_key."""
    ip = headers = None
    try:
        ip = st.context.ip_address
        headers = dict(st.context.headers)
    except Exception as exc:  # noqa: BLE001 - no request context (AppTest): the session counts on its own
        log.debug("no client address for this session: %s", exc)
    return client_key(owner, ip, headers)


def workspace() -> Workspace:
    """This session's work (never shared: it lives in the session's own state)."""
    global _rerun_through_app
    if _rerun_through_app:  # the first run after leaving the legacy pages mode (compat.leave_legacy_pages_mode)
        _rerun_through_app = False
        st.rerun()
    if "ws" not in st.session_state:
        ws = Workspace()
        ws.client = _client_key(ws.owner)
        st.session_state["ws"] = ws
    return st.session_state["ws"]


def collect_jobs() -> None:
    """Take in this session's finished jobs (app.py, on every rerun)."""
    workspace().collect(job_manager())


def list_runs_enabled() -> bool:
    return os.environ.get(LIST_RUNS_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


def runs_root() -> str:
    from explorer.runs.roots import default_root

    return str(default_root())


def viewed_run():
    """The saved run opened read-only, or None."""
    return st.session_state.get("view_run")


def read_only() -> bool:
    return viewed_run() is not None


def current_result():
    """The run the pages show: the viewed saved run, else this session's current run (or None)."""
    return viewed_run() if read_only() else workspace().result


def need_result():
    """The run on show, or a hint (and the page stops) when there is none yet."""
    result = current_result()
    if result is None:
        st.info(
            "No clustering yet. Load data, train a representation, then run the clustering on the **Cluster** page."
        )
        st.page_link("pages/cluster.py", label="Go to Cluster", icon="🧩")
        st.stop()
    return result


def need_dataset():
    """This session's dataset; the bundled sample is loaded when there is none yet."""
    from .loading import load_default_sample

    ws = workspace()
    if ws.dataset is None:
        load_default_sample(ws)
    return ws.dataset


def cached(name: str, key: tuple, make):
    """``make()``, kept in this session under ``name`` while ``key`` stays the same (one value per name: a new
    key replaces the old value). The session's own: one user's values stay away from everyone else's."""
    hold = st.session_state.get(name)
    if hold is None or hold[0] != key:
        hold = (key, make())
        st.session_state[name] = hold
    return hold[1]
