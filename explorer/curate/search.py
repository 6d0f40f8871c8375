"""Finding rows: text search over the rows' own values, and the rows most like one row.

- :func:`search_text`: a case-insensitive substring (or, asked for, a regular expression) over a table's
  cells (every column or the ones named) and the row ids (an image's file name); the patterns are user
  text, so a regular expression is capped in length, refused where it could take exponential time
  (nested or alternated repetition, back-references) and the search stops at a deadline.
- :func:`similar_rows`: a row's nearest rows in the space the run clustered (``run.Z``), with distances,
  by :class:`explorer.neighbors.Search` (the run's one neighbour search).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import InputError
from explorer.neighbors import Search

if TYPE_CHECKING:  # pragma: no cover
    from explorer.pipeline.types import RunResult

MAX_PATTERN = 200  # characters of a search text or pattern
MAX_CELL = 10_000  # characters of a cell searched (a longer cell is searched in its first ones)
SEARCH_SECONDS = 5.0  # a search stops (and says so) past this many seconds
CHUNK_ROWS = 20_000  # rows searched between two looks at the clock
EXACT_ROWS = 20_000  # up to this many rows the nearest-row search is exact; above, the approximate index

# a group followed by a repetition, whose own body repeats or alternates: (a+)+, (a|ab)*, (x{2,})+
_QUANT = r"(?:[*+]|\{\d*,?\d*\})"
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")


@dataclass
class TextQuery:
    """What :func:`search_text` looks for.

    text: the words (a substring, case-insensitive) or, with ``regex``, a Python regular expression.
    columns: the table's columns searched (None: all of them); ``ids`` adds the row ids (file names).
    """

    text: str
    columns: Sequence[str] | None = None
    regex: bool = False
    ids: bool = True


@dataclass
class SearchHits:
    """rows: (m,) int64 row indices that match, ascending; columns: for each, the first column matched
    ("id" for the row id); complete: False when the deadline cut the search short (``rows`` is then
    what was found in the rows searched so far)."""

    rows: np.ndarray
    columns: list[str]
    complete: bool = True


@dataclass
class Similar:
    """A row's nearest rows: rows (k,) int64 indices and distances (k,) float32 in ``run.Z``, nearest
    first, the row itself left out."""

    row: int
    rows: np.ndarray
    distances: np.ndarray


def check_pattern(text: str, regex: bool) -> re.Pattern:
    """The compiled, case-insensitive pattern for ``text``; :class:`InputError` for an empty or too long
    text, a bad regular expression, or one that could take exponential time."""
    if not isinstance(text, str) or not text:
        raise InputError("the search text is empty.")
    if len(text) > MAX_PATTERN:
        raise InputError(f"the search text is {len(text)} characters; at most {MAX_PATTERN}.")
    if not regex:
        return re.compile(re.escape(text), re.IGNORECASE)
    if _BACKREF.search(text) or _repeats_repetition(text):
        raise InputError(
            "this regular expression repeats a repetition or an alternation, or refers back to a "
            "group, which can take exponential time; simplify it (e.g. 'a+' for '(a+)+')."
        )
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise InputError(f"not a valid regular expression: {exc}.") from None


def _repeats_repetition(text: str) -> bool:
    """Whether a repeated group of ``text`` holds a repetition or an alternation (the ReDoS shapes)."""
    opened: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a character class: skip to its end
            j = i + 1 + (text[i + 1 : i + 2] == "^")
            j += text[j : j + 1] == "]"
            while j < len(text) and text[j] != "]":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            start = opened.pop()
            body = text[start + 1 : i]
            if re.match(_QUANT, text[i + 1 :]) and (re.search(r"(?<!\\)(?:[*+?|]|\{\d)", body)):
                return True
        i += 1
    return False


def search_text(run: RunResult, query: TextQuery, *, seconds: float = SEARCH_SECONDS) -> SearchHits:
    """The rows of ``run`` whose cells (or ids) hold ``query.text``: rows (m,) ascending. Cells are read as
    text (numbers as they print, missing cells never match); case is ignored."""
    pattern = check_pattern(query.text, query.regex)
    ds = run.dataset
    texts = _searched_texts(run, query)
    n = ds.n
    found = np.full(n, -1, np.int64)  # the first searched column that matched, per row
    deadline = time.perf_counter() + seconds
    complete = True
    for s in range(0, n, CHUNK_ROWS):
        if time.perf_counter() > deadline:
            complete = False
            break
        for c, (_, values) in enumerate(texts):
            part = values[s : s + CHUNK_ROWS]
            hit = np.fromiter(
                (v is not None and pattern.search(v[:MAX_CELL]) is not None for v in part), bool, len(part)
            )
            block = found[s : s + CHUNK_ROWS]
            block[hit & (block < 0)] = c
    rows = np.flatnonzero(found >= 0)
    return SearchHits(rows=rows.astype(np.int64), columns=[texts[found[r]][0] for r in rows], complete=complete)


def _searched_texts(run: RunResult, query: TextQuery) -> list[tuple[str, list[str | None]]]:
    """(column name, the column's cells as text, None for a missing one), for each column searched."""
    ds = run.dataset
    out: list[tuple[str, list[str | None]]] = []
    table = ds.table
    if table is not None:
        names = [str(c) for c in table.columns]
        wanted = names if query.columns is None else [str(c) for c in query.columns]
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise InputError(f"no column {unknown[0]!r} in this run's table.")
        for i, name in enumerate(names):
            if name in wanted:
                col = table.iloc[:, i]
                missing = col.isna().to_numpy()
                out.append((name, [None if m else str(v) for v, m in zip(col.tolist(), missing, strict=True)]))
    elif query.columns:
        raise InputError("this run has no table to search by column; search its ids.")
    if query.ids or table is None:
        out.append(("id", [str(v) for v in ds.ids]))
    return out


def row_search(Z: np.ndarray) -> Search:
    """The neighbour search over every row of ``Z`` (n, d): exact up to ``EXACT_ROWS`` rows, else the
    approximate index (:class:`explorer.neighbors.Search`)."""
    return Search(Z, approximate=len(Z) > EXACT_ROWS)


def similar_rows(run: RunResult, row: int, k: int = 10, *, search: Search | None = None) -> Similar:
    """The ``k`` rows nearest to row ``row`` in ``run.Z`` (the space the run clustered), nearest first,
    the row itself (and nothing else) left out. Pass ``search`` (:func:`row_search` of ``run.Z``) to reuse
    one index for many rows."""
    n = len(run.Z)
    if not 0 <= int(row) < n:
        raise InputError(f"row must be between 0 and {n - 1}; got {row}.")
    if not 1 <= int(k) < n:
        raise InputError(f"k must be between 1 and {n - 1}; got {k}.")
    search = search or row_search(run.Z)
    idx, dist = search.query(run.Z[int(row) : int(row) + 1], int(k) + 1)
    keep = idx[0] != int(row)
    rows, distances = idx[0][keep][: int(k)], dist[0][keep][: int(k)]
    return Similar(row=int(row), rows=rows.astype(np.int64), distances=distances.astype(np.float32))
