"""Finding rows: text search over the rows' own values, and the rows most like one row.

- :func:`search_text`: a case-insensitive substring (or, asked for, a regular expression) over a table's
  cells (every column or the ones named) and the row ids (an image's file name). A substring search is
  linear in the text. A regular expression is user text that can take exponential time (``(a+)+$``), and
  Python's ``re`` cannot be interrupted, so it runs in a child process (the interpreter with the standard
  library only) that is killed past ``REGEX_SECONDS``; the pattern is also capped in length.
- :func:`similar_rows`: a row's nearest rows in the space the run clustered (``run.Z``), with distances,
  by :class:`explorer.neighbors.Search` (the run's one neighbour search).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.display.usertext import plain_text
from explorer.errors import InputError
from explorer.neighbors import Search

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline.types import RunResult

KEPT_TEXT_BYTES = 256 * 2**20  # a TextIndex keeps its columns as text up to this many bytes; the rest per search
_IDS = "\x00ids"  # a TextIndex's key for the row ids (no column's name: a table may have an "id" column)
MAX_PATTERN = 200  # characters of a search text or pattern
MAX_CELL = 10_000  # characters of a cell a regular expression searches (a longer cell: its first ones)
REGEX_SECONDS = 5.0  # a regular expression's search is stopped past this many seconds

# The child process of a regular expression's search: JSON in (pattern, cap, columns of text or null),
# JSON out (for each column, the rows that match). Standard library only, so it starts in milliseconds.
_REGEX_WORKER = """
import json, re, sys
doc = json.load(sys.stdin)
p, cap = re.compile(doc["pattern"], re.IGNORECASE), doc["cap"]
json.dump([[i for i, v in enumerate(col) if v is not None and p.search(v[:cap])] for col in doc["columns"]], sys.stdout)
"""


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
    ("id" for the row id)."""

    rows: np.ndarray
    columns: list[str]


@dataclass
class Similar:
    """A row's nearest rows: rows (k,) int64 indices and distances (k,) float32 in ``run.Z``, nearest
    first, the row itself left out."""

    row: int
    rows: np.ndarray
    distances: np.ndarray


def check_pattern(text: str, regex: bool) -> re.Pattern:
    """The compiled, case-insensitive pattern for ``text``; :class:`InputError` for an empty or too long
    text, or a bad regular expression."""
    if not isinstance(text, str) or not text:
        raise InputError("the search text is empty.")
    if len(text) > MAX_PATTERN:
        raise InputError(f"the search text is {len(text)} characters; at most {MAX_PATTERN}.")
    try:
        return re.compile(text if regex else re.escape(text), re.IGNORECASE)
    except re.error as exc:
        raise InputError(f"not a valid regular expression: {exc}.") from None


class TextIndex:
    """A run's cells and ids as text, made once for many searches (:func:`search_text`'s ``index``): reading a
    million cells as text takes longer than searching them. Columns are kept as Arrow strings until
    ``KEPT_TEXT_BYTES``; the rest are read as text again at each search."""

    def __init__(self, run: RunResult, kept_bytes: int = KEPT_TEXT_BYTES) -> None:
        self.run = run
        self._kept: dict[str, pd.Series] = {}
        used = 0
        everything = _searched_columns(run, TextQuery("all", ids=True))
        for i, (name, col) in enumerate(everything):
            if used >= kept_bytes:
                break
            text = _as_text(col)
            used += int(text.memory_usage(deep=True))
            self._kept[_IDS if i == len(everything) - 1 else name] = text  # the ids come last

    def columns(self, query: TextQuery) -> list[tuple[str, pd.Series]]:
        """The columns ``query`` searches, as text where kept."""
        return _searched_columns(self.run, query, self._kept)


