"""The polling fragments that show this session's running jobs and end in a rerun that collects them."""

from __future__ import annotations

import streamlit as st

from explorer.dashboard.train import loss_history
from explorer.dashboard.workspace import JobKind
from explorer.display import charts
from explorer.display.usertext import markdown_text

from . import compat
from .session import job_manager, workspace

# Stop keeps what a job has made so far where there is something to keep (a model's best weights, a
# run with its map drawn by PCA); a load, a new projection or applying new data has nothing partial, so
# Stop cancels them.
CANCEL_ON_STOP = (JobKind.LOAD, JobKind.PROJECT, JobKind.APPLY)
STOP_HELP = {
    JobKind.LOAD: "Stop reading this file; the data in use stay",
    JobKind.PROJECT: "Stop projecting; the map on show stays",
    JobKind.APPLY: "Stop applying the run; the new rows shown before (if any) stay",
    JobKind.TRAIN: "Stop early and keep the best weights so far",
    JobKind.RUN: "Stop early: training keeps its best weights, the sweep its best k, the map is drawn with PCA",
}


def job_progress(kind: JobKind, *, show_loss: bool = False) -> bool:
    """Draw the progress of this session's job of ``kind``, refreshed every second by a fragment:
    a progress bar (or its place in the queue), the loss curve while training, and a Stop button. When
    the job ends the whole page reruns, which collects its result. Returns True while a job is running."""
    ws, manager = workspace(), job_manager()
    if ws.job(manager, kind) is None:
        return False

    @st.fragment(run_every=1.0)  # each refresh is a script run and a redraw, for every visitor's job
    def poll() -> None:
        job = ws.job(manager, kind)
        if job is None:
            return
        if job.done:
            st.rerun()
        fraction, message = job.progress
        if job.status == "queued":
            message = manager.waiting_for(job) or message
        what = f"**{markdown_text(job.name)}**" + ("" if message in ("", job.name) else f" · {markdown_text(message)}")
        cap = f" of at most {job.max_seconds:,.0f} s" if job.max_seconds else ""
        st.progress(fraction, text=f"{what} · {job.elapsed:.0f} s{cap}")
        if show_loss:
            history, epochs = loss_history(job.snapshot())
            if history:
                st.plotly_chart(charts.loss_curve(history, epochs=epochs), width="stretch")
        if job.stop_requested:
            st.caption(f"Stopping ({markdown_text(job.stop_reason or 'asked')}) after the current step…")
        elif st.button("Stop", key=f"stop-{job.id}", icon="⏹️", help=STOP_HELP.get(kind)):
            if kind in CANCEL_ON_STOP:
                manager.cancel(job.id, ws.owner, "Stop was pressed")
            else:
                job.stop()
            compat.rerun_fragment()

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
        jobs = [manager.get(ticket.job_id, ws.owner) for ticket in list(ws.jobs.values())]
        if any(job is None or job.done for job in jobs):
            st.rerun()
        for job in filter(None, jobs):  # every one is there: a missing one reran the page above
            st.caption(f"⏳ {markdown_text(job.name)}: {markdown_text(job.progress[1])} ({job.elapsed:.0f} s)")

    poll()
