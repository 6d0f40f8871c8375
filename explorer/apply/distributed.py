"""Apply a saved run to a partitioned dataset on a Dask cluster: fit on a sample, assign everywhere.

``apply_partitioned(run_path, data, out, scheduler=...)`` lists the partitions of ``data`` (a folder,
searched recursively, a glob, or one file): Parquet files for a run made on a table, zip files of images for a
run made on images (photos through the pretrained encoder too: each worker encodes its own zips), and runs, for
each one on a worker of a ``dask.distributed`` cluster, what :func:`explorer.apply.apply_run` does: the saved
preprocessing, the saved model, the saved clustering, the anomaly score and the place on the map. Each
input file gives one output file (``out`` mirrors the input's folders), with the columns of
:meth:`AppliedRun.points_frame`; the drift report, a whole-dataset summary, is left out.

- **The run is loaded once per worker**, from its own files (JSON, npz, Parquet, safetensors; never a
  pickle): the task carries the run folder's path (a filesystem every worker reads) or, with
  ``ship_run=True``, the folder as zip bytes scattered to every worker once. A worker keeps the runs it
  loaded, keyed by a digest of the folder's files, so a changed run is loaded again.
- **A partition's output is written atomically**: to a hidden temporary name beside it, then renamed,
  so a file under its final name is always whole. A partition retried after its worker died writes
  its file again from the start.
- **A worker that dies** mid-partition: the scheduler runs its partitions again elsewhere (up to
  ``distributed.scheduler.allowed-failures`` times). A partition that still fails (that limit, bad
  data) is listed in :class:`PartitionedApply` with the reason, and ``resume=True`` runs only the
  partitions without an output file.

Nothing here is imported by ``import explorer``: dask is an optional extra (``pip install
"explorer[dask]"``), and a missing one is an :class:`~explorer.errors.InputError` saying so.
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.data.preprocessing import MissingColumns
    from explorer.limits import Limits

PARQUET_SUFFIXES = (".parquet", ".pq")
#: what a partition is, by the kind of data the run was made on
PARTITION_SUFFIXES = {"table": PARQUET_SUFFIXES, "images": (".zip",)}
PARTITION_WORDS = {"table": "Parquet files (.parquet, .pq)", "images": "zip files of images (.zip)"}
SUMMARY_FILE = "_apply.json"  # written last, beside the partitions (a leading "_" keeps it out of listings)
TMP_PREFIX = ".explorer-tmp-"
TASK_PREFIX = "explorer-apply"
INSTALL_HINT = 'dask is not installed; install the extra with  pip install "explorer[dask]"  (dask and distributed).'
WORKER_RUNS_KEPT = 2  # runs one worker keeps loaded at once
CONNECT_TIMEOUT_S = 20.0


def require_dask() -> Any:
    """The ``distributed`` module, or an InputError with the install hint."""
    try:
        import distributed
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc
    return distributed


# ------------------------------------------------------------------------------------ partitions
@dataclass(frozen=True)
class Partition:
    """One input file and the output file its assignments go to; ``name``: its path relative to the input root."""

    source: str
    output: str
    name: str


def list_partitions(data: str | Path, out: str | Path, kind: str = "table") -> list[Partition]:
    """The partitions of ``data`` (a folder, searched recursively; a glob; one file) for a run made on ``kind``
    (Parquet files for a table, zips of images for images), sorted, each with its output path under ``out``
    (the same relative path, as .parquet). Files and folders whose name starts with "_" or "." (``_SUCCESS``,
    ``_metadata``, temporary files) are not partitions."""
    text = str(data)
    if any(ch in text for ch in "*?["):
        matches = [Path(p) for p in glob.glob(text, recursive=True)]
        root = Path(os.path.commonpath([str(p.parent) for p in matches])) if matches else Path(".")
        files = [p for p in matches if p.is_file()]
    elif Path(text).is_dir():
        root = Path(text)
        files = [p for p in root.rglob("*") if p.is_file()]
    elif Path(text).is_file():
        root, files = Path(text).parent, [Path(text)]
    else:
        raise InputError(f"no file, folder or files matching '{text}'.")
    files = sorted(
        p
        for p in files
        if p.suffix.lower() in PARTITION_SUFFIXES[kind]
        and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
    )
    if not files:
        raise InputError(f"'{text}' holds no {PARTITION_WORDS[kind]}; give a folder or a glob of them.")
    out = Path(out)
    if out.resolve().is_relative_to(root.resolve()):
        raise InputError(
            f"the output folder {out} is inside the input {root}; its files would be read as partitions. "
            "Choose a folder outside it."
        )
    parts = []
    for p in files:
        rel = p.relative_to(root)
        parts.append(Partition(str(p), str(out / rel.with_suffix(".parquet")), rel.as_posix()))
    return parts


# -------------------------------------------------------------------------------- one partition
def assign_table(
    run: Any, data: Any, name: str | None = None, *, missing: MissingColumns = "refuse", limits: Limits | None = None
) -> pd.DataFrame:
    """:func:`explorer.apply.apply_run` on one partition without its drift report: the rows of ``data`` (a
    path, a DataFrame, ...) -> the frame of :meth:`AppliedRun.points_frame` (id, cluster, cluster_name,
    x, y, (z), confidence, runner_up, margin, anomaly, unusual, (label)), one row per input row, in order."""
    from explorer.anomaly import anomaly_scores
    from explorer.apply.assign import assign, nearest_training_rows
    from explorer.apply.drift import UNUSUAL_QUANTILE
    from explorer.apply.run import AppliedRun, kind_of, run_assignment, run_recipe
    from explorer.data.preprocessing import apply_preprocessing
    from explorer.neighbors import place

    recipe = run_recipe(run)
    if recipe["kind"] != kind_of(run):
        raise InputError("the run's preprocessing record does not match its data; save the run again.")
    ds, report = apply_preprocessing(recipe, data, name, missing=missing, limits=limits)
    if ds.X.shape[1] != run.dataset.X.shape[1]:
        raise InputError(
            f"the new data has {ds.X.shape[1]} features after preprocessing, the run {run.dataset.X.shape[1]}; "
            "give data with the same columns as the run's."
        )
    Z = (
        np.ascontiguousarray(ds.X, np.float32)
        if run.reducer is None
        else np.asarray(run.reducer.transform(ds.X), np.float32)
    )
    nn = nearest_training_rows(run, Z)
    a = assign(run, run_assignment(run), Z, nn)
    score = anomaly_scores(run.reducer, ds.X, Z, a.labels, run.Z, run.clusters.labels)
    threshold = float(np.quantile(run.anomaly, UNUSUAL_QUANTILE)) if len(run.anomaly) else float("inf")
    no_drift: Any = None  # a partition's points frame needs no drift report (AppliedRun otherwise always has one)
    applied = AppliedRun(
        run.run_id,
        ds,
        Z,
        a,
        score,
        score > threshold,
        place(run.embedding, *nn),
        nn[1][:, 0].astype(np.float32),
        report,
        no_drift,
    )
    names = run.explanation.names if getattr(run, "explanation", None) is not None else {}
    return applied.points_frame(names)


@dataclass(frozen=True)
class RunRef:
    """How a worker finds a run: its folder (read there) or, with ``shipped``, the zip bytes handed to
    the task; ``digest`` names this version of the run (the worker's cache key)."""

    path: str
    digest: str
    shipped: bool = False
    device: str = "cpu"


def run_digest(path: Path) -> str:
    """A digest of a run folder's file names, sizes and modification times: changes when the run does."""
    h = hashlib.blake2b(digest_size=12)
    for p in sorted(path.iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


_worker_runs: dict[str, Any] = {}
_worker_lock = threading.Lock()
_worker_loads = 0


def worker_loads() -> int:
    """How many runs this process has loaded (the tests check: once per worker, not per partition)."""
    return _worker_loads


def _worker_run(ref: RunRef, archive: bytes | None) -> Any:
    """The run ``ref`` names, loaded on this worker at most once (a lock: a worker may run threads)."""
    global _worker_loads
    from explorer.runs.files import load_run

    with _worker_lock:
        run = _worker_runs.get(ref.digest)
        if run is not None:
            return run
        if ref.shipped:
            if archive is None:
                raise InputError("the run's files did not reach this worker.")
            folder = Path(tempfile.mkdtemp(prefix="explorer-run-"))
            try:
                run = load_run(_unzip_run(archive, folder), device=ref.device)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        else:
            path = Path(ref.path)
            if not (path / "config.json").is_file():
                raise InputError(
                    f"this worker can't read the run folder {ref.path}; put it where every worker reads "
                    "it, or ship the run's files to the workers (--ship-run)."
                )
            run = load_run(path, device=ref.device)
        while len(_worker_runs) >= WORKER_RUNS_KEPT:
            _worker_runs.pop(next(iter(_worker_runs)))
        _worker_runs[ref.digest] = run
        _worker_loads += 1
        return run


def _unzip_run(archive: bytes, folder: Path) -> Path:
    """Extract :func:`explorer.runs.exports.zip_run`'s archive (one folder of plain files) into ``folder``."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = zf.namelist()
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1 or any(n.count("/") != 1 or ".." in n or n.startswith("/") for n in names):
            raise InputError("the shipped run archive is not one run folder.")
        zf.extractall(folder)
    return folder / tops.pop()


@dataclass
class PartitionDone:
    name: str
    rows: int
    seconds: float


def apply_partition(
    ref: RunRef, part: Partition, missing: MissingColumns, limits: Limits | None, archive: bytes | None = None
) -> PartitionDone:
    """Run on a worker: assign one partition and write its output atomically (temporary name, then rename)."""
    t0 = time.perf_counter()
    run = _worker_run(ref, archive)
    frame = assign_table(run, Path(part.source), missing=missing, limits=limits)
    write_atomic(frame, Path(part.output))
    return PartitionDone(part.name, len(frame), time.perf_counter() - t0)


def write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet at ``path`` so that the name only ever holds a whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{secrets.token_hex(4)}")
    try:
        frame.to_parquet(tmp, index=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---------------------------------------------------------------------------------- the whole job
@dataclass
class PartitionedApply:
    """What an apply over partitions did: partitions written, skipped (``resume``: output there
    already), failed (name -> why; redo them with ``resume``), rows written, seconds, workers."""

    run_id: str | None
    output: str
    partitions: int
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0
    workers: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok, "rows_per_second": self.rows_per_second}

    def to_text(self) -> str:
        lines = [
            f"applied run {self.run_id} to {self.partitions} partitions on {self.workers} workers: "
            f"{len(self.written)} written ({self.rows:,} rows, {self.rows_per_second:,.0f} rows/s), "
            f"{len(self.skipped)} already there, {len(self.failed)} failed; assignments in {self.output}"
        ]
        if self.failed:
            lines.append("partitions to redo (run the same command again with --resume):")
            lines += [f"  {name}: {why}" for name, why in sorted(self.failed.items())]
        return "\n".join(lines)


def connect(scheduler: Any, timeout_s: float = CONNECT_TIMEOUT_S) -> tuple[Any, Callable[[], None]]:
    """(a Client, what closes what was opened here) for ``scheduler``: a Client (used as it is), a
    scheduler address (``tcp://host:8786``), or "local" / "local:N" (a LocalCluster of N worker
    processes on this machine, one thread each; N defaults to the cores)."""
    distributed = require_dask()
    if isinstance(scheduler, distributed.Client):
        return scheduler, lambda: None
    text = str(scheduler).strip()
    if text == "local" or text.startswith("local:"):
        n = text.partition(":")[2]
        if n and not n.isdigit():
            raise InputError(f"--scheduler {text}: give local:N with N a number of worker processes.")
        cluster = distributed.LocalCluster(
            n_workers=int(n) if n else None, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    try:
        client = distributed.Client(text, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"could not reach the Dask scheduler at {text} ({exc}); check the address "
            "(tcp://host:8786) and that the scheduler is running."
        ) from exc
    return client, client.close


def apply_partitioned(
    run_path: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    scheduler: Any,
    resume: bool = False,
    missing: MissingColumns = "refuse",
    limits: Limits | None = None,
    ship_run: bool = False,
    device: str = "cpu",
    on_partition: Callable[[int, int], None] | None = None,
) -> PartitionedApply:
    """Apply the saved run at ``run_path`` to every partition of ``data`` (Parquet files for a run made on a table,
    zips of images for one made on images) on a Dask cluster, writing one Parquet file per partition under
    ``out``; returns what was done (and what to redo).

    ``scheduler``: see :func:`connect`. ``resume``: skip partitions whose output exists (without it an
    output folder that already holds assignments is refused). ``ship_run``: send the run's files to the
    workers (once each) instead of having them read ``run_path``. ``on_partition(done, total)`` is
    called here as partitions finish. The data and ``out`` must be paths every worker reads and writes.
    """
    from explorer.runs.exports import zip_run
    from explorer.runs.jsonio import read_json

    run_path, out = Path(run_path), Path(out)
    if not (run_path / "config.json").is_file():
        raise InputError(f"no saved run in {run_path}.")
    config = read_json(run_path / "config.json")
    kind = config.get("dataset", {}).get("kind")
    if kind not in PARTITION_SUFFIXES:
        raise InputError(
            f"the run was made on {kind}; applying over partitions is for runs made on tables (Parquet files) "
            "or images (zip files). Apply vectors with explorer apply without --scheduler."
        )
    parts = list_partitions(data, out, kind)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder for the assignments.")
    _remove_stale_temporaries(out)
    done_already = [p for p in parts if Path(p.output).is_file()]
    if done_already and not resume:
        raise InputError(
            f"{out} already holds assignments for {len(done_already)} of the {len(parts)} partitions; "
            "pass --resume to write only the missing ones, or choose another folder."
        )
    todo = [p for p in parts if not Path(p.output).is_file()]
    report = PartitionedApply(
        config.get("run_id"), str(out), len(parts), skipped=[p.name for p in parts if Path(p.output).is_file()]
    )
    distributed = require_dask()
    client, close = connect(scheduler)
    t0 = time.perf_counter()
    try:
        report.workers = len(client.scheduler_info(n_workers=-1)["workers"])
        if not report.workers and todo:
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except TimeoutError as exc:
                raise InputError(
                    f"the Dask scheduler has no workers (waited {CONNECT_TIMEOUT_S:.0f} s); start some "
                    "(dask worker ADDRESS), then run the same command with --resume."
                ) from exc
            report.workers = len(client.scheduler_info(n_workers=-1)["workers"])
        ref = RunRef(str(run_path.resolve()), run_digest(run_path), ship_run, device)
        archive = client.scatter(zip_run(run_path), broadcast=True) if ship_run else None
        token = secrets.token_hex(4)
        futures = {
            client.submit(
                apply_partition,
                ref,
                p,
                missing,
                limits,
                archive,
                key=f"{TASK_PREFIX}-{token}-{i}",
                pure=False,
                retries=0,
            ): p
            for i, p in enumerate(todo)
        }
        for k, (future, value) in enumerate(
            distributed.as_completed(futures, with_results=True, raise_errors=False), 1
        ):
            part = futures[future]
            if isinstance(value, PartitionDone):
                report.written.append(part.name)
                report.rows += value.rows
            else:
                report.failed[part.name] = _why(value)
            if on_partition is not None:
                on_partition(k, len(todo))
    finally:
        report.seconds = time.perf_counter() - t0
        close()
    report.written.sort()
    out.mkdir(parents=True, exist_ok=True)
    from explorer.runs.jsonio import write_json

    write_json(out / SUMMARY_FILE, report.to_dict())
    return report


def _why(exc: Any) -> str:
    """A failed partition's reason, in a sentence."""
    from explorer.errors import ExplorerError

    if isinstance(exc, tuple) and len(exc) == 3 and isinstance(exc[1], BaseException):
        exc = exc[1]  # as_completed(raise_errors=False) gives (type, value, traceback)
    name = type(exc).__name__
    if name == "KilledWorker":
        return (
            "the worker running it died, as many times as the scheduler allows (allowed-failures); check the "
            "workers' memory and logs"
        )
    if isinstance(exc, ExplorerError):
        return str(exc)
    if isinstance(exc, BaseException):
        return f"{name}: {exc}"
    return f"unexpected result {exc!r}"


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files a killed writer left (never a whole output: those are renamed)."""
    if out.is_dir():
        for p in out.rglob(f"{TMP_PREFIX}*"):
            if p.is_file():
                p.unlink(missing_ok=True)
