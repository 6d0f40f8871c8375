"""Widgets that keep their value across pages.

Each helper seeds its key with the default (or resets a stored value the options no longer hold) and
creates the widget with ``persist_state="session"``, so a choice survives visits to other pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

PERSIST_PREFIX = "p:"  # keys of the widgets whose value lasts the whole session


def pkey(*parts: Any) -> str:
    """The key of a persisting widget, from its name and what it belongs to (a dataset, a run)."""
    return PERSIST_PREFIX + ":".join(str(p) for p in parts)


def _seed(key: str, default: Any, valid=None) -> None:
    if key not in st.session_state or (valid is not None and not valid(st.session_state[key])):
        st.session_state[key] = default


def selectbox(label: str, options: Sequence[Any], key: str, default: Any = None, **kw) -> Any:
    options = list(options)
    _seed(key, default if default in options else options[0], lambda v: v in options)
    return st.selectbox(label, options, key=key, **kw, persist_state="session")


def radio(label: str, options: Sequence[Any], key: str, default: Any = None, **kw) -> Any:
    options = list(options)
    _seed(key, default if default in options else options[0], lambda v: v in options)
    return st.radio(label, options, key=key, **kw, persist_state="session")


def multiselect(label: str, options: Sequence[Any], key: str, default: Sequence[Any] = (), **kw) -> list:
    options = list(options)
    _seed(key, [d for d in default if d in options], lambda v: isinstance(v, list) and all(x in options for x in v))
    return st.multiselect(label, options, key=key, **kw, persist_state="session")


def number(label: str, key: str, default: float | int, *, min_value=None, max_value=None, **kw):
    def ok(v):
        return (
            isinstance(v, (int, float))
            and (min_value is None or v >= min_value)
            and (max_value is None or v <= max_value)
        )

    _seed(key, default, ok)
    return st.number_input(label, key=key, min_value=min_value, max_value=max_value, **kw, persist_state="session")


def text(label: str, key: str, default: str, **kw) -> str:
    _seed(key, default, lambda v: isinstance(v, str))
    return st.text_input(label, key=key, **kw, persist_state="session")


def checkbox(label: str, key: str, default: bool, **kw) -> bool:
    _seed(key, default, lambda v: isinstance(v, bool))
    return st.checkbox(label, key=key, **kw, persist_state="session")


def slider(label: str, key: str, default: int, min_value: int, max_value: int, **kw) -> int:
    _seed(key, default, lambda v: isinstance(v, int) and min_value <= v <= max_value)
    return st.slider(label, min_value=min_value, max_value=max_value, key=key, **kw, persist_state="session")
