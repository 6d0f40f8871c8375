"""Apply a saved (or the current) run to new data without retraining: :func:`apply_run` (one machine,
:mod:`~explorer.apply.run`), :func:`apply_partitioned` (a Dask cluster, :mod:`~explorer.apply.distributed`;
dask itself is imported only when used), how new rows are assigned (:mod:`~explorer.apply.assign`) and
what changed (:mod:`~explorer.apply.drift`)."""

from explorer.apply.distributed import PartitionedApply, apply_partitioned
from explorer.apply.drift import DriftReport
from explorer.apply.run import AppliedRun, apply_run, as_run, kind_of, run_assignment, run_recipe, save_applied
from explorer.data.preprocessing import ApplyReport

__all__ = [
    "AppliedRun",
    "ApplyReport",
    "DriftReport",
    "PartitionedApply",
    "apply_partitioned",
    "apply_run",
    "save_applied",
    "run_recipe",
    "run_assignment",
    "kind_of",
    "as_run",
]
