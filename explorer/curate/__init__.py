"""Exploring a run and curating its clusters, as the best viewers do, headless (the dashboard's engine):

- :mod:`~explorer.curate.search`: text search over the rows' values, and the rows most like a row;
- :mod:`~explorer.curate.filters`: conditions on columns, clusters and the anomaly score, a mask, and a
  readable expression that reads back;
- :mod:`~explorer.curate.duplicates`: near-duplicate pairs and groups in the space the run clustered;
- :mod:`~explorer.curate.curation`: recluster, split, merge and rename, with history and undo;
- :mod:`~explorer.curate.store`: the curation saved beside the run, and the curated run.
"""

from explorer.curate.curation import Curation, Step
from explorer.curate.duplicates import DuplicateConfig, Duplicates, find_duplicates
from explorer.curate.filters import (
    Anomaly,
    Clusters,
    Filter,
    Levels,
    Range,
    Words,
    mask,
    parse_expression,
    to_expression,
)
from explorer.curate.search import (
    SearchHits,
    Similar,
    TextIndex,
    TextQuery,
    row_search,
    search_text,
    similar_rows,
)
from explorer.curate.store import curated_result, load_curation, save_curation

__all__ = [
    "Anomaly",
    "Clusters",
    "Curation",
    "DuplicateConfig",
    "Duplicates",
    "Filter",
    "Levels",
    "Range",
    "SearchHits",
    "Similar",
    "Step",
    "TextIndex",
    "TextQuery",
    "Words",
    "curated_result",
    "find_duplicates",
    "load_curation",
    "mask",
    "parse_expression",
    "row_search",
    "save_curation",
    "search_text",
    "similar_rows",
    "to_expression",
]
