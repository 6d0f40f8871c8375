"""Runs as folders of plain files, written atomically, read without unpickling.

A run folder ``<root>/<run_id>/`` holds:

- ``config.json``: every parameter, the seed, the device, library versions, the dataset's description
- ``metrics.json``: the scores; ``history.json``: one entry per training epoch
- ``points.parquet``: id, cluster, x, y (z), anomaly, label (if any), confidence (if any), fitted (large
  data only: True for the rows the costly stages fitted on, False for the rows placed; explorer.neighbors)
- ``latent.npy``: Z (n, k) float32; ``embedding`` lives in points
- ``model.safetensors`` + ``model.json``: the fitted reducer (absent for "none")
- ``report.json``: what the loader did; ``sweep.json``: the k sweep, when one ran
- ``clusters.npz``: cluster centres / soft assignments, numeric arrays only
- ``images.npy`` (uint8, image data) or ``features.npy`` (float32) + ``table.parquet`` (tables):
  what the dashboard needs to show reconstructions and hover previews anywhere the run is opened.
- ``explain.json`` + ``explain_points.parquet``: what each cluster is (:mod:`explorer.explain`): names,
  profiles, distinctions, rules, stability; per row the runner-up cluster, margin and co-assignment.
- ``preprocess.json``: the loader's steps (column order, kinds, fill values, transforms, scaling
  parameters, category levels, image size and mode), to prepare new data the same way
  (:mod:`explorer.data.preprocessing`); ``assign.npz``: the clustering's parameters (centres, GMM / mixture
  weights, means, covariances, level tables) that assign new rows (:mod:`explorer.apply.assign`).
  A run of applied rows has ``"applied_to": <source run id>`` in its config.json.
- ``curation.json`` + ``curation_labels.npy``: only in a run whose clusters a person curated
  (:mod:`explorer.curate.store`): the history of edits, and the labels after each (the original ones stay here).

The folder is first written under a temporary name in the same root, synced, then renamed into
place: a crash while saving leaves no half-written run, only a hidden ``.tmp-<id>`` folder that
:func:`list_runs` ignores and :func:`cleanup_partial` (also called by every save, for day-old ones)
removes. Run ids are 128 random bits (URL-safe).

The root may also be an fsspec URL (``memory://``, ``s3://bucket/runs``, ``gs://...`` with the matching
package installed; ``file://`` is the local folder): there the files are written in place and published by
a small manifest written last, which readers require (:mod:`explorer.runs.store`).

JSON is written and read by :mod:`explorer.runs.jsonio`; the files a run is downloaded as (its points as CSV,
its latent space, its model, the whole folder zipped) are made by :mod:`explorer.runs.exports`.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import InputError, RunNotFound
from explorer.runs.exports import points_table
from explorer.runs.ids import RUN_ID_PATTERN, STALE_TMP_S, TMP_PREFIX, check_run_id, new_run_id, run_dir
from explorer.runs.jsonio import read_json, write_json
from explorer.runs.roots import resolve_root

RUN_FORMAT = 2  # 2: the model's settings saved whole (model.json params.config); 1 (explorer 0.1) still loads
EXPLAIN_JSON = "explain.json"
EXPLAIN_POINTS = "explain_points.parquet"


def library_versions() -> dict[str, str]:
    from importlib import metadata

    from explorer import __version__
    versions = {"python": sys.version.split()[0], "explorer": __version__}
    for pkg in ("numpy", "torch", "scikit-learn", "umap-learn", "pandas", "pyarrow", "safetensors"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return versions


def save_run(result, root: str | Path | None = None, *, name: str | None = None,
             extra: dict[str, Any] | None = None) -> Path | str:
    """Write ``result`` (a RunResult) as a new run folder under ``root``; sets ``result.run_id``.
    ``extra``: more top-level keys for config.json (an applied run's ``applied_to``), never overriding one.

    Returns the run's folder (its URL, under a store's URL). Atomic: until the final rename (on an
    object store: until its manifest is written), the run does not exist.
    """
    root = resolve_root(root)
    run_id = new_run_id()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    location: Path | str
    if isinstance(root, str):  # an object store: written in place, then published by its manifest
        from explorer.runs.store import save_to_store

        location = save_to_store(root, run_id, lambda folder: _write_run_files(result, folder, run_id, created, name, extra))
    else:
        location = _save_local(result, root, run_id, created, name, extra)
    result.run_id = run_id
    result.created = created
    return location


def _save_local(result, root: Path, run_id: str, created: str, name: str | None, extra: dict | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    cleanup_partial(root, STALE_TMP_S)
    tmp = root / f"{TMP_PREFIX}{run_id}"
    tmp.mkdir()
    try:
        _write_run_files(result, tmp, run_id, created, name, extra)
        _fsync_tree(tmp)
        os.rename(tmp, root / run_id)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root / run_id


def _write_run_files(result, tmp: Path, run_id: str, created: str, name: str | None, extra: dict | None) -> None:
    """Every file of the run into the (new, empty) folder ``tmp``."""
    from dataclasses import asdict

    from safetensors.numpy import save_file

    ds = result.dataset
    config = {
        "run_id": run_id,
        "created": created,
        "name": name or ds.name,
        "format": RUN_FORMAT,
        "dataset": {
            "name": ds.name,
            "kind": ds.kind,
            "source": ds.report.source,
            "n": ds.n,
            "n_features": int(ds.X.shape[1]),
            "image_shape": ds.image_shape,
            "has_labels": ds.labels is not None,
            "feature_names": list(ds.feature_names),
        },
        "pipeline": result.config.to_dict(),
        "device": result.device,
        "device_description": result.device_description,
        "versions": library_versions(),
        "timings": result.timings,
        "notes": result.notes,
    }
    for key, value in (extra or {}).items():
        config.setdefault(key, value)
    write_json(tmp / "config.json", config)
    write_json(tmp / "metrics.json", result.metrics)
    write_json(tmp / "history.json", result.history)
    write_json(tmp / "report.json", ds.report.to_dict())
    points_table(result).to_parquet(tmp / "points.parquet", index=False)
    np.save(tmp / "latent.npy", np.ascontiguousarray(result.Z, np.float32), allow_pickle=False)
    c = result.clusters
    arrays = {k: v for k, v in {"centers": c.centers, "proba": c.proba, "cluster_embedding": c.embedding}.items() if v is not None}
    # dict[str, Any]: numpy's stubs take a **dict of arrays for its allow_pickle= keyword too
    packed: dict[str, Any] = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
    np.savez(tmp / "clusters.npz", **packed)
    write_json(tmp / "clusters.json", {"method": c.method, "k": c.k, "info": c.info})
    if c.sweep is not None:
        write_json(tmp / "sweep.json", asdict(c.sweep))
    if result.reducer is not None:
        meta, tensors = result.reducer.export_state()
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp / "model.safetensors"))
        write_json(tmp / "model.json", {"kind": result.config.model.kind, "params": result.reducer.export_params(), "meta": meta})
    if ds.images is not None:
        np.save(tmp / "images.npy", ds.images, allow_pickle=False)
    else:
        np.save(tmp / "features.npy", np.ascontiguousarray(ds.X, np.float32), allow_pickle=False)
    if ds.table is not None:
        _table_for_parquet(ds.table).to_parquet(tmp / "table.parquet", index=False)
    _save_apply_records(result, tmp)
    if result.explanation is not None:
        write_json(tmp / EXPLAIN_JSON, result.explanation.to_dict())
        result.explanation.points_frame().to_parquet(tmp / EXPLAIN_POINTS, index=False)


def _save_apply_records(result, folder: Path) -> None:
    """``preprocess.json`` (when the loader's steps can be recorded faithfully) and ``assign.npz``."""
    from explorer.apply.assign import ASSIGN_FILE, assignment_arrays
    from explorer.data.preprocessing import PREPROCESS_FILE, record_preprocessing

    recipe = getattr(result, "preprocessing", None) or record_preprocessing(result.dataset)
    if recipe is not None:
        write_json(folder / PREPROCESS_FILE, recipe)
        result.preprocessing = recipe
    arrays = getattr(result, "assignment", None) or assignment_arrays(result)
    contiguous: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in arrays.items()}  # Any: see _write_run_files
    np.savez(folder / ASSIGN_FILE, **contiguous)
    result.assignment = arrays


