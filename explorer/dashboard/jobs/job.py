"""One background job: what the work reports (``emit``, ``should_stop``), what the page reads (``progress``,
``snapshot``), and its two strengths of stopping (``stop``, ``cancel``); see :mod:`explorer.dashboard.jobs`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from explorer.errors import ExplorerError, JobCancelled
from explorer.events import Progress

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]

CANCEL_GRACE_S = 60.0  # from a job's time cap to its cancel, and from its cancel to abandoning it


@dataclass
class Job:
    """One piece of background work and everything a page needs to show it.

    ``events`` are the :class:`~explorer.events.Progress` events the work emitted, oldest first
    (training epochs carry ``epoch``, ``loss``, ``val_loss``). ``result`` is set when
    ``status == "done"``; ``error`` (a sentence for the user) when "failed" or "cancelled". What to do
    with the result is the caller's business (the workspace keeps a typed ticket per job).

    ``max_seconds``: the job's time cap (None: none). At the cap it is asked to stop; ``grace_s``
    later it is cancelled. ``client``: who it counts against (:func:`~explorer.dashboard.jobs.usage.client_key`);
    ``trains``: its time counts as training time.
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
        self.apply_cap(time.time())
        if self._cancel.is_set():
            raise JobCancelled(self.stop_reason or "cancelled")

    def apply_cap(self, now: float) -> None:
        """Ask the job to stop at its cap, and cancel it ``grace_s`` later (the watchdog calls this
        too, for work that never checks)."""
        if self.max_seconds is None or self.started is None or self.done:
            return
        over = now - self.started - self.max_seconds
        if over >= 0 and not self._stop.is_set():
            self.stop(f"it reached its time cap of {seconds_text(self.max_seconds)}")
        if over >= self.grace_s and not self._cancel.is_set():
            self.cancel(f"it ran {seconds_text(self.grace_s)} past its time cap of {seconds_text(self.max_seconds)}")

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
    def cancelled_at(self) -> float | None:
        """When the job was cancelled (``time.time()``), or None."""
        return self._cancel_at

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


def seconds_text(seconds: float) -> str:
    """A duration as a user reads it: "12 s", "1.5 s"."""
    return f"{seconds:,.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def describe_error(exc: BaseException) -> str:
    """The sentence a user sees: an ExplorerError's own message, else a short note naming the error."""
    if isinstance(exc, ExplorerError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller dataset, a smaller model or a smaller batch size."
    return f"unexpected {type(exc).__name__}: {exc}"


def is_gpu(device: str) -> bool:
    """True for a GPU device name ("cuda", "cuda:1", "mps"): jobs on it take turns."""
    return device.split(":")[0] in ("cuda", "mps")
