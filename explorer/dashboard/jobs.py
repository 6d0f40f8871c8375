"""Background jobs for the dashboard: long work (training, DEC, UMAP on big data) off the page's thread.

A :class:`JobManager` runs functions ``fn(job) -> result`` on a small thread pool. The function reports
progress with ``job.emit(event)`` (the pipeline's :class:`~explorer.events.Progress` events) and checks
``job.should_stop()``; the page polls ``job.progress`` / ``job.snapshot()`` and draws them. A job is owned by one session: every
lookup takes the owner, and a session never sees another's jobs.

GPU jobs wait their turn: at most one job runs on each GPU device ("cuda", "cuda:1", "mps") at a
time; CPU jobs only share the pool. With ``synchronous=True`` (or ``EXPLORER_SYNC_JOBS=1`` in the
environment) ``submit`` runs the job in the caller's thread and returns it finished, which makes page
tests deterministic.

Nothing here imports Streamlit; the dashboard keeps one manager per server process
(``st.cache_resource``) so jobs survive reruns and page switches.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from ..errors import ExplorerError
from ..events import Progress

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
SYNC_ENV = "EXPLORER_SYNC_JOBS"
FINISHED_TTL_S = 6 * 3600.0  # finished jobs nobody collected are dropped after this


@dataclass
class Job:
    """One piece of background work and everything a page needs to show it.

    ``events`` are the :class:`~explorer.events.Progress` events the work emitted, oldest first
    (training epochs carry ``epoch``, ``loss``, ``val_loss``). ``result`` is set when
    ``status == "done"``; ``error`` (a sentence for the user) when "failed". What to do with the result
    is the caller's business (the workspace keeps a typed ticket per job).
    """

    id: str
    owner: str
    name: str
    device: str = "cpu"
    status: JobStatus = "queued"
    events: list[Progress] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- called by the work ------------------------------------------------------------------------
    def emit(self, event: Progress) -> None:
        """Record one progress event (thread-safe)."""
        if not isinstance(event, Progress):
            raise TypeError(f"a job's events are explorer.events.Progress, got {type(event).__name__}")
        with self._lock:
            self.events.append(event)

    def should_stop(self) -> bool:
        """True once somebody asked the job to stop; long loops check it and stop cleanly."""
        return self._stop.is_set()

    # -- called by the page ------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the work to stop (training keeps its best weights; the result still arrives)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self.status in ("done", "failed")

    def snapshot(self) -> list[Progress]:
        """A copy of the events so far (safe to iterate while the job runs)."""
        with self._lock:
            return list(self.events)

    @property
    def progress(self) -> tuple[float, str]:
        """(fraction in [0, 1], message) of the latest event; the stage's fraction."""
        with self._lock:
            last = self.events[-1] if self.events else None
        if self.status == "queued":
            return 0.0, "waiting for the device" if self.device != "cpu" else "waiting to start"
        if self.done:
            return 1.0, "failed" if self.status == "failed" else "done"
        if last is None:
            return 0.0, "starting"
        fraction = float(min(max(last.fraction or 0.0, 0.0), 1.0))
        stage, message = last.stage, str(last.message)
        return fraction, f"{stage}: {message}" if stage and not message.lower().startswith(stage) else message

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started


def describe_error(exc: BaseException) -> str:
    """The sentence a user sees: an ExplorerError's own message, else a short note naming the error."""
    if isinstance(exc, ExplorerError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller dataset, a smaller model or a smaller batch size."
    return f"unexpected {type(exc).__name__}: {exc}"


def is_gpu(device: str) -> bool:
    return device.split(":")[0] in ("cuda", "mps")


class JobManager:
    """Runs jobs on a thread pool, one at a time per GPU device; each job belongs to one owner.

    Args:
        max_workers: threads in the pool (jobs running at once, across all owners).
        synchronous: run every job in the caller's thread inside ``submit``. None (the default)
            reads ``EXPLORER_SYNC_JOBS`` at each submit.
    """

    def __init__(self, max_workers: int = 2, synchronous: bool | None = None):
        self.max_workers = max_workers
        self.synchronous = synchronous
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="explorer-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = {}

    def _sync(self) -> bool:
        if self.synchronous is not None:
            return self.synchronous
        return os.environ.get(SYNC_ENV, "") not in ("", "0", "false", "False")

    def _device_lock(self, device: str) -> threading.Lock | None:
        if not is_gpu(device):
            return None
        with self._lock:
            return self._device_locks.setdefault(device, threading.Lock())

    def submit(
        self,
        owner: str,
        fn: Callable[[Job], Any],
        *,
        name: str,
        device: str = "cpu",
    ) -> Job:
        """Start ``fn(job)`` for ``owner``; returns the job at once (finished already when synchronous)."""
        if not owner:
            raise ValueError("a job needs an owner")
        self._prune()
        job = Job(id=secrets.token_urlsafe(9), owner=owner, name=name, device=device)
        with self._lock:
            self._jobs[job.id] = job
        if self._sync():
            self._run(job, fn)
        else:
            self._pool.submit(self._run, job, fn)
        return job

    def _run(self, job: Job, fn: Callable[[Job], Any]) -> None:
        lock = self._device_lock(job.device)
        if lock is not None:
            lock.acquire()
        try:
            job.started = time.time()
            job.status = "running"
            try:
                job.result = fn(job)
                job.status = "done"
            except BaseException as exc:  # noqa: BLE001 - every failure is reported, never lost
                job.error = describe_error(exc)
                job.status = "failed"
                if not isinstance(exc, ExplorerError):
                    log.error("job %s (%s) failed:\n%s", job.id, job.name, traceback.format_exc())
                if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: let them through
                    raise
            finally:
                job.finished = time.time()
        finally:
            if lock is not None:
                lock.release()

    def get(self, job_id: str | None, owner: str) -> Job | None:
        """The job with this id if ``owner`` owns it, else None (another session's job is invisible)."""
        if not job_id:
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def jobs(self, owner: str) -> list[Job]:
        """This owner's jobs, oldest first."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.created)

    def stop(self, job_id: str, owner: str) -> bool:
        """Ask the owner's job to stop; False when there is no such job for this owner."""
        job = self.get(job_id, owner)
        if job is None:
            return False
        job.stop()
        return True

    def forget(self, job_id: str, owner: str) -> None:
        """Drop a job (its result was collected). A running job is asked to stop first."""
        job = self.get(job_id, owner)
        if job is None:
            return
        if not job.done:
            job.stop()
        with self._lock:
            self._jobs.pop(job_id, None)

    def _prune(self) -> None:
        now = time.time()
        with self._lock:
            stale = [i for i, j in self._jobs.items() if j.done and j.finished and now - j.finished > FINISHED_TTL_S]
            for i in stale:
                del self._jobs[i]

    def shutdown(self, wait: bool = False) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.stop()
        self._pool.shutdown(wait=wait, cancel_futures=True)
