"""What the Explore page needs to search, filter and curate a run (:mod:`explorer.curate` does the work):
the filter's widgets as data and the :class:`~explorer.curate.Filter` they make, the rows in focus (a filter
and a search, combined with a selection), the tables of hits, neighbours and duplicate groups, the map's
labels under a curation, and where a curation is saved."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from explorer.cluster.types import label_index
from explorer.curate import (
    Anomaly,
    Clusters,
    Curation,
    Duplicates,
    Levels,
    Range,
    SearchHits,
    Similar,
    Words,
    curated_result,
    load_curation,
    save_curation,
)
from explorer.curate.filters import Condition
from explorer.dashboard.run_view import cluster_name
from explorer.display.usertext import plain_text
from explorer.errors import InputError
from explorer.runs.ids import run_dir
from explorer.runs.store import is_url

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult

FilterKind = Literal["clusters", "anomaly", "number", "category", "text"]
MAX_LEVELS = 60  # a column with more distinct values is filtered by words, not levels
TABLE_ROWS = 200  # rows listed in a table of hits or duplicate groups
GROUP_IDS = 8  # ids named per duplicate group


@dataclass(frozen=True)
class FilterColumn:
    """One thing the page filters by: ``label`` (plain text, shown), ``kind``, the column's ``name`` (None for
    the clusters and the anomaly score), its range (numbers, anomaly) or its ``levels`` (categories)."""

    label: str
    kind: FilterKind
    name: str | None = None
    low: float = 0.0
    high: float = 0.0
    levels: tuple[str, ...] = ()


def filter_columns(result: RunResult) -> list[FilterColumn]:
    """What can be filtered: the clusters, the anomaly score, then each column of the run's table (numbers by
    range, up to ``MAX_LEVELS`` levels by level, other text by words)."""
    import pandas as pd

    score = np.asarray(result.anomaly, np.float64)
    finite = score[np.isfinite(score)]
    out = [
        FilterColumn("cluster", "clusters"),
        FilterColumn("anomaly score", "anomaly", None, *_ends(finite)),
    ]
    table = result.dataset.table
    if table is None:
        return out
    for col in table.columns:
        values = table[col]
        name = str(col)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            known = values.to_numpy(np.float64, na_value=np.nan)
            out.append(FilterColumn(name, "number", name, *_ends(known[np.isfinite(known)])))
            continue
        if pd.api.types.is_datetime64_any_dtype(values):
            continue  # dates: by a typed expression (explorer.curate.parse_expression), not a widget yet
        levels = values.dropna().astype(str).unique()
        if len(levels) <= MAX_LEVELS:
            out.append(FilterColumn(name, "category", name, levels=tuple(sorted(levels))))
        else:
            out.append(FilterColumn(name, "text", name))
    return out


def _ends(values: np.ndarray) -> tuple[float, float]:
    return (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)


def condition(col: FilterColumn, value: Any) -> Condition | None:
    """The condition a widget's ``value`` makes: a (low, high) pair for numbers and the anomaly score, chosen
    levels or clusters (a list), words (text, split at commas); None when it asks for nothing."""
    if col.kind in ("number", "anomaly"):
        low, high = (float(v) for v in value)
        return Anomaly(low, high) if col.kind == "anomaly" else Range(str(col.name), low, high)
    if col.kind == "clusters":
        return Clusters(tuple(int(c) for c in value)) if value else None
    if col.kind == "category":
        return Levels(str(col.name), tuple(str(v) for v in value)) if value else None
    words = tuple(w.strip() for w in str(value or "").split(",") if w.strip())
    return Words(str(col.name), words) if words else None


def focus(n: int, keep: np.ndarray | None, hits: np.ndarray | None) -> np.ndarray | None:
    """(m,) rows ascending that a filter's mask ``keep`` (n,) bool and the search ``hits`` (rows) both let
    through; None when neither is given (everything is in focus)."""
    if keep is None and hits is None:
        return None
    inside = np.ones(n, bool) if keep is None else np.asarray(keep, bool).copy()
    if hits is not None:
        found = np.zeros(n, bool)
        found[np.asarray(hits, np.int64)] = True
        inside &= found
    return np.flatnonzero(inside)


def combine(selected: np.ndarray, in_focus: np.ndarray | None) -> np.ndarray:
    """The rows the page's selection actions act on: the ``selected`` rows (a lasso, a click, picked clusters)
    that are ``in_focus`` (AND); with nothing selected, the rows in focus; with no focus, the selection."""
    selected = np.asarray(selected, np.int64)
    if in_focus is None:
        return selected
    if len(selected) == 0:
        return np.asarray(in_focus, np.int64)
    return np.intersect1d(selected, in_focus)


def find_row(result: RunResult, text: str) -> int:
    """The row a person names: by its id (as the hover label shows it), else by its number (0-based)."""
    text = str(text).strip()
    if not text:
        raise InputError("name a row: its id, or its number.")
    ids = np.asarray(result.dataset.ids)
    ids = ids if ids.dtype.kind == "U" else ids.astype(str)  # no copy of a million ids that are text already
    match = np.flatnonzero(ids == text)
    if len(match):
        return int(match[0])
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(ids):
        return int(text)
    raise InputError(f"no row with the id or number {plain_text(text)!r}.")


def label_texts(labels: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """(n,) object: how each cluster of ``labels`` (n,) is shown on the map, "3: its name" or "3" ("noise")."""
    distinct, which = label_index(labels)
    shown = np.array(
        [f"{c}: {names[int(c)]}" if int(c) in names else cluster_name(c) for c in distinct] or [""], dtype=object
    )
    return shown[which.reshape(-1)]


def rows_table(result: RunResult, rows: np.ndarray, labels: np.ndarray, names: dict[int, str]) -> pd.DataFrame:
    """The rows ``rows``: row number, id and (curated) cluster, as plain text."""
    import pandas as pd

    rows = np.asarray(rows, np.int64)
    return pd.DataFrame(
        {
            "row": rows,
            "id": [plain_text(v) for v in np.asarray(result.dataset.ids)[rows]],
            "cluster": label_texts(labels[rows], names).tolist() if len(rows) else [],
        }
    )


def hits_table(result: RunResult, hits: SearchHits, labels: np.ndarray, names: dict[int, str]) -> pd.DataFrame:
    """The first ``TABLE_ROWS`` hits of a text search: row, id, cluster, the column that matched."""
    shown = hits.rows[:TABLE_ROWS]
    return rows_table(result, shown, labels, names).assign(matched=[plain_text(c) for c in hits.columns[: len(shown)]])


def neighbours_table(result: RunResult, similar: Similar, labels: np.ndarray, names: dict[int, str]) -> pd.DataFrame:
    """A row's nearest rows, nearest first: row, id, cluster, distance (in the space the run clustered)."""
    return rows_table(result, similar.rows, labels, names).assign(distance=np.round(similar.distances.astype(float), 4))


