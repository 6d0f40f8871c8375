"""Filters: conditions on a run's columns, its clusters and its anomaly score, combined with AND.

A :class:`Filter` is a list of conditions: :class:`Range` (numbers and dates, ends included, either end
open), :class:`Levels` (a category's levels), :class:`Words` (text holding any of some words, case
ignored), :class:`Clusters` and :class:`Anomaly` (a range of the run's anomaly score). :func:`mask` gives the
rows it keeps; :func:`to_expression` writes it as one readable line, and :func:`parse_expression` reads that
line back (a small parser of the same syntax, never ``eval``)::

    age between 30 and 40 and plan in {'gold', 'silver'} and `last name` contains {'o\\'brien'}
    and signup >= '2024-01-01' and cluster in {2} and anomaly >= 0.5

Column names are bare when they are plain identifiers (and not one of the words of the syntax), else in
backticks; values from the user are in single quotes, with ``\\``, quotes and every character that
:func:`explorer.display.usertext.plain_text` would not show as itself (line breaks, control characters,
bidirectional overrides) escaped, so the expression is safe to show and reads back the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from explorer.display.usertext import plain_text
from explorer.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline.types import RunResult

KEYWORDS = frozenset({"and", "between", "in", "contains", "cluster", "anomaly", "all", "rows"})
EVERY_ROW = "all rows"  # the expression of a filter without conditions
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Range:
    """``column`` between ``low`` and ``high`` (both included; None: open). Numbers are floats; a date is
    its ISO text (``'2024-01-01'``), compared as a date."""

    column: str
    low: float | str | None = None
    high: float | str | None = None


@dataclass(frozen=True)
class Levels:
    """``column``'s value (as text) is one of ``levels``."""

    column: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Words:
    """``column``'s text holds any of ``words`` (case ignored)."""

    column: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Clusters:
    """The row's cluster is one of ``clusters`` (-1: noise)."""

    clusters: tuple[int, ...]


@dataclass(frozen=True)
class Anomaly:
    """The row's anomaly score is between ``low`` and ``high`` (None: open)."""

    low: float | None = None
    high: float | None = None


Condition = Range | Levels | Words | Clusters | Anomaly


@dataclass
class Filter:
    """Conditions, all of which a row meets to be kept (no condition: every row)."""

    conditions: list[Condition] = field(default_factory=list)


# -- the rows kept ---------------------------------------------------------------------------------------
def mask(run: RunResult, flt: Filter, labels: np.ndarray | None = None) -> np.ndarray:
    """(n,) bool: the rows of ``run`` that meet every condition of ``flt``. ``labels`` (n,): the clusters the
    :class:`Clusters` conditions read (default the run's; pass a curation's labels to filter by those)."""
    n = run.dataset.n
    out = np.ones(n, bool)
    for cond in flt.conditions:
        out &= _condition_mask(run, cond, run.labels if labels is None else labels)
    return out


def _condition_mask(run: RunResult, cond: Condition, labels: np.ndarray) -> np.ndarray:
    if isinstance(cond, Clusters):
        return np.isin(np.asarray(labels), np.asarray(cond.clusters, np.int64))
    if isinstance(cond, Anomaly):
        return _between(np.asarray(run.anomaly, np.float64), cond.low, cond.high)
    col = _column(run, cond.column)
    if isinstance(cond, Range):
        import pandas as pd

        if isinstance(cond.low, str) or isinstance(cond.high, str):  # dates, compared in UTC
            values = pd.to_datetime(col, errors="coerce", utc=True)
            keep = values.notna().to_numpy().copy()
            for bound, above in ((cond.low, True), (cond.high, False)):
                if bound is None:
                    continue
                when = _timestamp(bound)
                keep &= ((values >= when) if above else (values <= when)).fillna(False).to_numpy(bool)
            return keep
        return _between(pd.to_numeric(col, errors="coerce").to_numpy(np.float64), cond.low, cond.high)
    present = col.notna().to_numpy()
    text = col.astype(str)
    if isinstance(cond, Levels):
        return present & text.isin(list(cond.levels)).to_numpy()
    lowered = text.str.lower()
    hit = np.zeros(len(col), bool)
    for word in cond.words:
        hit |= lowered.str.contains(word.lower(), regex=False).to_numpy(bool)
    return present & hit


def _timestamp(text: float | str) -> pd.Timestamp:
    import pandas as pd

    try:
        when = pd.Timestamp(str(text))
    except ValueError:
        raise InputError(f"not a date: {plain_text(text)!r}.") from None
    return when.tz_localize("UTC") if when.tz is None else when.tz_convert("UTC")


def _between(values: np.ndarray, low: float | str | None, high: float | str | None) -> np.ndarray:
    keep = ~np.isnan(values)
    if low is not None:
        keep &= values >= float(low)
    if high is not None:
        keep &= values <= float(high)
    return keep


def _column(run: RunResult, name: str) -> pd.Series:
    table = run.dataset.table
    if table is None:
        raise InputError("this run has no table: filter it by cluster or anomaly score.")
    names = [str(c) for c in table.columns]
    if name not in names:
        raise InputError(f"no column {plain_text(name)!r} in this run's table.")
    return table.iloc[:, names.index(name)]


# -- writing ---------------------------------------------------------------------------------------------
def quote(text: str) -> str:
    """``text`` in single quotes, ``\\`` and ``'`` escaped, and every character :func:`plain_text` would not
    show as itself written as ``\\uXXXX`` (or ``\\n``, ``\\t``)."""
    return "'" + _escape(text, "'") + "'"


def column_name(name: str) -> str:
    """A column as the expression writes it: bare when a plain identifier and not a keyword, else in backticks."""
    if _IDENT.match(name) and name.lower() not in KEYWORDS:
        return name
    return "`" + _escape(name, "`") + "`"


