"""One part of a run as the bytes of a file, for a download or to copy elsewhere: its points (a table,
CSV), its latent space (Parquet), its model (safetensors), the whole run folder (zip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import InputError
from explorer.runs.ids import check_run_id, run_dir
from explorer.runs.jsonio import json_text
from explorer.runs.roots import resolve_root


def points_table(result) -> Any:
    """The points of a run as a DataFrame (n rows): id, cluster, x, y, (z), anomaly, confidence (soft
    clusterings), label (when known), fitted (large data only): what ``points.parquet`` holds."""
    import pandas as pd

    ds = result.dataset
    cols: dict[str, Any] = {"id": np.asarray(ds.ids).astype(str), "cluster": result.clusters.labels.astype(np.int64)}
    for i, axis in enumerate("xyz"[: result.embedding.shape[1]]):
        cols[axis] = result.embedding[:, i].astype(np.float32)
    cols["anomaly"] = result.anomaly.astype(np.float32)
    if result.clusters.proba is not None:
        cols["confidence"] = result.clusters.proba.max(axis=1).astype(np.float32)
    if ds.labels is not None:
        cols["label"] = np.asarray(ds.labels).astype(str)
    if getattr(result, "fitted", None) is not None:  # large data: which rows were fitted, which placed
        cols["fitted"] = np.asarray(result.fitted, dtype=bool)
    return pd.DataFrame(cols)


def curated_names(result) -> dict[int, str]:
    """cluster (``0..k-1``) -> the name a person gave it while curating, for a run made by
    :func:`explorer.curate.curated_result` (and one saved from it); empty for a run's own clusters."""
    return {i: str(name) for i, name in enumerate(_curated(result).get("names", [])) if name}


def _curated(result) -> dict:
    return (getattr(result.clusters, "info", None) or {}).get("curated") or {}


def named_points(result) -> Any:
    """:func:`points_table` with each cluster's name (``cluster_name``, from the run's explanation,
    as a person named it or as made; for curated clusters not explained yet, the names given while curating)
    beside its number: what exports carry."""
    table = points_table(result)
    ex = getattr(result, "explanation", None)
    names = ex.names if ex is not None else curated_names(result)
    if ex is not None or _curated(result):
        shown = [names.get(int(c), "noise" if c < 0 else f"cluster {c}") for c in table["cluster"]]
        table.insert(2, "cluster_name", shown)
    return table


def points_csv(result, index: np.ndarray | None = None) -> bytes:
    """The points (id, cluster, cluster_name, x, y, anomaly, label, confidence) as CSV; only the rows
    ``index`` if given.

    Safe to open in a spreadsheet: an id or label that would run as a formula (``=``, ``+``, ``-``,
    ``@``, tab, CR first) gets a leading ``'``; the number columns are written as numbers.
    """
    from explorer.display.usertext import csv_bytes

    table = named_points(result)
    if index is not None:
        table = table.iloc[np.asarray(index)]
    return csv_bytes(table)


def latent_parquet(result) -> bytes:
    """The latent space as Parquet: an ``id`` column, then ``z0 .. z{k-1}`` float32, then ``cluster``."""
    import io

    import pandas as pd

    Z = np.asarray(result.Z, np.float32)
    frame = pd.DataFrame(Z, columns=[f"z{i}" for i in range(Z.shape[1])])
    frame.insert(0, "id", np.asarray(result.dataset.ids).astype(str))
    frame["cluster"] = result.clusters.labels.astype(np.int64)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def model_safetensors(result) -> bytes:
    """The fitted reducer as one safetensors file; its kind, parameters and meta ride along as JSON in
    the file's metadata (``explorer_model``), so the file alone can rebuild the model."""
    from safetensors.numpy import save

    if result.reducer is None:
        raise InputError("this run has no trained model (the features were used as they are).")
    meta, tensors = result.reducer.export_state()
    header = {"kind": result.config.model.kind, "params": result.reducer.export_params(), "meta": meta}
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    return save(arrays, metadata={"explorer_model": json_text(header)})


def zip_run(path: str | Path) -> bytes:
    """The whole run folder as a zip archive, in memory (for a download button)."""
    import io
    import zipfile

    path = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(path.iterdir()):
            if p.is_file():
                zf.write(p, arcname=f"{path.name}/{p.name}")
    return buf.getvalue()


def zip_saved_run(run_id: str, root: str | Path | None = None) -> bytes:
    """:func:`zip_run` of the saved run ``run_id`` under ``root``, a folder or an object store."""
    where = resolve_root(root)
    if isinstance(where, str):
        from explorer.runs.store import load_from_store

        return load_from_store(where, check_run_id(run_id), zip_run)
    return zip_run(run_dir(where, run_id))
