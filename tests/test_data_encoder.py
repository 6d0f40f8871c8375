"""The one table encoder: fit / transform / fit_transform agree, JSON round trips, every fallback is stated."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from explorer.data import TableEncoder, TableOptions, load, streamed
from explorer.data.csv_dialect import NA_VALUES
from explorer.errors import InputError


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Planted mix: a skewed amount, numbers read from text (with junk), a colour with gaps and a rare
    tail, a boolean, a row-number column, a constant, free text, a label."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]).astype(object)
    colour[:3] = ["mauve", "teal", "ochre"]  # under 1% each: folded into "other"
    colour[rng.random(n) < 0.05] = None
    score = rng.normal(50, 5, n).round(2).astype(str).astype(object)
    score[rng.random(n) < 0.03] = "n/a"
    return pd.DataFrame(
        {
            "index": np.arange(n),
            "amount": rng.lognormal(3, 1.2, n).round(2),
            "score": score,
            "colour": colour,
            "flag": rng.choice([True, False], n),
            "const": 7,
            "note": [f"free text {i}" for i in range(n)],
            "segment": rng.choice(["a", "b", "c"], n),
        }
    )


@pytest.mark.parametrize("scaling", ["auto", "standard", "minmax", "none"])
def test_fit_then_transform_equals_fit_transform(scaling):
    df = frame()
    X1, r1 = TableEncoder(label_column="segment", scaling=scaling).fit_transform(df)
    enc = TableEncoder(label_column="segment", scaling=scaling).fit(df)
    X2, r2 = enc.transform(df)
    np.testing.assert_array_equal(X1, X2)
    assert r1.to_dict() == r2.to_dict()
    assert X1.dtype == np.float32 and X1.shape == (len(df), enc.n_features_) and len(enc.feature_names_) == X1.shape[1]
    assert set(enc.dropped_columns_) == {"index", "const", "note"}  # row number, single value, free text
    assert "segment" not in {c.name for c in enc.columns_}
    assert r1.not_numbers == {} and r1.imputed["score"] == int((df["score"] == "n/a").sum())  # a missing marker


def test_the_loaded_X_is_the_encoders_transform_of_the_loaded_rows():
    data = frame().to_csv(index=False).encode()
    ds = load(data, name="t.csv", table=TableOptions(label_column="segment"))
    X, report = ds.table_encoder.transform(ds.table)
    np.testing.assert_array_equal(X, ds.X)
    assert ds.table_encoder.feature_names_ == ds.feature_names and ds.table_encoder.scaling_ == ds.report.scaling
    assert report.unseen_levels == {} and report.missing_columns == []


def test_a_streamed_load_fits_the_same_encoder(monkeypatch):
    data = frame(3000).to_csv(index=False).encode()
    whole = load(data, name="t.csv", table=TableOptions(label_column="segment"))
    monkeypatch.setattr(streamed, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(streamed, "CSV_BLOCK_BYTES", 4096)  # many batches
    big = load(data, name="t.csv", table=TableOptions(label_column="segment"))
    assert big.table_encoder.to_json() == whole.table_encoder.to_json()
    np.testing.assert_array_equal(big.X, whole.X)


@pytest.mark.parametrize("scaling", ["auto", "standard", "minmax", "none"])
def test_json_round_trip_gives_the_same_transform(scaling):
    df, new = frame(), frame(150, seed=4)
    enc = TableEncoder(label_column="segment", scaling=scaling).fit(df)
    record = json.loads(json.dumps(enc.to_json()))  # plain JSON, as preprocess.json holds it
    again = TableEncoder.from_json(record)
    assert again.to_json() == enc.to_json() and again.get_params() == enc.get_params()
    for rows in (df, new):
        np.testing.assert_array_equal(again.transform(rows)[0], enc.transform(rows)[0])


def test_shared_range_numbers_are_scaled_together_and_kept_after_json():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"q{i}": rng.integers(1, 6, 300) for i in range(4)})
    enc = TableEncoder().fit(df)
    X, _ = enc.transform(df)
    assert enc.scaling_ == "shared" and X.min() == 0 and X.max() == 1
    np.testing.assert_array_equal(TableEncoder.from_json(enc.to_json()).transform(df)[0], X)


def test_fallbacks_are_applied_and_stated():
    df = frame()
    enc = TableEncoder(label_column="segment").fit(df)
    new = frame(60, seed=9)
    new.loc[new.index[:4], "colour"] = "purple"  # never seen
    new.loc[new.index[4:6], "colour"] = "teal"  # seen, folded into "other"
    new["amount"] = new["amount"].astype(object)
    new.loc[new.index[6:9], "amount"] = "lots"  # not a number
    new["extra"] = 1
    X, report = enc.transform(new)
    names = enc.feature_names_
    colour = [j for j, f in enumerate(names) if f.startswith("colour=")]
    assert np.all(X[:4][:, colour] == 0)  # unseen: no indicator
    assert X[4, names.index("colour=other")] > 0 and X[5, names.index("colour=other")] > 0
    assert report.unseen_levels == {"colour": {"purple": 4}}
    assert report.not_numbers["amount"] == 3 and report.imputed["amount"] >= 3
    assert "extra" in report.extra_columns and "segment" not in report.extra_columns
    fill = enc.transform(pd.DataFrame({"amount": [enc.columns_[0].fill] * 3}), missing="impute")[0][:, 0]
    np.testing.assert_array_equal(X[6:9, 0], fill)  # filled with the training median, then scaled
    text = " ".join(report.notes)
    assert "'purple' (4)" in text and "'extra'" in text and "not numbers" in text
    with pytest.raises(InputError, match="'colour'"):
        enc.transform(new.drop(columns=["colour"]))
    X_missing, report = enc.transform(new.drop(columns=["colour"]), missing="impute")
    assert report.missing_columns == ["colour"] and any("'colour'" in n for n in report.notes)
    top = enc.columns_[[c.name for c in enc.columns_].index("colour")].fill  # the most frequent level
    assert np.all(X_missing[:, names.index(f"colour={top}")] > 0)


def test_a_bad_option_or_record_is_refused():
    with pytest.raises(InputError, match="scaling"):
        TableEncoder(scaling="zscore").fit(frame())  # type: ignore[arg-type]  # the point: a value not allowed
    with pytest.raises(InputError, match="max_categories"):
        TableEncoder(max_categories=0).fit(frame())
    with pytest.raises(InputError, match="not fitted"):
        TableEncoder().transform(frame())
    record = TableEncoder(label_column="segment").fit(frame()).to_json()
    with pytest.raises(InputError, match="newer explorer"):
        TableEncoder.from_json({**record, "version": 99})
    with pytest.raises(InputError, match="damaged"):
        TableEncoder.from_json({**record, "feature_names": record["feature_names"][:-1]})


def test_the_streamed_and_whole_readers_read_the_same_strings_as_missing():
    text = "a,b\n" + "\n".join(f"{v},1" for v in NA_VALUES if v) + "\n"
    df = pd.read_csv(io.StringIO(text), keep_default_na=True)
    assert df["a"].isna().all()  # every string the streamed reader calls missing, pandas does too
