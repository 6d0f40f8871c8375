"""Background jobs for the dashboard: long work (loading, training, DEC, UMAP) off the page's thread,
shared fairly between sessions.

A :class:`JobManager` runs functions ``fn(job) -> result``, each on a thread of its own. The function
reports progress with ``job.emit(event)`` (the pipeline's :class:`~explorer.events.Progress` events)
and checks ``job.should_stop()``; the page polls ``job.progress`` / ``job.snapshot()`` and draws them.
A job is owned by one session: every lookup takes the owner, and a session never sees another's jobs.

Fairness (what one session can take from the others):

- at most ``max_workers`` jobs run at once, server-wide; at most **one per session**: a session's next
  job waits in the queue until its running one has really ended;
- at most ``per_client`` of them for one client (every session from one address, see
  :func:`client_key`), so many tabs do not take every worker either; a waiting job of the client
  with the fewest running jobs, served longest ago, goes first;
- GPU jobs take turns: at most one runs on each GPU device ("cuda", "cuda:1", "mps") at a time;
- job threads run at a lower CPU priority than the threads that draw the pages, lower still once a
  job has run long or its client has used much lately (:meth:`JobManager.nice_for`), each with its
  share of BLAS / OpenMP / torch threads.

Stopping, in two strengths:

- :meth:`Job.stop` (the Stop button, and a job's time cap): ``should_stop()`` turns True; training
  keeps its best weights, sweeps end, the run finishes with what it has and its result still arrives;
- :meth:`Job.cancel` (a replaced job, a job past its cap plus ``grace_s``): the next
  ``should_stop()`` or ``emit()`` raises :class:`JobCancelled` inside the work, which ends it there;
  the result is dropped. A job stuck inside one library call that never checks (a nearest-neighbour
  search, one k-means fit) and still running ``grace_s`` after its cancel deadline is *abandoned*: it
  stops counting against the workers (others get the slot), but still against its client, and its
  result is dropped when the call returns.

Time spent is written to a :class:`UsageLedger` per client, so budgets (training seconds, job seconds
in a rolling window) survive a new tab; see :meth:`JobManager.seconds_used`.

Where the work runs: on the job's thread here, by default; with ``EXPLORER_DASK_SCHEDULER`` set (or a
``backend`` given), on a Dask cluster's workers (:mod:`.dask_jobs`), the thread only waiting and relaying
progress and Stop. Everything above holds either way.

With ``synchronous=True`` (or ``EXPLORER_SYNC_JOBS=1`` in the environment) ``submit`` runs the job in
the caller's thread and returns it finished, which makes page tests deterministic.

Nothing here imports Streamlit; the dashboard keeps one manager per server process
(``st.cache_resource``) so jobs survive reruns and page switches.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Mapping, Protocol

from explorer.errors import ExplorerError, JobCancelled, LimitError
from explorer.events import Progress

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
SYNC_ENV = "EXPLORER_SYNC_JOBS"
DASK_SCHEDULER_ENV = "EXPLORER_DASK_SCHEDULER"  # jobs run on this Dask cluster's workers (dask_jobs.py)
CLIENT_KEY_ENV = "EXPLORER_CLIENT_KEY"
CLIENT_KEY_MODES = ("ip", "forwarded", "session")
FINISHED_TTL_S = 6 * 3600.0  # finished jobs nobody collected are dropped after this
CANCEL_GRACE_S = 60.0  # from a job's time cap to its cancel, and from its cancel to abandoning it
WATCH_EVERY_S = 0.5
JOB_NICE = 5  # a job's thread runs this much "nicer" than the threads that draw the pages (see nice_for)
LONG_JOB_S = 10.0  # a job running this long sinks JOB_NICE further
HEAVY_CLIENT_S, HEAVY_WINDOW_S = 30.0, 600.0  # so do the jobs of a client that used this much lately


@dataclass
class Job:
    """One piece of background work and everything a page needs to show it.

    ``events`` are the :class:`~explorer.events.Progress` events the work emitted, oldest first
    (training epochs carry ``epoch``, ``loss``, ``val_loss``). ``result`` is set when
    ``status == "done"``; ``error`` (a sentence for the user) when "failed" or "cancelled". What to do
    with the result is the caller's business (the workspace keeps a typed ticket per job).

    ``max_seconds``: the job's time cap (None: none). At the cap it is asked to stop; ``grace_s``
    later it is cancelled. ``client``: who it counts against (see :func:`client_key`); ``trains``:
    its time counts as training time.
    """

    id: str
    owner: str
    name: str
    device: str = "cpu"
    client: str = ""
    max_seconds: float | None = None
    grace_s: float = CANCEL_GRACE_S
    trains: bool = False
    status: JobStatus = "queued"
    events: list[Progress] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    stop_reason: str | None = None  # why it was asked to stop: "the Stop button", "its time cap", ...
    abandoned: bool = False  # cancelled but stuck in a library call: no longer counted as a worker
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cancel_at: float | None = field(default=None, repr=False)
    _tid: int | None = field(default=None, repr=False)  # the thread's id for the OS (its priority)
    _nice: int = field(default=0, repr=False)  # how much it has been lowered so far

    # -- called by the work ------------------------------------------------------------------------
    def emit(self, event: Progress) -> None:
        """Record one progress event (thread-safe); raises :class:`JobCancelled` once cancelled."""
        if not isinstance(event, Progress):
            raise TypeError(f"a job's events are explorer.events.Progress, got {type(event).__name__}")
        self._check()
        with self._lock:
            self.events.append(event)

    def should_stop(self) -> bool:
        """True once the job was asked to stop (Stop, or its time cap); long loops check it and stop
        cleanly. Raises :class:`JobCancelled` once the job was cancelled."""
        self._check()
        return self._stop.is_set()

    def _check(self) -> None:
        self._apply_cap(time.time())
        if self._cancel.is_set():
            raise JobCancelled(self.stop_reason or "cancelled")

    def _apply_cap(self, now: float) -> None:
        """Ask the job to stop at its cap, and cancel it ``grace_s`` later (the watchdog calls this
        too, for work that never checks)."""
        if self.max_seconds is None or self.started is None or self.done:
            return
        over = now - self.started - self.max_seconds
        if over >= 0 and not self._stop.is_set():
            self.stop(f"it reached its time cap of {_secs(self.max_seconds)}")
        if over >= self.grace_s and not self._cancel.is_set():
            self.cancel(f"it ran {_secs(self.grace_s)} past its time cap of {_secs(self.max_seconds)}")

    # -- called by the page ------------------------------------------------------------------------
    def stop(self, reason: str = "Stop was pressed") -> None:
        """Ask the work to stop and keep what it has (training keeps its best weights; the result
        still arrives)."""
        if not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()

    def cancel(self, reason: str = "it was replaced") -> None:
        """End the work at its next check and drop its result."""
        if not self._cancel.is_set():
            self.stop_reason = reason
            self._cancel_at = time.time()
        self._stop.set()
        self._cancel.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

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
            return 0.0, "waiting for the device" if is_gpu(self.device) else "waiting for a free worker"
        if self.done:
            return 1.0, {"failed": "failed", "cancelled": "cancelled"}.get(self.status, "done")
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


def _secs(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def describe_error(exc: BaseException) -> str:
    """The sentence a user sees: an ExplorerError's own message, else a short note naming the error."""
    if isinstance(exc, ExplorerError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller dataset, a smaller model or a smaller batch size."
    return f"unexpected {type(exc).__name__}: {exc}"


def is_gpu(device: str) -> bool:
    return device.split(":")[0] in ("cuda", "mps")


def client_key(owner: str, ip: str | None = None, headers: Mapping[str, str] | None = None,
               mode: str | None = None) -> str:
    """Who a session's work counts against, for the budgets and the per-client worker cap.

    ``mode`` (default ``$EXPLORER_CLIENT_KEY``, else "ip"):

    - "ip": the address the connection came from (``st.context.ip_address``). Tabs and private windows
      of one browser, and several browsers on one machine, share it; a new tab does not reset a budget.
      Behind a reverse proxy every visitor has the proxy's address: use "forwarded" there.
    - "forwarded": the first address of ``X-Forwarded-For``, which the proxy in front sets. Only behind a
      proxy you run: without one, a client writes that header itself.
    - "session": each session on its own (no grouping; what tests and single-user laptops may want).

    Without an address the session's own key is used. The address is hashed (the key is only compared).
    """
    mode = (mode or os.environ.get(CLIENT_KEY_ENV, "") or "ip").strip().lower()
    if mode not in CLIENT_KEY_MODES:
        raise ValueError(f"{CLIENT_KEY_ENV}={mode!r}; choose one of: {', '.join(CLIENT_KEY_MODES)}.")
    address = None
    if mode == "forwarded" and isinstance(headers, Mapping):
        forwarded = next((v for k, v in headers.items() if str(k).lower() == "x-forwarded-for"), "")
        address = str(forwarded).split(",")[0].strip() or None
    if mode in ("ip", "forwarded") and address is None and isinstance(ip, str):
        address = ip.strip() or None
    if not address:
        return f"session:{owner}"
    return "addr:" + hashlib.blake2b(address.encode(), digest_size=8).hexdigest()


class UsageLedger:
    """Seconds of work per client in a rolling window (thread-safe): what budgets are checked against.

    Kept by the server process (with the job manager), so a new tab or session of the same client sees
    what it used; a restart of the server forgets it.
    """

    def __init__(self) -> None:
        self._entries: dict[str, deque[tuple[float, float, bool]]] = {}  # client -> (when, seconds, trains)
        self._lock = threading.Lock()

    def add(self, client: str, seconds: float, trains: bool, when: float | None = None) -> None:
        with self._lock:
            self._entries.setdefault(client, deque()).append((when or time.time(), float(seconds), trains))

    def used(self, client: str, window_s: float, trains_only: bool = False, now: float | None = None) -> float:
        now = now or time.time()
        with self._lock:
            entries = self._entries.get(client)
            if not entries:
                return 0.0
            while entries and now - entries[0][0] > window_s:
                entries.popleft()
            return sum(s for _, s, t in entries if t or not trains_only)


class JobBackend(Protocol):
    """Where a job's work runs: ``execute(job, fn)`` returns ``fn``'s result, or raises what it raised."""

    def execute(self, job: Job, fn: Callable[[Job], Any]) -> Any: ...

    def close(self) -> None: ...


def backend_from_env() -> JobBackend | None:
    """The Dask backend when ``EXPLORER_DASK_SCHEDULER`` names a scheduler, else None (jobs run here)."""
    address = os.environ.get(DASK_SCHEDULER_ENV, "").strip()
    if not address:
        return None
    from explorer.dashboard.dask_jobs import DaskJobBackend

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

    def __init__(self, max_workers: int = 4, synchronous: bool | None = None, per_client: int | None = None,
                 nice: int = JOB_NICE, threads_per_job: int | None = None, backend: JobBackend | None = None):
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
        job = Job(id=secrets.token_urlsafe(9), owner=owner, name=name, device=device, client=client or owner,
                  max_seconds=max_seconds, trains=trains)
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
        eligible = [j for j in self._queue if j.owner not in busy_owners
                    and per_client.get(j.client, 0) < self.per_client and j.device not in busy_devices]
        if not eligible:
            return None
        return min(eligible, key=lambda j: (per_client.get(j.client, 0), self._last_start.get(j.client, 0.0), j.created))

    def _run(self, job: Job, fn: Callable[[Job], Any]) -> None:
        try:
            try:  # a lower priority is a courtesy to the other visitors: the job runs without it
                job._tid = threading.get_native_id()
                self._renice(job, time.time())
            except Exception as exc:  # noqa: BLE001
                log.debug("could not lower job %s's priority: %s", job.id, exc)
            with _thread_limit(self.threads_per_job):
                self._execute(job, fn)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
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
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, never lost
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
        wanted = self.nice_for(job, now)
        if job._tid is not None and wanted > job._nice:
            _lower_priority(job._tid, wanted - job._nice)
            job._nice = wanted

    def enforce_caps(self, now: float | None = None) -> None:
        """Stop jobs at their time cap, cancel them ``grace_s`` later, and abandon a cancelled job still
        running ``grace_s`` after its cancel: it stops counting as a worker, its result is dropped.
        Long jobs are lowered in priority (:meth:`nice_for`)."""
        now = now or time.time()
        with self._lock:
            for job in list(self._running.values()):
                self._renice(job, now)
                job._apply_cap(now)
                if job.cancelled and not job.abandoned and job._cancel_at and now - job._cancel_at >= job.grace_s:
                    job.abandoned = True
                    job.finished = now
                    job.error = (f"{job.name} was cancelled ({job.stop_reason}) and did not end within "
                                 f"{_secs(job.grace_s)}; its result will be dropped.")
                    job.status = "cancelled"
                    self.ledger.add(job.client, job.elapsed, job.trains)
                    log.warning("job %s (%s) abandoned: %s", job.id, job.name, job.stop_reason)
            self._dispatch()

    # -- budgets -------------------------------------------------------------------------------------------
    def seconds_used(self, client: str, window_s: float, trains_only: bool = False) -> float:
        """Seconds this client's jobs used in the last ``window_s`` seconds, running ones included."""
        with self._lock:
            running = sum(j.elapsed for j in self._running.values()
                          if j.client == client and not j.abandoned and (j.trains or not trains_only))
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
            return f"waiting for a free worker ({ahead} job{'s' if ahead != 1 else ''} ahead)" if ahead else \
                "waiting for a free worker"

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


def _lower_priority(tid: int, by: int) -> None:
    """Lower a thread's CPU priority by ``by`` nice levels (Linux: a thread is a task of its own;
    raising its nice value needs no privilege, and threads it starts later inherit it). Elsewhere
    nothing happens."""
    if by <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except OSError:  # the thread has ended, or it is not allowed here: it runs as it is
        pass


@contextlib.contextmanager
def _thread_limit(threads: int) -> Iterator[None]:
    """At most ``threads`` BLAS / OpenMP threads for the work of this thread (OpenMP's limit is per
    calling thread; OpenBLAS's and torch's are global and every job sets the same value)."""
    import sys

    torch = sys.modules.get("torch")
    set_threads = getattr(torch, "set_num_threads", None)  # absent while another thread imports torch
    if set_threads is not None:
        try:
            set_threads(threads)
        except Exception as exc:  # noqa: BLE001 - a limit is a courtesy: the job runs without it
            log.debug("could not limit torch's threads: %s", exc)
    limits = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=threads)
    except Exception as exc:  # noqa: BLE001 - idem
        log.debug("could not limit BLAS / OpenMP threads: %s", exc)
    with limits:
        yield


def check_budget(used: float, cap: float, field_name: str, what: str) -> float:
    """Seconds left of a budget; a spent one is a LimitError naming the cap and how to raise it."""
    from explorer.limits import how_to_raise

    left = float(cap) - used
    if left <= 0:
        raise LimitError(f"{what} {used:,.0f} seconds, the limit {field_name}={cap:,.0f}. {how_to_raise(field_name)}")
    return left
