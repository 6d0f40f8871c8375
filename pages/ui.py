"""What every page shares: the session's workspace, the job manager, the run being viewed, error
boxes, the polling progress fragment, widgets that keep their value across pages, image grids.

Streamlit code only; everything it shows comes from ``explorer``.
"""
from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
import streamlit as st

from explorer import plots
from explorer.errors import ExplorerError, RunNotFound
from explorer.jobs import JobManager
from explorer.workspace import Workspace

log = logging.getLogger("explorer.app")

PERSIST_PREFIX = "p:"  # keys of the widgets whose value lasts the whole session (persist_state="session")
DEFAULT_SAMPLE = "penguins"
SAMPLE_LABELS = {"penguins": "species"}  # the label column each bundled table sample comes with
LIST_RUNS_ENV = "EXPLORER_LIST_RUNS"
PAGES = {  # name: (file, title, icon, url path)
    "data": ("pages/data.py", "Data", "📂", "data"),
    "train": ("pages/train.py", "Train", "🧠", "train"),
    "cluster": ("pages/cluster.py", "Cluster", "🧩", "cluster"),
    "explore": ("pages/explore.py", "Explore", "🔭", "explore"),
    "reconstruct": ("pages/reconstruct.py", "Reconstructions & anomalies", "🪞", "reconstructions"),
    "evaluate": ("pages/evaluate.py", "Evaluate", "📏", "evaluate"),
    "share": ("pages/share.py", "Share", "🔗", "share"),
}


def _leave_legacy_pages_mode() -> bool:
    """Make sure app.py runs, whatever URL the server's first visitor opens; True when this call
    switched the legacy mode off (the run in progress should then start again, through app.py).

    A folder named ``pages/`` beside app.py makes Streamlit start in its legacy multipage mode (every
    file in it a page of its own, run without app.py) until app.py calls ``st.navigation``. If the first
    request of a fresh server is a sub-page URL, app.py would never run and the whole server would stay
    in that mode. This module is imported by every page, so its first import switches the mode off.
    (Renaming the folder avoids this.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


# The rerun waits for the first workspace() call (every page and app.py make one early): raised during
# this module's import, it broke the same import in every other session importing it at that moment -
# a fresh server's first visitors, or all open tabs reconnecting after a restart - which then failed
# with "cannot import name 'ui' from 'pages'" (found by tests/browser/test_load.py).
_rerun_through_app = _leave_legacy_pages_mode()


# -- session, jobs, the viewed run ----------------------------------------------------------------------
@st.cache_resource
def job_manager() -> JobManager:
    """One manager per server process: jobs outlive reruns and page switches; each is owned by a session."""
    return JobManager(max_workers=int(os.environ.get("EXPLORER_JOB_WORKERS", "2")))


def workspace() -> Workspace:
    """This session's work (never shared: it lives in the session's own state)."""
    global _rerun_through_app
    if _rerun_through_app:  # the first run after leaving the legacy pages mode (see above)
        _rerun_through_app = False
        st.rerun()
    if "ws" not in st.session_state:
        st.session_state["ws"] = Workspace()
    return st.session_state["ws"]


def list_runs_enabled() -> bool:
    return os.environ.get(LIST_RUNS_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Opening the saved run…")
def load_saved_run(run_id: str, root: str):
    """A saved run, loaded once per server (only whoever has its id can ask for it)."""
    from explorer.runs import load_run

    return load_run(run_id, root)


def runs_root() -> str:
    from explorer.runs import default_root

    return str(default_root())


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
        shown = re.sub(r"[^A-Za-z0-9_-]", "?", view_id[:40]) + ("…" if len(view_id) > 40 else "")  # no markup from a link
        prefix = "" if isinstance(exc, RunNotFound) else "the saved run can't be opened: "
        st.error(f"Can't open the shared run `{shown}`: {prefix}{exc}")
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
        st.info("No clustering yet. Load data, train a representation, then run the clustering on the **Cluster** page.")
        st.page_link("pages/cluster.py", label="Go to Cluster", icon="🧩")
        st.stop()
    return result


def need_dataset():
    """This session's dataset; the bundled sample is loaded when there is none yet."""
    ws = workspace()
    if ws.dataset is None:
        load_default_sample(ws)
    return ws.dataset