def search_text(
    run: RunResult, query: TextQuery, *, seconds: float = REGEX_SECONDS, index: TextIndex | None = None
) -> SearchHits:
    """The rows of ``run`` whose cells (or ids) hold ``query.text``: rows (m,) ascending. Cells are read as
    text (numbers as they print, missing cells never match); case is ignored. A regular expression that
    takes longer than ``seconds`` is stopped: :class:`InputError`. ``index``: the run's :class:`TextIndex`,
    made before, for a page that searches the same run again and again."""
    pattern = check_pattern(query.text, query.regex)
    if index is not None and index.run.dataset is not run.dataset:  # a curated view shares its run's dataset
        raise ValueError("the text index is of another dataset")
    columns = index.columns(query) if index is not None else _searched_columns(run, query)
    if query.regex:
        texts = [
            [None if m else str(v) for v, m in zip(col.tolist(), col.isna().tolist(), strict=True)]
            for _, col in columns
        ]
        matched = [np.asarray(rows, np.int64) for rows in _regex_rows(pattern.pattern, texts, seconds)]
    else:  # a literal: linear time, searched here (Arrow's substring search)
        matched = [np.flatnonzero(_contains(col, query.text)) for _, col in columns]
    found = np.full(run.dataset.n, -1, np.int64)  # the first searched column that matched, per row
    for c in reversed(range(len(columns))):
        found[matched[c]] = c
    rows = np.flatnonzero(found >= 0)
    return SearchHits(rows=rows.astype(np.int64), columns=[columns[found[r]][0] for r in rows])


def _as_text(col: pd.Series) -> pd.Series:
    """``col``'s cells as Arrow strings (missing stays missing); a column that is text already as it is."""
    return col if str(col.dtype) == "string[pyarrow]" else col.astype("string[pyarrow]")


def _contains(col: pd.Series, text: str) -> np.ndarray:
    """(n,) bool: the cells of ``col`` (as text; missing: False) that hold ``text``, case ignored."""
    hit = _as_text(col).str.contains(text, case=False, regex=False)
    return hit.fillna(False).to_numpy(bool)


def _regex_rows(pattern: str, columns: list[list[str | None]], seconds: float) -> list[list[int]]:
    """For each column, the rows whose text ``pattern`` matches, found in a child process stopped after
    ``seconds``."""
    doc = json.dumps({"pattern": pattern, "cap": MAX_CELL, "columns": columns})
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _REGEX_WORKER],
            input=doc,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=seconds,
            check=True,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"the regular expression took longer than {seconds:g} s and was stopped; simplify it "
            "(a repeated group that itself repeats, such as (a+)+, can take exponential time)."
        ) from None
    except subprocess.CalledProcessError as exc:
        raise InputError(f"the regular expression search failed: {exc.stderr.strip()[-200:]}") from None
    return json.loads(done.stdout)


def _searched_columns(
    run: RunResult, query: TextQuery, kept: dict[str, pd.Series] | None = None
) -> list[tuple[str, pd.Series]]:
    """(column name, its cells), for each column searched: the table's, then the ids as "id"; a column
    ``kept`` (by name, as text) is taken from there."""
    kept = kept or {}
    import pandas as pd

    ds = run.dataset
    out: list[tuple[str, pd.Series]] = []
    table = ds.table
    if table is not None:
        names = [str(c) for c in table.columns]
        wanted = names if query.columns is None else [str(c) for c in query.columns]
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise InputError(f"no column {plain_text(unknown[0])!r} in this run's table.")
        out += [(name, kept.get(name, table.iloc[:, i])) for i, name in enumerate(names) if name in wanted]
    elif query.columns:
        raise InputError("this run has no table to search by column; search its ids.")
    if query.ids or table is None:
        out.append(("id", kept[_IDS] if _IDS in kept else pd.Series(np.asarray(ds.ids).astype(str))))
    return out


def row_search(Z: np.ndarray) -> Search:
    """The neighbour search over every row of ``Z`` (n, d): :class:`explorer.neighbors.Search`, the run's one
    (exact) neighbour search."""
    return Search(Z)


def similar_rows(run: RunResult, row: int, k: int = 10, *, search: Search | None = None) -> Similar:
    """The ``k`` rows nearest to row ``row`` in ``run.Z`` (the space the run clustered), nearest first,
    the row itself (and nothing else) left out; exact. Pass ``search`` (:func:`row_search` of ``run.Z``) to
    reuse one index for many rows."""
    n = len(run.Z)
    if not 0 <= int(row) < n:
        raise InputError(f"row must be between 0 and {n - 1}; got {row}.")
    if not 1 <= int(k) < n:
        raise InputError(f"k must be between 1 and {n - 1}; got {k}.")
    search = search or Search(run.Z)  # one row: exact, one pass over Z (an index pays off for many rows only)
    idx, dist = search.query(run.Z[int(row) : int(row) + 1], int(k) + 1)
    keep = idx[0] != int(row)
    rows, distances = idx[0][keep][: int(k)], dist[0][keep][: int(k)]
    return Similar(row=int(row), rows=rows.astype(np.int64), distances=distances.astype(np.float32))
