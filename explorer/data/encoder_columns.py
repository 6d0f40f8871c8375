"""What the table encoder learns about each feature column, and its JSON form.

A :class:`NumericColumn` gives one feature, a :class:`CategoricalColumn` one indicator per level kept
(and one for "other"). Both turn into plain JSON and back (``preprocess.json``, version
:data:`ENCODER_VERSION`; version 1, the record older explorers wrote, has the same columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from explorer.data.encoder_dates import DateColumn, SpanColumn
from explorer.data.encoder_text import TextColumn
from explorer.errors import InputError

ENCODER_VERSION = 4  # of preprocess.json; 4: text embedded by WordLlama; 3: dates, text (TF-IDF) and missing markers;
# 2: numbers and categories alone; 1: explorer's record before the encoder (the same columns, no options)


@dataclass
class NumericColumn:
    """A number: missing values get ``fill`` (the training median), then log(1 + x) when ``transform``
    is "log1p", then ``(x / peak - center) / scale``; a ``constant`` column is 0 everywhere."""

    name: str
    fill: float
    transform: str | None = None
    peak: float = 1.0
    center: float = 0.0
    scale: float = 1.0
    constant: bool = False
    width: ClassVar[int] = 1

    def feature_names(self) -> list[str]:
        return [self.name]

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """The filled (and transformed) values (n,) float64 -> the feature (n,) float64."""
        if self.constant:
            return np.zeros(len(values))
        return (values / self.peak - self.center) / self.scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "numeric",
            "fill": self.fill,
            "transform": self.transform,
            "peak": self.peak,
            "center": self.center,
            "scale": self.scale,
            "constant": self.constant,
        }


@dataclass
class CategoricalColumn:
    """A category: missing values get ``fill`` (the most frequent level); each of ``levels`` has an
    indicator, and with ``other`` the levels in ``folded`` (all levels not kept, unless
    ``folded_complete`` is False: then any level not kept) share the indicator "other". ``markers``: the
    words (lower case) the training rows used for a missing value, read as missing in any rows."""

    name: str
    fill: str
    levels: list[str]
    other: bool = False
    folded: list[str] = field(default_factory=list)
    folded_complete: bool = True
    markers: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.levels) + int(self.other)

    def names_of_levels(self) -> list[str]:
        return self.levels + (["other"] if self.other else [])

    def feature_names(self) -> list[str]:
        return [f"{self.name}={level}" for level in self.names_of_levels()]

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Filled values (n,) of str -> their codes (n,): k for ``levels[k]``, ``len(levels)`` for
        "other", -1 for a level not seen in training."""
        import pandas as pd

        folded = self.folded if self.other and self.folded_complete else []
        known = pd.Index(list(dict.fromkeys(self.levels + folded)), dtype=object)
        codes = known.get_indexer(pd.Index(values, dtype=object))  # -1 where the value is not a known level
        codes = codes.astype(np.int16 if len(known) < 2**15 - 1 else np.int32)
        if self.other:
            k = len(self.levels)
            codes[codes >= k if self.folded_complete else codes < 0] = k
        return codes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "categorical",
            "fill": self.fill,
            "levels": list(self.levels),
            "other": self.other,
            "folded": list(self.folded),
            "folded_complete": self.folded_complete,
            **({"markers": list(self.markers)} if self.markers else {}),
        }


EncodedColumn = NumericColumn | CategoricalColumn | DateColumn | SpanColumn | TextColumn


def record_version(columns: list[EncodedColumn]) -> int:
    """The version a record of these columns needs: 2 (read by explorers before dates, text and missing
    markers) unless a column uses one of them, 3 for those, 4 for text embedded by WordLlama and spans of dates."""
    if any(isinstance(c, SpanColumn) or (isinstance(c, TextColumn) and c.embedding != "tfidf") for c in columns):
        return 4
    new = any(isinstance(c, (DateColumn, TextColumn)) or getattr(c, "markers", None) for c in columns)
    return 3 if new else 2


def column_from_dict(spec: dict[str, Any]) -> EncodedColumn:
    """A column of ``preprocess.json`` (version 1 to 4) -> its :class:`NumericColumn`, :class:`CategoricalColumn`,
    :class:`DateColumn`, :class:`SpanColumn` or :class:`TextColumn`."""
    try:
        if spec["kind"] == "numeric":
            return NumericColumn(
                str(spec["name"]),
                float(spec["fill"]),
                spec.get("transform"),
                float(spec.get("peak", 1.0)),
                float(spec.get("center", 0.0)),
                float(spec.get("scale", 1.0)),
                bool(spec.get("constant", False)),
            )
        if spec["kind"] == "date":
            return DateColumn.from_dict(spec)
        if spec["kind"] == "span":
            return SpanColumn.from_dict(spec)
        if spec["kind"] == "text":
            return TextColumn.from_dict(spec)
        if spec["kind"] == "categorical":
            return CategoricalColumn(
                str(spec["name"]),
                str(spec["fill"]),
                [str(v) for v in spec["levels"]],
                bool(spec["other"]),
                [str(v) for v in spec.get("folded", [])],
                bool(spec.get("folded_complete", True)),
                [str(v) for v in spec.get("markers", [])],
            )
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(
            f"this run's preprocessing record is damaged ({type(e).__name__}: {e}); make the run again from its file."
        ) from None
    raise InputError(
        f"this run's preprocessing record has a column of unknown kind {spec.get('kind')!r}; update "
        "explorer or make the run again from its file."
    )


def scaling_option(resolved: str, logged: bool) -> str:
    """The ``scaling`` option that gives the resolved scaling ``resolved`` ("shared", "standard",
    "minmax", "none") with (``logged``) or without log(1 + x) of skewed columns: "auto" chose those."""
    return "auto" if resolved == "shared" or logged else resolved
