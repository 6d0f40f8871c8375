"""The :class:`JobManager`: runs jobs fairly (``max_workers`` at once, one per session, a share per client,
one at a time per GPU), owns them per session, keeps their time caps and counts their time; see
:mod:`explorer.dashboard.jobs` for the rules. :class:`JobBackend`: where a job's work runs."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from explorer.dashboard.jobs.job import Job, describe_error, is_gpu, seconds_text
from explorer.dashboard.jobs.threads import lower_priority, thread_limit
from explorer.dashboard.jobs.usage import UsageLedger
from explorer.errors import ExplorerError, JobCancelled

log = logging.getLogger(__name__)

SYNC_ENV = "EXPLORER_SYNC_JOBS"
DASK_SCHEDULER_ENV = "EXPLORER_DASK_SCHEDULER"  # jobs run on this Dask cluster's workers (dask_backend.py)
FINISHED_TTL_S = 6 * 3600.0  # finished jobs nobody collected are dropped after this
WATCH_EVERY_S = 0.5
JOB_NICE = 5  # a job's thread runs this much "nicer" than the threads that draw the pages (see nice_for)
LONG_JOB_S = 10.0  # a job running this long sinks JOB_NICE further
HEAVY_CLIENT_S, HEAVY_WINDOW_S = 30.0, 600.0  # so do the jobs of a client that used this much lately


class JobBackend(Protocol):
    """Where a job's work runs: ``execute(job, fn)`` returns ``fn``'s result, or raises what it raised."""

    def execute(self, job: Job, fn: Callable[[Job], Any]) -> Any: ...

    def close(self) -> None: ...


def backend_from_env() -> JobBackend | None:
    """The Dask backend when ``EXPLORER_DASK_SCHEDULER`` names a scheduler, else None (jobs run here)."""
    address = os.environ.get(DASK_SCHEDULER_ENV, "").strip()
    if not address:
        return None
    from explorer.dashboard.jobs.dask_backend import DaskJobBackend

    return DaskJobBackend(address)


class JobManager:
    """Runs jobs fairly: at most ``max_workers`` at once, one per session, ``per_client`` per client,
    one at a time per GPU device; each job belongs to one owner.

    Args:
        max_workers: jobs running at once, across all owners.
        synchronous: run every job in the caller's thread inside ``submit``. None (the default)
            reads ``EXPLORER_SYNC_JOBS`` at each submit.
        per_client: jobs one client may run at once (default: a quarter of the workers, at least 1, so
            one client never holds more than its share).
        nice: how much lower than the pages' threads a job's thread runs (Linux ``nice``, per thread):
            the scripts that draw every visitor's pages go first, jobs share what is left. 0: as they are.
        threads_per_job: BLAS / OpenMP / torch threads a job may use (default: the cores shared among
            the workers), so one job does not take every core.
        backend: where the work runs (:class:`JobBackend`); None: ``$EXPLORER_DASK_SCHEDULER``'s cluster
            when set, else this process.
    """

    def __init__(
        self,
        max_workers: int = 4,
        synchronous: bool | None = None,
        per_client: int | None = None,
        nice: int = JOB_NICE,
        threads_per_job: int | None = None,
        backend: JobBackend | None = None,
    ):
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers
        self.per_client = per_client or max(1, max_workers // 4)
        self.nice = nice
        self.threads_per_job = threads_per_job or max(1, (os.cpu_count() or 1) // max_workers)
        self.synchronous = synchronous
        self.backend = backend if backend is not None else backend_from_env()
        self.ledger = UsageLedger()
        self._jobs: dict[str, Job] = {}
        self._fns: dict[str, Callable[[Job], Any]] = {}
        self._queue: list[Job] = []  # waiting, oldest first
        self._running: dict[str, Job] = {}  # job id -> running job (abandoned ones included)
        self._last_start: dict[str, float] = {}  # client -> when one of its jobs last started
        self._lock = threading.RLock()
        self._closed = False
        self._watchdog: threading.Thread | None = None
        self._threads: dict[str, tuple[int, int]] = {}  # running job id -> (its thread's OS id, nice so far)

    def _sync(self) -> bool:
        if self.synchronous is not None:
            return self.synchronous
        return os.environ.get(SYNC_ENV, "") not in ("", "0", "false", "False")

    # -- submitting ------------------------------------------------------------------------------------
    def submit(
        self,
        owner: str,
        fn: Callable[[Job], Any],
        *,
        name: str,
        device: str = "cpu",
        client: str | None = None,
        max_seconds: float | None = None,
        trains: bool = False,
    ) -> Job:
        """Queue ``fn(job)`` for ``owner``; returns the job at once (finished already when synchronous).
        ``client`` defaults to the owner itself."""
        if not owner:
            raise ValueError("a job needs an owner")
        if self._closed:
            raise RuntimeError("the job manager was shut down")
        self._prune()
        job = Job(
            id=secrets.token_urlsafe(9),
            owner=owner,
            name=name,
            device=device,
            client=client or owner,
            max_seconds=max_seconds,
            trains=trains,
        )
        with self._lock:
            self._jobs[job.id] = job
            if not self._sync():
                self._fns[job.id] = fn
                self._queue.append(job)
                self._dispatch()
                self._ensure_watchdog()
                return job
        job.started = time.time()
        job.status = "running"
        self._execute(job, fn)
        return job

    def _dispatch(self) -> None:
        """Start waiting jobs while workers are free (call with the lock held)."""
        while self._queue and self._counted() < self.max_workers:
            job = self._next()
            if job is None:
                return
            self._queue.remove(job)
            fn = self._fns.pop(job.id)
            self._running[job.id] = job
            self._last_start[job.client] = time.time()
            job.started = time.time()
            job.status = "running"
            threading.Thread(target=self._run, args=(job, fn), name=f"explorer-job-{job.id}", daemon=True).start()

    def _counted(self) -> int:
        return sum(not j.abandoned for j in self._running.values())

    def _next(self) -> Job | None:
        busy_owners = {j.owner for j in self._running.values() if not j.abandoned}
        per_client: dict[str, int] = {}
        busy_devices = set()
        for j in self._running.values():
            per_client[j.client] = per_client.get(j.client, 0) + 1  # abandoned ones still count here
            if is_gpu(j.device):
                busy_devices.add(j.device)
        eligible = [
            j
            for j in self._queue
            if j.owner not in busy_owners
            and per_client.get(j.client, 0) < self.per_client
            and j.device not in busy_devices
        ]
        if not eligible:
            return None
        return min(
            eligible, key=lambda j: (per_client.get(j.client, 0), self._last_start.get(j.client, 0.0), j.created)
        )

    def _run(self, job: Job, fn: Callable[[Job], Any]) -> None:
        try:
            try:  # a lower priority is a courtesy to the other visitors: the job runs without it
                self._threads[job.id] = (threading.get_native_id(), 0)
                self._renice(job, time.time())
            except Exception as exc:  # noqa: BLE001 - whatever went wrong, the job runs at its normal priority
                log.debug("could not lower job %s's priority: %s", job.id, exc)
            with thread_limit(self.threads_per_job):
                self._execute(job, fn)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
                self._threads.pop(job.id, None)
                if not self._closed:
                    self._dispatch()

    def _execute(self, job: Job, fn: Callable[[Job], Any]) -> None:
        try:
            if job.cancelled:
                raise JobCancelled(job.stop_reason or "cancelled")
            result = fn(job) if self.backend is None else self.backend.execute(job, fn)
            if job.abandoned or job.cancelled:
                raise JobCancelled(job.stop_reason or "cancelled")
            job.result, job.finished = result, time.time()
            job.status = "done"  # last: a page that sees "done" finds the result and the times set
        except JobCancelled:
            job.result, job.error = None, f"{job.name} was cancelled: {job.stop_reason or 'cancelled'}."
            job.status = "cancelled"
        except BaseException as exc:
            job.error = describe_error(exc)
            job.status = "cancelled" if getattr(exc, "stopped", False) else "failed"
            if not isinstance(exc, ExplorerError):
                log.error("job %s (%s) failed:\n%s", job.id, job.name, traceback.format_exc())
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: let them through
                raise
        finally:
            if not job.abandoned:  # (an abandoned job was counted when it was let go)
                if job.status != "done":
                    job.finished = time.time()
                self.ledger.add(job.client, job.elapsed, job.trains)

    # -- the watchdog: time caps for work that never checks ----------------------------------------------
    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or not self._watchdog.is_alive():
            self._watchdog = threading.Thread(target=self._watch, name="explorer-job-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        while not self._closed:
            self.enforce_caps()
            time.sleep(WATCH_EVERY_S)

    def nice_for(self, job: Job, now: float) -> int:
        """How far below the pages a job's thread runs: ``nice``, and ``nice`` more for each of: it has
        run ``LONG_JOB_S`` already, its client used ``HEAVY_CLIENT_S`` of job time in the last
        ``HEAVY_WINDOW_S`` (a feedback queue: short jobs, most visitors' clicks, go first; long ones and
        busy clients share what is left)."""
        if self.nice <= 0:
            return 0
        level = 1 + (now - (job.started or now) >= LONG_JOB_S)
        level += self.ledger.used(job.client, HEAVY_WINDOW_S, now=now) >= HEAVY_CLIENT_S
        return min(19, self.nice * level)

    def _renice(self, job: Job, now: float) -> None:
        thread = self._threads.get(job.id)
        wanted = self.nice_for(job, now)
        if thread is not None and wanted > thread[1]:
            lower_priority(thread[0], wanted - thread[1])
            self._threads[job.id] = (thread[0], wanted)

    def enforce_caps(self, now: float | None = None) -> None:
        """Stop jobs at their time cap, cancel them ``grace_s`` later, and abandon a cancelled job still
        running ``grace_s`` after its cancel: it stops counting as a worker, its result is dropped.
        Long jobs are lowered in priority (:meth:`nice_for`)."""
        now = now or time.time()
        with self._lock:
            for job in list(self._running.values()):
                self._renice(job, now)
                job.apply_cap(now)
                if job.cancelled and not job.abandoned and job.cancelled_at and now - job.cancelled_at >= job.grace_s:
                    job.abandoned = True
                    job.finished = now
                    job.error = (
                        f"{job.name} was cancelled ({job.stop_reason}) and did not end within "
                        f"{seconds_text(job.grace_s)}; its result will be dropped."
                    )
                    job.status = "cancelled"
                    self.ledger.add(job.client, job.elapsed, job.trains)
                    log.warning("job %s (%s) abandoned: %s", job.id, job.name, job.stop_reason)
            self._dispatch()

    # -- budgets -------------------------------------------------------------------------------------------
    def seconds_used(self, client: str, window_s: float, trains_only: bool = False) -> float:
        """Seconds this client's jobs used in the last ``window_s`` seconds, running ones included."""
        with self._lock:
            running = sum(
                j.elapsed
                for j in self._running.values()
                if j.client == client and not j.abandoned and (j.trains or not trains_only)
            )
        return self.ledger.used(client, window_s, trains_only) + running

    # -- lookups --------------------------------------------------------------------------------------------
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

    def waiting_for(self, job: Job) -> str | None:
        """Why a queued job waits, in words (None when it does not): its session's other job, its
        client's share of the workers, the GPU, or the jobs ahead of it."""
        with self._lock:
            if job not in self._queue:
                return None
            running = list(self._running.values())
            mine = [j for j in running if j.owner == job.owner and not j.abandoned]
            if mine:
                return f"waiting for your other job ({mine[0].name}) to end"
            if sum(j.client == job.client for j in running) >= self.per_client:
                return "waiting for your other tabs' jobs to end"
            if is_gpu(job.device) and any(j.device == job.device for j in running):
                return "waiting for the device"
            ahead = self._queue.index(job)
            return (
                f"waiting for a free worker ({ahead} job{'s' if ahead != 1 else ''} ahead)"
                if ahead
                else "waiting for a free worker"
            )

    def running(self) -> list[Job]:
        """The jobs running now, every owner's (for the load test and the operator; not for pages)."""
        with self._lock:
            return list(self._running.values())

    def stop(self, job_id: str, owner: str) -> bool:
        """Ask the owner's job to stop; False when there is no such job for this owner."""
        job = self.get(job_id, owner)
        if job is None:
            return False
        job.stop()
        return True

    def cancel(self, job_id: str, owner: str, reason: str = "it was replaced") -> bool:
        """Cancel the owner's job: a waiting one never starts, a running one ends at its next check."""
        job = self.get(job_id, owner)
        if job is None:
            return False
        with self._lock:
            job.cancel(reason)
            if job in self._queue:
                self._queue.remove(job)
                self._fns.pop(job.id, None)
                job.status, job.error, job.finished = "cancelled", f"{job.name} was cancelled: {reason}.", time.time()
        return True

    def forget(self, job_id: str, owner: str) -> None:
        """Drop a job (its result was collected). A job not yet done is cancelled first."""
        job = self.get(job_id, owner)
        if job is None:
            return
        if not job.done:
            self.cancel(job_id, owner)
        with self._lock:
            self._jobs.pop(job_id, None)

    def _prune(self) -> None:
        now = time.time()
        with self._lock:
            stale = [i for i, j in self._jobs.items() if j.done and j.finished and now - j.finished > FINISHED_TTL_S]
            for i in stale:
                del self._jobs[i]

    def shutdown(self, wait: bool = False) -> None:
        """Cancel every job; with ``wait``, wait (up to a minute) for running ones to end."""
        with self._lock:
            self._closed = True
            for job in list(self._jobs.values()):
                if not job.done:
                    job.cancel("the server is shutting down")
            self._queue.clear()
            self._fns.clear()
        end = time.time() + 60
        while wait and self._running and time.time() < end:
            time.sleep(0.05)
        if self.backend is not None:
            self.backend.close()
