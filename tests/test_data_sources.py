"""Files the server reads for a user (explorer/data/sources.py) and the streamed readers behind them:
paths only under EXPLORER_DATA_DIR (links and '..' followed first), URLs only of allowed schemes,
progress and the caps while reading, and big tables streamed to the same float32 features as the
whole-file reader gives."""

from __future__ import annotations

import io
import json
import os
import uuid
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from explorer.data import ServerFile, SourcePolicy, TableOptions, load, load_from_server, open_source, streamed
from explorer.errors import InputError, LimitError
from explorer.limits import Limits


def blobs_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """n rows: 6 numbers around 4 well separated centres (one column with gaps, one skewed), a
    category that follows the centre, and the centre as the label."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    centres = rng.normal(0, 8, (4, 5))
    X = centres[y] + rng.normal(0, 1, (n, 5))
    df = pd.DataFrame({f"x{j}": X[:, j] for j in range(5)})
    df["amount"] = np.exp(rng.normal(0, 1.5, n) + y)  # right-skewed, non-negative: "auto" logs it
    df.loc[rng.random(n) < 0.02, "x1"] = np.nan
    df["shape"] = np.array(["round", "square", "star", "oval"])[y]
    df["label"] = y.astype(str)
    return df, y


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    df, _ = blobs_frame(300)
    (root / "t.csv").write_bytes(csv_bytes(df))
    (root / "sub").mkdir()
    (root / "sub" / "t.parquet").write_bytes(parquet_bytes(df))
    (tmp_path / "secret.csv").write_bytes(csv_bytes(df))
    return root


def memory_url(name: str, data: bytes) -> str:
    import fsspec

    url = f"memory://{uuid.uuid4().hex}/{name}"
    with fsspec.open(url, "wb") as f:
        f.write(data)
    return url


# ------------------------------------------------------------------------------------------- paths
def test_paths_are_off_unless_a_data_folder_is_set(folder):
    policy = SourcePolicy.from_env({})
    assert not policy.enabled
    with pytest.raises(InputError, match=r"reading files on the server is off.*EXPLORER_DATA_DIR"):
        open_source(str(folder / "t.csv"), policy=policy)


def test_a_path_inside_the_folder_loads_relative_or_absolute(folder):
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    ds = load_from_server("t.csv", table=TableOptions(label_column="label"), policy=policy)
    assert ds.n == 300 and ds.X.dtype == np.float32 and ds.n_classes == 4
    ds = load_from_server(str(folder / "sub" / "t.parquet"), table=TableOptions(label_column="label"), policy=policy)
    assert ds.n == 300 and ds.name == "t"


@pytest.mark.parametrize("spec", ["../secret.csv", "sub/../../secret.csv", "/etc/passwd", "{outside}"])
def test_a_path_that_leaves_the_folder_is_refused(folder, spec):
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    spec = spec.format(outside=folder.parent / "secret.csv")
    with pytest.raises(InputError, match="outside the server's data folder") as info:
        open_source(spec, policy=policy)
    assert str(folder) not in str(info.value)  # the server's own folders are not shown to a visitor


def test_a_link_is_followed_before_the_folder_is_checked(folder):
    (folder / "leak.csv").symlink_to(folder.parent / "secret.csv")
    (folder / "sub" / "alias.csv").symlink_to(folder / "t.csv")
    (folder / "up").symlink_to(folder.parent, target_is_directory=True)
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    for spec in ("leak.csv", "up/secret.csv"):
        with pytest.raises(InputError, match="outside the server's data folder"):
            open_source(spec, policy=policy)
    source = open_source("sub/alias.csv", policy=policy)  # a link that stays inside is fine
    assert isinstance(source, ServerFile) and source.name == "t.csv"
    source.close()


def test_a_missing_file_and_a_bad_setting_say_so(folder):
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    with pytest.raises(InputError, match=r"nope.csv: no such file") as info:
        open_source("nope.csv", policy=policy)
    assert str(folder) not in str(info.value)
    with pytest.raises(InputError, match=r"EXPLORER_DATA_DIR=.* is not a folder"):
        SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder / "t.csv")})


# -------------------------------------------------------------------------------------------- URLs
def test_urls_are_off_by_default_and_only_allowed_schemes_are_read():
    url = memory_url("t.csv", csv_bytes(blobs_frame(100)[0]))
    with pytest.raises(InputError, match=r"reading URLs is off.*EXPLORER_URL_SCHEMES"):
        open_source(url, policy=SourcePolicy.from_env({}))
    with pytest.raises(InputError, match=r"memory:// URLs are not allowed here \(allowed: gs://, s3://\)"):
        open_source(url, policy=SourcePolicy.from_env({"EXPLORER_URL_SCHEMES": "s3, gs"}))
    ds = load_from_server(
        url, policy=SourcePolicy.from_env({"EXPLORER_URL_SCHEMES": "memory"}), table=TableOptions(label_column="label")
    )
    assert ds.n == 100 and ds.X.dtype == np.float32 and ds.name == "t"


@pytest.mark.parametrize(
    "spec,message",
    [
        ("file:///etc/passwd", "file:// URLs are never read"),
        ("simplecache::memory://x/t.csv", "chained URLs"),
        ("http://127.0.0.1:8080/t.csv", "local or private address"),
        ("http://169.254.169.254/latest/meta-data/t.csv", "local or private address"),  # the cloud's metadata service
        ("https://10.0.0.7/t.csv", "local or private address"),
        ("http://[::1]/t.csv", "local or private address"),
    ],
)
def test_urls_that_reach_the_server_itself_are_refused(spec, message):
    policy = SourcePolicy.from_env({"EXPLORER_URL_SCHEMES": "memory,http,https"})
    with pytest.raises(InputError, match=message):
        open_source(spec, policy=policy)


def test_file_can_not_be_allowed_as_a_scheme():
    with pytest.raises(InputError, match="reads the server's own disk"):
        SourcePolicy.from_env({"EXPLORER_URL_SCHEMES": "s3,file"})


# ------------------------------------------------------------------------------ progress and caps
def test_reading_reports_progress_and_upload_cap_does_not_apply(monkeypatch):
    df, _y = blobs_frame(60_000)
    data = csv_bytes(df)
    monkeypatch.setattr("explorer.data.files.READ_PIECE_BYTES", 256 * 1024)
    url = memory_url("big.csv", data)
    seen: list[tuple[int, int | None]] = []
    limits = Limits(max_upload_bytes=1_000)  # an upload this big would be refused
    ds = load_from_server(
        url,
        limits=limits,
        policy=SourcePolicy.from_env({"EXPLORER_URL_SCHEMES": "memory"}),
        table=TableOptions(label_column="label"),
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert ds.n == 60_000
    assert len(seen) > 5 and all(total == len(data) for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == len(data)


def test_rows_memory_and_time_caps_still_apply(folder, monkeypatch):
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    with pytest.raises(LimitError, match="max_rows"):
        load_from_server("sub/t.parquet", limits=Limits(max_rows=100), policy=policy)
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)  # the CSV is streamed: the size is known only while reading
    monkeypatch.setattr(streamed, "CSV_BLOCK_BYTES", 4096)
    with pytest.raises(LimitError, match="max_rows"):
        load_from_server("t.csv", limits=Limits(max_rows=100), policy=policy)
    with pytest.raises(LimitError, match=r"read so far.*max_decoded_bytes=5,000.*stopped while being read"):
        load_from_server("t.csv", limits=Limits(max_decoded_bytes=5_000), policy=policy)
    with pytest.raises(LimitError, match="max_load_seconds"):
        load_from_server("t.csv", limits=Limits(max_load_seconds=1e-9), policy=policy)


def test_arrays_from_the_server_are_read_whole_within_the_memory_cap(folder):
    np.save(folder / "v.npy", np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32))
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    assert load_from_server("v.npy", policy=policy, limits=Limits(max_upload_bytes=100)).X.shape == (200, 8)
    with pytest.raises(LimitError, match=r"read whole.*max_decoded_bytes"):
        load_from_server("v.npy", policy=policy, limits=Limits(max_decoded_bytes=1_000))


# ------------------------------------------------------------------------------- streamed tables
def reference_features(df: pd.DataFrame) -> np.ndarray:
    """What "auto" scaling makes of blobs_frame, in float64 and cast once: the gap filled with the
    median, log(1 + x) of the skewed amount, each number standardized after dividing by its peak,
    the category one-hot at 1/sqrt(2) (in the order of its counts)."""
    cols = []
    for name in ["x0", "x1", "x2", "x3", "x4", "amount"]:
        v = df[name].to_numpy(dtype=np.float64)
        v = np.where(np.isnan(v), np.nanmedian(v), v)
        if name == "amount":
            v = np.log1p(v)
        z = v / np.abs(v).max()
        cols.append((z - z.mean()) / z.std())
    for level in df["shape"].value_counts().index:
        cols.append((df["shape"].to_numpy() == level) / np.sqrt(2))
    return np.stack(cols, axis=1).astype(np.float32)


def test_a_big_csv_and_parquet_stream_to_the_same_float32_features(monkeypatch):
    df, y = blobs_frame(200_000, seed=3)
    options = TableOptions(label_column="label")
    whole = load(csv_bytes(df), name="t.csv", table=options, limits=Limits(max_upload_bytes=2**30))
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(streamed, "CSV_BLOCK_BYTES", 1 << 20)  # several batches
    policy = SourcePolicy.from_env({"EXPLORER_URL_SCHEMES": "memory"})
    from_csv = load_from_server(memory_url("t.csv", csv_bytes(df)), table=options, policy=policy)
    from_parquet = load_from_server(memory_url("t.parquet", parquet_bytes(df)), table=options, policy=policy)
    expected = reference_features(df)
    for ds in (whole, from_csv, from_parquet):
        assert ds.X.dtype == np.float32 and ds.X.flags.c_contiguous and ds.X.shape == (200_000, 10)
        assert ds.feature_names == whole.feature_names
        np.testing.assert_allclose(ds.X, expected, rtol=1e-5, atol=1e-6)
        assert np.array_equal(ds.labels, y.astype(str))
        assert ds.report.transformed == {"amount": "log(1 + x)"} and ds.report.imputed == {
            "x1": whole.report.imputed["x1"]
        }
    np.testing.assert_array_equal(from_csv.X, whole.X)  # the same numbers parsed, the same arithmetic


def test_a_streamed_column_that_turns_to_text_later_is_read_as_text(monkeypatch):
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(streamed, "CSV_BLOCK_BYTES", 4096)
    lines = ["a;b;c"] + [f"{i % 7};{i % 5};{i * 0.5}" for i in range(3_000)]
    lines[2_500] = "oops;3;1,5"  # junk far past the first block; a decimal comma in a ";" file
    data = ("\n".join(lines) + "\n").encode("latin-1")
    ds = load(data, name="t.csv")
    notes = " ".join(ds.report.notes)
    assert ds.X.shape == (3_000, 3) and "had 1 value that are not numbers" in notes and "'oops'" in notes
    assert "Columns are separated by ';'" in notes and ds.report.imputed == {"a": 1}
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 2**40)  # read whole: the line-by-line reader
    whole = load(data, name="t.csv")
    np.testing.assert_array_equal(ds.X, whole.X)


def test_a_streamed_csv_with_a_broken_line_or_other_encoding_says_so(monkeypatch):
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    with pytest.raises(InputError, match=r"t.csv: line 4 has 3 fields but the header has 2 \(delimiter ','\)"):
        load(b"a,b\n1,2\n3,4\n5,6,7\n8,9\n", name="t.csv")  # pyarrow does not say where: the line is found
    with pytest.raises(InputError, match=r"a quoted field starts on line 3 and runs on to line 5"):
        load(b'a,b\n1,2\n"3,4\n5,6\n7,8\n', name="t.csv")
    ds = load(b"name,v\n" + "".join(f"caf\u00e9{i % 3},{i}\n" for i in range(20)).encode("latin-1"), name="t.csv")
    assert any("read as Latin-1" in n for n in ds.report.notes) and "name=café0" in ds.feature_names
    with pytest.raises(InputError, match="does not look like a text table"):
        load(b"\x00\x01\x02" * 100, name="t.csv")


def test_the_memory_budget_admits_a_million_by_forty_table():
    """The footer estimate counts a number's pages once: 1,000,000 x 40 float64 is 320 MB, in the
    default 512 MiB; X costs 4 bytes a value (float32)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.data.budgets import parquet_decoded_bytes
    from explorer.data.guards import FEATURE_BYTES

    table = pa.table({f"f{j}": np.zeros(1_000_000) + j for j in range(4)})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    per_column = parquet_decoded_bytes(pq.ParquetFile(io.BytesIO(buf.getvalue())).metadata) / 4
    assert per_column == 8_000_000
    assert 40 * per_column + 1_000_000 * 40 * FEATURE_BYTES < Limits().max_decoded_bytes


