"""Runs kept behind an fsspec URL (explorer.runs.store): fsspec's memory filesystem (an object store: no
rename, published by a manifest written last) and its local one (file://: renamed into place). Saved
runs list, load identical and delete; a save that dies midway leaves nothing a reader sees; run ids
from links are checked as for folders."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from explorer.cli import main
from explorer.errors import InputError, RunNotFound
from explorer.runs.files import cleanup_partial, delete_run, list_runs, load_run, save_run
from explorer.runs.store import MANIFEST, is_url, open_store

fsspec = pytest.importorskip("fsspec")


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    """A fresh runs root as a URL: memory://<unique> or file://<tmp folder>."""
    if request.param == "memory":
        url = f"memory://runs-{uuid.uuid4().hex}"
        yield url
        fs, path = open_store(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    else:
        yield (tmp_path / "runs").as_uri()


@pytest.fixture(scope="module")
def result():
    """A small run with a fitted model (PCA), soft clusters and an explanation: 4 planted blobs."""
    from sklearn.datasets import make_blobs

    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import default_config, replace_nested, run_pipeline

    X, y = make_blobs(n_samples=160, centers=4, n_features=6, random_state=0)
    ds = Dataset(
        X=X.astype(np.float32),
        feature_names=[f"f{i}" for i in range(6)],
        ids=np.arange(160).astype(str),
        report=LoadReport(source="blobs", kind="embeddings"),
        kind="embeddings",
        name="blobs",
        labels=y.astype(str),
    )
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=3, method="gmm", k=4, projection_method="pca")
    return run_pipeline(ds, cfg)


def _store_names(url: str) -> list[str]:
    fs, path = open_store(url)
    return sorted(str(p).rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)) if fs.exists(path) else []


def test_urls_are_told_from_paths():
    assert is_url("s3://bucket/runs") and is_url("memory://x") and is_url("file:///tmp/r")
    assert not is_url("runs") and not is_url("/srv/runs") and not is_url("C:\\runs") and not is_url(None)


def test_save_list_load_delete(store, result):
    where = save_run(result, store)
    assert str(where).endswith(result.run_id)
    listed = list_runs(store)
    assert [r["run_id"] for r in listed] == [result.run_id] and listed[0]["metrics"]["k"] == 4
    back = load_run(result.run_id, store)
    np.testing.assert_array_equal(back.Z, result.Z)
    np.testing.assert_array_equal(back.labels, result.labels)
    np.testing.assert_array_equal(back.embedding, result.embedding)
    np.testing.assert_array_equal(back.dataset.X, result.dataset.X)
    np.testing.assert_array_equal(back.reducer.transform(result.dataset.X), result.reducer.transform(result.dataset.X))
    np.testing.assert_allclose(back.clusters.proba, result.clusters.proba, rtol=1e-6)
    assert back.config == result.config and back.run_id == result.run_id
    assert back.explanation is not None and back.explanation.names == result.explanation.names
    delete_run(result.run_id, store)
    assert list_runs(store) == []
    with pytest.raises(RunNotFound):
        load_run(result.run_id, store)
    with pytest.raises(RunNotFound):
        delete_run(result.run_id, store)


def test_the_manifest_is_written_last_and_lists_every_file(result):
    url = f"memory://runs-{uuid.uuid4().hex}"
    fs, base = open_store(url)
    written = []
    real_put, real_pipe = fs.put_file, fs.pipe_file
    fs.put_file = lambda lpath, rpath, **kw: (written.append(rpath), real_put(lpath, rpath, **kw))[1]
    fs.pipe_file = lambda path, value, **kw: (written.append(path), real_pipe(path, value, **kw))[1]
    try:
        save_run(result, url)
    finally:
        del fs.put_file, fs.pipe_file
    assert written[-1].endswith(f"{result.run_id}/{MANIFEST}")
    manifest = json.loads(fs.cat_file(f"{base}/{result.run_id}/{MANIFEST}"))
    names = {p.rsplit("/", 1)[-1] for p in written[:-1]}
    assert set(manifest["files"]) == names >= {"config.json", "points.parquet", "latent.npy", "model.safetensors"}
    fs.rm(base, recursive=True)