def groups_table(result: RunResult, dups: Duplicates) -> pd.DataFrame:
    """The near-duplicate groups, largest first (the first ``TABLE_ROWS``): group, size, the first ids."""
    import pandas as pd

    ids = np.asarray(result.dataset.ids)
    groups = dups.groups[:TABLE_ROWS]
    return pd.DataFrame(
        {
            "group": np.arange(1, len(groups) + 1),
            "size": [len(g) for g in groups],
            "ids": [
                ", ".join(plain_text(v) for v in ids[g[:GROUP_IDS]]) + (" …" if len(g) > GROUP_IDS else "")
                for g in groups
            ],
        }
    )


def curated_view(result: RunResult, curation: Curation) -> RunResult:
    """``result`` as the page shows it under ``curation``: its clusters' labels (n,) the curated ones (the ids
    the history names; no soft assignments) and no explanation (it explained the run's own clusters). With
    no edit, ``result`` itself. To save or share the curated clusters: :func:`explorer.curate.curated_result`."""
    if not curation.steps:
        return result
    clusters = replace(result.clusters, labels=curation.labels, proba=None)
    return replace(result, clusters=clusters, explanation=None)


def curation_folder(result: RunResult, root: str | Path, *, read_only: bool) -> Path:
    """The folder a curation of ``result`` is saved in (its saved run's); :class:`InputError` in a sentence
    when it has none: the run is not saved, is opened through a link (read-only), or is kept in an object store."""
    if read_only:
        raise InputError("This run is opened through a link, read-only: its curation is kept in this session only.")
    if not result.run_id:
        raise InputError("Save the run first (Share page): a curation is saved beside a saved run.")
    if is_url(root):
        raise InputError("Runs are kept in an object store here: a curation is kept in this session only.")
    return run_dir(root, result.run_id)


