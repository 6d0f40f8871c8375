"""Loaders: a file (or bytes, or an upload, or a folder) -> :class:`~explorer.dataset.Dataset`.

``load`` picks the loader by the file's extension (:mod:`explorer.data.dispatch`):

- tables: .csv .tsv .txt .tab, .parquet .pq (a Parquet of vectors is read as embeddings)
- images: .zip, .png .jpg .jpeg .bmp .gif .webp .tif .tiff, a folder, or a list of files
- arrays: .npy .npz (never unpickled)

Every problem with the input raises :class:`~explorer.errors.InputError` (or its subclass
:class:`~explorer.errors.LimitError` when a cap in :class:`~explorer.limits.Limits` is hit) whose
message says what to do.

The modules, from the ground up: words, guards, files, labels, scaling (small shared pieces);
budgets (what a file costs, from its metadata), csv_dialect, streamed, reading (a table file ->
DataFrame); profiles (what each column holds); text_models (WordLlama from its wheel); encoder_dates,
encoder_text, encoder_columns, encoder_report, encoder (the one table encoder); tables, imagefiles, images,
arrays (the loaders); sources (paths and URLs the server opens); dispatch (which loader); preprocessing (a run's
record, and new data prepared by it).
This package only re-exports.
"""

from __future__ import annotations

from explorer.data.arrays import load_array, load_vectors_parquet
from explorer.data.dispatch import SAMPLES, load, load_from_server, load_sample
from explorer.data.encoder import TableEncoder
from explorer.data.files import SUPPORTED_EXTENSIONS, ServerFile, sniff_kind
from explorer.data.guards import LoadStopped
from explorer.data.images import ImageOptions, load_images
from explorer.data.scaling import SCALINGS
from explorer.data.sources import SourcePolicy, open_source
from explorer.data.tables import TableOptions, load_table, read_table_preview
from explorer.dataset import Dataset
from explorer.limits import Limits

__all__ = [
    "SCALINGS",
    "Dataset",
    "ImageOptions",
    "Limits",
    "LoadStopped",
    "SAMPLES",
    "SUPPORTED_EXTENSIONS",
    "ServerFile",
    "SourcePolicy",
    "TableEncoder",
    "TableOptions",
    "load",
    "load_from_server",
    "open_source",
    "load_array",
    "load_images",
    "load_sample",
    "load_table",
    "load_vectors_parquet",
    "read_table_preview",
    "sniff_kind",
]
