"""Dates, times of day, free text and missing markers in a table: the encoder's rules for them (issue 27)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explorer.data import TableOptions, load
from explorer.data.encoder import TableEncoder
from explorer.data.encoder_dates import DateColumn, day_text, parse_dates
from explorer.data.encoder_text import TEXT_MAX_CHARS, TextColumn
from explorer.data.profiles import profile_column
from explorer.dataset import LoadReport

TOPICS = [
    ["mortgage", "rate", "house", "fixed", "loan", "repayment", "property"],
    ["travel", "card", "abroad", "fee", "currency", "airport", "hotel"],
    ["app", "login", "password", "phone", "update", "screen", "error"],
]
COMMON = ["please", "thanks", "bank", "account", "help", "question", "today", "would", "like", "know"]


def table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Dates (with one that is no date), times of day, free text (with a gap), product codes, a number."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    text = [" ".join(list(rng.choice(TOPICS[s], 4)) + list(rng.choice(COMMON, 4))) for s in seg]
    text[5] = None
    joined = (pd.Timestamp("2026-11-30") - pd.to_timedelta(rng.integers(0, 1500, n), unit="D")).strftime("%Y-%m-%d")
    joined = joined.to_numpy(dtype=object)
    joined[0], joined[7] = "2026-11-30", "someday"
    return pd.DataFrame(
        {
            "joined": joined,
            "at": [f"{h}:{m:02d}" for h, m in zip(rng.integers(0, 24, n), rng.integers(0, 60, n), strict=True)],
            "comment": text,
            "code": [f"SKU-{i:05d}" for i in range(n)],
            "x": rng.normal(size=n),
        }
    )


def test_fit_then_transform_equals_fit_transform_and_the_json_round_trip():
    df = table()
    report = LoadReport(source="t", kind="table")
    X1, r1 = TableEncoder().fit_transform(df, report=report)
    enc = TableEncoder().fit(df)
    X2, r2 = enc.transform(df)
    np.testing.assert_array_equal(X1, X2)
    assert r1.to_dict() == r2.to_dict() and r1.not_dates == {"joined": 1} and r1.imputed == {"joined": 1, "comment": 1}
    kinds = {c.name: type(c) for c in enc.columns_}
    assert kinds["joined"] is DateColumn and kinds["at"] is DateColumn and kinds["comment"] is TextColumn
    assert "code" in enc.dropped_columns_  # one token a cell: a code, not text
    names = enc.feature_names_
    assert "joined (days before 2026-11-30)" in names and "joined (weekday sin)" in names
    assert "at (hour sin)" in names and not any(n.startswith("at (days") for n in names)
    notes = " ".join(report.notes)
    assert "Took 'joined' as dates" in notes and "as free text" in notes and "times of day" in notes
    record = json.loads(json.dumps(enc.to_json()))
    wordllama = enc.columns_[[c.name for c in enc.columns_].index("comment")].embedding == "wordllama"
    assert record["version"] == (4 if wordllama else 3)  # an explorer that knows no WordLlama refuses the record
    X3, _ = TableEncoder.from_json(record).transform(df)
    np.testing.assert_array_equal(X1, X3)
    comment = [j for j, n in enumerate(names) if n.startswith("comment")]
    assert abs(X1[:, comment].var(axis=0).sum() - 1) < 0.05  # the text block weighs as one standardized number
    assert np.all(X1[5, comment] == 0)  # a missing text: the block's centre


def test_new_rows_are_measured_against_the_training_reference_date():
    df = table()
    enc = TableEncoder(scaling="none").fit(df)
    date = next(c for c in enc.columns_ if c.name == "joined")
    assert isinstance(date, DateColumn) and date.transform is None
    new = df.iloc[:3].copy()
    new["joined"] = ["2026-11-30", "2026-11-20", "2027-01-09"]  # the reference day, 10 days before, 40 days after
    X, report = enc.transform(new)
    age = X[:, enc.feature_names_.index("joined (days before 2026-11-30)")]
    np.testing.assert_allclose(age, [0, 10, -40])
    new["joined"] = ["not a date", None, "2026-11-30"]
    X, report = enc.transform(new)
    assert report.not_dates == {"joined": 1} and report.imputed["joined"] == 2
    age = X[:, enc.feature_names_.index("joined (days before 2026-11-30)")]
    assert age[0] == age[1] == date.fill  # unparseable and missing: the training median age
    cycles = [j for j, n in enumerate(enc.feature_names_) if n.startswith("joined (") and "days" not in n]
    assert np.all(X[:2][:, cycles] == 0)  # and no pull toward any weekday or month


def test_dates_cycles_only_where_they_vary():
    weekly = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=60, freq="7D"), "x": np.arange(60.0) % 7})
    names = TableEncoder().fit(weekly).feature_names_
    assert not any("weekday" in n for n in names) and any("month" in n for n in names)  # all Mondays; over a year
    short = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=60), "x": np.arange(60.0) % 7})
    names = TableEncoder().fit(short).feature_names_
    assert any("weekday" in n for n in names) and not any("month" in n for n in names)
    days, time_of_day = parse_dates(pd.Series(["09:30", "14:35", "2:05 pm", None]))
    assert time_of_day and np.allclose(days[:3], [9.5, 14 + 35 / 60, 14 + 5 / 60]) and np.isnan(days[3])


def test_numeric_dates_are_read_in_one_order_for_the_whole_column():
    # day first: "03/04/2024" is the 3rd of April, like its neighbour "25/04/2024"; ISO dates stay as written
    days, _ = parse_dates(pd.Series(["03/04/2024", "25/04/2024", "2024-05-01", "1.2.2024", None], dtype=object))
    assert [day_text(d) for d in days[:4]] == ["2024-04-03", "2024-04-25", "2024-05-01", "2024-02-01"]
    days, _ = parse_dates(pd.Series(["03/04/2024", "04/25/2024"]))  # month first where a second number is > 12
    assert [day_text(d) for d in days] == ["2024-03-04", "2024-04-25"]


def test_two_date_columns_give_the_days_between_them(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    joined = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    tenure = np.where(np.arange(n) < 100, rng.integers(1, 30, n), rng.integers(300, 400, n))  # two kinds of customer
    last = joined + pd.to_timedelta(tenure, unit="D")
    df = pd.DataFrame({"last_purchase": last.strftime("%Y-%m-%d"), "joined": joined.strftime("%Y-%m-%d")})
    df.loc[3, "joined"] = None
    enc = TableEncoder(scaling="none").fit(df)
    assert "days from joined to last_purchase" in enc.feature_names_  # oriented: mostly positive
    X, _ = enc.transform(df)
    span = X[:, enc.feature_names_.index("days from joined to last_purchase")]
    keep = np.arange(n) != 3
    np.testing.assert_allclose(span[keep], tenure[keep])
    assert span[3] == np.median(tenure[keep])  # a missing date: the training median span
    record = json.loads(json.dumps(enc.to_json()))
    assert record["version"] == 4
    np.testing.assert_array_equal(TableEncoder.from_json(record).transform(df)[0], X)
    assert "days from" not in " ".join(TableEncoder().fit(df[["joined"]]).feature_names_)  # one date: no span
    # the two kinds of customer are told apart by the span, and explained by it, in days
    from sklearn.metrics import adjusted_rand_score

    from explorer.pipeline.defaults import default_config
    from explorer.pipeline.run import run_pipeline

    df.assign(kind=np.arange(n) < 100).to_csv(tmp_path / "c.csv", index=False)
    ds = load(tmp_path / "c.csv", table=TableOptions(label_column="kind"))
    res = run_pipeline(ds, default_config(ds, k=2))
    assert adjusted_rand_score(ds.labels, res.labels) >= 0.95 and res.explanation is not None
    top = [p.distinctions[0] for p in res.explanation.profiles]
    assert all(d.column == "days from joined to last_purchase" for d in top), [d.sentence for d in top]


def test_missing_markers_numbers_and_categories():
    n = 100
    rng = np.random.default_rng(0)
    numbers = rng.normal(size=n).round(3).astype(str).astype(object)
    numbers[:20] = "?"  # 20% marked: still a column of numbers
    work = rng.choice(["private", "state", "self"], n).astype(object)
    work[:10] = "?"
    work[10:15] = "Unknown"
    sign = rng.choice(["+", "-"], n)  # "-" is a level here, not a missing value
    loan = rng.choice(["none", "car", "house"], n)  # "none" is information
    df = pd.DataFrame({"v": numbers, "work": work, "sign": sign, "loan": loan})
    p = profile_column(df["v"])
    assert p.kind == "numeric" and p.junk == 0 and p.missing == 20 and p.markers == {"?": 20}
    report = LoadReport(source="t", kind="table")
    enc = TableEncoder().fit(df, report=report)
    assert report.imputed == {"v": 20, "work": 15}
    assert not any("work=?" in f or "work=Unknown" in f for f in enc.feature_names_)
    assert "sign=-" in enc.feature_names_ and "loan=none" in enc.feature_names_
    assert "writes a missing value as '?' (10), 'Unknown' (5)" in " ".join(report.notes)
    new = pd.DataFrame({"v": ["1.5", "?"], "work": ["UNKNOWN", "state"], "sign": ["+", "-"], "loan": ["car", "none"]})
    X, tr = enc.transform(new)
    assert tr.imputed == {"v": 1, "work": 1} and tr.unseen_levels == {} and tr.not_numbers == {}
    X2, _ = TableEncoder.from_json(json.loads(json.dumps(enc.to_json()))).transform(new)
    np.testing.assert_array_equal(X, X2)


def test_the_loader_says_what_it_made_of_dates_and_text_and_caps_long_cells(tmp_path):
    df = table()
    df.loc[0, "comment"] = "mortgage rate " * (TEXT_MAX_CHARS // 5)
    df.to_csv(tmp_path / "t.csv", index=False)
    ds = load(tmp_path / "t.csv", table=TableOptions())
    r = ds.report
    assert (
        r.transformed["joined"] == "dates: days before 2026-11-30" and r.transformed["at"] == "times of day: the hour"
    )
    assert r.transformed["comment"].startswith("free text") and r.dropped_columns["code"].startswith("names or codes")
    assert any("1 cell longer than" in n for n in r.notes)
    X, _ = ds.table_encoder.transform(ds.table)
    np.testing.assert_array_equal(X, ds.X)


@pytest.mark.parametrize("cells", [[f"order {i}" for i in range(50)], [f"free text {i}" for i in range(50)]])
def test_codes_and_texts_without_shared_words_stay_dropped(cells):
    df = pd.DataFrame({"t": cells, "x": np.arange(50.0) % 5})
    enc = TableEncoder().fit(df)
    assert "t" in enc.dropped_columns_ and enc.feature_names_ == ["x"]


def planted(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Three segments set apart only by what the customers wrote and when they joined; numbers and categories
    are noise (a skewed balance, a count, an age, a region, a plan)."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    text = []
    for s in seg:
        words = list(rng.choice(TOPICS[s], 4)) + list(rng.choice(COMMON, 5))
        rng.shuffle(words)
        text.append(" ".join(words))
    age = np.choose(seg, [rng.uniform(0, 120, n), rng.uniform(700, 1400, n), rng.uniform(2200, 3000, n)])
    joined = (pd.Timestamp("2026-11-30") - pd.to_timedelta(age.round(), unit="D")).strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "comment": text,
            "joined": joined,
            "balance": rng.lognormal(7, 1, n).round(2),
            "products": rng.integers(1, 6, n),
            "age": rng.normal(45, 12, n).round(),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "plan": rng.choice(["basic", "plus"], n),
            "segment": seg.astype(str),
        }
    )


def test_segments_that_live_in_words_and_dates_are_found_and_explained_by_them(tmp_path):
    from sklearn.metrics import adjusted_rand_score

    from explorer.explain import Explanation
    from explorer.pipeline.defaults import default_config
    from explorer.pipeline.run import run_pipeline

    planted().to_csv(tmp_path / "p.csv", index=False)
    ds = load(tmp_path / "p.csv", table=TableOptions(label_column="segment", id_column="customer_id"))
    res = run_pipeline(ds, default_config(ds, k=3))
    assert adjusted_rand_score(ds.labels, res.labels) >= 0.95
    ex = res.explanation
    assert ex is not None
    for p in ex.profiles:
        assert p.distinctions[0].column in ("comment", "joined")  # the words or the dates come first
        assert {"comment", "joined"} & {d.column for d in p.distinctions[:2]}
    dates = [d.sentence for p in ex.profiles for d in p.distinctions if d.column == "joined"]
    assert any("vs 20" in s and "(20" in s for s in dates)  # read in dates, not scaled numbers
    words = [d.sentence for p in ex.profiles for d in p.distinctions if d.column == "comment"]
    assert any("mortgage" in s or "travel" in s or "login" in s for s in words)
    again = Explanation.from_dict(json.loads(json.dumps(ex.to_dict())), ex.points_frame(), res.labels)
    assert again.profiles[0].text == ex.profiles[0].text
