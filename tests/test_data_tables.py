"""Tables: formats, what the report says, and every bad input raising a useful error."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from explorer.data import TableOptions, load, load_sample, load_table, read_table_preview, sniff_kind
from explorer.errors import InputError, LimitError
from explorer.limits import Limits


def mixed_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Numbers, a categorical with a rare tail, a constant, a label, some missing values."""
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    color[:3] = ["mauve", "teal", "ochre"]  # each 1 of 200 = 0.5% < 1%: folded into "other"
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).round(1),
            "income": rng.lognormal(10, 1, n).round(0),
            "color": color,
            "const": 7,
            "kind": rng.choice(["a", "b"], size=n),
        }
    )
    df.loc[[5, 17, 33], "age"] = np.nan
    df.loc[[8, 9], "color"] = None
    return df


def write_csv(tmp_path, df: pd.DataFrame, name: str = "data.csv", sep: str = ",", **kw) -> str:
    path = tmp_path / name
    df.to_csv(path, sep=sep, index=False, **kw)
    return str(path)


def test_csv_report_facts_and_encoding(tmp_path):
    path = write_csv(tmp_path, mixed_frame())
    ds = load(path, table=TableOptions(label_column="kind"))
    r = ds.report
    assert ds.kind == "table" and ds.name == "data" and ds.X.dtype == np.float32
    assert r.imputed == {"age": 3, "color": 2}
    assert r.dropped_columns["const"] == "a single value"
    assert r.encoded["color"] == ["red", "green", "blue", "other"]
    assert ds.feature_names == ["age", "income", "color=red", "color=green", "color=blue", "color=other"]
    assert not any(name.startswith("kind") for name in ds.feature_names)  # the label is never a feature
    assert set(ds.labels) == {"a", "b"} and len(ds.labels) == 200
    assert list(ds.ids[:3]) == ["0", "1", "2"]
    assert list(ds.table.columns) == ["age", "income", "color", "const", "kind"]
    # numbers at mean 0 and std 1; each one-hot column 0 or 1/sqrt(2), exactly one per row, so two rows of
    # different colours are as far apart as two rows one standard deviation apart in a number
    np.testing.assert_allclose(ds.X[:, :2].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X[:, :2].std(axis=0), 1, atol=1e-4)
    onehot = ds.X[:, 2:]
    np.testing.assert_allclose(np.unique(onehot), [0.0, 1 / np.sqrt(2)], rtol=1e-6)
    np.testing.assert_allclose((onehot > 0).sum(axis=1), 1)
    assert "a different category counts as much as one standard deviation" in r.to_text()
    text = r.to_text()
    assert "'other'" in text and "single value" in text and "Filled 5 missing values" in text


def test_one_hot_other_gets_rare_rows(tmp_path):
    ds = load(write_csv(tmp_path, mixed_frame()), table=TableOptions(scaling="none"))
    other = ds.X[:, ds.feature_names.index("color=other")]
    assert other[:3].tolist() == [1, 1, 1] and other.sum() == 3
    assert (
        ds.X[:, [i for i, f in enumerate(ds.feature_names) if f.startswith("color=")]].sum(axis=1).tolist() == [1] * 200
    )


def test_auto_scaling_keeps_a_shared_range_together(tmp_path):
    # pen coordinates, pixels, 1-5 answers: every column spans one range, so the spread of each column
    # relative to the others is information; standardizing would blow up the quiet columns
    rng = np.random.default_rng(0)
    X = rng.integers(0, 101, size=(300, 4)).astype(float)
    X[:, 1] = np.clip(np.round(50 + 5 * rng.standard_normal(300)), 0, 100)  # a quiet column ...
    X[:2, 1] = [0, 100]  # ... that still spans the shared range
    ds = load_table(write_csv(tmp_path, pd.DataFrame(X, columns=list("abcd"))))
    assert ds.report.scaling == "shared"
    np.testing.assert_allclose(ds.X, X / 100, atol=1e-6)
    assert ds.X[:, 1].std() < ds.X[:, 0].std() / 3
    assert any("share one range" in n for n in ds.report.notes)


def test_auto_scaling_standardizes_columns_on_different_scales(tmp_path):
    df = pd.DataFrame({"mass_g": np.linspace(3000, 6000, 50), "bill_mm": np.linspace(30, 60, 50)[::-1]})
    ds = load_table(write_csv(tmp_path, df))
    assert ds.report.scaling == "standard"
    np.testing.assert_allclose(ds.X.std(axis=0), [1, 1], atol=1e-5)


@pytest.mark.parametrize("scaling", ["minmax", "none"])
def test_scaling_choices(tmp_path, scaling):
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [5, 5, 6, 9]})
    ds = load_table(write_csv(tmp_path, df), options=TableOptions(scaling=scaling))
    assert ds.report.scaling == scaling
    if scaling == "minmax":
        assert ds.X.min() == 0 and ds.X.max() == 1
    else:
        np.testing.assert_array_equal(ds.X, df.to_numpy(np.float32))


