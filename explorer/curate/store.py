"""A curation saved with its run, and the curated run the rest of the library reads.

Beside the run's own files (the original labels stay in ``points.parquet``), a curated run folder holds:

- ``curation.json``: ``{"format": 1, "rows": n, "original_names": {cluster: name}, "steps": [{"kind",
  "detail", "names", "when"}, ...]}``, the history, oldest first;
- ``curation_labels.npy``: (steps + 1, n) int32, row 0 the original labels and row i the labels after step i.

A run never curated has neither file (and is unchanged on disk); undoing every step removes them. Each file
is written beside under a temporary name and renamed over, the labels first, so a reader sees either the
old curation or the new one. :func:`curated_result` gives the run with the curated clusters (numbered
``0..k-1``, centres recomputed) to explain, export or save.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from explorer.cluster.methods import member_means
from explorer.cluster.types import ClusterResult
from explorer.curate.curation import Curation, Step
from explorer.errors import InputError
from explorer.pipeline.stages import evaluate_run
from explorer.runs.ids import TMP_PREFIX
from explorer.runs.jsonio import read_json, write_json

CURATION_JSON = "curation.json"
CURATION_LABELS = "curation_labels.npy"
CURATION_FORMAT = 1


def save_curation(folder: str | Path, curation: Curation) -> None:
    """Write ``curation`` into the saved run ``folder`` (see the module's docstring); no step: remove it."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InputError(f"'{folder.name}' is not a saved run.")
    if not curation.steps:
        for name in (CURATION_JSON, CURATION_LABELS):
            (folder / name).unlink(missing_ok=True)
        return
    stack = np.stack([curation.original, *(s.labels for s in curation.steps)]).astype(np.int32)
    doc = {
        "format": CURATION_FORMAT,
        "rows": len(curation.original),
        "original_names": {str(c): v for c, v in curation.original_names.items()},
        "steps": [
            {"kind": s.kind, "detail": s.detail, "names": {str(c): v for c, v in s.names.items()}, "when": s.when}
            for s in curation.steps
        ],
    }
    tmp = folder / f"{TMP_PREFIX}{CURATION_LABELS}"
    with open(tmp, "wb") as fh:
        np.save(fh, stack, allow_pickle=False)
    os.replace(tmp, folder / CURATION_LABELS)
    tmp_json = folder / f"{TMP_PREFIX}{CURATION_JSON}"
    write_json(tmp_json, doc)
    os.replace(tmp_json, folder / CURATION_JSON)


def load_curation(folder: str | Path, run: Any = None) -> Curation | None:
    """The curation saved in the run ``folder``, or None when it has none. With ``run`` (the RunResult loaded
    from that folder) it can recluster (its ``Z``) and must match the run's labels."""
    folder = Path(folder)
    if not (folder / CURATION_JSON).is_file():
        return None
    try:
        doc = read_json(folder / CURATION_JSON)
        stack = np.load(folder / CURATION_LABELS, allow_pickle=False).astype(np.int64)
        if doc.get("format") != CURATION_FORMAT:
            raise ValueError(f"curation format {doc.get('format')!r}, expected {CURATION_FORMAT}")
        steps = doc["steps"]
        if stack.shape != (len(steps) + 1, int(doc["rows"])):
            raise ValueError(f"{CURATION_LABELS} holds {stack.shape[0]} label rows for {len(steps)} steps")
        curation = Curation(
            stack[0].copy(),
            {int(c): str(v) for c, v in doc.get("original_names", {}).items()},
            [
                Step(
                    s["kind"],
                    s["detail"],
                    stack[i + 1].copy(),
                    {int(c): str(v) for c, v in s["names"].items()},
                    s.get("when", ""),
                )
                for i, s in enumerate(steps)
            ],
        )
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(
            f"the curation of the saved run '{folder.name}' is damaged ({type(exc).__name__}: {exc})."
        ) from exc
    if run is not None:
        if not np.array_equal(curation.original, np.asarray(run.labels, np.int64)):
            raise InputError(f"the curation of the saved run '{folder.name}' was made on other labels than the run's.")
        curation.Z, curation.seed = np.asarray(run.Z), run.config.seed
    return curation


def curated_result(run: Any, curation: Curation) -> Any:
    """A copy of ``run`` (a RunResult) whose clusters are the curated ones: labels (n,) numbered ``0..k-1`` in
    the order of the curated ids (noise stays -1), centres (k, d) the means of their rows, no soft assignments,
    the scores that depend on the labels computed again for them (the map's trustworthiness is the run's);
    ``clusters.info["curated"]`` maps each new number to its curated id and name and counts the steps. Its
    explanation is None (explain it again: :func:`explorer.explain.explain`); new rows applied to it go by their
    nearest rows' vote (:mod:`explorer.apply.assign`: no method's rule made these clusters). Save it with
    :func:`explorer.runs.files.save_run` to share or apply it as a run of its own. The run itself is not changed."""
    current = curation.labels
    if current.shape != np.asarray(run.labels).shape:
        raise InputError(f"the curation has {len(current)} rows; the run {len(run.labels)}.")
    ids = np.array(curation.clusters, np.int64)
    labels = np.where(current >= 0, np.searchsorted(ids, current), -1).astype(np.int64)
    k = len(ids)
    names = curation.names
    info = dict(run.clusters.info)
    info["curated"] = {
        "steps": len(curation.steps),
        "ids": [int(c) for c in ids],
        "names": [names.get(int(c), "") for c in ids],
        "original_k": int(run.clusters.k),
    }
    clusters = ClusterResult(
        labels=labels, k=k, method=run.clusters.method, centers=member_means(np.asarray(run.Z), labels, k), info=info
    )
    config = replace(run.config, cluster=replace(run.config.cluster, k=max(k, 2)))
    metrics = evaluate_run(np.asarray(run.Z), clusters, None, run.dataset)
    if "trustworthiness" in run.metrics:  # the map's, not the clusters': the same map
        metrics["trustworthiness"] = run.metrics["trustworthiness"]
    return replace(
        run, config=config, clusters=clusters, metrics=metrics, explanation=None, assignment=None, run_id=None
    )


def curated_source(run: Any, folder: str | Path | None) -> tuple[Any, str | None]:
    """The run that new rows are applied to: with a curation saved in its ``folder`` (a local run folder; None:
    none looked for), :func:`curated_result` keeping the run's id (applied rows name the run they came from),
    and a sentence saying so; else ``run`` and None."""
    curation = load_curation(folder, run) if folder is not None else None
    if curation is None or not curation.steps:
        return run, None
    steps = len(curation.steps)
    curated = replace(curated_result(run, curation), run_id=run.run_id)
    return curated, (
        f"the run's clusters as curated ({steps} edit{'s' * (steps != 1)}: {curated.clusters.k} clusters, "
        f"{run.clusters.k} in the run); --own-clusters applies the run's own."
    )
