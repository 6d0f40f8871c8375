"""Apply a saved (or the current) run to new data without retraining.

``apply_run(run, data) -> AppliedRun``: the saved preprocessing (:mod:`explorer.data.preprocessing`) -> the
saved model (``reducer.transform``) -> the saved clustering (:mod:`.assign`: cluster, confidence,
runner-up, margin) and the run's anomaly score -> a place on the saved map, the old points unmoved ->
a drift report (:mod:`.drift`). ``save_applied`` keeps the applied rows as a run of their own whose
config.json says ``"applied_to": <source run id>``.

Placement on the map: UMAP and t-SNE can't be saved without pickling, so a new row's map position is
the distance-weighted mean (weights 1/d) of the map positions of its ``PLACE_NEIGHBORS`` nearest
training rows in the latent space (:mod:`explorer.neighbors`: the rule a large run places its unfitted
rows by, among the same fitted rows). A training row applied to its own run lands on its own point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from explorer.anomaly import anomaly_scores
from explorer.apply.assign import Assignment, assign, assignment_arrays, nearest_training_rows
from explorer.apply.drift import DriftReport, drift_report
from explorer.data.preprocessing import (
    ApplyReport,
    MissingColumns,
    apply_preprocessing,
    raw_columns,
    record_preprocessing,
)
from explorer.errors import InputError, Stopped
from explorer.events import Progress, ProgressCallback, Stage, StopCheck
from explorer.neighbors import PLACE_NEIGHBORS, place
from explorer.reducers.config import PRETRAINED

__all__ = ["AppliedRun", "apply_run", "save_applied", "run_recipe", "run_assignment", "kind_of", "as_run"]

PLACEMENT = (
    f"each new row at the distance-weighted mean (weights 1/d) of the map positions of its {PLACE_NEIGHBORS} "
    "nearest training rows in the latent space (the rows the run fitted on), as the run placed its own rows "
    "when it sampled; the run's own points do not move"
)


@dataclass
class AppliedRun:
    """New rows run through a saved run. Arrays are per new row (m,) unless shaped otherwise."""

    source_run_id: str | None
    dataset: Any  # the new rows as a Dataset (X in the run's features)
    Z: np.ndarray  # (m, latent) float32
    assignment: Assignment
    anomaly: np.ndarray  # (m,) float32, on the run's scale
    unusual: np.ndarray  # (m,) bool: anomaly above the run's 99th percentile
    embedding: np.ndarray  # (m, 2) or (m, 3) float32: the place on the run's map
    neighbor_distance: np.ndarray  # (m,) distance to the nearest training row in the latent space
    report: ApplyReport
    drift: DriftReport
    placement: str = PLACEMENT
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        return self.assignment.labels

    def points_frame(self, names: dict[int, str] | None = None) -> Any:
        """id, cluster, cluster_name, x, y, (z), confidence, runner_up, margin, anomaly, unusual, (label)."""
        import pandas as pd

        names = names or {}
        a = self.assignment
        cols: dict[str, Any] = {
            "id": np.asarray(self.dataset.ids).astype(str),
            "cluster": a.labels,
            "cluster_name": [names.get(int(c), "noise" if c < 0 else f"cluster {c}") for c in a.labels],
        }
        for i, axis in enumerate("xyz"[: self.embedding.shape[1]]):
            cols[axis] = self.embedding[:, i]
        cols.update(
            confidence=a.confidence, runner_up=a.runner_up, margin=a.margin, anomaly=self.anomaly, unusual=self.unusual
        )
        if self.dataset.labels is not None:
            cols["label"] = np.asarray(self.dataset.labels).astype(str)
        return pd.DataFrame(cols)

    def summary(self) -> dict[str, Any]:
        return {
            "source_run_id": self.source_run_id,
            "n": int(self.dataset.n),
            "how": self.assignment.how,
            "placement": self.placement,
            "preprocessing": self.report.to_dict(),
            "drift": self.drift.to_dict(),
            "timings": self.timings,
        }


def run_recipe(run: Any) -> dict[str, Any]:
    """The run's preprocessing record: the saved one, else rebuilt from its rows and kept only if it
    reproduces the run's features exactly; InputError when neither is possible."""
    recipe = getattr(run, "preprocessing", None)
    if recipe is None:
        recipe = record_preprocessing(run.dataset)
    if recipe is None:
        raise InputError(
            "this run was saved without a record of its preprocessing, and it can't be rebuilt from the "
            "saved rows (an older explorer, or a subset of a loaded table), so new data can't be prepared "
            "exactly as its training data was. Make the run again from its file, then apply new data to it."
        )
    return recipe


