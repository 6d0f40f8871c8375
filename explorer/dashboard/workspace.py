"""One dashboard session's work, as a plain object (the page keeps it in ``st.session_state``).

It holds what the user made: the dataset, the representations fitted on it (keyed by data
fingerprint + model settings, so the same settings again return at once), the runs (clusterings),
and a typed :class:`Ticket` for each of this session's background jobs. Finished jobs are collected
here: the ticket says what the result is and where it goes, so a page only says which job to start.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from .cache import dataset_fingerprint, model_key, run_key

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset import Dataset
    from ..limits import Limits
    from ..pipeline import PipelineConfig, RunResult
    from ..reducers import Reducer
    from .jobs import Job, JobManager

MAX_RUNS = 12  # runs kept per session (the oldest is dropped; saved runs stay on disk)
MAX_MODELS = 8  # fitted representations kept per session


class JobKind(str, Enum):
    """What a session's background job makes; one job of each kind at a time."""

    TRAIN = "train"  # a fitted representation (a Reducer, or None for "none"), cached by model key
    RUN = "run"  # a RunResult: train if needed, cluster, project, score
    PROJECT = "project"  # a RunResult: the run on show under another projection


@dataclass(frozen=True)
class Ticket:
    """What the workspace needs to take in one job's result.

    Attributes:
        kind: what the job makes.
        job_id: the job in the :class:`~explorer.dashboard.jobs.JobManager`.
        model_key: where a fitted model goes (TRAIN), or where the run's own model is cached (RUN).
        run_key: where the run goes (RUN, PROJECT).
        cache_model: RUN only: keep the model the run trained, for the next run with these settings.
        trains: the job trains (or refines) a model, so its time counts against the session's budget.
    """

    kind: JobKind
    job_id: str
    model_key: str | None = None
    run_key: str | None = None
    cache_model: bool = False
    trains: bool = False

    def __post_init__(self) -> None:
        if self.kind is JobKind.TRAIN and self.model_key is None:
            raise ValueError("a training job needs the model_key its model is kept under")
        if self.kind in (JobKind.RUN, JobKind.PROJECT) and self.run_key is None:
            raise ValueError(f"a {self.kind.value} job needs the run_key its run is kept under")
        if self.cache_model and self.model_key is None:
            raise ValueError("cache_model needs a model_key")