@pytest.mark.parametrize("name,sep", [("data.tsv", "\t"), ("data.csv", ";"), ("data.txt", "|"), ("data.tab", "\t")])
def test_delimiters_are_detected(tmp_path, name, sep):
    df = mixed_frame(50)
    ds = load(write_csv(tmp_path, df, name, sep=sep))
    assert ds.n == 50 and "color=red" in ds.feature_names
    assert any("separated" in n for n in ds.report.notes)


def test_semicolon_csv_with_decimal_commas(tmp_path):
    (tmp_path / "eu.csv").write_text("name;weight;height\nx;1,5;10\ny;2,5;20\nz;3,25;30\nw;4;40\n")
    ds = load(tmp_path / "eu.csv", table=TableOptions(scaling="none"))
    np.testing.assert_allclose(ds.X[:, ds.feature_names.index("weight")], [1.5, 2.5, 3.25, 4.0])
    assert any("decimal commas" in n for n in ds.report.notes)


def test_parquet_table(tmp_path):
    df = mixed_frame(60)
    df["when"] = pd.date_range("2024-01-01", periods=60)
    df.to_parquet(tmp_path / "t.parquet")
    ds = load(tmp_path / "t.parquet", table=TableOptions(label_column="kind", id_column="income"))
    assert ds.kind == "table" and "age" in ds.feature_names and "income" not in ds.feature_names
    assert ds.report.transformed["when"] == "dates: days before 2024-02-29"  # a date column is its age and cycles
    assert "when (days before 2024-02-29)" in ds.feature_names and "when (weekday sin)" in ds.feature_names
    assert ds.ids[0] == str(int(df.income[0]))


def test_junk_infinities_text_dates_row_numbers_and_duplicate_names(tmp_path):
    n = 40
    lines = ["idx,score,score,name,day,big,mood"]
    for i in range(n):
        score = "oops" if i == 3 else ("?" if i == 4 else str(i * 1.5))
        big = "inf" if i == 1 else ("1e301" if i == 2 else str(i))
        lines.append(f"{i},{score},{i % 3},person {i},2024-01-{i % 28 + 1:02d},{big},{'happy' if i % 2 else 'sad'}")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    ds = load(tmp_path / "d.csv")
    r = ds.report
    assert r.dropped_columns == {"idx": "a row number", "name": "names or codes (nearly all values differ)"}
    assert r.imputed == {"score": 2, "big": 2}
    assert "score_2" in ds.feature_names and "mood=happy" in ds.feature_names
    text = r.to_text()
    assert "'oops'" in text and "infinite or huge" in text and "'score' -> 'score_2'" in text
    assert np.isfinite(ds.X).all()


def test_id_column_and_missing_labels(tmp_path):
    (tmp_path / "d.csv").write_text("key,x,y,lab\nk1,1,2,A\nk2,2,1,\nk3,3,5,B\nk4,4,4,A\n")
    ds = load(tmp_path / "d.csv", table=TableOptions(label_column="lab", id_column="key"))
    assert ds.ids.tolist() == ["k1", "k2", "k3", "k4"]
    assert ds.labels.tolist() == ["A", "(missing)", "B", "A"]
    assert ds.feature_names == ["x", "y"]


def test_chosen_columns_leave_label_out(tmp_path):
    ds = load(write_csv(tmp_path, mixed_frame()), table=TableOptions(label_column="kind", columns=["age", "kind"]))
    assert ds.feature_names == ["age"]


def test_latin1_is_read_with_a_note(tmp_path):
    (tmp_path / "l.csv").write_bytes("name,v\ncafé,1\nthé,2\nsoupe,3\npain,4\n".encode("latin-1"))
    ds = load(tmp_path / "l.csv")
    assert ds.table["name"][0] == "café"
    assert any("Latin-1" in n for n in ds.report.notes)


def test_file_like_upload_and_bytes(tmp_path):
    data = mixed_frame(40).to_csv(index=False).encode()
    upload = io.BytesIO(data)
    upload.name = "upload.csv"
    upload.read(10)  # a page already peeked at it
    assert load(upload).n == 40
    assert load(data, name="x.csv").name == "x"
    with pytest.raises(InputError, match="name="):
        load(data)


def test_preview_summary(tmp_path):
    path = write_csv(tmp_path, mixed_frame())
    rows, summary = read_table_preview(path, nrows=100)
    assert len(rows) == 100
    assert list(summary.columns[:5]) == ["column", "dtype", "kind", "missing", "unique"]
    kinds = dict(zip(summary.column, summary.kind, strict=True))
    assert kinds == {
        "age": "numeric",
        "income": "numeric",
        "color": "categorical",
        "const": "constant",
        "kind": "categorical",
    }
    assert dict(zip(summary.column, summary.missing, strict=True))["age"] == 3


