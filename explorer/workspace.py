"""One dashboard session's work, as a plain object (the page keeps it in ``st.session_state``).

It holds what the user made: the dataset, the representations fitted on it (keyed by data
fingerprint + model settings, so the same settings again return at once), the runs (clusterings),
and the ids of this session's background jobs. Finished jobs are collected here, so a page only
says which job to start and what it is for.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .pipeline import PipelineConfig, dataset_fingerprint, model_key

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Dataset
    from .jobs import Job, JobManager
    from .limits import Limits
    from .pipeline import RunResult
    from .reducers import Reducer

MAX_RUNS = 12  # runs kept per session (the oldest is dropped; saved runs stay on disk)
MAX_MODELS = 8  # fitted representations kept per session


@dataclass
class Workspace:
    """What one session has made. Nothing here is shared with another session."""

    owner: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    dataset: "Dataset | None" = None
    fingerprint: str | None = None
    source: str | None = None  # what the dataset was loaded from, in words
    config: PipelineConfig | None = None  # the settings the user chose last (train + cluster pages)
    models: dict[str, "Reducer | None"] = field(default_factory=dict)  # model_key -> fitted reducer
    runs: dict[str, "RunResult"] = field(default_factory=dict)  # run key -> result, oldest first
    current: str | None = None  # key of the run on show
    jobs: dict[str, str] = field(default_factory=dict)  # purpose ("train", "run", "project") -> job id
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text) to show once
    train_seconds: float = 0.0  # wall-clock seconds this session's training jobs have run

    # -- the session's training budget ----------------------------------------------------------------
    def training_allowance(self, limits: "Limits") -> float:
        """Seconds the next training job may run: the per-run cap, or what is left of the session's
        ``max_session_train_seconds`` if that is less. A spent budget is a LimitError that says how to raise it."""
        from .errors import LimitError
        from .limits import how_to_raise

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
    def model_key(self, cfg: PipelineConfig) -> str:
        if self.fingerprint is None:
            raise ValueError("no dataset loaded")
        return model_key(self.fingerprint, cfg)

    def has_model(self, cfg: PipelineConfig) -> bool:
        return cfg.model.kind == "none" or self.model_key(cfg) in self.models

    def model(self, cfg: PipelineConfig) -> "Reducer | None":
        """The fitted representation for these settings (None for kind "none" or when not fitted)."""
        if cfg.model.kind == "none" or self.fingerprint is None:
            return None
        return self.models.get(self.model_key(cfg))

    def add_model(self, key: str, reducer: "Reducer | None") -> None:
        self.models.pop(key, None)
        self.models[key] = reducer
        while len(self.models) > MAX_MODELS:
            self.models.pop(next(iter(self.models)))

    # -- runs ----------------------------------------------------------------------------------------
    @staticmethod
    def run_key(fingerprint: str, cfg: PipelineConfig) -> str:
        import json

        return fingerprint + ":" + json.dumps(cfg.to_dict(), sort_keys=True, default=list)

    def find_run(self, cfg: PipelineConfig) -> "RunResult | None":
        if self.fingerprint is None:
            return None
        return self.runs.get(self.run_key(self.fingerprint, cfg))

    def add_run(self, result: "RunResult", key: str | None = None) -> str:
        key = key or self.run_key(dataset_fingerprint(result.dataset), result.config)
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
    def job(self, manager: "JobManager", purpose: str) -> "Job | None":
        """This session's job for ``purpose``, if one was started and not yet collected."""
        return manager.get(self.jobs.get(purpose), self.owner)

    def start(self, manager: "JobManager", purpose: str, fn, *, name: str, device: str = "cpu",
              meta: dict[str, Any] | None = None) -> "Job":
        """Start a job for ``purpose`` (a running one for the same purpose is stopped and dropped)."""
        old = self.jobs.pop(purpose, None)
        if old:
            manager.forget(old, self.owner)
        job = manager.submit(self.owner, fn, name=name, device=device, meta={"purpose": purpose, **(meta or {})})
        self.jobs[purpose] = job.id
        return job

    def collect(self, manager: "JobManager") -> list["Job"]:
        """Take in every finished job of this session: store its result (a fitted model, a run, a new
        projection) or its error message; returns the jobs collected."""
        done = []
        for purpose, job_id in list(self.jobs.items()):
            job = manager.get(job_id, self.owner)
            if job is None:
                self.jobs.pop(purpose, None)
                continue
            if not job.done:
                continue
            self.jobs.pop(purpose, None)
            manager.forget(job_id, self.owner)
            done.append(job)
            if job.meta.get("trains"):
                self.train_seconds += job.elapsed
            if job.status == "failed":
                self.messages.append(("error", f"{job.name} failed: {job.error}"))
                continue
            self._apply(job)
        return done

    def _apply(self, job: "Job") -> None:
        meta, result = job.meta, job.result
        if meta["purpose"] == "train":
            self.add_model(meta["model_key"], result)
            stopped = job.stop_requested
            self.messages.append(("success", f"{job.name}: done{' (stopped early; the best weights so far were kept)' if stopped else ''}."))
        elif meta["purpose"] in ("run", "project"):
            if meta.get("model_key") and meta.get("cache_model"):
                self.add_model(meta["model_key"], result.reducer)
            self.add_run(result, meta.get("run_key"))
            self.messages.append(("success", f"{job.name}: done."))

    def pop_messages(self) -> list[tuple[str, str]]:
        out, self.messages = self.messages, []
        return out
