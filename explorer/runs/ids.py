"""Run ids: 128 random bits, URL-safe, checked before any path is made from one."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from explorer.errors import RunNotFound


# \A...\Z, not ^...$: "$" also matches before a final newline, so "<id>\n" passed re.match; checked
# with fullmatch, and strict even where someone calls .match
RUN_ID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{22}\Z")
DEFAULT_ROOT_ENV = "EXPLORER_RUNS_DIR"
TMP_PREFIX = ".tmp-"  # a run being written; hidden, never listed, never a valid run id
STALE_TMP_S = 24 * 3600.0  # a save left unfinished this long ago was killed: its folder is removed


def new_run_id() -> str:
    """22 URL-safe characters holding about 126 random bits, starting with a letter or digit.

    An id that began with ``-`` read as an option on a command line (``explorer compare -x... y``), so the first
    character is drawn again until it is alphanumeric (ids made before this still load).
    """
    while True:
        run_id = secrets.token_urlsafe(16)[:22]
        if run_id[0].isalnum():
            return run_id


def check_run_id(run_id: str) -> str:
    """The id if it has the shape of a run id, else RunNotFound (never a path outside the root)."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise RunNotFound("this is not a valid run id; check the link (run ids are 22 letters, digits, - or _).")
    return run_id


def run_dir(root: str | Path, run_id: str) -> Path:
    return Path(root) / check_run_id(run_id)