def start_curation(result: RunResult, root: str | Path) -> tuple[Curation, str | None]:
    """The curation of ``result`` and a note: the one saved with it (a saved run in a local folder) when there
    is one, else a new one with nothing edited; the note says why a saved one could not be read (the run is
    then shown with its own clusters, and saving a new curation replaces the damaged one)."""
    if result.run_id and not is_url(root):
        try:
            saved = load_curation(run_dir(root, result.run_id), result)
        except InputError as exc:
            return Curation.of(result), f"{exc} The run's own clusters are shown."
        if saved is not None:
            return saved, None
    return Curation.of(result), None


def is_stale(curation: Curation, result: RunResult) -> bool:
    """True for a curation with no edit whose names are no longer the run's (renamed on the Understand page
    after the curation was made): an unedited curation is the run as it is now, so it is made again."""
    if curation.steps:
        return False
    names = result.explanation.names if result.explanation is not None else {}
    return curation.original_names != {int(c): str(v) for c, v in names.items()}


def save(curation: Curation, result: RunResult, root: str | Path, *, read_only: bool) -> str:
    """Write ``curation`` beside its saved run; returns what was done, in a sentence."""
    folder = curation_folder(result, root, read_only=read_only)
    save_curation(folder, curation)
    steps = len(curation.steps)
    return f"Saved the curation ({steps} edit{'s' * (steps != 1)}) with the run {result.run_id}."


def curated_run(result: RunResult, curation: Curation) -> RunResult:
    """``result`` as the pages after Explore show it (Understand, Evaluate, Share, Apply): with no edit,
    ``result`` itself; else :func:`explorer.curate.curated_result` (the curated clusters numbered ``0..k-1``,
    their scores, no explanation yet, not saved: ``run_id`` None)."""
    return curated_result(result, curation) if curation.steps else result


def curated_sentence(shown: RunResult) -> str | None:
    """What a page says above a run with curated clusters: how many edits, and how its numbers (``0..k-1``)
    map to the ids the Explore page's history names when they differ; None for a run's own clusters."""
    info = shown.clusters.info.get("curated")
    if info is None:
        return None
    steps = int(info["steps"])
    head = (
        f"These are the clusters as curated on the Explore page ({steps} edit{'s' * (steps != 1)}; "
        f"{shown.clusters.k} clusters, {info['original_k']} in the run)."
    )
    ids = [int(c) for c in info["ids"]]
    if ids == list(range(len(ids))):
        return head
    pairs = ", ".join(f"{i} is {c}" for i, c in enumerate(ids) if i != c)
    return f"{head} They are numbered 0 to {len(ids) - 1} here; on the Explore page {pairs}."


def save_run_and_curation(result: RunResult, curation: Curation | None, root: str | Path) -> str:
    """Save ``result`` (:func:`explorer.runs.files.save_run`) and, when it has edits, its ``curation`` beside it
    (a local runs folder; an object store keeps the run's own clusters). Returns what was done, in a sentence."""
    from explorer.runs.files import save_run

    save_run(result, root)
    if curation is None or not curation.steps:
        return f"Saved as run {result.run_id}."
    if is_url(root):
        return f"Saved as run {result.run_id}, with its own clusters: a curation is not kept in an object store."
    return save(curation, result, root, read_only=False)


def column_values(result: RunResult, col: FilterColumn, labels: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """(values (n,), categorical) of what ``col`` filters, for its histogram beside the map: the clusters
    ``labels`` (n,) (the curated ones) as categories, the anomaly score and number columns as numbers, a
    category column's levels; None for free text (filtered by words: no histogram)."""
    if col.kind == "clusters":
        return label_texts(labels, {}), True
    if col.kind == "anomaly":
        return np.asarray(result.anomaly, np.float64), False
    table = result.dataset.table
    if col.kind == "text" or table is None or col.name not in table.columns:
        return None
    values = table[col.name]
    if col.kind == "number":
        return values.to_numpy(np.float64, na_value=np.nan), False
    return values.to_numpy(object), True
