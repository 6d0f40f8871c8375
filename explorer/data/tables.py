"""Tables (CSV, TSV, Parquet) -> Dataset: read, the label and ID columns taken out, the rest encoded.

The load reads the file (:mod:`explorer.data.reading`), checks the label, ID and feature columns it
was given, then fits the one :class:`~explorer.data.encoder.TableEncoder` on the rows and makes X
with its ``transform``; the Dataset keeps the fitted encoder, which a run saves to apply new rows
exactly as these. :func:`read_table_preview`, which the dashboard calls before the real load, reads
and profiles the columns with the same code, so the preview shows the column kinds the load will use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from explorer.data.encoder import TableEncoder
from explorer.data.encoder_steps import check_table_options
from explorer.data.files import Source, display_name
from explorer.data.guards import LoadGuard, check_min_rows
from explorer.data.labels import usable_labels, values_to_str
from explorer.data.profiles import summarize
from explorer.data.reading import close_opened, read_frame, table_input
from explorer.data.words import list_some, plural
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError
from explorer.events import StopCheck
from explorer.limits import Limits

if TYPE_CHECKING:
    import pandas as pd

Scaling = Literal["auto", "standard", "minmax", "none"]


@dataclass
class TableOptions:
    """How to turn a table into features.

    ``label_column`` and ``id_column`` are kept out of the features (labels are for evaluation only).
    ``columns`` picks the feature columns (None: all others). Categorical columns keep their
    ``max_categories`` most frequent values that make up at least ``min_category_fraction`` of the
    rows; the rest fold into "other". ``delimiter`` None detects it; ``encoding`` None tries UTF-8
    (with or without a byte-order mark), then Latin-1. ``text_embedding``: how free text becomes features
    ("auto", "wordllama", "tfidf": :mod:`explorer.data.encoder_text`); ``text_weight``: how much a text
    column counts (1: as much as one standardized number).
    """

    label_column: str | None = None
    id_column: str | None = None
    columns: list[str] | None = None
    scaling: Scaling = "auto"
    max_categories: int = 30
    min_category_fraction: float = 0.01
    delimiter: str | None = None
    encoding: str | None = None
    text_embedding: str = "auto"
    text_weight: float = 1.0

    def validate(self) -> None:
        check_table_options(
            self.scaling, self.max_categories, self.min_category_fraction, self.text_embedding, self.text_weight
        )
        if self.label_column is not None and self.label_column == self.id_column:
            raise InputError(f"'{self.label_column}' can't be both the label and the ID column; pick one.")


def _pick_columns(
    df: pd.DataFrame, options: TableOptions, fname: str, report: LoadReport
) -> tuple[list[str], np.ndarray | None, np.ndarray]:
    """Check the label, ID and feature column choices. Returns (feature columns, labels, ids)."""
    available = list(df.columns)

    def need(col: str, role: str) -> None:
        if col not in available:
            raise InputError(
                f"{fname}: the {role} column '{col}' does not exist; choose one of: {list_some(available, 30)}."
            )

    labels = None
    if options.label_column is not None:
        need(options.label_column, "label")
        what = f"Column '{options.label_column}'"
        labels = usable_labels(
            values_to_str(df[options.label_column].to_numpy()),
            what,
            report,
            id_hint=" Choose it as the ID column instead.",
        )
        if labels is None:
            report.note(f"{what} is kept out of the features.")
        else:
            report.note(
                f"{what} is the label ({plural(len(set(labels)), 'class', 'classes')}); "
                "it is kept out of the features and used only for evaluation."
            )
    if options.id_column is not None:
        need(options.id_column, "ID")
        column = df[options.id_column]
        if column.isna().any():
            raise InputError(
                f"{fname}: the ID column '{options.id_column}' has "
                f"{plural(int(column.isna().sum()), 'missing value')}; IDs must all be present and "
                "unique. Pick another ID column or none."
            )
        ids = values_to_str(column.to_numpy())
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            repeated = [f"'{v}' ({c} times)" for v, c in zip(uniq[counts > 1], counts[counts > 1], strict=True)]
            raise InputError(
                f"{fname}: the ID column '{options.id_column}' has repeated values, e.g. "
                f"{list_some(repeated, 3)}; IDs must be unique. Pick another ID column or none."
            )
        report.note(f"Column '{options.id_column}' holds the row IDs; it is kept out of the features.")
    else:
        ids = np.arange(len(df)).astype(str)
    reserved = {options.label_column, options.id_column} - {None}
    if options.columns is None:
        return [c for c in available if c not in reserved], labels, ids
    for col in options.columns:
        need(col, "feature")
    left_out = [c for c in options.columns if c in reserved]
    if left_out:
        report.note(f"Kept {', '.join(repr(c) for c in left_out)} out of the features (label or ID column).")
    return [c for c in dict.fromkeys(options.columns) if c not in reserved], labels, ids


def load_table(
    source: Source,
    name: str | None = None,
    options: TableOptions | None = None,
    limits: Limits | None = None,
    *,
    should_stop: StopCheck | None = None,
) -> Dataset:
    """Load a CSV, TSV or Parquet table as a Dataset.

    Returns a Dataset with X (n, d) float32 (numbers as they are, categories one-hot, missing values
    filled, scaled as ``options.scaling`` says), feature_names like "age" and "color=red", labels (n,)
    str from the label column, ids (n,) str, ``table``: the n rows as read, and ``table_encoder``:
    the fitted :class:`~explorer.data.encoder.TableEncoder` that made X from them.
    Raises InputError (or LimitError) with a message that says what to fix. ``should_stop()`` and
    ``limits.max_load_seconds`` are checked between batches of rows and between columns.
    """
    options, limits = options or TableOptions(), limits or Limits()
    options.validate()
    guard = LoadGuard(limits, should_stop)
    fname, data = table_input(source, name, limits)
    report = LoadReport(source=fname, kind="table")
    try:
        df = read_frame(
            data, fname, limits, report, delimiter=options.delimiter, encoding=options.encoding, guard=guard
        )
    finally:
        close_opened(source, data)
    del data
    report.n_rows_read = len(df)
    check_min_rows(len(df), fname)
    feature_cols, labels, ids = _pick_columns(df, options, fname, report)
    encoder = TableEncoder(
        columns=feature_cols,
        label_column=options.label_column if labels is not None else None,
        id_column=options.id_column,
        scaling=options.scaling,
        max_categories=options.max_categories,
        min_category_fraction=options.min_category_fraction,
        drop_row_numbers=options.columns is None,
        text_embedding=options.text_embedding,
        text_weight=options.text_weight,
    )
    X, _ = encoder.fit_transform(
        df, report=report, limits=limits, between_columns=lambda: guard.check(f"loading {fname}")
    )
    if not encoder.feature_names_:
        why = "; ".join(f"'{c}': {r}" for c, r in report.dropped_columns.items()) or "no columns were chosen"
        one_column = (
            " Only one column was found: if the file's columns are separated by something other than "
            "a comma, semicolon, tab or |, that delimiter is not known; save the file with commas."
            if len(df.columns) == 1 and re.search(r"[^\w\s.()-]", str(df.columns[0]))
            else ""
        )
        raise InputError(
            f"{fname}: no usable feature columns are left ({why}). "
            f"Choose other columns, or add numeric or categorical columns.{one_column}"
        )
    report.n_rows, report.n_features = X.shape
    return Dataset(
        X=X,
        feature_names=list(encoder.feature_names_),
        ids=ids,
        report=report,
        kind="table",
        name=display_name(fname),
        labels=labels,
        table=df,
        table_encoder=encoder,
    )


def read_table_preview(
    source: Source,
    name: str | None = None,
    nrows: int | None = 10_000,
    options: TableOptions | None = None,
    limits: Limits | None = None,
    *,
    should_stop: StopCheck | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``nrows`` rows (None: all) and a summary of their columns, before a real load.

    Returns (rows as read, summary with columns [column, dtype, kind, missing, unique, note]) where
    kind is numeric, categorical, text, date, constant, empty or other, as :func:`load_table` will
    treat the column; missing counts what it would fill in (blanks, junk, infinities).
    """
    options, limits = options or TableOptions(), limits or Limits()
    fname, data = table_input(source, name, limits)
    try:
        df = read_frame(
            data,
            fname,
            limits,
            None,
            delimiter=options.delimiter,
            encoding=options.encoding,
            nrows=nrows,
            guard=LoadGuard(limits, should_stop),
        )
    finally:
        close_opened(source, data)
    return df, summarize(df)
