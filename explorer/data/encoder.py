"""The one table encoder: a table's columns -> the features X (n, d) float32, decided once, applied anywhere.

:class:`TableEncoder` follows scikit-learn's estimator contract. ``fit(frame)`` decides every step
from the training rows: which columns are features (dropping names and codes, constants, row numbers;
dates become their age and cycles (:mod:`explorer.data.encoder_dates`), free text TF-IDF + LSA
(:mod:`explorer.data.encoder_text`)),
what fills their missing values (the median, the most frequent level), which skewed numbers get
log(1 + x), how numbers are scaled (:mod:`explorer.data.scaling`), which levels of a category get
an indicator (the rest fold into "other"). ``transform(frame)`` applies exactly those steps to any
rows, column by column, with stated fallbacks (:class:`TransformReport`):

- a feature column that is missing: refused with a message naming it (``missing="refuse"``), or
  filled with the training value (``missing="impute"``);
- extra columns: ignored and named;
- a category level never seen in training: all indicators of the column 0, counted; a level seen
  in training but folded into "other" still goes to "other";
- numbers that do not parse: treated as missing and filled with the training value, counted.

The loader fits it and makes the loaded X with its ``transform``; a run saves :meth:`to_json` as
``preprocess.json``; applying the run to new rows transforms them with :meth:`from_json`'s encoder.
So the training features and the applied features come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from explorer.data.encoder_columns import (
    ENCODER_VERSION,
    CategoricalColumn,
    EncodedColumn,
    NumericColumn,
    column_from_dict,
    record_version,
    scaling_option,
)
from explorer.data.encoder_dates import (
    DateColumn,
    SpanColumn,
    date_sentence,
    day_text,
    fit_date_column,
    fit_spans,
    parse_dates,
    span_sentence,
)
from explorer.data.encoder_report import (
    DROP_REASONS,
    TransformReport,
    names_some,
    note_fit,
    note_markers,
    note_not_dates,
    note_parsing,
    note_transform,
)
from explorer.data.encoder_steps import (
    check_table_options,
    column_codes,
    column_days,
    column_numbers,
    decide_scaling,
    is_row_number,
    is_skewed,
)
from explorer.data.encoder_text import (
    EMBEDDING_LABELS,
    TextColumn,
    fit_text_column,
    looks_like_text,
    text_cells,
    text_sentence,
)
from explorer.data.guards import FEATURE_BYTES, check_decoded_bytes
from explorer.data.profiles import as_strings, parse_numbers, profile_column
from explorer.data.words import plural
from explorer.dataset import LoadReport
from explorer.errors import InputError
from explorer.limits import Limits

if TYPE_CHECKING:
    import pandas as pd

MAX_RECORDED_LEVELS = 10_000  # rare levels folded into "other" are recorded up to this many per column
MissingColumns = Literal["refuse", "impute"]
BetweenColumns = Callable[[], None]


class TableEncoder:
    """A table (pandas DataFrame) -> features X (n, d) float32 and the d feature names ("age", "color=red").

    ``columns``: the candidate feature columns (None: all but ``label_column`` and ``id_column``, which
    are recorded so that new rows give their labels and IDs too). ``scaling``: "auto" (log(1 + x) of
    strongly right-skewed non-negative numbers, then standardized, unless all numbers share one range:
    then scaled together), "standard", "minmax" or "none". Categories keep their ``max_categories``
    most frequent levels that make up at least ``min_category_fraction`` of the rows; the rest fold
    into "other"; each indicator is 0 or ``CATEGORY_WEIGHT``, so two rows of different levels are as
    far apart as two rows one standard deviation apart in a number. ``drop_row_numbers``: drop a
    column named like an index that counts the rows. ``text_embedding``: how free text becomes features
    (:data:`~explorer.data.encoder_text.TEXT_EMBEDDINGS`; "auto": WordLlama where installed, else TF-IDF + LSA);
    ``text_weight``: a text block's spread in standard deviations of a number (1: it counts as one number). A table
    of free text alone is a document set (:attr:`documents_`): its text keeps more directions.

    Learned state: ``columns_`` (one :class:`NumericColumn` or :class:`CategoricalColumn` per feature
    column, in order), ``feature_names_`` (d), ``scaling_`` ("standard", "minmax", "shared", "none"),
    ``indicator_value_``, ``dropped_columns_`` (column -> why), ``n_features_`` (d).
    """

    def __init__(
        self,
        *,
        columns: list[str] | None = None,
        label_column: str | None = None,
        id_column: str | None = None,
        scaling: str = "auto",
        max_categories: int = 30,
        min_category_fraction: float = 0.01,
        drop_row_numbers: bool = True,
        text_embedding: str = "auto",
        text_weight: float = 1.0,
    ) -> None:
        self.columns = columns
        self.label_column = label_column
        self.id_column = id_column
        self.scaling = scaling
        self.max_categories = max_categories
        self.min_category_fraction = min_category_fraction
        self.drop_row_numbers = drop_row_numbers
        self.text_embedding = text_embedding
        self.text_weight = text_weight

    def get_params(self) -> dict[str, Any]:
        return {
            "columns": None if self.columns is None else list(self.columns),
            "label_column": self.label_column,
            "id_column": self.id_column,
            "scaling": self.scaling,
            "max_categories": self.max_categories,
            "min_category_fraction": self.min_category_fraction,
            "drop_row_numbers": self.drop_row_numbers,
            "text_embedding": self.text_embedding,
            "text_weight": self.text_weight,
        }

    # ----------------------------------------------------------------------------------------- fit
    def fit(
        self,
        frame: pd.DataFrame,
        *,
        report: LoadReport | None = None,
        limits: Limits | None = None,
        between_columns: BetweenColumns | None = None,
    ) -> TableEncoder:
        """Decide every step from the rows of ``frame``; returns self.

        ``report`` (the load's) gets what was decided, in words and as facts (dropped, imputed,
        encoded, transformed, scaling). ``limits``: X's size (float32) is checked against
        ``max_decoded_bytes`` as each column is added, before it is built. ``between_columns()`` is
        called before each column (the load's Stop and time cap). Raises InputError for a bad option.
        """
        self._fit(frame, report, limits, between_columns)
        return self

    def fit_transform(
        self,
        frame: pd.DataFrame,
        *,
        report: LoadReport | None = None,
        limits: Limits | None = None,
        between_columns: BetweenColumns | None = None,
    ) -> tuple[np.ndarray, TransformReport]:
        """``fit(frame).transform(frame)``, reading each column of text once (the fit's parse is reused)."""
        parsed = self._fit(frame, report, limits, between_columns)
        return self._transform(frame, "refuse", between_columns, parsed)

    def _fit(
        self,
        frame: pd.DataFrame,
        report: LoadReport | None,
        limits: Limits | None,
        between_columns: BetweenColumns | None,
    ) -> dict[str, tuple[np.ndarray, int]]:
        """Fit; returns the columns parsed on the way that are costly to parse again (numbers read
        from text, categories' codes): column -> (values or codes (n,), junk or missing count)."""
        from pandas.api import types as pdt

        check_table_options(
            self.scaling, self.max_categories, self.min_category_fraction, self.text_embedding, self.text_weight
        )
        report = report if report is not None else LoadReport(source="the table", kind="table")
        n, delimiter = len(frame), frame.attrs.get("delimiter")
        columns: list[EncodedColumn] = []
        parsed: dict[str, tuple[np.ndarray, int]] = {}
        ranges: dict[str, tuple[float, float, bool]] = {}  # number -> (lo, hi, skewed) once filled
        drops: dict[str, list[str]] = {}
        texts: list[tuple[int, str, list[str], np.ndarray, int]] = []  # (place among columns, name, cells, empty, cut)
        width = 0

        def widen(k: int) -> None:
            if limits is not None:
                check_decoded_bytes(
                    limits,
                    n * (width + k) * FEATURE_BYTES,
                    f"{report.source} encoded ({n:,} rows x {width + k:,} features)",
                )

        def drop(col: str, why: str) -> None:
            drops.setdefault(why, []).append(col)
            report.dropped_columns[col] = DROP_REASONS[why]

        for col in self._candidates(frame):
            if between_columns is not None:
                between_columns()
            p = profile_column(frame[col], delimiter, count_unique=False)
            if p.kind == "date":
                days, time_of_day = parse_dates(frame[col])
                if np.isnan(days).all():
                    drop(col, "date")
                    continue
                if np.nanmax(days) - np.nanmin(days) < (1 / 24 if time_of_day else 1):
                    drop(col, "constant")  # one day (one hour): no age or cycle varies
                    continue
                bad = int((p.values.notna().to_numpy() & np.isnan(days)).sum())
                note_not_dates(report, col, bad, len(days))
                date = fit_date_column(col, days, time_of_day, is_skewed=is_skewed if self.scaling == "auto" else None)
                if self.scaling == "none":
                    date.center, date.scale = 0.0, 1.0
                if np.isnan(days).any() and not time_of_day:
                    report.imputed[col] = int(np.isnan(days).sum())
                widen(date.width)
                columns.append(date)
                parsed[col] = (days, bad)
                width += date.width
                report.transformed[col] = (
                    "times of day: the hour" if time_of_day else f"dates: days before {day_text(date.reference)}"
                )
                report.note(date_sentence(date, days))
                continue
            if p.kind == "text" and looks_like_text(p.values):
                # fitted once every column is known: a table of text alone is a document set
                texts.append((len(columns), col, *text_cells(frame[col])))
                continue
            if p.kind not in ("numeric", "categorical"):
                drop(col, p.kind)
                continue
            note_markers(report, col, p)
            if p.kind == "numeric":
                raw = p.values.to_numpy(dtype=np.float64)
                if self.drop_row_numbers and p.missing == 0 and is_row_number(col, raw):
                    drop(col, "rownumber")
                    continue
                note_parsing(report, col, p)
                fill = float(np.nanmedian(raw))
                values = np.where(np.isnan(raw), fill, raw) if p.missing else raw
                if p.missing:
                    report.imputed[col] = p.missing
                widen(1)
                lo, hi = float(values.min()), float(values.max())
                skewed = self.scaling == "auto" and is_skewed(values)
                columns.append(NumericColumn(col, fill))
                ranges[col] = (lo, hi, skewed)
                if not (pdt.is_numeric_dtype(frame[col]) and not pdt.is_bool_dtype(frame[col])):
                    parsed[col] = (raw, p.junk)  # read from text: kept, not parsed again
                width += 1
                continue
            counts = p.values.value_counts()
            strings = p.values
            if p.missing:
                strings = strings.fillna(counts.index[0])
                report.imputed[col] = p.missing
                counts = strings.value_counts()
            keep = [str(c) for c in counts.index[: self.max_categories] if counts[c] / n >= self.min_category_fraction]
            kept = set(keep)
            rest = [str(c) for c in counts.index if str(c) not in kept]
            if len(keep) + bool(rest) < 2:
                drop(col, "rare")
                continue
            if rest:
                report.note(
                    f"In column '{col}', {plural(len(rest), 'rare category', 'rare categories')} "
                    f"were folded into 'other'."
                )
            folded = rest[:MAX_RECORDED_LEVELS]
            column = CategoricalColumn(
                col,
                str(counts.index[0]),
                keep,
                other=bool(rest),
                folded=folded,
                folded_complete=len(folded) < MAX_RECORDED_LEVELS,
                markers=sorted({str(m).lower() for m in p.markers or {}}),
            )
            widen(column.width)
            columns.append(column)
            parsed[col] = (column.codes(strings.to_numpy(dtype=object)), p.missing)
            width += column.width
            report.encoded[col] = column.names_of_levels()
        documents, placed = bool(texts) and not columns, 0
        for at, col, cells, empty, cut in texts:
            text, block = fit_text_column(
                col, cells, empty, embedding=self.text_embedding, documents=documents, weight=self.text_weight
            )
            if block is not None:
                parsed[col] = (block, 0)  # the training rows' features, made while fitting
            if text is None:
                drop(col, "text")
                continue
            widen(text.width)
            columns.insert(at + placed, text)
            placed += 1
            if empty.any():
                report.imputed[col] = int(empty.sum())
            width += text.width
            report.transformed[col] = f"free text: {EMBEDDING_LABELS[text.embedding]} ({text.width} features)"
            report.note(text_sentence(text, n, cut, self.text_weight))
        dated = [c for c in columns if isinstance(c, DateColumn)]
        for span in fit_spans(
            dated,
            {c.name: parsed[c.name][0] for c in dated},
            is_skewed=is_skewed if self.scaling == "auto" else None,
            scaled=self.scaling != "none",
        ):
            widen(1)
            columns.append(span)
            width += 1
            report.note(span_sentence(span))
        note_fit(report, drops)
        self.columns_ = columns
        self.dropped_columns_ = dict(report.dropped_columns)
        self.scaling_, self.indicator_value_ = decide_scaling(
            self.columns_, self.scaling, frame, ranges, parsed, report
        )
        self.feature_names_ = [name for c in columns for name in c.feature_names()]
        self.n_features_ = width
        return parsed

    @property
    def documents_(self) -> bool:
        """Whether the fitted features are all free text (a document set)."""
        return bool(self.columns_) and all(isinstance(c, TextColumn) for c in self.columns_)

    def _candidates(self, frame: pd.DataFrame) -> list[str]:
        reserved = {self.label_column, self.id_column} - {None}
        given = list(frame.columns) if self.columns is None else list(dict.fromkeys(self.columns))
        missing = [c for c in given if c not in frame.columns]
        if missing:
            raise InputError(
                f"the table has no column {', '.join(repr(c) for c in missing)}; choose among its columns."
            )
        return [c for c in given if c not in reserved]

    # ------------------------------------------------------------------------------------ transform
    def transform(
        self, frame: pd.DataFrame, *, missing: MissingColumns = "refuse", between_columns: BetweenColumns | None = None
    ) -> tuple[np.ndarray, TransformReport]:
        """Rows (a DataFrame as read) -> (X (n, d) float32 in the fitted features, what was done).

        ``missing``: "refuse" raises InputError naming the feature columns ``frame`` lacks; "impute"
        fills them with the training value (median or most frequent level) in every row."""
        if not hasattr(self, "columns_"):
            raise InputError("the table encoder is not fitted yet; call fit (or load one with from_json) first.")
        return self._transform(frame, missing, between_columns, {})

    def _transform(
        self,
        frame: pd.DataFrame,
        missing: MissingColumns,
        between_columns: BetweenColumns | None,
        parsed: dict[str, tuple[np.ndarray, int]],
    ) -> tuple[np.ndarray, TransformReport]:
        n = len(frame)
        absent = [c.name for c in self.columns_ if c.name not in frame.columns and not isinstance(c, SpanColumn)]
        if absent and missing == "refuse":
            many = len(absent) > 1
            raise InputError(
                f"the new data lacks {len(absent)} of the run's feature column{'s' if many else ''}: "
                f"{names_some(absent)}. Add {'them' if many else 'it'} (same name as in the training "
                "data), or choose to fill missing columns with the training values."
            )
        used = {c.name for c in self.columns_} | {self.label_column, self.id_column}
        extra = [c for c in frame.columns if c not in used]
        report = TransformReport(n_rows=n, missing_columns=absent, extra_columns=extra)
        # X is filled a column (or a category's columns) at a time, each computed in float64 and stored as
        # float32: no float64 copy of the features is held
        X = np.zeros((n, self.n_features_), dtype=np.float32)
        top = np.finfo(np.float32).max
        j, days_of = 0, {}  # each date column's days, for the spans that follow them
        for column in self.columns_:
            if between_columns is not None:
                between_columns()
            if isinstance(column, NumericColumn):
                X[:, j] = np.clip(
                    column.scaled(column_numbers(column, frame, parsed.pop(column.name, None), report)), -top, top
                )
                j += 1
                continue
            if isinstance(column, DateColumn):
                days_of[column.name] = column_days(column, frame, parsed.pop(column.name, None), report)
                X[:, j : j + column.width] = np.clip(column.features(days_of[column.name]), -top, top)
                j += column.width
                continue
            if isinstance(column, SpanColumn):
                X[:, j : j + 1] = np.clip(column.features(days_of[column.earlier], days_of[column.later]), -top, top)
                j += 1
                continue
            if isinstance(column, TextColumn):
                cells, empty, cut = (
                    text_cells(frame[column.name]) if column.name in frame.columns else ([""] * n, np.ones(n, bool), 0)
                )
                if empty.any():
                    report.imputed[column.name] = int(empty.sum())
                if cut:
                    report.truncated[column.name] = cut
                made = parsed.pop(column.name, None)
                X[:, j : j + column.width] = column.features(cells) if made is None else made[0]
                j += column.width
                continue
            codes = column_codes(column, frame, parsed.pop(column.name, None), report)
            for k in range(column.width):
                X[codes == k, j + k] = self.indicator_value_
            j += column.width
        note_transform(report)
        return X, report

    def raw_columns(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The feature columns of ``frame`` as read, before filling and scaling: numbers (n,) float64
        (NaN missing), categories and texts (n,) str objects (None missing); columns it lacks are left out."""
        out: dict[str, np.ndarray] = {}
        for column in self.columns_:
            if column.name not in frame.columns or isinstance(column, SpanColumn):  # a span: two columns' days
                continue
            if isinstance(column, NumericColumn):
                out[column.name] = parse_numbers(frame[column.name], frame.attrs.get("delimiter"))[0]
            elif isinstance(column, DateColumn):
                out[column.name] = parse_dates(frame[column.name])[0]
            elif isinstance(column, TextColumn):
                cells, empty, _ = text_cells(frame[column.name])
                texts = np.asarray(cells, dtype=object)
                texts[empty] = None
                out[column.name] = texts
            else:
                strings = as_strings(frame[column.name], getattr(column, "markers", ()))
                out[column.name] = strings.where(strings.notna(), None).to_numpy(dtype=object)
        return out

    # --------------------------------------------------------------------------------------- JSON
    def to_json(self) -> dict[str, Any]:
        """The fitted encoder as plain JSON (``preprocess.json`` of a run made on a table)."""
        if not hasattr(self, "columns_"):
            raise InputError("the table encoder is not fitted yet; there is nothing to save.")
        return {
            "version": record_version(self.columns_),
            "kind": "table",
            "params": self.get_params(),
            "scaling": self.scaling_,
            "indicator_value": self.indicator_value_,
            "columns": [c.to_dict() for c in self.columns_],
            "feature_names": list(self.feature_names_),
            "label_column": self.label_column,
            "id_column": self.id_column,
            "dropped_columns": dict(self.dropped_columns_),
            "n_features": self.n_features_,
        }

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> TableEncoder:
        """The fitted encoder :meth:`to_json` wrote, or one from the record of version 1 (explorer 0.4
        to 0.x, which replayed the loader to record it: the same steps, without the options)."""
        version = int(record.get("version", 1))
        if version > ENCODER_VERSION:
            raise InputError(
                "this run's preprocessing record is from a newer explorer; update explorer to apply data to it."
            )
        if record.get("kind") != "table":
            raise InputError(f"this preprocessing record is of {record.get('kind')!r} data, not of a table.")
        columns = [column_from_dict(c) for c in record["columns"]]
        params = record.get("params") or {
            "columns": [c.name for c in columns],
            "label_column": record.get("label_column"),
            "id_column": record.get("id_column"),
            "drop_row_numbers": False,
            "scaling": scaling_option(record["scaling"], any(getattr(c, "transform", None) for c in columns)),
        }
        encoder = cls(**params)
        encoder.columns_ = columns
        encoder.scaling_ = str(record["scaling"])
        encoder.indicator_value_ = float(record["indicator_value"])
        encoder.feature_names_ = [name for c in columns for name in c.feature_names()]
        encoder.dropped_columns_ = dict(record.get("dropped_columns") or {})
        encoder.n_features_ = sum(c.width for c in columns)
        if encoder.feature_names_ != list(record["feature_names"]):
            raise InputError(
                "this run's preprocessing record is damaged (its columns do not give its feature names); "
                "make the run again from its file."
            )
        return encoder
