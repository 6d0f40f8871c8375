"""A run's record of how its data was prepared (``preprocess.json``), and new data prepared by it.

A run made on a table keeps its fitted :class:`~explorer.data.encoder.TableEncoder` as JSON; image
runs keep the size and mode the images were brought to; embedding runs the width of the vectors.
:func:`apply_preprocessing` turns new data into features the saved model understands: tables go
through the encoder's ``transform`` (its fallbacks are stated in
:class:`~explorer.data.encoder_report.TransformReport`); images of another size or mode are resized
and converted as the loader does (recorded); vectors must have the run's width.

Records written before the encoder (version 1) are read by
:meth:`~explorer.data.encoder.TableEncoder.from_json` as they are. A table run saved before any
record was kept gets one rebuilt from its saved rows (:func:`record_preprocessing`), used only when
it gives back the run's saved features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.data.dispatch import load
from explorer.data.encoder import MissingColumns, TableEncoder
from explorer.data.encoder_columns import ENCODER_VERSION, CategoricalColumn, scaling_option
from explorer.data.encoder_report import TransformReport
from explorer.data.files import display_name, source_name
from explorer.data.guards import VALUE_BYTES, check_decoded_bytes
from explorer.data.images import ImageOptions, conform_images
from explorer.data.labels import values_to_str
from explorer.data.tables import TableOptions, read_table_preview
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError
from explorer.limits import Limits

if TYPE_CHECKING:
    import pandas as pd

PREPROCESS_FILE = "preprocess.json"
MEDIA_RECORD_VERSION = 1  # the records of image and vector runs are as explorer 0.4 wrote them (tables: version 2)
ApplyReport = TransformReport  # what applying a run's preprocessing did (the name explorer.apply shows)

__all__ = [
    "PREPROCESS_FILE",
    "ApplyReport",
    "MissingColumns",
    "apply_preprocessing",
    "raw_columns",
    "record_preprocessing",
]


# ------------------------------------------------------------------------------------------ record
def record_preprocessing(dataset: Dataset) -> dict[str, Any] | None:
    """The JSON-able record of how ``dataset`` was made from its source, or None when it can't be
    known (a table without its rows; a subset of a loaded table, which the loader's steps do not
    give back, as its numbers were scaled on all rows)."""
    if dataset.kind == "images":
        if dataset.images is None:
            return None
        _, h, w, c = dataset.images.shape
        return {
            "version": MEDIA_RECORD_VERSION,
            "kind": "images",
            "size": [int(h), int(w)],
            "mode": "L" if c == 1 else "RGB",
            "scaling": "pixels/255",
            "n_features": int(dataset.X.shape[1]),
        }
    if dataset.kind != "table":
        return {
            "version": MEDIA_RECORD_VERSION,
            "kind": "embeddings",
            "n_features": int(dataset.X.shape[1]),
            "scaling": "none",
        }
    encoder = dataset.table_encoder
    if isinstance(encoder, TableEncoder) and encoder.feature_names_ == list(dataset.feature_names):
        return encoder.to_json()
    rebuilt = _rebuild_encoder(dataset)
    return None if rebuilt is None else rebuilt.to_json()


def _rebuild_encoder(dataset: Dataset) -> TableEncoder | None:
    """For a table run saved before explorer kept its encoder: fit one on the saved rows with the
    options its report implies, kept only when it gives back the saved features (to float32)."""
    df, report = dataset.table, dataset.report
    if df is None or report.scaling not in ("standard", "minmax", "shared", "none"):
        return None
    columns = list(
        dict.fromkeys(
            name.split("=", 1)[0] if "=" in name and name.split("=", 1)[0] in report.encoded else name
            for name in dataset.feature_names
        )
    )
    if any(c not in df.columns for c in columns):
        return None
    encoder = TableEncoder(
        columns=columns,
        label_column=_matching_column(df, dataset.labels),
        id_column=_matching_column(df, dataset.ids, ids=True),
        scaling=scaling_option(report.scaling, bool(report.transformed)),
        drop_row_numbers=False,
    )
    try:
        X, _ = encoder.fit_transform(df)
    except InputError:
        return None
    if X.shape != dataset.X.shape or not np.allclose(X, dataset.X, rtol=1e-5, atol=1e-5):
        return None
    return encoder


def _matching_column(df: pd.DataFrame, values: np.ndarray | None, ids: bool = False) -> str | None:
    """The column of ``df`` whose values are ``values`` (the label or ID column the load was given)."""
    if values is None:
        return None
    values = np.asarray(values).astype(str)
    if ids and np.array_equal(values, np.arange(len(values)).astype(str)):
        return None
    for col in df.columns:
        try:
            if np.array_equal(values_to_str(df[col].to_numpy()), values):
                return str(col)
        except (TypeError, ValueError):
            continue
    return None


# ------------------------------------------------------------------------------------------- apply
def apply_preprocessing(
    record: dict[str, Any] | None,
    source: Any,
    name: str | None = None,
    *,
    missing: MissingColumns = "refuse",
    limits: Limits | None = None,
) -> tuple[Dataset, TransformReport]:
    """New data -> (a Dataset whose X (n, d) float32 has the run's d features, what was done to it).

    ``source``: a Dataset already loaded (images, embeddings), a pandas DataFrame (a table's rows as
    read), or anything :func:`explorer.data.load` takes (a path, bytes with ``name``, an upload).
    Tables go through the loader's reader (delimiter, encoding, size caps), then the run's encoder.
    Raises InputError when the run has no record (saved before explorer recorded it), when the data is
    of another kind, or when feature columns are missing and ``missing`` is "refuse".
    """
    if record is None:
        raise InputError(
            "this run was saved without a record of its preprocessing (explorer before 0.4, or a subset "
            "of a loaded table), so new data can't be prepared exactly as its training data was. "
            "Make the run again from its file, then apply new data to the new run."
        )
    if int(record.get("version", 0)) > ENCODER_VERSION:
        raise InputError(
            "this run's preprocessing record is from a newer explorer; update explorer to apply data to it."
        )
    limits = limits or Limits()
    if record["kind"] == "table":
        return _apply_to_table(TableEncoder.from_json(record), source, name, missing, limits)
    report = TransformReport()
    if record["kind"] == "images":
        h, w = record["size"]
        if isinstance(source, Dataset):
            ds = source
            if ds.images is None:
                raise InputError("the run was made on images; give new images (files, a zip or a folder).")
            if ds.image_shape != (h, w, 1 if record["mode"] == "L" else 3):
                ds, note = conform_images(ds, h, w, record["mode"])
                report.resized = ds.n
                report.note(note)
        else:
            options = ImageOptions(mode=record["mode"], size=(h, w), min_images=1)  # one new photo is enough to apply
            ds = load(source, name=name, images=options, limits=limits)
            if ds.kind != "images":
                raise InputError(f"the run was made on images; {ds.report.source} holds a {ds.kind}.")
            changed = [n for n in ds.report.notes if "resized" in n]
            if changed:
                report.note(changed[0].replace("as asked", "the run's image size"))
        report.n_rows = ds.n
        return ds, report
    ds = source if isinstance(source, Dataset) else load(source, name=name, limits=limits)
    if ds.X.shape[1] != record["n_features"]:
        raise InputError(
            f"the run's vectors have {record['n_features']} values each; the new ones have "
            f"{ds.X.shape[1]}. Give vectors made by the same embedding model."
        )
    report.n_rows = ds.n
    return ds, report


def _apply_to_table(
    encoder: TableEncoder, source: Any, name: str | None, missing: MissingColumns, limits: Limits
) -> tuple[Dataset, TransformReport]:
    import pandas as pd

    if isinstance(source, Dataset):
        if source.table is None:
            raise InputError("the run was made on a table; give the new rows as a table (CSV, TSV or Parquet).")
        df, title = source.table, source.report.source
    elif isinstance(source, pd.DataFrame):
        df, title = source, name or "new data"
    else:
        title = source_name(source, name)
        df, _ = read_table_preview(source, name, nrows=None, options=TableOptions(), limits=limits)
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    check_decoded_bytes(
        limits,
        2 * len(df) * encoder.n_features_ * VALUE_BYTES,
        f"{title} encoded ({len(df):,} rows x {encoder.n_features_:,} features)",
    )
    X, report = encoder.transform(df, missing=missing)
    labels = ids = None
    if encoder.label_column in df.columns:
        labels = values_to_str(df[encoder.label_column].to_numpy())
    if encoder.id_column in df.columns:
        ids = values_to_str(df[encoder.id_column].to_numpy())
        if len(np.unique(ids)) != len(ids):
            report.note(
                f"The ID column '{encoder.id_column}' repeats values in the new data; rows are numbered instead."
            )
            ids = None
    lr = LoadReport(
        source=str(title),
        kind="table",
        n_rows_read=len(df),
        n_rows=len(df),
        n_features=X.shape[1],
        scaling=encoder.scaling_,
        notes=list(report.notes),
    )
    lr.encoded = {c.name: c.names_of_levels() for c in encoder.columns_ if isinstance(c, CategoricalColumn)}
    ds = Dataset(
        X=X,
        feature_names=list(encoder.feature_names_),
        ids=ids if ids is not None else np.arange(len(df)).astype(str),
        report=lr,
        kind="table",
        name=display_name(str(title)),
        labels=labels,
        table=df,
    )
    return ds, report


def raw_columns(record: dict[str, Any], df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The feature columns of ``df`` as read, before filling and scaling: numbers as float64 (NaN
    missing), categories as str objects (None missing); columns ``df`` lacks are left out (for drift)."""
    if record.get("kind") != "table":
        return {}
    return TableEncoder.from_json(record).raw_columns(df)
