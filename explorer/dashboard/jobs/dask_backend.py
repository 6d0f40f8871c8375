"""Dashboard jobs on a Dask cluster's workers instead of the web process.

With ``EXPLORER_DASK_SCHEDULER=tcp://host:8786`` the dashboard's :class:`~explorer.dashboard.jobs.manager.JobManager`
hands each job's work to :class:`DaskJobBackend`. The manager itself does not change: it still queues
jobs fairly (one per session, a share per client, GPU turns), owns them per session, keeps time caps
and budgets, and its thread for the job now only waits and relays. What crosses to the worker:

- the work: the job's function, serialized by cloudpickle with what it closes over (the session's
  dataset, the settings), sent to one worker as a Dask task; its return value (a fitted model, a run)
  comes back the same way. So the cluster must be one you trust, reached on a private network or TLS:
  Dask's own comms carry code.
- progress: the work's ``job.emit(event)`` puts the event (as a dict) on a ``distributed.Queue``
  named for the job; the waiting thread drains it into the local :class:`Job` several times a second,
  so the page's progress bar and its training curve read the same events as with local jobs;
- Stop and cancel: two ``distributed.Event`` flags named for the job. The local ``job.stop()`` (Stop,
  a time cap) sets the first: the worker's ``job.should_stop()`` turns True and the work finishes
  with what it has; ``job.cancel()`` sets the second: the worker's next ``should_stop()`` or
  ``emit()`` raises :class:`~explorer.errors.JobCancelled` there, as it would here.

The queue and flags are named ``explorer-job-<job id>-<random token>``: one job's worker never reads
another's. A worker that dies runs the job again on another (the scheduler's retries); its events then
start again. Work that can't be serialized (it holds a lock, an open file) runs here, as before, and
the log says so.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError, JobCancelled
from explorer.events import Progress

if TYPE_CHECKING:  # pragma: no cover
    from explorer.dashboard.jobs.job import Job

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
POLL_S = 0.1  # how often the waiting thread relays progress and Stop
REMOTE_CHECK_S = 0.2  # how often a worker's should_stop() asks the scheduler (cached in between)
INSTALL_HINT = (
    "EXPLORER_DASK_SCHEDULER is set but dask is not installed; install the extra with "
    'pip install "explorer[dask]", or unset the variable to run jobs in the web process.'
)


class ClusterUnavailable(ExplorerError):
    """The job cluster can't be reached (a sentence for the visitor; the operator sees the log)."""


@dataclass(frozen=True)
class Channels:
    """The names of one job's progress queue and Stop / cancel flags on the scheduler."""

    progress: str
    stop: str
    cancel: str

    @classmethod
    def for_job(cls, job_id: str) -> Channels:
        base = f"explorer-job-{job_id}-{secrets.token_hex(6)}"
        return cls(f"{base}-progress", f"{base}-stop", f"{base}-cancel")


