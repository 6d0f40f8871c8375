"""Runs as folders of plain files: ids (:mod:`~explorer.runs.ids`), where they are kept
(:mod:`~explorer.runs.roots`), saving, loading and listing them (:mod:`~explorer.runs.files`), their JSON
(:mod:`~explorer.runs.jsonio`), the files a run is downloaded as (:mod:`~explorer.runs.exports`), and object
stores (:mod:`~explorer.runs.store`)."""
from explorer.runs.exports import (
    latent_parquet,
    model_safetensors,
    named_points,
    points_csv,
    points_table,
    zip_run,
    zip_saved_run,
)
from explorer.runs.files import (
    EXPLAIN_JSON,
    EXPLAIN_POINTS,
    RUN_FORMAT,
    cleanup_partial,
    delete_run,
    library_versions,
    list_runs,
    load_run,
    name_saved_run,
    save_names,
    save_run,
)
from explorer.runs.ids import (
    DEFAULT_ROOT_ENV,
    RUN_ID_PATTERN,
    STALE_TMP_S,
    TMP_PREFIX,
    check_run_id,
    new_run_id,
    run_dir,
)
from explorer.runs.jsonio import json_ready, read_json, write_json
from explorer.runs.roots import default_root, resolve_root

__all__ = [
    "DEFAULT_ROOT_ENV",
    "EXPLAIN_JSON",
    "EXPLAIN_POINTS",
    "RUN_FORMAT",
    "RUN_ID_PATTERN",
    "STALE_TMP_S",
    "TMP_PREFIX",
    "check_run_id",
    "cleanup_partial",
    "default_root",
    "delete_run",
    "json_ready",
    "latent_parquet",
    "library_versions",
    "list_runs",
    "load_run",
    "model_safetensors",
    "name_saved_run",
    "named_points",
    "new_run_id",
    "points_csv",
    "points_table",
    "read_json",
    "resolve_root",
    "run_dir",
    "save_names",
    "save_run",
    "write_json",
    "zip_run",
    "zip_saved_run",
]