# -- data loading (cached by what was loaded and how) ---------------------------------------------------
@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def table_preview(source_key: str, _data: Any, name: str):
    """(rows, column summary) of a table, before loading it (cached per upload)."""
    from explorer.data import read_table_preview
    from explorer.limits import Limits

    return read_table_preview(_data, name, nrows=10_000, limits=Limits.from_env())


@st.cache_data(max_entries=8, show_spinner="Loading the data…")
def load_dataset(source_key: str, _data: Any, name: str, table: tuple | None, images: tuple | None):
    """The Dataset of one source with the given options (cached per upload and options).

    ``table`` = (label, id, columns or None, scaling); ``images`` = (mode, max_side).
    """
    from explorer.data import ImageOptions, TableOptions, load
    from explorer.limits import Limits

    t = None if table is None else TableOptions(label_column=table[0], id_column=table[1],
                                                columns=None if table[2] is None else list(table[2]), scaling=table[3])
    i = None if images is None else ImageOptions(mode=images[0], max_side=int(images[1]))
    return load(_data, name=name, table=t, images=i, limits=Limits.from_env())


def sample_source(name: str) -> tuple[str, str, bytes]:
    """(source key, file name, bytes) of a bundled sample."""
    from explorer.data import SAMPLES

    path = SAMPLES[name]
    return f"sample:{name}", path.name, path.read_bytes()


def default_table_options(sample: str | None) -> tuple:
    return (SAMPLE_LABELS.get(sample or ""), None, None, "auto")


def load_default_sample(ws: Workspace) -> None:
    """Load the default sample with its default options (what the Data page shows first)."""
    key, name, data = sample_source(DEFAULT_SAMPLE)
    ws.set_dataset(load_dataset(key, data, name, default_table_options(DEFAULT_SAMPLE), None), f"sample {DEFAULT_SAMPLE}")
    ws_load_key(ws, (key, default_table_options(DEFAULT_SAMPLE), None))


def ws_load_key(ws: Workspace, key: tuple | None = None) -> tuple | None:
    """The (source, options) the session's dataset was loaded with; set it when ``key`` is given."""
    if key is not None:
        st.session_state["load_key"] = key
    return st.session_state.get("load_key")


# -- errors and messages --------------------------------------------------------------------------------
@contextmanager
def guard(what: str = "") -> Iterator[None]:
    """Show any error of the block in a box and carry on; what the user made stays in the session."""
    try:
        yield
    except ExplorerError as exc:
        st.error(f"{what}{': ' if what else ''}{exc}")
    except Exception as exc:  # noqa: BLE001 - never a traceback page; Streamlit's own rerun/stop are BaseException
        log.exception("unexpected error in the dashboard")
        st.error(f"{what + ': ' if what else ''}something went wrong ({type(exc).__name__}: {exc}). "
                 "Your data, models and results are kept; change the settings or try again.")