def _escape(text: str, delimiter: str) -> str:
    out = []
    for ch in str(text):
        if ch in ("\\", delimiter):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif plain_text(ch) != ch:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)


def _value(v: float | str) -> str:
    if isinstance(v, str):
        return quote(v)
    f = float(v)
    if not math.isfinite(f):
        raise InputError(f"a filter's bound must be a finite number; got {v!r}.")
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def _range_text(name: str, low: float | str | None, high: float | str | None) -> str:
    if low is not None and high is not None:
        return f"{name} between {_value(low)} and {_value(high)}"
    if low is not None:
        return f"{name} >= {_value(low)}"
    if high is not None:
        return f"{name} <= {_value(high)}"
    raise InputError(f"a range on {plain_text(name)!r} needs a low or a high end.")


def to_expression(flt: Filter) -> str:
    """``flt`` as one line (see the module's docstring); ``'all rows'`` for no condition."""
    parts = []
    for c in flt.conditions:
        if isinstance(c, Range):
            parts.append(_range_text(column_name(c.column), c.low, c.high))
        elif isinstance(c, Anomaly):
            parts.append(_range_text("anomaly", c.low, c.high))
        elif isinstance(c, Clusters):
            parts.append("cluster in {" + ", ".join(str(int(v)) for v in c.clusters) + "}")
        elif isinstance(c, Levels):
            parts.append(f"{column_name(c.column)} in {{" + ", ".join(quote(v) for v in c.levels) + "}")
        elif isinstance(c, Words):
            parts.append(f"{column_name(c.column)} contains {{" + ", ".join(quote(v) for v in c.words) + "}")
        else:
            raise InputError(f"not a filter condition: {type(c).__name__}.")
    return " and ".join(parts) if parts else EVERY_ROW


# -- reading ---------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)
                        |(?P<op>>=|<=|[{},])|(?P<str>')|(?P<tick>`))""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", "`": "`"}


def _tokens(text: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            raise InputError(f"cannot read the filter at character {i + 1}: {plain_text(text[i : i + 20])!r}.")
        kind = m.lastgroup or ""
        if kind in ("str", "tick"):
            value, i = _quoted(text, m.end(), "'" if kind == "str" else "`")
            out.append((kind, value))
            continue
        out.append((kind, m.group(kind)))
        i = m.end()


def _quoted(text: str, i: int, delimiter: str) -> tuple[str, int]:
    chars: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == delimiter:
            return "".join(chars), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _ESCAPES:
                chars.append(_ESCAPES[nxt])
                i += 2
                continue
            width = {"u": 4, "U": 8}.get(nxt)
            digits = text[i + 2 : i + 2 + width] if width else ""
            if not width or len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise InputError(f"a bad escape in the filter at character {i + 1}.")
            chars.append(chr(int(digits, 16)))
            i += 2 + width
            continue
        chars.append(ch)
        i += 1
    raise InputError("a quote in the filter is not closed.")


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str | None = None, word: str | None = None) -> tuple[str, object]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (word and str(tok[1]).lower() != word):
            want = word or kind or "more"
            got = "the end" if tok is None else repr(plain_text(tok[1]))
            raise InputError(f"the filter expected {want!r} but found {got}.")
        self.at += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and str(tok[1]).lower() == word

    def value(self) -> float | str:
        kind, v = self.take()
        if kind == "num":
            return float(str(v))
        if kind == "str":
            return str(v)
        raise InputError(f"the filter expected a number or a quoted value but found {plain_text(v)!r}.")

    def items(self) -> list[float | str]:
        self.take("op", "{")
        out: list[float | str] = []
        while self.peek() != ("op", "}"):
            if out:
                self.take("op", ",")
            out.append(self.value())
        self.take("op")
        return out


def parse_expression(text: str) -> Filter:
    """The :class:`Filter` that :func:`to_expression` wrote as ``text``; :class:`InputError` naming where
    the text does not read."""
    if text.strip().lower() in (EVERY_ROW, ""):
        return Filter()
    r = _Reader(text)
    conds: list[Condition] = []
    while True:
        conds.append(_condition(r))
        if r.peek() is None:
            return Filter(conds)
        r.take("word", "and")


def _condition(r: _Reader) -> Condition:
    kind, name = r.take()
    special = kind == "word" and str(name).lower() in ("cluster", "anomaly")
    if kind not in ("word", "tick") or (kind == "word" and str(name).lower() in KEYWORDS and not special):
        raise InputError(f"the filter expected a column but found {plain_text(name)!r}.")
    column = str(name)
    op = r.take()
    verb = str(op[1]).lower()
    if special and column.lower() == "cluster":
        if verb != "in":
            raise InputError("the filter reads the cluster as 'cluster in {...}'.")
        values = r.items()
        if not all(isinstance(v, float) and v.is_integer() for v in values):
            raise InputError("the clusters of a filter are whole numbers.")
        return Clusters(tuple(int(v) for v in values))
    low: float | str | None = None
    high: float | str | None = None
    if verb == "between":
        low = r.value()
        r.take("word", "and")
        high = r.value()
    elif verb == ">=":
        low = r.value()
    elif verb == "<=":
        high = r.value()
    elif verb in ("in", "contains") and not special:
        texts = tuple(v if isinstance(v, str) else _value(v) for v in r.items())
        return Levels(column, texts) if verb == "in" else Words(column, texts)
    else:
        raise InputError(f"the filter does not know {plain_text(op[1])!r} after {plain_text(column)!r}.")
    if special:
        if isinstance(low, str) or isinstance(high, str):
            raise InputError("the anomaly score's bounds are numbers.")
        return Anomaly(low, high)
    return Range(column, low, high)