@dataclass
class Workspace:
    """What one session has made. Nothing here is shared with another session."""

    owner: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    dataset: "Dataset | None" = None
    fingerprint: str | None = None
    source: str | None = None  # what the dataset was loaded from, in words
    config: "PipelineConfig | None" = None  # the settings the user chose last (train + cluster pages)
    models: dict[str, "Reducer | None"] = field(default_factory=dict)  # model_key -> fitted reducer
    runs: dict[str, "RunResult"] = field(default_factory=dict)  # run key -> result, oldest first
    current: str | None = None  # key of the run on show
    jobs: dict[JobKind, Ticket] = field(default_factory=dict)  # this session's jobs not yet collected
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text) to show once
    train_seconds: float = 0.0  # wall-clock seconds this session's training jobs have run

    # -- the session's training budget ----------------------------------------------------------------
    def training_allowance(self, limits: "Limits") -> float:
        """Seconds the next training job may run: the per-run cap, or what is left of the session's
        ``max_session_train_seconds`` if that is less. A spent budget is a LimitError that says how to raise it."""
        from ..errors import LimitError
        from ..limits import how_to_raise

        left = float(limits.max_session_train_seconds) - self.train_seconds
        if left <= 0:
            raise LimitError(f"this session has trained for {self.train_seconds:,.0f} seconds, the limit "
                             f"max_session_train_seconds={limits.max_session_train_seconds:,.0f}. "
                             f"{how_to_raise('max_session_train_seconds')}")
        return min(float(limits.max_train_seconds), left)

    # -- data ----------------------------------------------------------------------------------------
    def set_dataset(self, dataset: "Dataset", source: str) -> bool:
        """Use ``dataset`` from now on; True when it differs from the one in use.

        Models and runs of earlier data stay cached (switching back is instant); the run on show is
        cleared when it belongs to other data.
        """
        fingerprint = dataset_fingerprint(dataset)
        changed = fingerprint != self.fingerprint or self.source != source
        if fingerprint != self.fingerprint:
            self.config = None
        self.dataset, self.fingerprint, self.source = dataset, fingerprint, source
        run = self.result
        if run is not None and dataset_fingerprint(run.dataset) != fingerprint:
            self.current = None
        return changed

    # -- models --------------------------------------------------------------------------------------
    def model_key(self, cfg: "PipelineConfig") -> str:
        if self.fingerprint is None:
            raise ValueError("no dataset loaded")
        return model_key(self.fingerprint, cfg)

    def has_model(self, cfg: "PipelineConfig") -> bool:
        return not cfg.model.needs_fit or self.model_key(cfg) in self.models

    def model(self, cfg: "PipelineConfig") -> "Reducer | None":
        """The fitted representation for these settings (None for kind "none" or when not fitted)."""
        if not cfg.model.needs_fit or self.fingerprint is None:
            return None
        return self.models.get(self.model_key(cfg))

    def add_model(self, key: str, reducer: "Reducer | None") -> None:
        self.models.pop(key, None)
        self.models[key] = reducer
        while len(self.models) > MAX_MODELS:
            self.models.pop(next(iter(self.models)))

    # -- runs ----------------------------------------------------------------------------------------
    def run_key(self, cfg: "PipelineConfig") -> str:
        if self.fingerprint is None:
            raise ValueError("no dataset loaded")
        return run_key(self.fingerprint, cfg)

    def find_run(self, cfg: "PipelineConfig") -> "RunResult | None":
        if self.fingerprint is None:
            return None
        return self.runs.get(self.run_key(cfg))

    def show_run(self, cfg: "PipelineConfig") -> bool:
        """Put the run made with these settings on show, if there is one; True when there is."""
        if self.find_run(cfg) is None:
            return False
        self.current = self.run_key(cfg)
        return True

    def add_run(self, result: "RunResult", key: str | None = None) -> str:
        key = key or run_key(dataset_fingerprint(result.dataset), result.config)
        self.runs.pop(key, None)
        self.runs[key] = result
        while len(self.runs) > MAX_RUNS:
            self.runs.pop(next(iter(self.runs)))
        self.current = key
        return key

    @property
    def result(self) -> "RunResult | None":
        """The run on show, or None."""
        return self.runs.get(self.current) if self.current else None

    # -- jobs ----------------------------------------------------------------------------------------
    def job(self, manager: "JobManager", kind: JobKind) -> "Job | None":
        """This session's job of ``kind``, if one was started and not yet collected."""
        ticket = self.jobs.get(JobKind(kind))
        return None if ticket is None else manager.get(ticket.job_id, self.owner)

    def start(self, manager: "JobManager", kind: JobKind, fn: Callable[["Job"], Any], *, name: str,
              device: str = "cpu", model_key: str | None = None, run_key: str | None = None,
              cache_model: bool = False, trains: bool = False) -> "Job":
        """Start ``fn(job)`` as this session's job of ``kind`` (a running one of the same kind is
        stopped and dropped); the keys say where its result goes (see :class:`Ticket`)."""
        kind = JobKind(kind)
        Ticket(kind, "-", model_key, run_key, cache_model, trains)  # a bad ticket fails before the job starts
        old = self.jobs.pop(kind, None)
        if old is not None:
            manager.forget(old.job_id, self.owner)
        job = manager.submit(self.owner, fn, name=name, device=device)
        self.jobs[kind] = Ticket(kind, job.id, model_key, run_key, cache_model, trains)
        return job

    def collect(self, manager: "JobManager") -> list["Job"]:
        """Take in every finished job of this session: store its result (a fitted model, a run, a new
        projection) or its error message; returns the jobs collected."""
        done = []
        for kind, ticket in list(self.jobs.items()):
            job = manager.get(ticket.job_id, self.owner)
            if job is None:
                self.jobs.pop(kind, None)
                continue
            if not job.done:
                continue
            self.jobs.pop(kind, None)
            manager.forget(ticket.job_id, self.owner)
            done.append(job)
            if ticket.trains:
                self.train_seconds += job.elapsed
            if job.status == "failed":
                self.messages.append(("error", f"{job.name} failed: {job.error}"))
                continue
            self._take(ticket, job)
        return done

    def _take(self, ticket: Ticket, job: "Job") -> None:
        result = job.result
        if ticket.kind is JobKind.TRAIN:
            self.add_model(ticket.model_key, result)  # type: ignore[arg-type]
            stopped = " (stopped early; the best weights so far were kept)" if job.stop_requested else ""
            self.messages.append(("success", f"{job.name}: done{stopped}."))
            return
        if ticket.cache_model:
            self.add_model(ticket.model_key, result.reducer)  # type: ignore[arg-type]
        self.add_run(result, ticket.run_key)
        self.messages.append(("success", f"{job.name}: done."))

    def pop_messages(self) -> list[tuple[str, str]]:
        out, self.messages = self.messages, []
        return out