def safely(fn, *args: Any) -> None:
    """Run a button's callback; an error becomes a message on the page instead of a traceback."""
    try:
        fn(*args)
    except ExplorerError as exc:
        workspace().messages.append(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001
        log.exception("unexpected error in a callback")
        workspace().messages.append(("error", f"something went wrong ({type(exc).__name__}: {exc}); your work is kept."))


def show_messages() -> None:
    """The messages finished jobs left for this session, once."""
    for level, text in workspace().pop_messages():
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(text)


def collect_jobs() -> None:
    workspace().collect(job_manager())


# -- widgets that keep their value across pages ---------------------------------------------------------
# Each helper seeds its key with the default (or resets a stored value the options no longer hold) and
# creates the widget with persist_state="session", so a choice survives visits to other pages.
def short(text: str | None) -> str:
    """A short stable tag for a long key (a run's settings), to name widgets by."""
    import hashlib

    return hashlib.blake2b(str(text).encode(), digest_size=6).hexdigest()


def pkey(*parts: Any) -> str:
    return PERSIST_PREFIX + ":".join(str(p) for p in parts)


def _seed(key: str, default: Any, valid=None) -> None:
    if key not in st.session_state or (valid is not None and not valid(st.session_state[key])):
        st.session_state[key] = default


def selectbox(label: str, options: Sequence[Any], key: str, default: Any = None, **kw) -> Any:
    options = list(options)
    _seed(key, default if default in options else options[0], lambda v: v in options)
    return st.selectbox(label, options, key=key, **kw, persist_state="session")


def radio(label: str, options: Sequence[Any], key: str, default: Any = None, **kw) -> Any:
    options = list(options)
    _seed(key, default if default in options else options[0], lambda v: v in options)
    return st.radio(label, options, key=key, **kw, persist_state="session")


def multiselect(label: str, options: Sequence[Any], key: str, default: Sequence[Any] = (), **kw) -> list:
    options = list(options)
    _seed(key, [d for d in default if d in options], lambda v: isinstance(v, list) and all(x in options for x in v))
    return st.multiselect(label, options, key=key, **kw, persist_state="session")


def number(label: str, key: str, default: float | int, *, min_value=None, max_value=None, **kw):
    def ok(v):
        return isinstance(v, (int, float)) and (min_value is None or v >= min_value) and (max_value is None or v <= max_value)

    _seed(key, default, ok)
    return st.number_input(label, key=key, min_value=min_value, max_value=max_value, **kw, persist_state="session")


def text(label: str, key: str, default: str, **kw) -> str:
    _seed(key, default, lambda v: isinstance(v, str))
    return st.text_input(label, key=key, **kw, persist_state="session")


def checkbox(label: str, key: str, default: bool, **kw) -> bool:
    _seed(key, default, lambda v: isinstance(v, bool))
    return st.checkbox(label, key=key, **kw, persist_state="session")


def slider(label: str, key: str, default: int, min_value: int, max_value: int, **kw) -> int:
    _seed(key, default, lambda v: isinstance(v, int) and min_value <= v <= max_value)
    return st.slider(label, min_value=min_value, max_value=max_value, key=key, **kw, persist_state="session")


# -- progress of a background job -----------------------------------------------------------------------
def job_progress(purpose: str, *, show_loss: bool = False) -> bool:
    """Draw the progress of this session's ``purpose`` job, refreshed twice a second by a fragment:
    a progress bar, the loss curve while training, and a Stop button. When the job ends the whole page
    reruns, which collects its result. Returns True while a job is running."""
    ws, manager = workspace(), job_manager()
    if ws.job(manager, purpose) is None:
        return False

    @st.fragment(run_every=0.5)
    def poll() -> None:
        job = ws.job(manager, purpose)
        if job is None:
            return
        if job.done:
            st.rerun()
        fraction, message = job.progress
        what = f"**{job.name}**" + ("" if message in ("", job.name) else f" · {message}")
        st.progress(fraction, text=f"{what} · {job.elapsed:.0f} s")
        if show_loss:
            history = [e for e in job.snapshot() if e.get("stage") == "train" and e.get("loss") is not None]
            if history:
                st.plotly_chart(plots.loss_curve(history, epochs=history[-1].get("epochs")), width="stretch")
        if job.stop_requested:
            st.caption("Stopping after the current step; the best result so far is kept…")
        elif st.button("Stop", key=f"stop-{job.id}", icon="⏹️", help="Stop early and keep the best weights so far"):
            job.stop()
            st.rerun(scope="fragment")

    poll()
    return True


def jobs_status() -> None:
    """A line per running job of this session (in the sidebar, on every page); when one ends the page
    reruns so its result shows up wherever the user is."""
    ws, manager = workspace(), job_manager()
    if not ws.jobs:
        return

    @st.fragment(run_every=1.0)
    def poll() -> None:
        jobs = [manager.get(job_id, ws.owner) for job_id in ws.jobs.values()]
        if any(job is None or job.done for job in jobs):
            st.rerun()
        for job in jobs:
            st.caption(f"⏳ {job.name}: {job.progress[1]} ({job.elapsed:.0f} s)")

    poll()


# -- images -----------------------------------------------------------------------------------------------
def image_grid(images: Sequence[np.ndarray], captions: Sequence[str] | None = None, *, columns: int = 8,
               width: int = 72) -> None:
    """Thumbnails in rows of ``columns``, each ``width`` pixels wide (small images are scaled up, crisp)."""
    images = list(images)
    if not images:
        return
    captions = list(captions) if captions is not None else [None] * len(images)
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for col, img, cap in zip(cols, images[start:start + columns], captions[start:start + columns]):
            col.image(_upscale(img, width), caption=cap, width=width)


def _upscale(img: np.ndarray, width: int) -> np.ndarray:
    """Nearest-neighbour upscaling so a 28x28 digit stays sharp when shown at 72 px."""
    factor = max(1, width // max(img.shape[1], 1))
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1) if factor > 1 else img


def metric_value(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)
