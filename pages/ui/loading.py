"""Data loading for the Data page: bundled samples on the page's thread (cached, ``st.cache_data``),
uploads as a background job with a time cap and a Stop button (``explorer.dashboard.data.start_load``),
within the session's upload budget; a path or URL on the server (when the operator allows one, see
``explorer.data.sources``) as the same kind of job, with the bytes read as its progress."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from explorer.dashboard.data import start_load
from explorer.dashboard.messages import visitor_text
from explorer.dashboard.workspace import JobKind, Workspace
from explorer.display.usertext import markdown_text

DEFAULT_SAMPLE = "penguins"
SAMPLE_LABELS = {"penguins": "species"}  # the label column each bundled table sample comes with


PROGRESS_EVERY_S = 0.5  # a server read reports its progress to the job at most this often


@dataclass(frozen=True)
class ServerSpec:
    """A path or URL on the server that the user named and the operator's policy let through:
    ``spec`` as typed, ``name`` of the file (or folder), ``kind`` the loader that reads it."""

    spec: str
    name: str
    kind: str


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def table_preview(source_key: str, _data: Any, name: str):
    """(rows, column summary) of a table, before loading it (cached per upload or server file;
    a server file is read only as far as the preview's rows)."""
    from explorer.data import read_table_preview
    from explorer.data.sources import ServerFile, open_source
    from explorer.limits import Limits

    limits = Limits.from_env()
    if not isinstance(_data, ServerSpec):
        return read_table_preview(_data, name, nrows=10_000, limits=limits)
    source = open_source(_data.spec, limits)
    try:
        return read_table_preview(source, name, nrows=10_000, limits=limits)
    finally:
        if isinstance(source, ServerFile):
            source.close()


def server_policy():
    """The operator's :class:`~explorer.data.sources.SourcePolicy` when it allows anything, else None
    (a bad setting is an error box for the operator to fix, and nothing is allowed)."""
    from explorer.data.sources import SourcePolicy
    from explorer.errors import InputError

    try:
        policy = SourcePolicy.from_env()
    except InputError as exc:
        st.error(visitor_text(exc))
        return None
    return policy if policy.enabled else None


def server_source(spec: str) -> tuple[str, str, ServerSpec] | None:
    """(source key, name, ServerSpec) of the path or URL the user typed, checked by opening it (and
    closing it again); refused or missing: an error box that says why, and None."""
    from explorer.data import sniff_kind
    from explorer.data.sources import ServerFile, open_source
    from explorer.errors import InputError
    from explorer.limits import Limits

    try:
        source = open_source(spec, Limits.from_env())
        if isinstance(source, ServerFile):
            name, stamp = source.name, "" if source.size is None else f":{source.size}"  # changed size: read again
            source.close()
            kind = sniff_kind(name)
        else:  # a folder of images
            name, stamp, kind = source.name, f":{_mtime(source)}", "images"
    except InputError as exc:
        st.error(visitor_text(exc))
        return None
    return f"server:{spec}{stamp}", name, ServerSpec(spec.strip(), name, kind)


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0


def options(table: tuple | None, images: tuple | None):
    """(TableOptions or None, ImageOptions or None) from the page's plain tuples:
    ``table`` = (label, id, columns or None, scaling, text embedding, text weight); ``images`` = (mode, max_side)."""
    from explorer.data import ImageOptions, TableOptions

    t = (
        None
        if table is None
        else TableOptions(
            label_column=table[0],
            id_column=table[1],
            columns=None if table[2] is None else list(table[2]),
            scaling=table[3],
            text_embedding=table[4],
            text_weight=float(table[5]),
        )
    )
    i = None if images is None else ImageOptions(mode=images[0], max_side=int(images[1]))
    return t, i


@st.cache_data(max_entries=8, show_spinner="Loading the data…")
def load_dataset(source_key: str, _data: Any, name: str, table: tuple | None, images: tuple | None):
    """The Dataset of a bundled sample with the given options (cached per sample and options; the
    samples are ours and small, so they load on the page's thread)."""
    from explorer.data import load
    from explorer.limits import Limits

    t, i = options(table, images)
    return load(_data, name=name, table=t, images=i, limits=Limits.from_env())


def take_upload(files: list) -> tuple[str, object, str] | None:
    """Keep the uploaded files as the session's upload (replacing and freeing the one before), within
    ``max_session_upload_bytes`` for all of them together; returns (source key, data, name) of what is
    in use, or None when nothing is. Over the budget: an error box, and nothing is kept."""
    from explorer.errors import LimitError
    from explorer.limits import Limits

    ws = workspace_of_page()
    if files:
        key = "upload:" + "|".join(f.file_id for f in files)
        limits = Limits.from_env()
        try:
            # the sizes first: nothing over the budget is copied
            limits.check(
                "max_session_upload_bytes",
                sum(int(f.size) for f in files),
                f"these {len(files)} files hold {sum(int(f.size) for f in files):,} bytes together"
                if len(files) > 1
                else f"this file holds {int(files[0].size):,} bytes",
            )
            ws.take_upload(key, [(f.name, f.getvalue()) for f in files], limits)
        except LimitError as exc:
            ws.upload = None
            st.error(visitor_text(exc))  # it quotes the file names
            return None
    upload = ws.upload
    if upload is None:
        return None
    named = upload.files
    if not files:
        st.caption(
            f"Using your upload: {markdown_text(', '.join(n for n, _ in named[:5]))}{' …' if len(named) > 5 else ''}"
        )
    if len(named) == 1:
        return upload.key, named[0][1], named[0][0]
    sources = []
    for name, data in named:
        buf = io.BytesIO(data)
        buf.name = name
        sources.append(buf)
    return upload.key, sources, f"{len(named)} files"


def load_upload(key: str, data: Any, name: str, table: tuple | None, images: tuple | None, label: str) -> None:
    """Put the upload read with these options in use: at once when it is already, else as a job whose
    progress (with Stop) is drawn here; a failed read shows its message."""
    from explorer.limits import Limits

    from .session import job_manager

    def start(ws: Workspace, load_key: tuple, t: Any, i: Any) -> None:
        start_load(ws, job_manager(), load_key, data, name, t, i, Limits.from_env(), label)

    _load_as_job((key, table, images), table, images, start)


def load_server(key: str, data: ServerSpec, table: tuple | None, images: tuple | None, label: str) -> None:
    """Put the server's file ``data`` read with these options in use, as :func:`load_upload` does an
    upload; the job's progress is the bytes read (of the file's size, when known)."""
    from explorer.data import load_from_server
    from explorer.limits import Limits

    from .session import job_manager

    def start(ws: Workspace, load_key: tuple, t: Any, i: Any) -> None:
        manager, limits = job_manager(), Limits.from_env()
        cap = min(float(limits.max_load_seconds), ws.job_allowance(limits, manager))

        def work(job: Any) -> Any:
            return load_from_server(
                data.spec,
                table=t,
                images=i,
                limits=limits,
                on_progress=_read_progress(job),
                should_stop=job.should_stop,
            )

        job = ws.start(
            manager, JobKind.LOAD, work, name=f"Reading {data.name}", max_seconds=cap, load_key=load_key, label=label
        )
        job.grace_s = min(job.grace_s, cap)  # nothing to keep from a stopped load: cancel it soon after the cap
        ws.collect(manager)

    _load_as_job((key, table, images), table, images, start)


def _read_progress(job: Any) -> Callable[[int, int | None], None]:
    """on_progress(bytes read, size) -> the job's progress events, at most every PROGRESS_EVERY_S."""
    from explorer.events import Progress

    last = [0.0]

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S and not (total and done >= total):
            return
        last[0] = now
        of = f" of {total / 2**20:,.0f} MiB" if total else ""
        job.emit(Progress("load", f"{done / 2**20:,.0f} MiB read{of}", min(done / total, 1.0) if total else 0.0))

    return report


def _load_as_job(
    load_key: tuple, table: tuple | None, images: tuple | None, start: Callable[[Workspace, tuple, Any, Any], None]
) -> None:
    """Shared by uploads and server files: done already, failed already (said again), or started
    with ``start(ws, load_key, table options, image options)``, and its progress drawn."""
    from explorer.errors import ExplorerError

    from .progress import job_progress

    ws = workspace_of_page()
    if load_key == ws.loaded_key and ws.dataset is not None:
        return
    if ws.load_error is not None and ws.load_error[0] == load_key:
        st.error(visitor_text(ws.load_error[1]))
        return
    ticket = ws.jobs.get(JobKind.LOAD)
    if ticket is None or ticket.load_key != load_key:
        t, i = options(table, images)
        try:
            start(ws, load_key, t, i)
        except ExplorerError as exc:  # a spent budget, a bad cap setting: said once for this source
            ws.load_error = (load_key, str(exc))
    if ws.load_error is not None and ws.load_error[0] == load_key:  # failed at once (synchronous jobs)
        st.error(visitor_text(ws.load_error[1]))
        return
    job_progress(JobKind.LOAD)


def workspace_of_page() -> Workspace:
    from .session import workspace

    return workspace()


def sample_source(name: str) -> tuple[str, str, bytes]:
    """(source key, file name, bytes) of a bundled sample."""
    from explorer.data import SAMPLES

    path = SAMPLES[name]
    return f"sample:{name}", path.name, path.read_bytes()


def default_table_options(sample: str | None) -> tuple:
    """(label, id, columns, scaling, text embedding, text weight) a table starts with: a bundled sample's label
    column, else none; the loader's defaults otherwise."""
    return (SAMPLE_LABELS.get(sample or ""), None, None, "auto", "auto", 1.0)


def load_default_sample(ws: Workspace) -> None:
    """Load the default sample with its default options (what the Data page shows first)."""
    key, name, data = sample_source(DEFAULT_SAMPLE)
    ws.set_dataset(
        load_dataset(key, data, name, default_table_options(DEFAULT_SAMPLE), None), f"sample {DEFAULT_SAMPLE}"
    )
    ws.loaded_key = (key, default_table_options(DEFAULT_SAMPLE), None)


def load_sample(
    ws: Workspace, key: str, data: Any, name: str, table: tuple | None, images: tuple | None, label: str
) -> None:
    """Put a bundled sample read with these options in use (on the page's thread; cached)."""
    load_key = (key, table, images)
    if load_key == ws.loaded_key and ws.dataset is not None:
        return
    ws.set_dataset(load_dataset(key, data, name, table, images), label)
    ws.loaded_key = load_key
