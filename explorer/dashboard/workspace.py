"""One dashboard session's work, as a plain object (the page keeps it in ``st.session_state``).

It holds what the user made: the dataset, the representations fitted on it (keyed by data
fingerprint + model settings, so the same settings again return at once), the runs (clusterings),
the upload in use (within the session's upload budget), and a typed :class:`Ticket` for each of this
session's background jobs. Finished jobs are collected here: the ticket says what the result is and
where it goes, so a page only says which job to start.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from explorer.dashboard.cache import dataset_fingerprint, model_key, run_key
from explorer.dashboard.jobs.usage import check_budget
from explorer.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dataset import Dataset
    from explorer.limits import Limits
    from explorer.pipeline import PipelineConfig, RunResult
    from explorer.reducers import Reducer

MAX_RUNS = 12  # runs kept per session (the oldest is dropped; saved runs stay on disk)
MAX_MODELS = 8  # fitted representations kept per session


class JobKind(StrEnum):
    """What a session's background job makes; one job of each kind at a time."""

    LOAD = "load"  # a Dataset read from an upload, put in use when it arrives
    TRAIN = "train"  # a fitted representation (a Reducer, or None for "none"), cached by model key
    RUN = "run"  # a RunResult: train if needed, cluster, project, score
    PROJECT = "project"  # a RunResult: the run on show under another projection
    APPLY = "apply"  # an AppliedRun: new rows through a run (run_key: the run they were applied to)


@dataclass(frozen=True)
class Ticket:
    """What the workspace needs to take in one job's result.

    Attributes:
        kind: what the job makes.
        job_id: the job in the :class:`~explorer.dashboard.jobs.manager.JobManager`.
        model_key: where a fitted model goes (TRAIN), or where the run's own model is cached (RUN).
        run_key: where the run goes (RUN, PROJECT); APPLY: the run the new rows are applied to.
        cache_model: RUN only: keep the model the run trained, for the next run with these settings.
        trains: the job trains (or refines) a model, so its time counts against the session's budget.
        load_key: LOAD only: the (source, options) the dataset is read with; label: how it is named.
    """

    kind: JobKind
    job_id: str
    model_key: str | None = None
    run_key: str | None = None
    cache_model: bool = False
    trains: bool = False
    load_key: tuple | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.kind is JobKind.LOAD and self.load_key is None:
            raise ValueError("a load job needs the load_key its dataset is read with")
        if self.kind is JobKind.TRAIN and self.model_key is None:
            raise ValueError("a training job needs the model_key its model is kept under")
        if self.kind in (JobKind.RUN, JobKind.PROJECT) and self.run_key is None:
            raise ValueError(f"a {self.kind.value} job needs the run_key its run is kept under")
        if self.kind is JobKind.APPLY and self.run_key is None:
            raise ValueError("an apply job needs the run_key of the run its rows are applied to")
        if self.cache_model and self.model_key is None:
            raise ValueError("cache_model needs a model_key")


