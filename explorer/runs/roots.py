"""Where runs are kept: a local folder, or an object store's URL (:mod:`explorer.runs.store`)."""

from __future__ import annotations

import os
from pathlib import Path

from explorer.runs.ids import DEFAULT_ROOT_ENV
from explorer.runs.store import is_url, local_folder


def default_root() -> Path | str:
    """Where runs are kept: $EXPLORER_RUNS_DIR, else ./runs; a URL (``s3://bucket/runs``) stays text."""
    value = os.environ.get(DEFAULT_ROOT_ENV, "runs")
    return value if is_url(value) else Path(value).expanduser()


def resolve_root(root: str | Path | None) -> Path | str:
    """``root`` (None: :func:`default_root`) as a local folder (a ``Path``), or as the URL of an object
    store (a ``str``); ``file://`` URLs are folders, written and renamed into place like any other."""
    root = default_root() if root is None else root
    if is_url(root):
        return local_folder(str(root)) or str(root)
    return Path(root)