@pytest.mark.parametrize(
    "content,match",
    [
        (b"", "is empty"),
        (b"a,b,c\n", "no rows"),
        (b"a,b\n1,2\n3,4\n5,6\n", "at least 4"),
        (b"a,b\n1,2\n3,4,5\n6,7\n", "line 3 has 3 fields"),
        (b"a,b\n1,2\n3\n6,7\n", "line 3 has 1 fields"),
        (b"PK\x03\x04\x00\x00binary\x00junk", "binary"),
        (b"name,day\nann,2024-01-01\nann,2024-01-01\nann,2024-01-01\nann,2024-01-01\n", "no usable feature columns"),
    ],
)
def test_bad_tables(tmp_path, content, match):
    (tmp_path / "bad.csv").write_bytes(content)
    with pytest.raises(InputError, match=match):
        load(tmp_path / "bad.csv")


@pytest.mark.parametrize(
    "options,match",
    [
        (TableOptions(label_column="nope"), "label column 'nope' does not exist; choose one of: key, x, y"),
        (TableOptions(id_column="nope"), "ID column 'nope' does not exist"),
        (TableOptions(columns=["x", "zz"]), "feature column 'zz' does not exist"),
        (TableOptions(label_column="x", id_column="x"), "both the label and the ID"),
        (TableOptions(id_column="y"), "repeated values"),
        (TableOptions(scaling="log"), "scaling 'log'"),
        (TableOptions(encoding="ascii"), "can't be read as ascii"),
    ],
)
def test_bad_options(tmp_path, options, match):
    (tmp_path / "d.csv").write_text("key,x,y\nk1,1,2\nk2,2,2\nk3,3,é\nk4,4,3\n")
    with pytest.raises(InputError, match=match):
        load(tmp_path / "d.csv", table=options)


def test_limits(tmp_path):
    path = write_csv(tmp_path, mixed_frame(50))
    with pytest.raises(LimitError, match=r"max_rows=10.*EXPLORER_MAX_ROWS"):
        load(path, limits=Limits(max_rows=10))
    with pytest.raises(LimitError, match="max_columns=3"):
        load(path, limits=Limits(max_columns=3))
    with pytest.raises(LimitError, match="max_upload_bytes=100"):
        load(path, limits=Limits(max_upload_bytes=100))


def test_limits_from_env():
    limits = Limits.from_env({"EXPLORER_MAX_ROWS": "2_000", "EXPLORER_MAX_TRAIN_SECONDS": "1.5"})
    assert limits.max_rows == 2000 and limits.max_train_seconds == 1.5 and limits.max_images == Limits().max_images
    with pytest.raises(InputError, match="EXPLORER_MAX_ROWS"):
        Limits.from_env({"EXPLORER_MAX_ROWS": "lots"})


def test_unknown_extension_lists_supported():
    with pytest.raises(InputError, match=r"\.xlsx.*\.csv.*\.npz"):
        load(b"x", name="sheet.xlsx")
    assert sniff_kind("a.TSV") == "table" and sniff_kind("a.zip") == "images" and sniff_kind("a.npz") == "array"


def test_penguins_sample():
    ds = load_sample("penguins")
    assert ds.n == 344 and ds.n_classes == 3
    assert set(ds.labels) == {"Adelie", "Chinstrap", "Gentoo"}
    assert "species" not in " ".join(ds.feature_names)
    assert ds.report.imputed["sex"] == 11
    with pytest.raises(InputError, match="penguins"):
        load_sample("iris")


def test_auto_scaling_logs_right_skewed_amounts_only(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "income": np.round(np.exp(rng.normal(10, 1.0, n)), 2),  # spread over orders of magnitude
            "visits": rng.poisson(2, n),  # a small count: kept as a number, not logged
            "balance": rng.normal(0, 1, n),  # symmetric, and negative values
            "plan": rng.choice(["a", "b"], n),
        }
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load(path)
    assert ds.report.transformed == {"income": "log(1 + x)"}
    assert "log(1 + x)" in ds.report.to_text() and "'income'" in ds.report.to_text()
    col = ds.X[:, ds.feature_names.index("income")]
    np.testing.assert_allclose(
        col,
        (np.log1p(frame["income"]) - np.log1p(frame["income"]).mean()) / np.log1p(frame["income"]).std(ddof=0),
        atol=1e-4,
    )
    assert load(path, table=TableOptions(scaling="standard")).report.transformed == {}  # only "auto" transforms
    plan_columns = [j for j, f in enumerate(ds.feature_names) if f.startswith("plan=")]
    assert [g.tolist() for g in ds.categorical_groups()] == [plan_columns]