def test_the_cli_reads_a_url(tmp_path, capsys):
    from explorer.cli import main

    df, _ = blobs_frame(400)
    url = memory_url("blobs.parquet", parquet_bytes(df))
    code = main(
        [
            "run",
            url,
            "--label",
            "label",
            "--model",
            "pca",
            "--cluster",
            "kmeans",
            "--k",
            "4",
            "--projection",
            "pca",
            "--out",
            str(tmp_path / "runs"),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["nmi"] > 0.9
    assert f"reading {url}" in captured.err
    assert main(["run", "file:///etc/passwd", "--out", str(tmp_path / "runs")]) == 2
    assert "never read" in capsys.readouterr().err
    assert os.listdir(tmp_path / "runs")  # the first run was saved


# ------------------------------------------------------------------------------ the Data page
SERVER_CHOICE = "A path or URL on the server"


def data_page(tmp_path, monkeypatch, **env: str):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "1")
    for var in ("EXPLORER_DATA_DIR", "EXPLORER_URL_SCHEMES"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("navigation_only")
def test_the_data_page_offers_a_server_path_only_when_the_operator_allows_one(tmp_path, monkeypatch, folder):
    at = data_page(tmp_path, monkeypatch)
    assert SERVER_CHOICE not in at.radio(key="p:data:source").options
    at = data_page(tmp_path, monkeypatch, EXPLORER_DATA_DIR=str(folder))
    assert SERVER_CHOICE in at.radio(key="p:data:source").options
    at.radio(key="p:data:source").set_value(SERVER_CHOICE).run()
    before = at.session_state["ws"].dataset
    at.text_input(key="p:data:server_path").set_value("../secret.csv").run()
    assert not at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert "outside the server's data folder" in errors and str(folder) not in errors
    assert at.session_state["ws"].dataset is before  # the data in use stay
    at.text_input(key="p:data:server_path").set_value("sub/t.parquet").run()
    assert not at.exception and not at.error
    ds = at.session_state["ws"].dataset
    assert ds.name == "t" and ds.n == 300 and ds.X.dtype == np.float32


def test_the_pages_progress_is_the_bytes_read_at_most_twice_a_second(monkeypatch):
    from explorer.events import Progress
    from pages.ui import loading

    class Job:
        events: ClassVar[list[Progress]] = []

        def emit(self, event: Progress) -> None:
            self.events.append(event)

    clock = iter([100.0, 100.1, 100.2, 100.7, 100.8, 100.9])
    monkeypatch.setattr(loading.time, "monotonic", lambda: next(clock))
    job = Job()
    report = loading._read_progress(job)
    for done in (1, 2, 3, 4, 5):
        report(done * 2**20, 5 * 2**20)
    assert [e.stage for e in job.events] == ["load"] * 3  # at 100.0, 100.7 and the end (whenever it comes)
    assert [round(e.fraction, 2) for e in job.events] == [0.2, 0.8, 1.0]
    assert job.events[-1].message == "5 MiB read of 5 MiB"


def test_invalid_utf8_late_in_a_streamed_file_is_read_as_latin1(monkeypatch):
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(streamed, "CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(streamed, "HEAD_BYTES", 4096)  # the head is plain ASCII: the Latin-1 byte comes later
    body = "".join(f"{['red', 'blue'][i % 2]},{i % 9}\n" for i in range(3_000)).encode() + "r\xf6d,1\n".encode(
        "latin-1"
    )
    ds = load(b"colour,n\n" + body, name="t.csv")
    assert ds.n == 3_001 and sum("read as Latin-1" in n for n in ds.report.notes) == 1
    assert ds.table["colour"].iloc[-1] == "r\u00f6d"


def test_a_folder_of_images_loads_unless_a_link_inside_it_leaves_the_data_folder(folder):
    from PIL import Image

    images = folder / "imgs"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (8, 8)).astype(np.uint8), "L").save(images / f"{i}.png")
    policy = SourcePolicy.from_env({"EXPLORER_DATA_DIR": str(folder)})
    assert load_from_server("imgs", policy=policy).n == 6
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(folder.parent / "outside.png")
    (images / "7.png").symlink_to(folder.parent / "outside.png")
    with pytest.raises(InputError, match=r"imgs/7.png: is a link that leads outside the server's data folder"):
        load_from_server("imgs", policy=policy)
