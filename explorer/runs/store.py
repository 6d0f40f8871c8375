"""Runs kept on object storage (S3, GCS, Azure, memory, ...) through fsspec.

An object store has no atomic rename of a folder, so a run is published the other way round: its files
are written under ``<root>/<run_id>/`` first, then a small manifest (``_manifest.json``: the run id,
each file's name and size) is written last. A run without its manifest is not there yet: listing,
loading and deleting all ignore it, so a save killed midway leaves nothing a reader sees; the files it
left are removed by a later save once a day old. Deleting removes the manifest first.

``file://`` URLs are local folders and go the local way (:mod:`explorer.runs.files`: written under a hidden
name, then renamed into place). fsspec itself comes with PyTorch; a store needs its own package
(``pip install "explorer[s3]"`` for s3://, ``explorer[gcs]`` for gs://, ``explorer[azure]`` for az://).
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from explorer.errors import InputError, RunNotFound

if TYPE_CHECKING:  # pragma: no cover
    from fsspec import AbstractFileSystem

MANIFEST = "_manifest.json"  # written last; a run folder without it is a save not finished
FILE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")  # what a run's file may be called (no / or ..)
URL = re.compile(r"\A[A-Za-z][A-Za-z0-9+.-]*://")
# protocol -> the explorer extra that installs its fsspec package (pyproject.toml)
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}


def is_url(root: object) -> bool:
    """True for an fsspec URL such as ``s3://bucket/runs`` or ``memory://runs`` (not a local path)."""
    return isinstance(root, str) and bool(URL.match(root))


def open_store(url: str) -> tuple["AbstractFileSystem", str]:
    """(filesystem, path inside it) for ``url``; a clear error when its package is missing."""
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover  (fsspec comes with torch)
        raise InputError("runs on object storage need fsspec: pip install fsspec.") from exc
    protocol = url.split("://", 1)[0].lower()
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        extra = EXTRAS.get(protocol)
        hint = f'pip install "explorer[{extra}]"' if extra else "install the fsspec package for it"
        raise InputError(f"keeping runs at {protocol}:// needs a package that is not installed ({exc}); {hint}.") from exc
    except ValueError as exc:
        raise InputError(f"'{protocol}://' is not a storage fsspec knows; use a folder, file://, s3://, gs://, ...") from exc
    return fs, path.rstrip("/") or "/"


def local_folder(url: str) -> Path | None:
    """The local folder a ``file://`` URL names (it is saved to and read like any folder), else None."""
    from fsspec.implementations.local import LocalFileSystem

    fs, path = open_store(url)
    return Path(path) if isinstance(fs, LocalFileSystem) else None


def _join(base: str, *names: str) -> str:
    return "/".join([base.rstrip("/"), *names])


def run_url(root: str, run_id: str) -> str:
    return _join(root, run_id)


# -- writing -------------------------------------------------------------------------------------------
def save_to_store(root: str, run_id: str, write: Callable[[Path], None]) -> str:
    """Publish a run under the store URL ``root``: ``write(folder)`` fills a local scratch folder with the
    run's files, which are copied to ``<root>/<run_id>/``, then the manifest is written last.
    Returns the run's URL."""
    from explorer.runs.ids import STALE_TMP_S

    fs, base = open_store(root)
    cleanup_unpublished(root, STALE_TMP_S)
    scratch = Path(tempfile.mkdtemp(prefix="explorer-run-"))
    target = _join(base, run_id)
    try:
        write(scratch)
        files = sorted(p for p in scratch.iterdir() if p.is_file())
        fs.makedirs(target, exist_ok=True)
        for p in files:
            fs.put_file(str(p), _join(target, p.name))
        manifest = {"run_id": run_id, "files": {p.name: p.stat().st_size for p in files}, "published": time.time()}
        fs.pipe_file(_join(target, MANIFEST), json.dumps(manifest).encode())
    except BaseException:
        _remove(fs, target)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return run_url(root, run_id)


def _remove(fs: "AbstractFileSystem", path: str) -> None:
    try:
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except (OSError, FileNotFoundError):  # the store went away: the files stay hidden without a manifest
        pass


