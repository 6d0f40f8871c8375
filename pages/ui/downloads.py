"""Download buttons that never wait on a round trip made at click time.

Streamlit's click-time ("deferred") download asks the server for the file when the button is clicked; a
rerun landing during that round trip can leave it pending, the button spinning and no file coming (seen in
CI on the Share page). So a file is either made with the page, where that is cheap (up to
``max_eager_download_rows`` rows, :class:`explorer.limits.Limits`), or made when the user asks with a
"Prepare" button, kept in the session, and then downloaded through a plain link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from explorer.limits import Limits

from . import feedback

EAGER_ROWS = Limits.from_env().max_eager_download_rows  # files up to this many rows: made with the page (milliseconds)
_PREPARED = "_prepared_downloads"  # session key: {download key: (owner's tokens, bytes, owner)}


def _token(part: Any) -> Any:
    """What identifies one part of a file's owner: a digest for arrays (a selection is a new array on
    every rerun), the value for plain values, else the object's identity."""
    if isinstance(part, np.ndarray):
        return ("array", part.shape, hashlib.blake2b(np.ascontiguousarray(part).tobytes(), digest_size=16).hexdigest())
    if part is None or isinstance(part, (str, int, float, bool, bytes)):
        return part
    return ("object", id(part))  # the kept file holds the object itself, so its id is not reused meanwhile


def _owner(parts: tuple) -> tuple:
    return tuple(_token(p) for p in parts)


def download(
    label: str,
    make: Callable[[], bytes | str],
    *,
    rows: int,
    owner: tuple,
    key: str,
    file_name: str,
    mime: str,
    where: Any = None,
    help: str | None = None,
    disabled: bool = False,
) -> None:
    """A download button for what ``make()`` returns.

    ``rows``: the file's size in rows; up to ``EAGER_ROWS`` the file is made now, with the page. Above,
    a "Prepare" button makes it (an error becomes a message, the page carries on); the button then
    downloads it. ``owner``: what the file is made from (the run, the selected rows): a prepared file is
    offered only while the page shows the same, and preparing another file of another owner lets the
    old ones go. ``where``: a column or container (default: the page)."""
    where = st if where is None else where
    common = {"file_name": file_name, "mime": mime, "icon": "⬇️", "help": help, "key": f"download:{key}"}
    if disabled:
        where.download_button(label, data=b"", disabled=True, **common)
        return
    if rows <= EAGER_ROWS:  # made now, with the page
        data = None
        with feedback.guard(label):
            data = make()
        if data is not None:  # else it failed: the message is on the page
            where.download_button(label, data=data, **common)
        return
    tokens = _owner(owner)
    kept = st.session_state.get(_PREPARED, {}).get(key)
    data = kept[1] if kept is not None and kept[0] == tokens else None
    if data is None:
        where = where.empty()  # one slot: the download button, once made, takes the Prepare button's place
        ask = where.button(
            f"Prepare: {label}",
            key=f"prepare:{key}",
            icon="⚙️",
            help=f"{rows:,} rows: the file is made when you ask for it, then downloaded from here.",
        )
        if not ask:
            return
        with feedback.guard(label), st.spinner("Making the file…"):
            data = make()
            others = {k: v for k, v in st.session_state.get(_PREPARED, {}).items() if v[0] == tokens}
            st.session_state[_PREPARED] = {**others, key: (tokens, data, owner)}
        if data is None:
            return
    where.download_button(label, data=data, **common)