def run_assignment(run: Any) -> dict[str, np.ndarray]:
    """The arrays that assign new rows to the run's clusters: saved, else computed from the run."""
    arrays = getattr(run, "assignment", None)
    return arrays if arrays is not None else assignment_arrays(run)


def apply_run(
    run: Any,
    data: Any,
    name: str | None = None,
    *,
    missing: MissingColumns = "refuse",
    limits: Any = None,
    on_event: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> AppliedRun:
    """Apply ``run`` (a RunResult, current or loaded by :func:`explorer.runs.files.load_run`) to ``data``:
    a path, bytes with ``name``, an upload, a pandas DataFrame of rows as read, or a Dataset.

    ``missing``: "refuse" (default) raises InputError naming feature columns the new data lacks;
    "impute" fills them with the training value and records it. Raises InputError for data of another
    kind than the run's or a run whose preprocessing can't be known.

    ``on_event`` gets a :class:`~explorer.events.Progress` event as each stage starts (preprocess,
    encode, assign, place, drift; the model's encoding also between blocks of ``ENCODE_BLOCK`` rows).
    ``should_stop()`` is checked between them: applying has nothing partial to return, so True
    raises :class:`~explorer.errors.Stopped` and the run is left as it was.
    """
    timings: dict[str, float] = {}
    step = _Steps(on_event, should_stop)
    recipe = run_recipe(run)
    if recipe["kind"] != kind_of(run):
        raise InputError("the run's preprocessing record does not match its data; save the run again.")
    step("preprocess", "reading the new data and preparing it as the run's was")
    t0 = time.perf_counter()
    ds, report = apply_preprocessing(recipe, data, name, missing=missing, limits=limits)
    if ds.kind != run.dataset.kind:
        raise InputError(f"the run was made on {run.dataset.kind}; the new data is {ds.kind}.")
    if ds.X.shape[1] != run.dataset.X.shape[1]:
        raise InputError(
            f"the new data has {ds.X.shape[1]} features after preprocessing, the run {run.dataset.X.shape[1]}; "
            "give data with the same columns (or images) as the run's."
        )
    timings["preprocess"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    Z = _encode(run.reducer, ds.X, step)
    timings["model"] = time.perf_counter() - t0
    step("assign", f"joining {ds.n:,} rows to the run's {run.clusters.k} clusters")
    t0 = time.perf_counter()
    nn = nearest_training_rows(run, Z)
    a = assign(run, run_assignment(run), Z, nn)
    score = anomaly_scores(run.reducer, ds.X, Z, a.labels, run.Z, run.clusters.labels)
    step("place", "placing the new rows on the run's map")
    embedding = place(run.embedding, *nn)
    timings["assign_and_place"] = time.perf_counter() - t0
    step("drift", "comparing the new rows with the run's")
    t0 = time.perf_counter()
    names = run.explanation.names if getattr(run, "explanation", None) is not None else {}
    train_cols = new_cols = None
    if recipe["kind"] == "table" and run.dataset.table is not None and ds.table is not None:
        train_cols, new_cols = raw_columns(recipe, run.dataset.table), raw_columns(recipe, ds.table)
    texts = [c["name"] for c in recipe.get("columns", []) if c.get("kind") == "text"]
    drift = drift_report(run.clusters.labels, a.labels, names, run.anomaly, score, train_cols, new_cols, texts)
    if recipe["kind"] != "table":
        drift.notes.append(
            "per-column shift is reported for tables only (pixels or vector components are no columns a person reads)."
        )
    timings["drift"] = time.perf_counter() - t0
    unusual = score > drift.unusual_threshold
    return AppliedRun(
        run.run_id, ds, Z, a, score, unusual, embedding, nn[1][:, 0].astype(np.float32), report, drift, timings=timings
    )


ENCODE_BLOCK = 20_000  # rows the model encodes between two checks of Stop (and two progress events)
PHOTO_ENCODE_BLOCK = 256  # the same for a pretrained image encoder: ~10 s of photos on a 2-core CPU, not an hour
STAGES = ("preprocess", "encode", "assign", "place", "drift")


class _Steps:
    """Reports a stage of :func:`apply_run` (its place among ``STAGES`` as the fraction) and checks Stop."""

    def __init__(self, on_event: ProgressCallback | None, should_stop: StopCheck | None) -> None:
        self.on_event, self.should_stop = on_event, should_stop

    def __call__(self, stage: Stage, message: str, within: float = 0.0) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Stopped(
                f"applying the run was stopped (before its {stage} step); the run and the rows shown before "
                "are as they were."
            )
        if self.on_event is not None:
            i = STAGES.index(stage)
            self.on_event(Progress(stage, message, (i + within) / len(STAGES)))


def _encode(reducer: Any, X: np.ndarray, step: _Steps) -> np.ndarray:
    """The latent codes (n, latent) float32 of X: the features themselves without a model, else the
    model's encoding, in blocks of ``ENCODE_BLOCK`` rows when there are more (Stop checked between)."""
    if reducer is None:
        step("encode", "no model: the features are the latent space")
        return np.ascontiguousarray(X, np.float32)
    n = len(X)
    block = PHOTO_ENCODE_BLOCK if getattr(reducer, "kind", None) == PRETRAINED else ENCODE_BLOCK
    if n <= block:
        step("encode", f"running the model on {n:,} rows")
        return np.asarray(reducer.transform(X), np.float32)
    blocks = []
    for start in range(0, n, block):
        step("encode", f"running the model on rows {start + 1:,}-{min(start + block, n):,} of {n:,}", start / n)
        blocks.append(np.asarray(reducer.transform(X[start : start + block]), np.float32))
    return np.concatenate(blocks)


def kind_of(run: Any) -> str:
    return "table" if run.dataset.kind == "table" else run.dataset.kind


def as_run(applied: AppliedRun, source: Any) -> Any:
    """The applied rows as a RunResult of their own (same config, model and clustering as ``source``)."""
    from explorer.cluster.types import ClusterResult
    from explorer.pipeline import evaluate_run

    a = applied.assignment
    clusters = ClusterResult(
        a.labels,
        source.clusters.k,
        source.clusters.method,
        source.clusters.centers,
        a.proba,
        a.space,
        info={"applied": a.how},
    )
    metrics = evaluate_run(applied.Z, clusters, applied.embedding, applied.dataset)
    notes = [f"Applied to run {source.run_id}: clusters by {a.how}; map positions: {applied.placement}."]
    notes += applied.report.notes
    return replace(
        source,
        config=replace(source.config, explain=None),
        dataset=applied.dataset,
        Z=applied.Z,
        clusters=clusters,
        embedding=applied.embedding,
        anomaly=applied.anomaly,
        metrics=metrics,
        timings=dict(applied.timings),
        notes=notes,
        run_id=None,
        created=None,
        explanation=None,
        preprocessing=run_recipe(source),
        assignment=run_assignment(source),
        fitted=None,
    )  # its rows are its own (the source's fitted mask is of the source's rows)


def save_applied(
    applied: AppliedRun, source: Any, root: str | Path | None = None, *, name: str | None = None
) -> Path | str:
    """Save the applied rows as a run of their own under ``root``; its config.json holds
    ``"applied_to": <source run id>``, the preprocessing summary and the drift report. Returns its folder
    (its URL, under a store's URL), as :func:`explorer.runs.files.save_run`."""
    from explorer.runs.files import save_run

    if source.run_id is None:
        raise InputError("save the run first: an applied run links to the saved run it came from.")
    result = as_run(applied, source)
    extra = {
        "applied_to": source.run_id,
        "apply": {
            "preprocessing": applied.report.to_dict(),
            "drift": applied.drift.to_dict(),
            "placement": applied.placement,
        },
    }
    return save_run(result, root, name=name or f"{applied.dataset.name} applied to {source.run_id[:8]}", extra=extra)
