"""Search, filters, near-duplicates and curation with history (explorer.curate), on planted tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explorer.cli import main
from explorer.curate import (
    Anomaly,
    Clusters,
    Curation,
    DuplicateConfig,
    Filter,
    Levels,
    Range,
    TextQuery,
    Words,
    curated_result,
    find_duplicates,
    load_curation,
    mask,
    parse_expression,
    save_curation,
    search_text,
    similar_rows,
    to_expression,
)
from explorer.curate.duplicates import duplicates_of
from explorer.errors import InputError

NEEDLES = [3, 50, 77]


def planted_table(n=400, k=4, d=6, seed=0, duplicates=False):
    """(Dataset, segments (n,)): k well separated segments of numbers, with a plan, notes and a date column;
    ``duplicates``: rows 10-12 copy row 5 exactly (a group of four) and rows 20, 21 are within 1e-4 of row 30."""
    from sklearn.datasets import make_blobs

    from explorer.dataset import Dataset, LoadReport

    X, y = make_blobs(n_samples=n, centers=k, n_features=d, cluster_std=1.0, center_box=(-10, 10), random_state=seed)
    X = X.astype(np.float32)
    if duplicates:
        X[10:13] = X[5]
        X[[20, 21]] = X[30] + np.float32(1e-4)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(d)])
    table["age"] = rng.integers(18, 80, n)
    table["plan"] = rng.choice(["gold", "silver", "bronze", "o'neil\nplan"], n)
    notes = np.array([f"customer {i} asks about billing" for i in range(n)], dtype=object)
    notes[NEEDLES] = ["found a Needle here", "NEEDLE!", "needle"]
    notes[7] = None
    table["notes"] = notes
    table["signup"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    ds = Dataset(
        X=X,
        feature_names=[f"f{i}" for i in range(d)],
        ids=np.array([f"row{i}" for i in range(n)]),
        report=LoadReport(source="planted", kind="table", n_rows=n, n_features=d),
        kind="table",
        name="planted",
        labels=np.array([f"s{v}" for v in y]),
        table=table,
    )
    return ds, y.astype(np.int64)


def make_run(ds, k=4):
    from explorer.pipeline import default_config, run_pipeline

    return run_pipeline(
        ds, default_config(ds, model="none", method="kmeans", k=k, explain=False, projection_method="pca")
    )


@pytest.fixture(scope="module")
def planted():
    ds, y = planted_table()
    return make_run(ds), y


# -- search ------------------------------------------------------------------------------------------------
def test_text_search_finds_the_planted_rows(planted):
    run, _ = planted
    hits = search_text(run, TextQuery("needle"))
    assert hits.rows.tolist() == NEEDLES and hits.columns == ["notes"] * 3
    assert search_text(run, TextQuery("ne+dle\\b", regex=True)).rows.tolist() == NEEDLES
    assert search_text(run, TextQuery("needle", columns=["plan"])).rows.tolist() == []
    assert search_text(run, TextQuery("row399", columns=[])).rows.tolist() == [399]  # the ids
    assert search_text(run, TextQuery("o'neil")).rows.size > 0


def test_a_text_index_finds_what_a_plain_search_finds(planted):
    """The cells as text made once (TextIndex, for a page that searches again and again): the same hits, with
    every column kept or none kept (read again per search), and a table column named "id" kept apart from the
    row ids."""
    from dataclasses import replace

    from explorer.curate import TextIndex

    run, _ = planted
    table = run.dataset.table.assign(id=[f"x{i}" for i in range(run.dataset.n)])
    run = replace(run, dataset=replace(run.dataset, table=table))
    queries = [TextQuery("needle"), TextQuery("row39"), TextQuery("x39"), TextQuery("ne+dle", regex=True)]
    for index in (TextIndex(run), TextIndex(run, kept_bytes=0)):
        for q in queries:
            want, got = search_text(run, q), search_text(run, q, index=index)
            assert got.rows.tolist() == want.rows.tolist() and got.columns == want.columns
    assert search_text(run, TextQuery("row39"), index=TextIndex(run)).columns == ["id"] * 11  # the ids
    assert set(search_text(run, TextQuery("x39"), index=TextIndex(run)).columns) == {"id"}  # the column "id"
    with pytest.raises(ValueError):
        search_text(planted[0], TextQuery("needle"), index=TextIndex(run))


@pytest.mark.parametrize("pattern", ["[", "(?P<x", "x" * 201, ""])
def test_a_bad_pattern_is_refused(planted, pattern):
    with pytest.raises(InputError):
        search_text(planted[0], TextQuery(pattern, regex=True))


def test_a_catastrophic_regex_is_stopped_at_its_deadline():
    import time
    import types

    table = pd.DataFrame({"text": ["a" * 40 + "!", "fine"]})
    run = types.SimpleNamespace(dataset=types.SimpleNamespace(table=table, ids=np.array(["0", "1"]), n=2))
    assert search_text(run, TextQuery("fi(n)e$", regex=True)).rows.tolist() == [1]
    start = time.perf_counter()
    with pytest.raises(InputError, match="longer than 1 s"):
        search_text(run, TextQuery("(a+)+$", regex=True), seconds=1.0)
    assert time.perf_counter() - start < 5


def test_similar_rows_are_the_rows_segment(planted):
    run, y = planted
    near = similar_rows(run, 0, k=10)
    assert 0 not in near.rows and len(near.rows) == 10
    assert (y[near.rows] == y[0]).all() and np.all(np.diff(near.distances) >= 0)
    d = np.linalg.norm(run.Z - run.Z[0], axis=1)
    d[0] = np.inf
    np.testing.assert_allclose(near.distances, np.sort(d)[:10], rtol=1e-5)


# -- filters -----------------------------------------------------------------------------------------------
def test_a_filters_mask_matches_the_hand_computed_one(planted):
    run, _ = planted
    t = run.dataset.table
    flt = Filter(
        [
            Range("age", 30, 40),
            Levels("plan", ("gold", "silver")),
            Clusters((1, 2)),
            Range("signup", "2024-03-01", None),
            Anomaly(None, float(np.median(run.anomaly))),
        ]
    )
    want = (
        t["age"].between(30, 40)
        & t["plan"].isin(["gold", "silver"])
        & np.isin(run.labels, [1, 2])
        & (t["signup"] >= "2024-03-01")
        & (run.anomaly <= np.median(run.anomaly))
    ).to_numpy()
    got = mask(run, flt)
    assert got.dtype == bool and want.sum() > 0
    np.testing.assert_array_equal(got, want)
    words = mask(run, Filter([Words("notes", ("NEEDLE", "nothing-like-this"))]))
    assert np.flatnonzero(words).tolist() == NEEDLES
    assert mask(run, Filter()).all()


def test_the_expression_reads_well_and_round_trips():
    flt = Filter([Range("age", 30, 40), Levels("plan", ("gold", "silver")), Clusters((2,))])
    text = to_expression(flt)
    assert text == "age between 30 and 40 and plan in {'gold', 'silver'} and cluster in {2}"
    assert parse_expression(text) == flt
    odd = Filter(
        [
            Range("last name", None, 2.5),
            Levels("cluster", ("o'neil\nplan", "\u202egnp.exe", "a\\b")),
            Words("in", ("`x`",)),
            Range("signup", "2024-03-01", "2024-04-01"),
            Anomaly(0.5, None),
            Clusters((-1, 3)),
        ]
    )
    text = to_expression(odd)
    assert "\n" not in text and "\u202e" not in text and "\\u202e" in text and "`last name`" in text
    assert parse_expression(text) == odd
    assert parse_expression(to_expression(Filter())) == Filter()


@pytest.mark.parametrize(
    "text",
    [
        "age between 1",
        "age == 3",
        "plan in {'gold'",
        "plan in {'gold} and",
        "cluster in {'a'}",
        "__import__('os')",
        "and age >= 1",
        "anomaly in {1}",
    ],
)
def test_a_bad_expression_is_refused(text):
    with pytest.raises(InputError):
        parse_expression(text)


# -- near-duplicates ---------------------------------------------------------------------------------------
def test_planted_duplicates_are_found_and_grouped():
    ds, _ = planted_table(duplicates=True)
    run = make_run(ds)
    dup = find_duplicates(run)
    assert [g.tolist() for g in dup.groups] == [[5, 10, 11, 12], [20, 21, 30]]
    found = {tuple(p) for p in dup.pairs.tolist()}
    assert {(5, 10), (5, 11), (5, 12), (10, 11), (20, 21), (20, 30)} <= found
    assert set(np.unique(dup.pairs)) == {5, 10, 11, 12, 20, 21, 30}
    assert dup.distances[0] == 0 and dup.threshold > 1e-3
    exact = find_duplicates(run, DuplicateConfig(threshold=0.0)).groups  # rows 20 and 21 are equal copies too
    assert [g.tolist() for g in exact] == [[5, 10, 11, 12], [20, 21]]


def test_no_duplicates_on_data_without_them(planted, make_blobs):
    assert find_duplicates(planted[0]).pairs.shape == (0, 2)
    X, _ = make_blobs(n=2000, k=5, d=8)
    assert duplicates_of(X).groups == []


# -- curation ----------------------------------------------------------------------------------------------
def _segment_of(labels, y):
    """run cluster -> the planted segment most of its rows are in."""
    return {c: int(np.bincount(y[labels == c]).argmax()) for c in np.unique(labels)}


def test_merge_then_split_gives_back_the_planted_partition_and_undo_is_exact(planted):
    from sklearn.metrics import adjusted_rand_score

    run, y = planted
    assert adjusted_rand_score(y, run.labels) > 0.99
    cur = Curation.of(run)
    seg = _segment_of(run.labels, y)
    a, b = (c for c in seg if seg[c] in (0, 1))
    before = cur.labels
    cur.merge(a, b)
    assert len(cur.clusters) == 3 and (cur.labels == a).sum() == ((y == 0) | (y == 1)).sum()
    after_merge = cur.labels
    step = cur.split(a)  # k by stability
    assert step.detail["k"] == 2 and step.detail["k_chosen"] and step.detail["new"][0] == a
    assert adjusted_rand_score(y, cur.labels) >= 0.95
    cur.rename(a, "first <b>half</b>")
    assert cur.names[a] == "first <b>half</b>" and len(cur.history()) == 3
    cur.undo()
    cur.undo()
    np.testing.assert_array_equal(cur.labels, after_merge)
    cur.undo()
    np.testing.assert_array_equal(cur.labels, before)
    np.testing.assert_array_equal(run.labels, before)  # the run itself is never changed
    with pytest.raises(InputError):
        cur.undo()
    with pytest.raises(InputError):
        cur.merge(a, 99)


def test_a_split_by_another_method_gives_back_the_planted_segments(planted):
    from sklearn.metrics import adjusted_rand_score

    from explorer.curate.curation import recluster_methods

    run, y = planted
    cur = Curation.of(run)
    seg = _segment_of(run.labels, y)
    a, b = (c for c in seg if seg[c] in (0, 1))
    cur.merge(a, b)
    assert "dec" not in recluster_methods() and "genie" in recluster_methods()  # DEC trains the model: not here
    step = cur.split(a, method="agglomerative", k=2)
    assert step.detail["method"] == "agglomerative" and "(agglomerative, k 2)" in step.sentence()
    assert adjusted_rand_score(y, cur.labels) >= 0.95
    with pytest.raises(InputError, match="one of the methods"):
        cur.split(a, method="dec")


def test_recluster_a_selection_and_the_curated_result(planted):
    from sklearn.metrics import adjusted_rand_score

    run, y = planted
    cur = Curation.of(run)
    seg = _segment_of(run.labels, y)
    a, b = (c for c in seg if seg[c] in (2, 3))
    cur.merge(a, b)
    step = cur.recluster(np.isin(cur.labels, [a]), k=2)
    assert a not in cur.clusters and len(step.detail["new"]) == 2 and min(step.detail["new"]) > max(run.labels)
    curated = curated_result(run, cur)
    assert curated.clusters.k == 4 and set(np.unique(curated.labels)) == {0, 1, 2, 3}
    assert adjusted_rand_score(y, curated.labels) >= 0.95
    c0 = curated.labels == 0
    np.testing.assert_allclose(curated.clusters.centers[0], run.Z[c0].mean(0), rtol=1e-5)
    assert curated.clusters.info["curated"]["steps"] == 2 and curated.run_id is None
    np.testing.assert_array_equal(run.labels, cur.original)


def test_a_curated_run_saved_and_loaded_is_identical(planted, tmp_path):
    from explorer.runs.files import load_run, save_run

    run, _ = planted
    folder = save_run(run, tmp_path)
    files = sorted(p.name for p in folder.iterdir())
    assert load_curation(folder) is None
    loaded = load_run(folder)
    cur = Curation.of(loaded)
    cur.merge(0, 1)
    cur.split(0, k=2)
    cur.rename(2, "dots… and 'quotes'")
    save_curation(folder, cur)
    back = load_curation(folder, load_run(folder))
    assert back is not None and back.history() == cur.history()
    np.testing.assert_array_equal(back.original, cur.original)
    for s, t in zip(back.steps, cur.steps, strict=True):
        assert (s.kind, s.detail, s.names, s.when) == (t.kind, t.detail, t.names, t.when)
        np.testing.assert_array_equal(s.labels, t.labels)
    np.testing.assert_array_equal(load_run(folder).labels, run.labels)  # the original labels stay
    back.split(2, k=2)  # it can go on editing
    for _ in range(4):
        back.undo()
    save_curation(folder, back)
    assert sorted(p.name for p in folder.iterdir()) == files  # nothing left of it


def test_the_cli_finds_duplicates_and_curates(tmp_path, capsys):
    from explorer.runs.files import load_run, save_run

    ds, _ = planted_table(duplicates=True)
    folder = save_run(make_run(ds), tmp_path)
    assert main(["duplicates", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [g["ids"] for g in out["groups"]] == [["row5", "row10", "row11", "row12"], ["row20", "row21", "row30"]]
    assert main(["duplicates", str(folder), "--threshold", "0"]) == 0
    assert "2 groups" in capsys.readouterr().out
    assert main(["curate", str(folder), "merge", "1", "2"]) == 0
    assert "merged 2 into 1" in capsys.readouterr().out
    assert main(["curate", str(folder), "split", "1", "--k", "2"]) == 0
    assert main(["curate", str(folder), "rename", "1", "big one"]) == 0
    assert main(["curate", folder.name, "--runs", str(tmp_path), "undo"]) == 0
    capsys.readouterr()
    assert main(["curate", str(folder), "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["history"]) == 2 and len(shown["clusters"]) == 4
    cur = load_curation(folder, load_run(folder))
    assert cur is not None and len(cur.steps) == 2
    assert main(["curate", str(folder), "merge", "1"]) == 2
    assert main(["curate", str(folder), "split", "77"]) == 2
    assert "no cluster 77" in capsys.readouterr().err

    from explorer.curate.store import curated_source  # what `explorer apply` applies new rows to

    run = load_run(folder)
    source, said = curated_source(run, folder)
    assert source.run_id == run.run_id and source.clusters.k == 4 and "2 edits" in said
    np.testing.assert_array_equal(source.labels, curated_result(run, cur).labels)
    assert curated_source(run, None) == (run, None)  # --own-clusters
    from argparse import Namespace

    from explorer.cli.args import curation_folder  # where search and apply look for it

    assert curation_folder(Namespace(run=str(folder), runs=None, own_clusters=False)) == folder
    assert curation_folder(Namespace(run=folder.name, runs=str(tmp_path), own_clusters=False)) == folder
    assert curation_folder(Namespace(run=str(folder), runs=None, own_clusters=True)) is None
    assert curation_folder(Namespace(run="s3://bucket/runs/x", runs=None, own_clusters=False)) is None
    assert main(["apply", str(folder), str(tmp_path), "--scheduler", "local:1", "--out", str(tmp_path / "o")]) == 2
    assert "--own-clusters" in capsys.readouterr().err  # on Dask: the run's own clusters only, said


def test_the_cli_searches_filters_and_finds_a_rows_neighbours(tmp_path, capsys):
    """`explorer search`: the planted needles by their words; a filter by the curated clusters and a number;
    a row's nearest rows (its own segment); the three together; the rows written as the selection CSV."""
    from explorer.runs.files import load_run, save_run

    ds, y = planted_table()
    folder = save_run(make_run(ds), tmp_path)
    run = load_run(folder)
    assert main(["search", str(folder), "needle", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["rows"]
    assert [r["row"] for r in found] == NEEDLES and {r["matched"] for r in found} == {"notes"}
    c = int(run.labels[NEEDLES[0]])
    assert main(["curate", str(folder), "rename", str(c), "the needles' one"]) == 0
    capsys.readouterr()
    assert main(["search", str(folder), "--where", f"cluster in {{{c}}} and age >= 40", "--json"]) == 0
    rows = [r["row"] for r in json.loads(capsys.readouterr().out)["rows"]]
    want = np.flatnonzero((run.labels == c) & (ds.table["age"].to_numpy() >= 40)).tolist()
    assert rows == want and len(want) > 10
    assert main(["search", str(folder), "--like", "row3", "--k", "15", "--csv", str(tmp_path / "near.csv")]) == 0
    out = capsys.readouterr().out
    near = pd.read_csv(tmp_path / "near.csv")
    assert "15 of 400 rows among the 15 nearest 'row3'" in out and len(near) == 15
    assert set(y[[int(i[3:]) for i in near["id"]]]) == {y[3]}  # its own planted segment
    assert main(["search", str(folder), "needle", "--where", "age >= 0", "--like", "row0", "--k", "399"]) == 0
    assert f"{len(NEEDLES)} of 400 rows holding 'needle' and where" in capsys.readouterr().out
    assert main(["search", str(folder)]) == 2
    assert "got none" in capsys.readouterr().err
    assert main(["search", str(folder), "--where", "nope >= 1"]) == 2


def test_the_curated_run_explains_saves_and_applies(planted, tmp_path):
    from explorer.apply import apply_run
    from explorer.explain import explain
    from explorer.runs.files import load_run, save_run

    run, _ = planted
    cur = Curation.of(run)
    cur.merge(0, 1)
    curated = curated_result(run, cur)
    curated.explanation = explain(curated)
    assert [c.size for c in curated.explanation.clusters] == np.bincount(curated.labels).tolist()
    back = load_run(save_run(curated, tmp_path))
    np.testing.assert_array_equal(back.labels, curated.labels)
    assert back.clusters.info["curated"]["steps"] == 1
    np.testing.assert_array_equal(apply_run(back, run.dataset).labels, curated.labels)  # the nearest rows' vote
