"""Data loading for the Data page, cached by what was loaded and how (``st.cache_data``)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from explorer.dashboard.workspace import Workspace

DEFAULT_SAMPLE = "penguins"
SAMPLE_LABELS = {"penguins": "species"}  # the label column each bundled table sample comes with


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def table_preview(source_key: str, _data: Any, name: str):
    """(rows, column summary) of a table, before loading it (cached per upload)."""
    from explorer.data import read_table_preview
    from explorer.limits import Limits

    return read_table_preview(_data, name, nrows=10_000, limits=Limits.from_env())


@st.cache_data(max_entries=8, show_spinner="Loading the data…")
def load_dataset(source_key: str, _data: Any, name: str, table: tuple | None, images: tuple | None):
    """The Dataset of one source with the given options (cached per upload and options).

    ``table`` = (label, id, columns or None, scaling); ``images`` = (mode, max_side).
    """
    from explorer.data import ImageOptions, TableOptions, load
    from explorer.limits import Limits

    t = None if table is None else TableOptions(label_column=table[0], id_column=table[1],
                                                columns=None if table[2] is None else list(table[2]), scaling=table[3])
    i = None if images is None else ImageOptions(mode=images[0], max_side=int(images[1]))
    return load(_data, name=name, table=t, images=i, limits=Limits.from_env())


def sample_source(name: str) -> tuple[str, str, bytes]:
    """(source key, file name, bytes) of a bundled sample."""
    from explorer.data import SAMPLES

    path = SAMPLES[name]
    return f"sample:{name}", path.name, path.read_bytes()


def default_table_options(sample: str | None) -> tuple:
    """(label, id, columns, scaling) a table starts with: a bundled sample's label column, else none."""
    return (SAMPLE_LABELS.get(sample or ""), None, None, "auto")


def load_default_sample(ws: Workspace) -> None:
    """Load the default sample with its default options (what the Data page shows first)."""
    key, name, data = sample_source(DEFAULT_SAMPLE)
    ws.set_dataset(load_dataset(key, data, name, default_table_options(DEFAULT_SAMPLE), None), f"sample {DEFAULT_SAMPLE}")
    loaded_with((key, default_table_options(DEFAULT_SAMPLE), None))


def loaded_with(key: tuple | None = None) -> tuple | None:
    """The (source, options) the session's dataset was loaded with; set it when ``key`` is given."""
    if key is not None:
        st.session_state["load_key"] = key
    return st.session_state.get("load_key")
