"""Applying a saved run to new data: the recorded preprocessing, the clusters, the map, drift, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.apply import apply_run, save_applied
from explorer.data import TableOptions, load
from explorer.data.preprocessing import apply_preprocessing, record_preprocessing
from explorer.errors import InputError
from explorer.pipeline import default_config, run_pipeline
from explorer.runs.files import load_run, save_run

FIXTURES = Path(__file__).parent / "fixtures"


def mixed_table(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Three planted segments in a skewed amount, a number with gaps, a colour (with gaps), a rare level."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    colour = np.array(["red", "green", "blue"])[np.where(rng.random(n) < 0.9, y, rng.integers(0, 3, n))].astype(object)
    colour[rng.random(n) < 0.04] = None
    df = pd.DataFrame(
        {
            "amount": np.exp(rng.normal(2 + 1.5 * y, 0.6)).round(2),
            "age": rng.normal(30 + 12 * y, 3).round(1),
            "colour": colour,
            "size": rng.choice(["S", "M", "L"], n),
            "segment": np.array(["a", "b", "c"])[y],
        }
    )
    df.loc[rng.random(n) < 0.05, "age"] = np.nan
    df.loc[df.index[:3], "size"] = "XXL"  # rare: folded into "other" (under 1% of rows)
    return df


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def table_data():
    df = mixed_table()
    ds = load(csv_bytes(df), name="mixed.csv", table=TableOptions(label_column="segment"))
    return df, ds


@pytest.fixture(scope="module")
def saved_runs(table_data, tmp_path_factory):
    _df, ds = table_data
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for method in ("kmeans", "gmm", "mixture", "n2d"):
        res = run_pipeline(ds, default_config(ds, method=method, k=3, explain=False, projection_method="pca"))
        out[method] = load_run(save_run(res, root))
    return root, out


# -- the recorded preprocessing ------------------------------------------------------------------
def test_the_record_is_the_loaders_encoder(table_data):
    df, ds = table_data
    recipe = record_preprocessing(ds)
    assert recipe == ds.table_encoder.to_json()  # the encoder the load fitted, not a replay of it
    assert recipe["version"] == 2 and recipe["kind"] == "table" and recipe["label_column"] == "segment"
    kinds = {c["name"]: c for c in recipe["columns"]}
    assert kinds["amount"]["transform"] == "log1p" and kinds["age"]["fill"] == pytest.approx(df["age"].median())
    assert kinds["colour"]["levels"] == ["blue", "green", "red"] or set(kinds["colour"]["levels"]) == {
        "red",
        "green",
        "blue",
    }
    assert kinds["size"]["other"] and kinds["size"]["folded"] == ["XXL"]
    assert recipe["indicator_value"] == pytest.approx(1 / np.sqrt(2))
    json.dumps(recipe)  # plain JSON
    new, report = apply_preprocessing(recipe, csv_bytes(df), "mixed.csv")
    np.testing.assert_array_equal(new.X, ds.X)  # the same code made both
    assert new.feature_names == ds.feature_names and report.extra_columns == [] and not report.unseen_levels
    np.testing.assert_array_equal(new.labels, ds.labels)


def test_unseen_level_missing_and_extra_columns_are_stated(table_data):
    df, ds = table_data
    recipe = record_preprocessing(ds)
    new = df.head(40).copy()
    new.loc[new.index[:5], "colour"] = "purple"
    new["note"] = "x"
    X_ref, _ = apply_preprocessing(recipe, df.head(40))
    got, report = apply_preprocessing(recipe, new)
    cols = [j for j, f in enumerate(ds.feature_names) if f.startswith("colour=")]
    assert np.all(got.X[:5][:, cols] == 0)  # unseen level: no indicator set
    np.testing.assert_allclose(got.X[5:], X_ref.X[5:], atol=1e-6)
    assert report.unseen_levels == {"colour": {"purple": 5}} and report.extra_columns == ["note"]
    assert any("purple" in n for n in report.notes) and any("'note'" in n for n in report.notes)
    # the rare level seen in training still goes to "other", as in training
    other = ds.feature_names.index("size=other")
    assert got.X[0, other] > 0
    with pytest.raises(InputError, match="'age'"):
        apply_preprocessing(recipe, new.drop(columns=["age"]))
    filled, report = apply_preprocessing(recipe, new.drop(columns=["age"]), missing="impute")
    assert report.missing_columns == ["age"] and any("'age'" in n for n in report.notes)
    j = ds.feature_names.index("age")
    assert np.allclose(filled.X[:, j], filled.X[0, j])  # every row has the training median, scaled


def _new_rows() -> pd.DataFrame:
    """New rows with every fallback: an unseen colour, numbers that do not parse, gaps, an extra column."""
    new = mixed_table(120, seed=3)
    new.loc[new.index[:5], "colour"] = "purple"
    new["age"] = new["age"].astype(object)
    new.loc[new.index[5:8], "age"] = "n/a"
    new["note"] = "x"
    return new


def test_a_run_with_the_old_record_applies_new_rows_as_before(table_data, tmp_path):
    """A preprocess.json of version 1, written by explorer before the table encoder (tests/fixtures: the record of
    this file's mixed table, and the features that code gave _new_rows() with and without 'amount'), still loads
    and gives the same features, to the bit; as does the encoder saved now."""
    _, ds = table_data
    res = run_pipeline(ds, default_config(ds, method="kmeans", k=3, explain=False, projection_method="pca"))
    folder = save_run(res, tmp_path)
    assert json.loads((folder / "preprocess.json").read_text())["version"] == 2
    v1 = json.loads((FIXTURES / "preprocess_v1_mixed.json").read_text())
    assert v1["version"] == 1 and "params" not in v1
    expected = np.load(FIXTURES / "applied_v1_mixed.npz")
    now = load_run(folder)
    (folder / "preprocess.json").write_text(json.dumps(v1))
    old = load_run(folder)
    assert old.preprocessing["version"] == 1
    new = _new_rows()
    for run in (old, now):
        applied = apply_run(run, new)
        np.testing.assert_array_equal(applied.dataset.X, expected["refuse"])
        assert applied.report.unseen_levels == {"colour": {"purple": 5}} and applied.report.extra_columns == ["note"]
        assert applied.report.not_numbers == {} and applied.report.imputed["age"] >= 3  # "n/a": a missing marker
        imputed = apply_run(run, new.drop(columns=["amount"]), missing="impute")
        np.testing.assert_array_equal(imputed.dataset.X, expected["impute"])
        assert imputed.report.missing_columns == ["amount"]
    np.testing.assert_array_equal(apply_run(old, new).labels, apply_run(now, new).labels)


def test_a_subset_has_no_faithful_record_and_says_so(table_data):
    _, ds = table_data
    sub = ds.subset(np.arange(300))
    assert record_preprocessing(sub) is None  # scaled on all rows: the replay would not give X back
    res = run_pipeline(sub, default_config(sub, method="kmeans", k=3, explain=False, projection_method="pca"))
    with pytest.raises(InputError, match="record of its preprocessing"):
        apply_run(res, mixed_table(100, seed=3))


# -- clusters and the map ------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["kmeans", "gmm", "mixture", "n2d"])
def test_training_data_applied_to_its_run_reproduces_it(saved_runs, table_data, method):
    df, _ = table_data
    run = saved_runs[1][method]
    applied = apply_run(run, csv_bytes(df), "mixed.csv")
    assert np.mean(applied.labels == run.labels) >= 0.99
    np.testing.assert_allclose(applied.embedding, run.embedding, atol=1e-5)  # each row lands on its own point
    assert np.all((applied.assignment.confidence >= 0) & (applied.assignment.confidence <= 1.0001))
    assert np.all((applied.assignment.margin >= 0) & (applied.assignment.margin <= 1))
    assert np.all(applied.assignment.runner_up != applied.labels)
    same = applied.labels == run.labels  # one anomaly score (explorer.anomaly): a row's own, where its cluster is
    np.testing.assert_array_equal(applied.anomaly[same], run.anomaly[same])
    assert not applied.drift.drifted


def test_new_rows_of_the_same_segments_land_near_their_twins(saved_runs, table_data):
    df, _ = table_data
    run = saved_runs[1]["gmm"]
    rng = np.random.default_rng(5)
    twins = df.copy()
    twins["age"] = twins["age"] + rng.normal(0, 0.3, len(df))  # a tenth of a segment's spread
    applied = apply_run(run, twins)
    spread = np.linalg.norm(run.embedding - run.embedding.mean(0), axis=1).mean()
    moved = np.linalg.norm(applied.embedding - run.embedding, axis=1)
    assert np.median(moved) < 0.1 * spread
    assert np.mean(applied.labels == run.labels) > 0.95


def test_drift_is_found_on_a_shifted_copy_not_on_a_resample(saved_runs):
    run = saved_runs[1]["mixture"]
    fresh = mixed_table(900, seed=11)  # the same process, other rows
    same = apply_run(run, fresh)
    assert not same.drift.drifted, same.drift.to_text()
    shifted = pd.concat([fresh[fresh["segment"] == "a"]] * 2 + [fresh], ignore_index=True)  # segment a doubles
    shifted["age"] = shifted["age"] + 8
    shifted.loc[shifted.index[:200], "colour"] = "purple"
    moved = apply_run(run, shifted).drift
    assert moved.drifted
    by_col = {c.column: c for c in moved.columns}
    assert by_col["age"].drifted and by_col["colour"].drifted
    assert not by_col["size"].drifted and by_col["amount"].drifted  # amounts follow the segment that doubled
    assert any(c.drifted for c in moved.clusters)
    older = apply_run(run, fresh.assign(age=fresh["age"] + 8)).drift  # only the ages move: by 1/3 of their IQR
    assert [c.column for c in older.columns if c.drifted] == ["age"]
    assert next(c for c in older.columns if c.column == "age").median_shift == pytest.approx(8 / 24, abs=0.1)
    text = moved.to_text()
    assert "DRIFTED" in text and "age" in text
    json.dumps(moved.to_dict())


def test_rows_unlike_any_cluster_are_counted(saved_runs, table_data):
    df, _ = table_data
    run = saved_runs[1]["kmeans"]
    odd = df.copy()
    odd.loc[odd.index[:100], "age"] = 500.0
    applied = apply_run(run, odd)
    assert applied.unusual[:100].mean() > 0.9 and applied.drift.unusual_share >= 100 / len(df)
    assert applied.drift.unusual_drifted


def test_the_applied_rows_saved_as_a_run_link_to_their_source(saved_runs, table_data, tmp_path):
    df, _ = table_data
    _root, runs = saved_runs
    run = runs["kmeans"]
    applied = apply_run(run, df.sample(300, random_state=2))
    path = save_applied(applied, run, tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["applied_to"] == run.run_id and "drift" in cfg["apply"]
    again = load_run(path)
    np.testing.assert_array_equal(again.labels, applied.labels)
    assert again.metrics["acc"] > 0.9  # the labels came along, for evaluation only
    # the applied run can itself take new data, prepared the same way
    twice = apply_run(again, df.head(50))
    np.testing.assert_array_equal(twice.labels, apply_run(run, df.head(50)).labels)


def test_a_saved_run_keeps_its_records_as_plain_files(saved_runs):
    root, runs = saved_runs
    path = Path(root) / runs["mixture"].run_id
    assert (path / "preprocess.json").is_file()
    with np.load(path / "assign.npz", allow_pickle=False) as npz:
        assert {"assign_format", "mix_weights", "mix_means", "mix_covariances"} <= set(npz.files)
    with np.load(Path(root) / runs["gmm"].run_id / "assign.npz", allow_pickle=False) as npz:
        # the fitted mixture's own precision factors (explorer.cluster.predict), not covariances to rebuild it from
        assert {"gmm_weights", "gmm_means", "gmm_precisions_cholesky", "gmm_type"} <= set(npz.files)
        assert "gmm_covariances" not in npz.files


# -- images and vectors --------------------------------------------------------------------------
def _png_folder(root: Path, size: int, n: int = 24) -> Path:
    from PIL import Image

    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        a = np.zeros((size, size), np.uint8)
        if i % 2:
            a[:, : size // 2] = 220
        else:
            a[: size // 2, :] = 220
        a = np.clip(a + rng.integers(0, 20, a.shape), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(root / f"{i:02d}.png")
    return root


def test_images_of_another_size_are_resized_and_it_is_recorded(tmp_path):
    train = _png_folder(tmp_path / "a", 8)
    ds = load(train)
    res = run_pipeline(
        ds, default_config(ds, model="pca", latent_dim=4, method="kmeans", k=2, explain=False, projection_method="pca")
    )
    run = load_run(save_run(res, tmp_path / "runs"))
    assert run.preprocessing == {
        "version": 1,
        "kind": "images",
        "size": [8, 8],
        "mode": "L",
        "scaling": "pixels/255",
        "n_features": 64,
    }
    big = _png_folder(tmp_path / "b", 16)
    applied = apply_run(run, big)
    assert applied.dataset.image_shape == (8, 8, 1)
    assert any("8x8" in n for n in applied.report.notes)
    assert np.mean(applied.labels == run.labels) >= 0.9  # same pictures, larger: same clusters
    again = apply_run(run, ds)
    np.testing.assert_array_equal(again.labels, run.labels)


def test_vectors_of_another_width_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    V = np.concatenate([rng.normal(0, 1, (60, 6)), rng.normal(6, 1, (60, 6))]).astype(np.float32)
    np.save(tmp_path / "v.npy", V)
    ds = load(tmp_path / "v.npy")
    res = run_pipeline(ds, default_config(ds, method="kmeans", k=2, explain=False, projection_method="pca"))
    np.save(tmp_path / "w.npy", V[:, :5])
    with pytest.raises(InputError, match="6 values"):
        apply_run(res, tmp_path / "w.npy")
    assert np.mean(apply_run(res, tmp_path / "v.npy").labels == res.labels) == 1.0


# -- the CLI ---------------------------------------------------------------------------------------
def test_cli_apply(saved_runs, table_data, tmp_path, capsys):
    from explorer.cli import main

    df, _ = table_data
    root, runs = saved_runs
    run = runs["mixture"]
    new = tmp_path / "new.csv"
    shifted = df.assign(age=df["age"] + 8, extra=1)
    shifted.to_csv(new, index=False)
    code = main(
        [
            "apply",
            run.run_id,
            str(new),
            "--runs",
            str(root),
            "--out",
            str(tmp_path / "out"),
            "--json",
            "--points",
            str(tmp_path / "points.csv"),
        ]
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["n"] == len(df) and out["drift"]["drifted"]
    assert out["preprocessing"]["extra_columns"] == ["extra"]
    saved = json.loads((tmp_path / "out" / out["saved_run"] / "config.json").read_text())
    assert saved["applied_to"] == run.run_id
    from explorer.dashboard.apply import applied_source

    copy = load_run(tmp_path / "out" / out["saved_run"])  # the dashboard names the run it came from
    assert applied_source(copy, str(tmp_path / "out")) == (run.run_id, None)  # the source lives in another folder
    assert applied_source(run, str(root)) is None  # a run of its own came from none
    points = pd.read_csv(tmp_path / "points.csv")
    assert len(points) == len(df) and {"cluster", "x", "y", "confidence", "runner_up", "margin", "anomaly"} <= set(
        points
    )
    assert main(["apply", run.run_id, str(new), "--runs", str(root)]) == 0
    text = capsys.readouterr().out
    assert "DRIFTED" in text and "'extra'" in text
    df.drop(columns=["age"]).to_csv(new, index=False)
    assert main(["apply", run.run_id, str(new), "--runs", str(root)]) == 2
    err = capsys.readouterr().err
    assert "'age'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["apply", run.run_id, str(new), "--runs", str(root), "--fill-missing"]) == 0


def test_a_run_saved_before_the_records_is_applied_when_they_can_be_rebuilt(saved_runs, table_data, tmp_path):
    """Runs of an older explorer have no preprocess.json / assign.npz: the recipe is rebuilt from the saved
    rows (and used only because it gives back the saved features), the GMM from the saved soft assignments."""
    import shutil

    df, _ = table_data
    root, runs = saved_runs
    old = tmp_path / runs["gmm"].run_id
    shutil.copytree(Path(root) / runs["gmm"].run_id, old)
    (old / "preprocess.json").unlink()
    (old / "assign.npz").unlink()
    run = load_run(old)
    assert run.preprocessing is None and run.assignment is None
    applied = apply_run(run, df)
    assert np.mean(applied.labels == run.labels) >= 0.99
    features = np.load(old / "features.npy")
    np.save(old / "features.npy", features + 1.0)  # the saved rows no longer give the saved features
    with pytest.raises(InputError, match="can't be rebuilt"):
        apply_run(load_run(old), df)


# -- progress and Stop (the dashboard's job) -------------------------------------------------------------
def test_applying_reports_each_stage_in_order(saved_runs, table_data):
    from explorer.apply.run import STAGES

    df, _ = table_data
    events = []
    applied = apply_run(saved_runs[1]["kmeans"], df.head(200), on_event=events.append)
    assert [e.stage for e in events] == list(STAGES)  # preprocess, encode, assign, place, drift
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] < 1.0
    assert "200 rows" in events[2].message and applied.dataset.n == 200


@pytest.mark.parametrize("stage", ["preprocess", "encode", "assign", "place"])  # stopped in drift, the last, it ends
def test_stop_ends_applying_at_the_next_stage_and_changes_nothing(saved_runs, table_data, stage):
    from explorer.errors import Stopped

    df, _ = table_data
    run = saved_runs[1]["gmm"]
    labels, embedding = run.labels.copy(), run.embedding.copy()
    seen = []

    def stop_at_stage() -> bool:
        return stage in seen

    with pytest.raises(Stopped, match="stopped"):
        apply_run(run, df.head(100), on_event=lambda e: seen.append(e.stage), should_stop=stop_at_stage)
    assert seen[-1] == stage  # it went no further than the stage it was stopped in
    np.testing.assert_array_equal(run.labels, labels)  # the run is as it was
    np.testing.assert_array_equal(run.embedding, embedding)


def test_encoding_in_blocks_gives_the_same_codes(tmp_path, monkeypatch):
    import explorer.apply.run as apply_mod

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (60, 5)), rng.normal(5, 1, (60, 5))]).astype(np.float32)
    np.save(tmp_path / "v.npy", X)
    ds = load(tmp_path / "v.npy")
    res = run_pipeline(
        ds, default_config(ds, model="pca", latent_dim=2, method="kmeans", k=2, explain=False, projection_method="pca")
    )
    whole = apply_run(res, ds)
    monkeypatch.setattr(apply_mod, "ENCODE_BLOCK", 25)
    events = []
    blocks = apply_run(res, ds, on_event=events.append)
    np.testing.assert_allclose(blocks.Z, whole.Z, atol=1e-6)
    np.testing.assert_array_equal(blocks.labels, whole.labels)
    encode = [e for e in events if e.stage == "encode"]
    assert len(encode) == 5 and "rows 101-120 of 120" in encode[-1].message  # 120 rows in blocks of 25
    assert [e.fraction for e in encode] == sorted(e.fraction for e in encode)
