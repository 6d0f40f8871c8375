"""Two clusterings compared: planted splits, merges, relabelings and noise are found and worded; runs
on other data are refused; rows in another order are lined up by id."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from explorer.compare import NOISE, compare_labels, compare_runs
from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError


def groups(*sizes: int) -> np.ndarray:
    """Labels 0, 1, ... in consecutive blocks of the given sizes."""
    return np.repeat(np.arange(len(sizes)), sizes)


def test_identical_labelings_agree_completely():
    a = groups(50, 80, 70)
    r = compare_labels(a, a)
    assert r.ari == pytest.approx(1.0) and r.nmi == pytest.approx(1.0)
    assert [(p.a, p.b) for p in r.pairs] == [(0, 0), (1, 1), (2, 2)]
    assert all(p.jaccard == 1.0 and p.share_of_a == 1.0 for p in r.pairs)
    assert not (r.splits or r.merges or r.unmatched_a or r.unmatched_b)
    assert np.array_equal(r.counts, np.diag([50, 80, 70]))
    assert r.findings == [
        "The two clusterings are the same: every cluster of A has a counterpart in B with exactly its rows."
    ]


def test_permuted_labels_are_matched():
    a = groups(40, 60, 30, 70)
    perm = np.array([2, 3, 0, 1])
    r = compare_labels(a, perm[a])
    assert r.ari == pytest.approx(1.0)
    assert {p.a: p.b for p in r.pairs} == {0: 2, 1: 3, 2: 0, 3: 1}
    assert r.labels_b == [2, 3, 0, 1]  # matched partners on the diagonal
    assert np.array_equal(r.counts, np.diag([40, 60, 30, 70]))
    assert not (r.splits or r.merges)


def test_a_planted_split_is_found_and_worded():
    a = groups(100, 100, 100)
    b = a.copy()
    b[200:260], b[260:300] = 2, 3  # A's 2 splits 60 / 40 into B's 2 and 3
    r = compare_labels(a, b)
    (split,) = r.splits
    assert split.cluster == 2 and split.rows == 100
    assert [(p.cluster, p.share) for p in split.parts] == [(2, 0.6), (3, 0.4)]
    assert not r.merges
    assert r.unmatched_b == [3] and r.unmatched_a == []
    assert "A's cluster 2 splits into B's cluster 2 (60%) and cluster 3 (40%)." in r.findings
    assert any(s.startswith("B's cluster 3 (40 rows) has no counterpart in A") for s in r.findings)
    assert 0.5 < r.ari < 1.0


def test_a_planted_merge_is_found_and_worded_with_names():
    a = groups(60, 40, 100)
    b = np.where(a == 1, 0, a)  # A's 0 and 1 merge into B's 0
    r = compare_labels(a, b, names_a={0: "young", 1: "students"}, names_b={0: "under 30"})
    (merge,) = r.merges
    assert merge.cluster == 0 and [(p.cluster, p.share) for p in merge.parts] == [(0, 0.6), (1, 0.4)]
    assert not r.splits and r.unmatched_a == [1]
    assert 'B\'s cluster 0 "under 30" merges A\'s cluster 0 "young" (60%) and cluster 1 "students" (40%).' in r.findings
    assert (
        'A\'s cluster 1 "students" (40 rows) has no counterpart in B; '
        'most of it (100%) is in B\'s cluster 0 "under 30".'
    ) in r.findings
    assert r.row_names == [
        'cluster 0 "young"',
        "cluster 2",
        'cluster 1 "students"',
    ]  # matched first, then the unmatched


def test_a_small_spill_is_not_a_split():
    a = groups(100, 100)
    b = a.copy()
    b[:10] = 1  # 10% of A's 0 goes to B's 1: below the 20% share
    r = compare_labels(a, b)
    assert not r.splits and not r.merges
    assert r.findings[0].startswith("Every cluster of A has one counterpart in B, with no split or merge")
    assert compare_labels(a, b, min_share=0.1).splits  # at 10% it counts
    with pytest.raises(InputError, match="min_share"):
        compare_labels(a, b, min_share=0.9)


def test_noise_is_its_own_row_and_column_and_never_matched():
    a = groups(100, 100, 100)
    b = a.copy()
    b[100:140] = NOISE  # B (say HDBSCAN) leaves 40% of A's 1 as noise
    a_noisy = a.copy()
    a_noisy[290:300] = NOISE
    r = compare_labels(a_noisy, b)
    assert r.labels_a[-1] == NOISE and r.labels_b[-1] == NOISE
    assert r.row_names[-1] == "noise" and r.column_names[-1] == "noise"
    assert all(NOISE not in (p.a, p.b) for p in r.pairs) and len(r.pairs) == 3
    assert r.counts[r.labels_a.index(1), r.labels_b.index(NOISE)] == 40
    assert "B leaves 40% of A's cluster 1 as noise." in r.findings
    assert not r.splits  # noise is not a part of a split
    only_noise = compare_labels(a, np.full(len(a), NOISE))
    assert only_noise.pairs == [] and only_noise.unmatched_a == [0, 1, 2]


def test_to_dict_is_json_ready():
    a = groups(30, 30)
    b = np.concatenate([groups(20, 40)])
    d = compare_labels(a, b).to_dict()
    again = json.loads(json.dumps(d, allow_nan=False))
    assert again["contingency"]["counts"] == [[20, 10], [0, 30]]
    assert again["contingency"]["row_names"] == ["cluster 0", "cluster 1"]
    assert set(again) >= {"ari", "nmi", "pairs", "splits", "merges", "unmatched_a", "unmatched_b", "findings"}
    assert again["pairs"][0] == {
        "a": 0,
        "b": 0,
        "rows": 20,
        "jaccard": 20 / 30,
        "share_of_a": 20 / 30,
        "share_of_b": 1.0,
    }


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((4, 2)), np.zeros(4), "1-D"),
        (np.zeros(5, int), np.zeros(4, int), "same rows"),
        (np.array([0.5, 1.0]), np.array([0, 1]), "whole numbers"),
        (np.array([0, -3]), np.array([0, 1]), "-1 for noise"),
    ],
)
def test_bad_labels_say_what_is_wrong(a, b, message):
    with pytest.raises(InputError, match=message):
        compare_labels(a, b)


# -- runs ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run():
    """A quick k-means run (k 3) on three planted blobs, 90 rows."""
    from sklearn.datasets import make_blobs

    from explorer.pipeline import ModelConfig, PipelineConfig, replace_nested, run_pipeline

    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    X = X.astype(np.float32)
    ds = Dataset(
        X=X,
        feature_names=list("abcd"),
        ids=np.array([f"r{i}" for i in range(90)]),
        report=LoadReport(source="blobs", kind="table", n_rows=90, n_features=4),
        kind="table",
        name="blobs",
        labels=y.astype(str),
        table=pd.DataFrame(X, columns=list("abcd")),
    )
    cfg = replace_nested(
        PipelineConfig(model=ModelConfig(kind="none", latent_dim=4), device="cpu"),
        method="kmeans",
        k=3,
        projection_method="pca",
    )
    return run_pipeline(ds, cfg)


def test_two_runs_of_the_same_data(run):
    other = replace(run, clusters=replace(run.clusters, labels=np.array([2, 0, 1])[run.labels]), run_id="B")
    r = compare_runs(run, other)
    assert r.ari == pytest.approx(1.0) and len(r.pairs) == 3 and r.notes == [] and r.run_b == "B"


def test_rows_in_another_order_are_lined_up_by_id(run):
    perm = np.random.default_rng(0).permutation(run.dataset.n)
    shuffled = replace(run, dataset=run.dataset.subset(perm), clusters=replace(run.clusters, labels=run.labels[perm]))
    r = compare_runs(run, shuffled)
    assert r.ari == pytest.approx(1.0) and all(p.jaccard == 1.0 for p in r.pairs)
    assert "lined up with A's by id" in r.notes[0]


def test_runs_on_other_data_are_refused_clearly(run):
    fewer = replace(
        run, dataset=run.dataset.subset(np.arange(60)), clusters=replace(run.clusters, labels=run.labels[:60])
    )
    with pytest.raises(InputError, match="run A has 90 rows and run B 60"):
        compare_runs(run, fewer)
    ds = run.dataset
    renamed = replace(
        run,
        dataset=Dataset(
            X=ds.X,
            feature_names=ds.feature_names,
            ids=np.array([f"x{i}" for i in range(90)]),
            report=ds.report,
            kind=ds.kind,
            name=ds.name,
        ),
    )
    with pytest.raises(InputError, match=r"90 of run A's 90 row ids are not in run B \(e.g. 'r0', 'r1', 'r2'\)"):
        compare_runs(run, renamed)


def test_the_heatmap_shows_counts_coloured_by_share_of_a():
    from explorer.display.charts import comparison_heatmap

    r = compare_labels(groups(30, 30), groups(20, 40), names_a={0: "<b>bold</b>"})
    fig = comparison_heatmap(r.counts, r.row_names, r.column_names)
    heat = fig.data[0]
    assert np.allclose(np.asarray(heat.z), [[20 / 30, 10 / 30], [0, 1]])
    assert np.array_equal(np.asarray(heat.text), [[20, 10], [0, 30]])
    assert list(heat.y) == [
        "cluster 0 &quot;&lt;b&gt;bold&lt;/b&gt;&quot;",
        "cluster 1",
    ]  # a user's name is text, not markup


def test_the_dashboard_lists_comparable_runs(run):
    from explorer.dashboard.evaluate import choice_of, comparable_runs, pairs_table, same_rows

    saved_copy = replace(run, run_id="a" * 22)
    other_data = replace(run, dataset=run.dataset.subset(np.arange(60)))
    session_runs = {"k1": saved_copy, "k2": run, "k3": other_data}
    saved = [
        {"run_id": "a" * 22, "name": "blobs", "dataset": {"n": 90}, "pipeline": {}, "metrics": {"k": 3}},
        {
            "run_id": "b" * 22,
            "name": "blobs",
            "dataset": {"n": 90},
            "pipeline": {"cluster": {"method": "gmm"}},
            "metrics": {"k": 4},
        },
    ]
    choices = comparable_runs(session_runs, None, saved)
    assert [c.key for c in choices] == [
        "session:k3",
        "session:k2",
        "session:k1",
        "saved:" + "b" * 22,
    ]  # the saved copy once
    assert choices[-1].label.startswith("blobs · gmm, k 4")
    first = choice_of(choices, run, session_runs)
    assert first.key == "session:k2"
    assert [c.key for c in same_rows(choices, first)] == ["session:k1", "saved:" + "b" * 22]  # not the 60-row run
    table = pairs_table(compare_labels(groups(5, 5), groups(5, 5)))
    assert list(table["rows"]) == [5, 5] and list(table["A"]) == ["cluster 0", "cluster 1"]