def _load_apply_records(path: Path) -> tuple[dict | None, dict | None]:
    from explorer.apply.assign import ASSIGN_FILE
    from explorer.data.preprocessing import PREPROCESS_FILE

    recipe = read_json(path / PREPROCESS_FILE) if (path / PREPROCESS_FILE).is_file() else None
    arrays = None
    if (path / ASSIGN_FILE).is_file():
        with np.load(path / ASSIGN_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return recipe, arrays


def _table_for_parquet(table):
    """Parquet wants string column names and one type per column: make mixed object columns text."""
    out = table.copy()
    out.columns = [str(c) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("string")
    return out


def _fsync_tree(path: Path) -> None:
    for p in path.iterdir():
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cleanup_partial(root: str | Path | None = None, older_than_s: float = STALE_TMP_S) -> list[Path] | list[str]:
    """Remove the ``.tmp-*`` folders that saves killed midway left under ``root``; returns them.

    Only folders last changed more than ``older_than_s`` seconds ago go, so a save still running in
    another process (several servers may share one root) is left alone. Finished runs are never touched.
    Under a store's URL: the files of saves that never wrote their manifest (their URLs are returned).
    """
    root = resolve_root(root)
    if isinstance(root, str):
        from explorer.runs.store import cleanup_unpublished

        return cleanup_unpublished(root, older_than_s)
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    for d in root.iterdir():
        if not (d.name.startswith(TMP_PREFIX) and d.is_dir() and not d.is_symlink()):
            continue
        try:
            age = now - d.stat().st_mtime
        except OSError:
            continue  # removed meanwhile
        if age >= older_than_s:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def list_runs(root: str | Path | None = None) -> list[dict[str, Any]]:
    """Summaries of the saved runs under ``root``, newest first (unreadable folders, and the hidden
    ``.tmp-*`` folders of saves not finished, are skipped; on a store, runs without their manifest)."""
    root = resolve_root(root)
    if isinstance(root, str):
        from explorer.runs.store import list_store

        return list_store(root)
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        if not (d.is_dir() and RUN_ID_PATTERN.fullmatch(d.name)):
            continue
        try:
            cfg = read_json(d / "config.json")
            metrics = read_json(d / "metrics.json")
        except (OSError, ValueError):
            continue
        out.append({"run_id": d.name, "created": cfg.get("created"), "name": cfg.get("name"), "dataset": cfg.get("dataset", {}), "pipeline": cfg.get("pipeline", {}), "metrics": metrics, "path": str(d)})
    return sorted(out, key=lambda r: r.get("created") or "", reverse=True)


def load_run(run_id_or_path: str | Path, root: str | Path | None = None, *, device: str = "cpu"):
    """Load a saved run back into a RunResult (arrays identical to what was saved).

    ``run_id_or_path`` is a run id (a ``str``, looked up under ``root``) or a run folder (a ``Path``).
    A string is never taken as a path, so a link's ``../x`` or ``/srv/other/x`` raises RunNotFound.
    Nothing is unpickled: JSON, Parquet, .npy with allow_pickle=False, safetensors.
    """
    import pandas as pd
    from safetensors.numpy import load_file

    from explorer.cluster.types import ClusterResult, KSweep
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import PipelineConfig, RunResult
    from explorer.reducers import restore_reducer

    if isinstance(run_id_or_path, os.PathLike):  # a folder the caller chose (never text from a link)
        path = Path(run_id_or_path)
    else:  # text, as from a ?run= link: only ever a run id under the root
        where = resolve_root(root)
        if isinstance(where, str):  # an object store: a local copy of the published run, loaded as a folder
            from explorer.runs.store import load_from_store

            return load_from_store(where, check_run_id(run_id_or_path), lambda folder: load_run(folder, device=device))
        path = run_dir(where, run_id_or_path)
    if not (path / "config.json").is_file():
        raise RunNotFound(f"no saved run '{path.name}'; it may have been deleted, or the link is wrong.")
    try:
        cfg = read_json(path / "config.json")
        points = pd.read_parquet(path / "points.parquet")
        Z = np.load(path / "latent.npy", allow_pickle=False)
        report_d = read_json(path / "report.json")
        ds_info = cfg["dataset"]
        images = np.load(path / "images.npy", allow_pickle=False) if (path / "images.npy").is_file() else None
        if images is not None:
            X = images.reshape(len(images), -1).astype(np.float32) / 255.0
        else:
            X = np.load(path / "features.npy", allow_pickle=False)
        table = pd.read_parquet(path / "table.parquet") if (path / "table.parquet").is_file() else None
        report = LoadReport(**report_d)
        dataset = Dataset(
            X=X,
            feature_names=list(ds_info["feature_names"]),
            ids=points["id"].to_numpy().astype(str),
            report=report,
            kind=ds_info["kind"],
            name=ds_info["name"],
            labels=points["label"].to_numpy().astype(str) if "label" in points else None,
            images=images,
            table=table,
        )
        with np.load(path / "clusters.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        cinfo = read_json(path / "clusters.json")
        sweep = KSweep(**read_json(path / "sweep.json")) if (path / "sweep.json").is_file() else None
        clusters = ClusterResult(
            labels=points["cluster"].to_numpy().astype(np.int64),
            k=int(cinfo["k"]),
            method=cinfo["method"],
            centers=arrays.get("centers"),
            proba=arrays.get("proba"),
            embedding=arrays.get("cluster_embedding"),
            sweep=sweep,
            info=cinfo.get("info", {}),
        )
        reducer = None
        if (path / "model.json").is_file():
            mj = read_json(path / "model.json")
            reducer = restore_reducer(mj["kind"], mj["params"] | {"device": device}, mj["meta"], load_file(str(path / "model.safetensors")), device)
        axes = [a for a in "xyz" if a in points]
        result = RunResult(
            config=PipelineConfig.from_dict(cfg["pipeline"]),
            dataset=dataset,
            reducer=reducer,
            Z=Z,
            clusters=clusters,
            embedding=points[axes].to_numpy().astype(np.float32),
            anomaly=points["anomaly"].to_numpy().astype(np.float32),
            metrics=read_json(path / "metrics.json"),
            history=read_json(path / "history.json"),
            device=cfg.get("device", "cpu"),
            device_description=cfg.get("device_description", ""),
            timings=cfg.get("timings", {}),
            notes=cfg.get("notes", []),
            run_id=cfg["run_id"],
            created=cfg.get("created"),
            fitted=points["fitted"].to_numpy().astype(bool) if "fitted" in points else None,
        )
        result.preprocessing, result.assignment = _load_apply_records(path)
        if (path / EXPLAIN_JSON).is_file() and (path / EXPLAIN_POINTS).is_file():
            from explorer.explain import Explanation

            result.explanation = Explanation.from_dict(read_json(path / EXPLAIN_JSON), pd.read_parquet(path / EXPLAIN_POINTS),
                                                       clusters.labels)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"the saved run '{path.name}' is damaged or from an incompatible version "
                         f"({_relative_reason(exc, path)}); save it again.") from exc
    return result


def save_names(path: str | Path, names: dict[int, str]) -> None:
    """Store cluster names a person gave in the saved run at ``path`` (its ``explain.json``), atomically
    (written beside, then renamed over). The run must have an explanation."""
    import pandas as pd

    from explorer.explain import Explanation

    path = Path(path)
    target = path / EXPLAIN_JSON
    if not target.is_file():
        raise InputError("this run has no cluster explanation to name; explain it first.")
    doc = read_json(target)
    ex = Explanation.from_dict(doc, pd.read_parquet(path / EXPLAIN_POINTS), np.zeros(0))
    ex.rename(names)
    doc["clusters"] = ex.to_dict()["clusters"]
    tmp = path / f"{TMP_PREFIX}{EXPLAIN_JSON}"
    write_json(tmp, doc)
    os.replace(tmp, target)


def name_saved_run(run_id: str, names: dict[int, str], root: str | Path | None = None) -> None:
    """:func:`save_names` for the saved run ``run_id`` under ``root``, a folder or an object store."""
    where = resolve_root(root)
    if isinstance(where, str):
        from explorer.runs.store import update_in_store

        update_in_store(where, check_run_id(run_id), lambda folder: save_names(folder, names))
        return
    folder = run_dir(where, run_id)
    if not folder.is_dir():
        raise RunNotFound(f"no saved run '{run_id}'.")
    save_names(folder, names)


def _relative_reason(exc: BaseException, path: Path) -> str:
    """What went wrong, naming files relative to the run's folder: a message may be shown to visitors
    of a hosted dashboard, who have no business knowing where the server keeps its runs."""
    from explorer.display.usertext import redact_paths

    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, (KeyError, TypeError)) else str(exc)
    folders = {str(path.parent), str(path.parent.resolve()), str(path.parent.absolute())}
    return redact_paths(text, folders).replace("…" + os.sep, "").replace("…/", "")


def delete_run(run_id: str, root: str | Path | None = None) -> None:
    """Remove the saved run ``run_id`` under ``root`` (on a store: its manifest first, so it is gone at once)."""
    where = resolve_root(root)
    if isinstance(where, str):
        from explorer.runs.store import delete_from_store

        delete_from_store(where, check_run_id(run_id))
        return
    d = run_dir(where, run_id)
    if not d.is_dir():
        raise RunNotFound(f"no saved run '{run_id}'.")
    shutil.rmtree(d)