# -- reading -------------------------------------------------------------------------------------------
def manifest(fs: "AbstractFileSystem", base: str, run_id: str) -> dict[str, Any] | None:
    """The published run's manifest, or None (not there, not finished, or not a manifest)."""
    from explorer.runs.ids import check_run_id

    check_run_id(run_id)
    try:
        doc = json.loads(fs.cat_file(_join(base, run_id, MANIFEST)))
    except (OSError, FileNotFoundError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("run_id") != run_id or not isinstance(doc.get("files"), dict):
        return None
    if not all(isinstance(k, str) and FILE_NAME.fullmatch(k) for k in doc["files"]):
        return None  # a manifest naming paths is not one this package wrote
    return doc


def _published(fs: "AbstractFileSystem", base: str) -> list[str]:
    """The run ids under ``base`` whose manifest is there."""
    from explorer.runs.ids import RUN_ID_PATTERN

    try:
        names = [str(p).rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(base, detail=False)]
    except (OSError, FileNotFoundError):
        return []
    return [n for n in names if RUN_ID_PATTERN.fullmatch(n) and manifest(fs, base, n) is not None]


def list_store(root: str) -> list[dict[str, Any]]:
    """Summaries of the published runs under ``root`` (as :func:`explorer.runs.files.list_runs` gives them)."""
    fs, base = open_store(root)
    out = []
    for run_id in _published(fs, base):
        try:
            cfg = json.loads(fs.cat_file(_join(base, run_id, "config.json")))
            metrics = json.loads(fs.cat_file(_join(base, run_id, "metrics.json")))
        except (OSError, FileNotFoundError, ValueError):
            continue
        out.append({"run_id": run_id, "created": cfg.get("created"), "name": cfg.get("name"), "dataset": cfg.get("dataset", {}),
                    "pipeline": cfg.get("pipeline", {}), "metrics": metrics, "path": run_url(root, run_id)})
    return sorted(out, key=lambda r: r.get("created") or "", reverse=True)


def load_from_store(root: str, run_id: str, load: Callable[[Path], Any]) -> Any:
    """``load(folder)`` on a local copy of the published run ``run_id`` under ``root``."""
    fs, base = open_store(root)
    doc = manifest(fs, base, run_id)
    if doc is None:
        raise RunNotFound(f"no saved run '{run_id}'; it may have been deleted, or the link is wrong.")
    scratch = Path(tempfile.mkdtemp(prefix="explorer-run-"))
    try:
        folder = scratch / run_id
        folder.mkdir()
        for name, size in doc["files"].items():
            fs.get_file(_join(base, run_id, name), str(folder / name))
            if (folder / name).stat().st_size != size:
                raise InputError(f"the saved run '{run_id}' is damaged ({name} is not the size its manifest says); save it again.")
        return load(folder)
    except FileNotFoundError as exc:
        raise InputError(f"the saved run '{run_id}' is damaged (a file its manifest names is missing); save it again.") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def update_in_store(root: str, run_id: str, change: Callable[[Path], None]) -> None:
    """``change(folder)`` on a local copy of the published run, then the files it changed or added are
    put back and the manifest rewritten last (each object is replaced whole, as the store does)."""
    fs, base = open_store(root)

    def apply(folder: Path) -> None:
        before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        change(folder)
        files = sorted(p for p in folder.iterdir() if p.is_file() and FILE_NAME.fullmatch(p.name))
        for p in files:
            if before.get(p.name) != p.read_bytes():
                fs.put_file(str(p), _join(base, run_id, p.name))
        doc = {"run_id": run_id, "files": {p.name: p.stat().st_size for p in files}, "published": time.time()}
        fs.pipe_file(_join(base, run_id, MANIFEST), json.dumps(doc).encode())

    load_from_store(root, run_id, apply)


def delete_from_store(root: str, run_id: str) -> None:
    """Unpublish (the manifest goes first), then remove the run's files."""
    fs, base = open_store(root)
    if manifest(fs, base, run_id) is None:
        raise RunNotFound(f"no saved run '{run_id}'.")
    fs.rm_file(_join(base, run_id, MANIFEST))
    _remove(fs, _join(base, run_id))


def cleanup_unpublished(root: str, older_than_s: float) -> list[str]:
    """Remove the files of saves that never wrote their manifest, when the newest of them is more than
    ``older_than_s`` seconds old (a save still running elsewhere is left alone); returns their URLs.
    Stores that do not say when a file was written keep such files (they stay hidden)."""
    from explorer.runs.ids import RUN_ID_PATTERN

    fs, base = open_store(root)
    try:
        names = [str(p).rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(base, detail=False)]
    except (OSError, FileNotFoundError):
        return []
    removed, now = [], time.time()
    for name in names:
        folder = _join(base, name)
        if not RUN_ID_PATTERN.fullmatch(name) or fs.exists(_join(folder, MANIFEST)):
            continue
        try:
            stamps = [fs.modified(p).timestamp() for p in fs.find(folder)]
        except (NotImplementedError, OSError, FileNotFoundError, AttributeError):
            continue
        if stamps and now - max(stamps) >= older_than_s:
            _remove(fs, folder)
            removed.append(run_url(root, name))
    return removed