class RemoteJob:
    """What the work sees on the worker in place of a :class:`Job`: ``emit`` and ``should_stop``."""

    def __init__(self, channels: Channels):
        from distributed import Event, Queue

        self.channels = channels
        self._queue = Queue(channels.progress)
        self._stop, self._cancel = Event(channels.stop), Event(channels.cancel)
        self._stopped = False
        self._checked = 0.0

    def emit(self, event: Progress) -> None:
        if not isinstance(event, Progress):
            raise TypeError(f"a job's events are explorer.events.Progress, got {type(event).__name__}")
        self._check(force=False)
        self._queue.put(event.to_dict())

    def should_stop(self) -> bool:
        self._check(force=False)
        return self._stopped

    def _check(self, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._checked >= REMOTE_CHECK_S:
            self._checked = now
            if self._cancel.is_set():
                raise JobCancelled("cancelled")
            self._stopped = self._stopped or self._stop.is_set()

    def close(self) -> None:
        self._queue.close()


def run_remote(payload: bytes, channels: Channels) -> Any:
    """The task a worker runs: the job's function on a :class:`RemoteJob`."""
    import cloudpickle

    fn = cloudpickle.loads(payload)
    job = RemoteJob(channels)
    try:
        job._check(force=True)
        return fn(job)
    finally:
        job.close()


class DaskJobBackend:
    """Runs a :class:`~explorer.dashboard.jobs.manager.JobManager`'s jobs on the workers of the Dask cluster at
    ``scheduler`` (an address, or a ``distributed.Client`` to use as it is). Connects on the first job."""

    def __init__(self, scheduler: Any, poll_s: float = POLL_S, connect_timeout_s: float = CONNECT_TIMEOUT_S):
        self.scheduler = scheduler
        self.poll_s = poll_s
        self.connect_timeout_s = connect_timeout_s
        self._client: Any = None
        self._own_client = False
        self._lock = threading.Lock()

    def client(self) -> Any:
        try:
            import distributed
        except ImportError as exc:
            log.error(INSTALL_HINT)
            raise ClusterUnavailable("the job cluster is not set up on this server; tell its operator.") from exc
        with self._lock:
            if isinstance(self.scheduler, distributed.Client):
                return self.scheduler
            if self._client is None or self._client.status not in ("running", "connecting"):
                try:
                    self._client = distributed.Client(
                        str(self.scheduler), timeout=self.connect_timeout_s, set_as_default=False
                    )
                except (OSError, TimeoutError, ValueError) as exc:
                    log.error("could not reach the Dask scheduler at %s: %s", self.scheduler, exc)
                    raise ClusterUnavailable(
                        "the cluster that runs jobs can't be reached just now; try again in a "
                        "minute, or tell the server's operator."
                    ) from exc
                self._own_client = True
            return self._client

    def execute(self, job: Job, fn: Callable[[Job], Any]) -> Any:
        """Run ``fn`` for ``job`` on a worker and return its result; relays progress into ``job`` and its
        Stop / cancel to the worker while it runs. Raises what the work raised."""
        import cloudpickle
        from distributed import Event, Queue

        try:
            payload = cloudpickle.dumps(fn)
        except Exception as exc:  # noqa: BLE001 - not serializable: the work runs here, as without a cluster
            log.warning(
                "job %s (%s) runs in the web process: its work can't be sent to a worker (%s)", job.id, job.name, exc
            )
            return fn(job)
        client = self.client()
        channels = Channels.for_job(job.id)
        queue = Queue(channels.progress, client=client)
        stop, cancel = Event(channels.stop, client=client), Event(channels.cancel, client=client)
        future = client.submit(run_remote, payload, channels, key=f"explorer-job-{job.id}", pure=False)
        stop_sent = finished = False
        try:
            while True:
                if job.stop_requested and not stop_sent:
                    stop.set()
                    stop_sent = True
                if job.cancelled:
                    cancel.set()
                    raise JobCancelled(job.stop_reason or "cancelled")
                self._relay(queue, job)
                try:
                    result = future.result(timeout=self.poll_s)
                    finished = True
                    break
                except TimeoutError:
                    continue
                except BaseException as exc:
                    finished = future.done()
                    if type(exc).__name__ == "KilledWorker":
                        raise ClusterUnavailable(
                            f"{job.name} stopped: the workers that ran it died (out of memory, or "
                            "restarted); try again, with less data or a smaller model."
                        ) from exc
                    raise
            self._relay(queue, job)  # what was emitted just before the end
            return result
        finally:
            if not finished:
                if job.cancelled:  # (also when the relay's job.emit saw the cancel first)
                    cancel.set()
                future.cancel()
            else:  # the worker has let go of the flags: remove them from the scheduler
                stop.clear()
                cancel.clear()
            queue.close()

    @staticmethod
    def _relay(queue: Any, job: Job) -> None:
        for item in queue.get(batch=True):
            job.emit(Progress(**item))

    def close(self) -> None:
        with self._lock:
            if self._own_client and self._client is not None:
                self._client.close()
            self._client = None
