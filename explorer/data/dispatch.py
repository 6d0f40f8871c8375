"""Which loader reads a source: :func:`load` picks it by the file's extension (and looks inside a
Parquet file: vectors or a table), :func:`load_from_server` opens a path or URL first, and
:func:`load_sample` reads one of the bundled samples."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from explorer.data.arrays import load_array, load_vectors_parquet, parquet_holds_vectors
from explorer.data.files import ServerFile, Source, extension, is_path, sniff_kind, source_name
from explorer.data.images import ImageOptions, load_images
from explorer.data.reading import table_input
from explorer.data.sources import ReadProgress, SourcePolicy, open_source
from explorer.data.tables import TableOptions, load_table
from explorer.dataset import Dataset
from explorer.errors import InputError
from explorer.events import StopCheck
from explorer.limits import Limits

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLES: dict[str, Path] = {
    "penguins": SAMPLE_DIR / "penguins.csv",
    "mnist_digits": SAMPLE_DIR / "mnist_digits.zip",
    "clipart": SAMPLE_DIR / "clipart.zip",
}


def load(
    source: Source | list[Source],
    *,
    name: str | None = None,
    table: TableOptions | None = None,
    images: ImageOptions | None = None,
    limits: Limits | None = None,
    should_stop: StopCheck | None = None,
) -> Dataset:
    """Load any supported source as a Dataset, choosing the loader by the file's extension.

    ``source`` is a path (a file or a folder of images), bytes, a binary file object (such as an
    upload; its ``.name`` gives the format), a :class:`~explorer.data.files.ServerFile` (a path or
    URL the server opened with :func:`~explorer.data.sources.open_source`: tables are streamed from
    it and ``max_upload_bytes`` does not apply) or a list of those (several images). ``name`` gives
    the file name when ``source`` is bytes. ``table`` and ``images`` are the options of those loaders.

    Every cap of ``limits`` that metadata can answer (rows, columns, decoded bytes, pixels, the
    compression ratio) is checked before the data is decoded. ``should_stop()`` (optional: a Stop
    button) and ``limits.max_load_seconds`` are checked between images, batches of rows and columns;
    they end the load with :class:`~explorer.data.guards.LoadStopped` and :class:`LimitError`.
    """
    limits = limits or Limits()
    if isinstance(source, (list, tuple)) or (is_path(source) and os.path.isdir(source)):
        return load_images(source, name, images, limits, should_stop=should_stop)
    fname = source_name(source, name)
    kind = sniff_kind(fname) if not is_path(source) else sniff_kind(source)
    if kind == "images":
        return load_images(source, name, images, limits, should_stop=should_stop)
    if kind == "array":
        return load_array(source, name, limits, should_stop=should_stop)
    if extension(fname) in (".parquet", ".pq"):
        fname, data = table_input(source, name, limits)  # a path or a server's file stays a file
        try:
            if parquet_holds_vectors(data):
                options = table or TableOptions()
                return load_vectors_parquet(
                    data, fname, limits, label_column=options.label_column, id_column=options.id_column
                )
            return load_table(data, fname, table, limits, should_stop=should_stop)
        finally:
            if is_path(source) and isinstance(data, ServerFile):  # opened here, for the path
                data.close()
    return load_table(source, name, table, limits, should_stop=should_stop)


def load_from_server(
    spec: str,
    *,
    table: TableOptions | None = None,
    images: ImageOptions | None = None,
    limits: Limits | None = None,
    policy: SourcePolicy | None = None,
    on_progress: ReadProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Dataset:
    """:func:`~explorer.data.sources.open_source` then :func:`load` (``table``, ``images``: their
    options), closing the file whatever happens; returns the Dataset. What a dashboard job runs."""
    limits = limits or Limits()
    source = open_source(spec, limits, on_progress, policy=policy)
    try:
        return load(source, table=table, images=images, limits=limits, should_stop=should_stop)
    finally:
        if isinstance(source, ServerFile):
            source.close()


def load_sample(name: str, limits: Limits | None = None) -> Dataset:
    """One of the bundled samples (see ``SAMPLES`` and sample_data/README.md) as a Dataset.

    "penguins": 344 penguins x 7 columns, labelled by species. "mnist_digits": 3,000 MNIST test
    digits (28x28 gray), labelled by their folder (the digit). "clipart": 150 colour clip art pictures (64x64) of
    birds, bugs, flowers, fruit and vehicles, labelled by their folder.
    """
    if name not in SAMPLES:
        raise InputError(f"there is no sample named '{name}'; choose one of: {', '.join(SAMPLES)}.")
    path = SAMPLES[name]
    if not path.is_file():
        raise InputError(f"the sample file {path} is missing; restore sample_data/ from the repository.")
    if name == "penguins":
        return load(path, table=TableOptions(label_column="species"), limits=limits)
    return load(path, limits=limits)
