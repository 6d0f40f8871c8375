"""Every malformed or hostile input of tests/bad_inputs through ``explorer.data.load``: a clear
InputError / LimitError naming the problem (never another exception), or a clean load with a note;
nothing written anywhere; object arrays never unpickled; run links that are not run ids go nowhere."""

from __future__ import annotations

import base64
import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import LIMITS_ENV, Case, build_corpus

from explorer.data import TableOptions, load
from explorer.errors import InputError, LimitError, RunNotFound
from explorer.limits import Limits
from explorer.runs.files import load_run
from explorer.runs.ids import RUN_ID_PATTERN, new_run_id

LIMITS = Limits.from_env(LIMITS_ENV)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Case]]:
    folder = tmp_path_factory.mktemp("bad_inputs")
    return folder, build_corpus(folder)


def tree(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its size (what a test compares before and after)."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_the_corpus_covers_the_issue(corpus):
    _, cases = corpus
    assert len(cases) >= 40
    names = " | ".join(c.name for c in cases)
    for wanted in (
        "empty file",
        "header only",
        "one row",
        "delimiter",
        "Latin-1",
        "row too short",
        "duplicate column names",
        "all-missing column",
        "text in a numeric column",
        "inf and 1e308",
        "label with missing values",
        "label with one class",
        "label with all-unique values",
        "more columns than rows",
        "over the upload limit",
        "mixed sizes and modes",
        "truncated PNG",
        "text file renamed .png",
        "20000x20000",
        "zip slip",
        "zip bomb",
        "zip holding only a zip",
        "zip with no images",
        "object-dtype .npy",
        # issue 13: small files that decode to a lot, and the loader gaps
        "constant columns that decodes past the memory cap",
        "repeating one long string",
        "header claims 10^13",
        "claims more than it holds",
        ".npz bomb",
        "row cap by its header",
        "40 PNGs of 6000x6000",
        "CR-only",
        "Excel sep=;",
        "UTF-32 with",
        "UTF-32 without",
        '"1,000"',
        "list-of-strings",
        "two list-of-strings",
    ):
        assert wanted in names, wanted
    assert {c.expect for c in cases} == {"error", "ok"} and all(c.message_fragment or c.expect == "ok" for c in cases)


def load_case(folder: Path, case: Case, as_upload: bool = False):
    source = folder / case.filename
    if as_upload:  # what the dashboard passes: a file object with a name, no path
        source = io.BytesIO(source.read_bytes())
        source.name = case.filename
    return load(source, table=TableOptions(label_column=case.label), limits=LIMITS)


def test_every_case_gives_a_clear_error_or_loads_with_a_note(corpus, tmp_path, monkeypatch):
    folder, cases = corpus
    monkeypatch.chdir(tmp_path)  # anything written by accident to the working folder would show here
    before = tree(folder)
    failures = []
    for case in cases:
        for as_upload in (False, True):
            try:
                ds = load_case(folder, case, as_upload)
            except InputError as exc:
                message = str(exc)
                if case.expect != "error" or case.message_fragment not in message:
                    failures.append(f"{case.name}: unexpected error {message!r}")
                elif case.message_fragment.startswith("max_") and not (
                    isinstance(exc, LimitError) and f"EXPLORER_{case.message_fragment.upper()}" in message
                ):
                    failures.append(
                        f"{case.name}: a cap was hit but the message doesn't say how to raise it: {message!r}"
                    )
                continue
            except Exception as exc:  # noqa: BLE001 - the point: nothing but InputError may escape
                failures.append(f"{case.name}: {type(exc).__name__} escaped: {exc}")
                continue
            notes = " ".join(ds.report.notes)
            if case.expect != "ok":
                failures.append(f"{case.name}: loaded, but should have failed with {case.message_fragment!r}")
            elif case.message_fragment not in notes:
                failures.append(f"{case.name}: the load report lacks {case.message_fragment!r}: {notes!r}")
            elif ds.n < 3 or not np.isfinite(ds.X).all() or ds.X.dtype != np.float32:
                failures.append(f"{case.name}: loaded {ds.X.shape} {ds.X.dtype}, not finite float32 features")
    assert not failures, "\n".join(failures)
    assert tree(folder) == before and not any(tmp_path.iterdir())


def test_label_problems_are_noted_not_fatal(corpus):
    folder, cases = corpus
    by_file = {c.filename: c for c in cases}
    missing = load_case(folder, by_file["label_missing.csv"])
    assert missing.n_classes == 3 and "(missing)" in set(missing.labels)
    for name in ("label_one_class.csv", "label_unique.csv"):
        ds = load_case(folder, by_file[name])
        assert ds.labels is None and "kind" not in ds.feature_names  # not a label, and still not a feature


def test_raising_a_cap_through_the_environment_lets_the_file_in(corpus):
    folder, cases = corpus
    by_file = {c.filename: c for c in cases}
    roomy = Limits.from_env(
        {
            **LIMITS_ENV,
            "EXPLORER_MAX_ROWS": "100_000",
            "EXPLORER_MAX_IMAGES": "1000",
            "EXPLORER_MAX_UPLOAD_BYTES": "2_000_000",
            "EXPLORER_MAX_COLUMNS": "1000",
        }
    )
    for name in ("too_many_rows.csv", "too_many_images.zip", "too_big.csv", "too_many_columns.csv"):
        assert load(folder / name, table=TableOptions(label_column=by_file[name].label), limits=roomy).n >= 3
    with pytest.raises(InputError, match="EXPLORER_MAX_ROWS"):
        Limits.from_env({"EXPLORER_MAX_ROWS": "lots"})


def test_every_cap_is_set_by_its_variable_and_named_when_hit():
    from dataclasses import fields

    for f in fields(Limits):
        var = f"EXPLORER_{f.name.upper()}"
        limits = Limits.from_env({var: "7"})
        assert getattr(limits, f.name) == 7
        with pytest.raises(LimitError) as hit:
            limits.check(f.name, 8, "this asks for 8")
        assert f"{f.name}=7" in str(hit.value) and var in str(hit.value)


class _Canary:
    """Unpickling this makes a folder: the proof that a file's pickle ran."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_object_arrays_are_never_unpickled(tmp_path, monkeypatch, suffix):
    canary = tmp_path / "pwned"
    hostile = np.array([_Canary(canary), 1, "x"], dtype=object)
    path = tmp_path / f"hostile{suffix}"
    if suffix == ".npy":
        np.save(path, hostile, allow_pickle=True)
    else:
        np.savez(path, X=np.ones((5, 2)), y=hostile)
    live = np.load(path, allow_pickle=True)  # the payload is live: unpickling it runs os.mkdir
    _ = live if suffix == ".npy" else live["y"]
    assert canary.is_dir()
    canary.rmdir()

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called on an uploaded file")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    real_load, asked = np.load, []

    def np_load(*args, **kwargs):
        asked.append(kwargs.get("allow_pickle", False))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", np_load)
    with pytest.raises(InputError, match="never unpickled"):
        load(path, limits=LIMITS)
    # refused from the header's dtype, before numpy is asked to read anything (and never to unpickle)
    assert not any(asked) and not canary.exists()


@pytest.mark.parametrize(
    "link",
    [
        "../",
        "../../etc/passwd",
        "..%2F..%2Fetc",
        "/etc/passwd",
        "runs/../..",
        "",
        " ",
        "A" * 21,
        "A" * 22 + "/..",
        "A" * 22 + "\x00",
        "random",
        "new",
    ],
)
def test_run_links_that_are_not_saved_runs_are_not_found(tmp_path, link):
    root = tmp_path / "runs"
    root.mkdir()
    link = new_run_id() if link == "new" else link  # well formed, but no such run
    with pytest.raises(RunNotFound):
        load_run(link, root)


def test_a_link_is_never_taken_as_a_path(tmp_path):
    """A run folder outside the root (or inside it, named by path) opens only for code that passes a
    Path, never for text such as a ``?run=`` link."""
    root, elsewhere = tmp_path / "runs", tmp_path / "private" / new_run_id()
    elsewhere.mkdir(parents=True)
    (elsewhere / "config.json").write_text("{}")
    (root / elsewhere.name).parent.mkdir()
    for text in (str(elsewhere), os.path.relpath(elsewhere, root), f"../private/{elsewhere.name}"):
        with pytest.raises(RunNotFound):
            load_run(text, root)
    with pytest.raises(InputError, match="damaged"):  # a Path from code is read (and this one is no run)
        load_run(elsewhere, root)


def test_run_ids_carry_random_bits_and_never_read_as_an_option():
    """Over 100 random bits each, and never a leading ``-`` (one in 64 would have: the CLI read it as an option)."""
    ids = {new_run_id() for _ in range(20_000)}
    assert len(ids) == 20_000
    assert all(run_id[0].isalnum() for run_id in ids)
    assert len({run_id[0] for run_id in ids}) == 62  # the first character still varies over letters and digits
    for run_id in list(ids)[:200]:
        assert RUN_ID_PATTERN.match(run_id)
        assert len(base64.urlsafe_b64decode(run_id + "==")) == 16


# ----------------------------------------------------------------------- paths that are not files
@pytest.mark.parametrize("kind", ["fifo", "device_link", "dangling_link", "folder_named_csv"])
def test_a_path_that_is_not_a_regular_file_is_named_and_never_read(tmp_path, kind):
    """A FIFO would block a reader forever and /dev/zero never ends: each is called what it is."""
    path = tmp_path / "data.csv"
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes to it: opening it to read (blocking) would hang this test
        expected = "named pipe"
    elif kind == "device_link":
        path.symlink_to("/dev/zero")
        expected = "character device (a link to /dev/zero)"
    elif kind == "dangling_link":
        path.symlink_to(tmp_path / "gone.csv")
        expected = "which does not exist"
    else:
        path.mkdir()
        (path / "x.png").write_bytes(b"not an image")
        expected = "could be read as an image"  # a folder is an image folder, whatever its name
    with pytest.raises(InputError) as refused:
        load(path, limits=LIMITS)
    assert expected in str(refused.value) and "no such file" not in str(refused.value)


def test_a_fifo_in_an_image_folder_is_skipped_not_read(tmp_path):
    from bad_inputs import _good_pngs

    for name, data in _good_pngs(4).items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "pipe.png")
    ds = load(tmp_path, limits=LIMITS)
    assert ds.n == 4 and any("not regular files" in n and "pipe.png" in n for n in ds.report.notes)
