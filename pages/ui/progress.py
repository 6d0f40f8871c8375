"""The polling fragments that show this session's running jobs and end in a rerun that collects them."""
from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.dashboard.views import loss_history
from explorer.dashboard.workspace import JobKind

from .session import job_manager, workspace


def job_progress(kind: JobKind, *, show_loss: bool = False) -> bool:
    """Draw the progress of this session's job of ``kind``, refreshed twice a second by a fragment:
    a progress bar, the loss curve while training, and a Stop button. When the job ends the whole page
    reruns, which collects its result. Returns True while a job is running."""
    ws, manager = workspace(), job_manager()
    if ws.job(manager, kind) is None:
        return False

    @st.fragment(run_every=0.5)
    def poll() -> None:
        job = ws.job(manager, kind)
        if job is None:
            return
        if job.done:
            st.rerun()
        fraction, message = job.progress
        what = f"**{job.name}**" + ("" if message in ("", job.name) else f" · {message}")
        st.progress(fraction, text=f"{what} · {job.elapsed:.0f} s")
        if show_loss:
            history, epochs = loss_history(job.snapshot())
            if history:
                st.plotly_chart(plots.loss_curve(history, epochs=epochs), width="stretch")
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
        jobs = [manager.get(ticket.job_id, ws.owner) for ticket in ws.jobs.values()]
        if any(job is None or job.done for job in jobs):
            st.rerun()
        for job in jobs:
            st.caption(f"⏳ {job.name}: {job.progress[1]} ({job.elapsed:.0f} s)")

    poll()