def test_a_save_killed_midway_leaves_no_visible_run(store, result, monkeypatch):
    """The process dies after a few files (no clean-up runs): the old run stays, the half one is
    neither listed nor loadable, and a later clean-up removes its files."""
    save_run(result, store)
    good = result.run_id
    if store.startswith("memory"):
        import explorer.runs.store as runstore

        calls = {"n": 0}
        fs, _ = open_store(store)
        real_put = fs.put_file

        def dying_put(lpath, rpath, **kw):
            calls["n"] += 1
            if calls["n"] > 11:  # config.json and metrics.json are written by then
                raise KeyboardInterrupt  # as a kill would: the save goes no further
            return real_put(lpath, rpath, **kw)

        monkeypatch.setattr(fs, "put_file", dying_put)
        monkeypatch.setattr(runstore, "_remove", lambda fs, path: None)  # killed: nothing tidies up
    else:
        monkeypatch.setattr("explorer.runs.files._fsync_tree", lambda path: (_ for _ in ()).throw(KeyboardInterrupt()))
        monkeypatch.setattr("explorer.runs.files.shutil.rmtree", lambda *a, **k: None)
    with pytest.raises(KeyboardInterrupt):
        save_run(result, store)
    monkeypatch.undo()
    assert result.run_id == good  # the id of an unfinished save is never handed out
    names = _store_names(store)
    assert len(names) == 2 and good in names  # the half-written files are there ...
    assert [r["run_id"] for r in list_runs(store)] == [good]  # ... but nobody sees them
    hidden = next(n for n in names if n != good)
    with pytest.raises(RunNotFound):
        load_run(hidden.removeprefix(".tmp-"), store)
    assert cleanup_partial(store, older_than_s=3600) == []  # a fresh one may be another server's save
    assert len(cleanup_partial(store, older_than_s=0)) == 1
    assert _store_names(store) == [good] and load_run(good, store).run_id == good


@pytest.mark.parametrize("bad", ["../etc", "..", "a/b", "", "x" * 22 + "/", "%2e%2e%2fetc", "A" * 22])
def test_run_ids_from_links_are_checked(store, result, bad):
    save_run(result, store)
    with pytest.raises(RunNotFound):
        load_run(bad, store)
    with pytest.raises(RunNotFound):
        delete_run(bad, store)


def test_a_manifest_naming_paths_is_not_a_run(result):
    """A manifest in the store that points outside the run's folder is ignored, never followed."""
    url = f"memory://runs-{uuid.uuid4().hex}"
    save_run(result, url)
    fs, base = open_store(url)
    path = f"{base}/{result.run_id}/{MANIFEST}"
    doc = json.loads(fs.cat_file(path))
    doc["files"]["../../secret"] = 5
    fs.pipe_file(path, json.dumps(doc).encode())
    assert list_runs(url) == []
    with pytest.raises(RunNotFound):
        load_run(result.run_id, url)
    fs.rm(base, recursive=True)


def test_a_store_without_its_package_says_what_to_install(monkeypatch):
    def missing(url, **kw):
        raise ImportError("Install s3fs to access S3")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    with pytest.raises(InputError, match=r"explorer\[s3\]"):
        list_runs("s3://bucket/runs")


def test_an_unknown_protocol_is_a_clear_error():
    with pytest.raises(InputError, match="not a storage"):
        list_runs("nosuchstore://bucket/runs")


def test_runs_dir_env_and_cli(tmp_path, monkeypatch, capsys):
    """EXPLORER_RUNS_DIR as a URL is where runs go by default; explorer run --runs-dir takes one too."""
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=90, centers=3, n_features=4, random_state=1)
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    env_url, flag_url = f"memory://env-{uuid.uuid4().hex}", f"memory://flag-{uuid.uuid4().hex}"
    monkeypatch.setenv("EXPLORER_RUNS_DIR", env_url)
    argv = [
        "run",
        str(tmp_path / "x.npy"),
        "--model",
        "pca",
        "--latent-dim",
        "2",
        "--cluster",
        "kmeans",
        "--k",
        "3",
        "--projection",
        "pca",
        "--no-explain",
        "--quiet",
        "--json",
    ]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["run_dir"] == f"{env_url}/{first['run_id']}"
    assert [r["run_id"] for r in list_runs()] == [first["run_id"]]
    assert main([*argv, "--runs-dir", flag_url]) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["run_id"] for r in list_runs(flag_url)] == [second["run_id"]]
    assert main(["list", "--runs", flag_url]) == 0
    assert second["run_id"] in capsys.readouterr().out
    # the commands that read a saved run find it on the store too
    assert main(["explain", second["run_id"], "--runs", flag_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["clusters"]
    np.save(tmp_path / "new.npy", X[:30].astype(np.float32))
    assert main(["apply", second["run_id"], str(tmp_path / "new.npy"), "--runs", flag_url, "--json"]) == 0
    applied = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sum(applied["clusters"].values()) == 30
    assert main(["compare", first["run_id"], second["run_id"], "--runs", flag_url]) == 2  # first is not there
    assert "no saved run" in capsys.readouterr().err
    for url in (env_url, flag_url):
        fs, path = open_store(url)
        fs.rm(path, recursive=True)


def test_names_and_zip_of_a_run_on_a_store(store, result):
    """The Understand page's names and the Share page's zip work on a run kept on a store."""
    import io
    import zipfile
    from pathlib import Path

    from explorer.runs.exports import zip_saved_run
    from explorer.runs.files import load_run, name_saved_run, save_run

    assert result.explanation is not None
    run_id = Path(str(save_run(result, store))).name
    name_saved_run(run_id, {0: "the first one"}, store)
    back = load_run(run_id, root=store)
    assert back.explanation.names[0] == "the first one"
    names = zipfile.ZipFile(io.BytesIO(zip_saved_run(run_id, store))).namelist()
    assert f"{run_id}/explain.json" in names and f"{run_id}/config.json" in names