@dataclass
class Workspace:
    """What one session has made. Nothing here is shared with another session."""

    owner: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    client: str = ""  # who the session's work counts against (jobs.client_key); the owner when empty
    dataset: Dataset | None = None
    fingerprint: str | None = None
    source: str | None = None  # what the dataset was loaded from, in words
    config: PipelineConfig | None = None  # the settings the user chose last (train + cluster pages)
    models: dict[str, Reducer | None] = field(default_factory=dict)  # model_key -> fitted reducer
    runs: dict[str, RunResult] = field(default_factory=dict)  # run key -> result, oldest first
    current: str | None = None  # key of the run on show
    jobs: dict[JobKind, Ticket] = field(default_factory=dict)  # this session's jobs not yet collected
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text) to show once
    train_seconds: float = 0.0  # wall-clock seconds this session's training jobs have run
    loaded_key: tuple | None = None  # the (source, options) the dataset in use was read with
    load_error: tuple[tuple | None, str] | None = None  # (load key, message) of the last load that failed
    upload: Upload | None = None  # the files in use (their bytes), within max_session_upload_bytes
    applied: tuple[str, Any] | None = None  # (run key, AppliedRun): the last new rows applied to a run

    @property
    def client_id(self) -> str:
        return self.client or self.owner

    # -- the budgets -------------------------------------------------------------------------------------
    def training_allowance(self, limits: Limits, manager: JobManager | None = None) -> float:
        """Seconds the next training job may run: the per-run cap, or what is left of the session's
        ``max_session_train_seconds`` (and, with ``manager``, of its client's within the budget window)
        if that is less. A spent budget is a LimitError that says how to raise it."""
        cap = limits.max_session_train_seconds
        left = check_budget(self.train_seconds, cap, "max_session_train_seconds", "this session has trained for")
        if manager is not None:
            used = manager.seconds_used(self.client_id, limits.budget_window_seconds, trains_only=True)
            left = min(
                left,
                check_budget(
                    used,
                    cap,
                    "max_session_train_seconds",
                    f"your address has trained in the last {_hours(limits.budget_window_seconds)} for",
                ),
            )
        return min(float(limits.max_train_seconds), left)

    def job_allowance(self, limits: Limits, manager: JobManager) -> float:
        """Seconds the next job may run: ``max_job_seconds``, or what is left of the client's
        ``max_client_job_seconds`` in the budget window if that is less (a LimitError when spent)."""
        used = manager.seconds_used(self.client_id, limits.budget_window_seconds)
        left = check_budget(
            used,
            limits.max_client_job_seconds,
            "max_client_job_seconds",
            f"your address has used the server in the last {_hours(limits.budget_window_seconds)} for",
        )
        return min(float(limits.max_job_seconds), left)

    # -- uploads -------------------------------------------------------------------------------------------
    def take_upload(self, key: str, files: list[tuple[str, bytes]], limits: Limits) -> Upload:
        """Keep ``files`` ((name, bytes) each) as the session's upload, replacing (and freeing) the one
        before. All of them together must fit ``max_session_upload_bytes``: over it, a LimitError
        naming the total and the cap, and the old upload is dropped too (nothing over the cap is kept)."""
        if self.upload is not None and self.upload.key == key:
            return self.upload
        self.upload = None
        total = sum(len(data) for _, data in files)
        names = ", ".join(name for name, _ in files[:3]) + (" …" if len(files) > 3 else "")
        limits.check(
            "max_session_upload_bytes",
            total,
            f"these {len(files)} files ({names}) hold {total:,} bytes together"
            if len(files) > 1
            else f"{names} holds {total:,} bytes",
        )
        self.upload = Upload(key, tuple(files))
        return self.upload

    # -- data ----------------------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset, source: str) -> bool:
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

    def dataset_in_use(self) -> Dataset:
        """The dataset in use; an InputError saying where to load one when there is none yet."""
        if self.dataset is None:
            raise InputError("no data loaded yet; choose a sample or upload a file on the Data page.")
        return self.dataset

    # -- models --------------------------------------------------------------------------------------
    def model_key(self, cfg: PipelineConfig) -> str:
        if self.fingerprint is None:
            raise ValueError("no dataset loaded")
        return model_key(self.fingerprint, cfg)

    def has_model(self, cfg: PipelineConfig) -> bool:
        return not cfg.model.needs_fit or self.model_key(cfg) in self.models

    def model(self, cfg: PipelineConfig) -> Reducer | None:
        """The fitted representation for these settings (None for kind "none" or when not fitted)."""
        if not cfg.model.needs_fit or self.fingerprint is None:
            return None
        return self.models.get(self.model_key(cfg))

    def add_model(self, key: str, reducer: Reducer | None) -> None:
        self.models.pop(key, None)
        self.models[key] = reducer
        while len(self.models) > MAX_MODELS:
            self.models.pop(next(iter(self.models)))

    # -- runs ----------------------------------------------------------------------------------------
    def run_key(self, cfg: PipelineConfig) -> str:
        if self.fingerprint is None:
            raise ValueError("no dataset loaded")
        return run_key(self.fingerprint, cfg)

    def find_run(self, cfg: PipelineConfig) -> RunResult | None:
        if self.fingerprint is None:
            return None
        return self.runs.get(self.run_key(cfg))

    def show_run(self, cfg: PipelineConfig) -> bool:
        """Put the run made with these settings on show, if there is one; True when there is."""
        if self.find_run(cfg) is None:
            return False
        self.current = self.run_key(cfg)
        return True

    def add_run(self, result: RunResult, key: str | None = None) -> str:
        key = key or run_key(dataset_fingerprint(result.dataset), result.config)
        self.runs.pop(key, None)
        self.runs[key] = result
        while len(self.runs) > MAX_RUNS:
            self.runs.pop(next(iter(self.runs)))
        self.current = key
        return key

    @property
    def result(self) -> RunResult | None:
        """The run on show, or None."""
        return self.runs.get(self.current) if self.current else None

    # -- jobs ----------------------------------------------------------------------------------------
    def job(self, manager: JobManager, kind: JobKind) -> Job | None:
        """This session's job of ``kind``, if one was started and not yet collected."""
        ticket = self.jobs.get(JobKind(kind))
        return None if ticket is None else manager.get(ticket.job_id, self.owner)

    def start(
        self,
        manager: JobManager,
        kind: JobKind,
        fn: Callable[[Job], Any],
        *,
        name: str,
        device: str = "cpu",
        model_key: str | None = None,
        run_key: str | None = None,
        cache_model: bool = False,
        trains: bool = False,
        max_seconds: float | None = None,
        load_key: tuple | None = None,
        label: str | None = None,
    ) -> Job:
        """Queue ``fn(job)`` as this session's job of ``kind``; the keys say where its result goes (see
        :class:`Ticket`). A job of the same kind not yet collected is cancelled: it never starts, or
        ends at its next check, and the new one waits until it has (one running job per session)."""
        kind = JobKind(kind)
        Ticket(kind, "-", model_key, run_key, cache_model, trains, load_key, label)  # a bad ticket fails first
        old = self.jobs.pop(kind, None)
        if old is not None:
            manager.forget(old.job_id, self.owner)
        job = manager.submit(
            self.owner, fn, name=name, device=device, client=self.client_id, max_seconds=max_seconds, trains=trains
        )
        self.jobs[kind] = Ticket(kind, job.id, model_key, run_key, cache_model, trains, load_key, label)
        return job

    def collect(self, manager: JobManager) -> list[Job]:
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
            if job.status == "cancelled":
                if ticket.kind is JobKind.LOAD:
                    self.load_error = (ticket.load_key, str(job.error))
                self.messages.append(("warning", str(job.error)))
                continue
            if job.status == "failed":
                if ticket.kind is JobKind.LOAD:  # shown beside the uploader while that upload is chosen
                    self.load_error = (ticket.load_key, str(job.error))
                    continue
                self.messages.append(("error", f"{job.name} failed: {job.error}"))
                continue
            self._take(ticket, job)
        return done

    def _take(self, ticket: Ticket, job: Job) -> None:
        result = job.result
        if ticket.kind is JobKind.LOAD:
            self.set_dataset(result, ticket.label or result.name)
            self.loaded_key, self.load_error = ticket.load_key, None
            return
        if ticket.kind is JobKind.APPLY:  # kept until the next apply succeeds: a failed one loses nothing
            self.applied = (str(ticket.run_key), result)
            self.messages.append(("success", f"{job.name}: done."))
            return
        if ticket.kind is JobKind.TRAIN:
            self.add_model(ticket.model_key, result)  # type: ignore[arg-type]  # Ticket makes sure a TRAIN job has a model key
            stopped = f" (stopped: {job.stop_reason}; the best weights so far were kept)" if job.stop_requested else ""
            self.messages.append(("success", f"{job.name}: done{stopped}."))
            return
        if ticket.cache_model:
            self.add_model(ticket.model_key, result.reducer)  # type: ignore[arg-type]  # cache_model comes with a model key
        if result is None or not hasattr(result, "config"):
            self.messages.append(("error", f"{job.name} returned no run."))
            return
        # a run stopped before its map is drawn with PCA, and kept under the settings it really has
        key = run_key(ticket.run_key.split(":", 1)[0], result.config)  # type: ignore[union-attr]  # Ticket makes sure a run job has a run key
        self.add_run(result, key)
        stopped = f" (stopped: {job.stop_reason}; what was made so far is shown)" if job.stop_requested else ""
        self.messages.append(("success", f"{job.name}: done{stopped}."))

    def pop_messages(self) -> list[tuple[str, str]]:
        out, self.messages = self.messages, []
        return out


@dataclass(frozen=True)
class Upload:
    """The files a session uploaded and uses: ``key`` names them (Streamlit's file ids), ``files`` are
    (name, bytes) pairs. Replaced whole by the next upload, which frees this one."""

    key: str
    files: tuple[tuple[str, bytes], ...]

    @property
    def nbytes(self) -> int:
        return sum(len(data) for _, data in self.files)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} hours" if seconds >= 3600 else f"{seconds:g} seconds"
