"""Explanations on data with planted structure: each segment's planted columns are what sets it apart
(and noise columns never are), profiles are in the data's units with missing values counted, the
surrogate rules recover axis-aligned segments, names come from the distinctions, typical and
borderline members are where they should be, overlapping clusters are flagged unstable and separated
ones are not, and an explanation survives a save and a load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.explain import ExplainConfig, explain
from explorer.explain.members import membership, typical_and_borderline
from explorer.explain.names import auto_names, clean_name
from explorer.explain.profiles import cliffs_delta, level_separation, number, profile_clusters
from explorer.explain.resample import cluster_stability, refitter, stability_level
from explorer.explain.rules import surrogate_rules

pytestmark = pytest.mark.usefixtures("single_thread")

PLANTED = {0: {"age", "plan"}, 1: {"income", "channel"}, 2: {"visits", "has_mortgage", "tenure"}}
NOISE = {"lucky_number", "region", "credit_score"}


def planted_table(n: int = 1800, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three segments, each set apart from the rest in 2-3 known columns (numbers shifted by about
    three spreads, one category level dominant); the other columns follow one distribution for all;
    three noise columns; 5% of incomes missing."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    age = rng.normal(40, 6, n) + np.where(seg == 0, 22, 0)
    income = np.exp(rng.normal(np.log(50_000), 0.2, n)) * np.where(seg == 1, 2.2, 1.0)
    visits = rng.poisson(np.where(seg == 2, 14, 3))
    tenure = rng.gamma(4, 1.0, n) + np.where(seg == 2, 9, 0)

    def level(names: list[str], favourite: str, who: int, share: float = 0.85) -> np.ndarray:
        base = rng.choice(names, n)
        fav = rng.random(n) < share
        return np.where((seg == who) & fav, favourite, np.where(base == favourite, names[0], base)).astype(object)

    df = pd.DataFrame(
        {
            "age": np.round(age),
            "income": np.round(income, -2),
            "visits": visits,
            "tenure": np.round(tenure, 1),
            "plan": level(["basic", "plus", "premium"], "premium", 0),
            "channel": level(["online", "app", "phone", "branch"], "branch", 1),
            "has_mortgage": level(["no", "yes"], "yes", 2, 0.9),
            "lucky_number": rng.integers(0, 10, n),
            "region": rng.choice(["north", "south", "east", "west"], n).astype(object),
            "credit_score": np.round(rng.normal(650, 80, n)),
        }
    )
    df.loc[rng.random(n) < 0.05, "income"] = np.nan
    return df, seg


def test_the_planted_columns_set_each_segment_apart_and_noise_never_does():
    df, seg = planted_table()
    profiles = profile_clusters(df, seg, categorical=["plan", "channel", "has_mortgage", "region"])
    for p in profiles:
        top3 = {d.column for d in p.distinctions[:3]}
        assert PLANTED[p.cluster] <= top3, (p.cluster, [d.sentence for d in p.distinctions[:4]])
        assert not (top3 & NOISE)
        assert all(d.separation < 0.15 for d in p.distinctions if d.column in NOISE)


def test_profiles_are_in_the_data_units_with_missing_values_counted():
    df, seg = planted_table()
    p0 = profile_clusters(df, seg)[0]
    age = next(x for x in p0.numeric if x.column == "age")
    assert 58 <= age.cluster.median <= 66 and 37 <= age.rest.median <= 43 and age.effect > 0.9
    income = next(x for x in p0.numeric if x.column == "income")
    assert income.cluster.missing + income.rest.missing == int(df["income"].isna().sum()) > 0
    plan = next(x for x in p0.categorical if x.column == "plan")
    premium = plan.levels[0]
    assert premium.level == "premium" and premium.share > 0.8 and premium.lift > 2
    top = next(d for d in p0.distinctions if d.column == "age")
    assert top.direction == "higher" and top.sentence.startswith("age higher: 62")


def test_missing_is_a_level_of_its_own_for_categories():
    df = pd.DataFrame({"c": ["a", None, None, "b", "a", None, "b", "a"]})
    labels = np.array([0, 1, 1, 0, 0, 1, 0, 0])
    p1 = profile_clusters(df, labels)[1]
    cat = p1.categorical[0]
    assert cat.missing == 3 and cat.levels[0].level == "(missing)" and cat.separation == pytest.approx(1.0)
    assert p1.distinctions[0].sentence.startswith("c missing: 100%")


def test_the_effect_sizes_are_right_on_hand_made_cases():
    from scipy.stats import rankdata

    member = np.array([True, True, False, False])
    assert cliffs_delta(rankdata([3, 4, 1, 2]), member) == pytest.approx(1.0)
    assert cliffs_delta(rankdata([1, 2, 3, 4]), member) == pytest.approx(-1.0)
    assert cliffs_delta(rankdata([1, 4, 2, 3]), member) == pytest.approx(0.0)
    assert level_separation(np.array([10.0, 0.0]), np.array([0.0, 10.0])) == pytest.approx(1.0)
    assert level_separation(np.array([5.0, 5.0]), np.array([5.0, 5.0])) == pytest.approx(0.0)
    assert (number(55300.0), number(71.0), number(41.25), number(0.0342)) == ("55,300", "71", "41.2", "0.0342")


def test_the_rules_recover_axis_aligned_segments_in_the_data_units():
    df, seg = planted_table()
    rules = surrogate_rules(df, seg, categorical=["plan", "channel", "has_mortgage", "region"])
    assert rules.fidelity > 0.9 and not rules.note
    r0 = rules.by_cluster[0]
    assert "age >" in r0.text and r0.precision > 0.9 and r0.coverage > 0.8
    threshold = float(r0.text.split("age > ")[1].split()[0].replace(",", ""))
    assert 45 < threshold < 58  # between the segment's ages and the rest's
    assert not any(col in r.text for r in rules.rules for col in NOISE)


def test_low_fidelity_is_said_plainly():
    """Clusters cut along a diagonal are not boxes in the columns: a depth-1 tree cannot follow them."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (1000, 2))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + 2 * (X[:, 0] - X[:, 1] > 0).astype(int)
    rules = surrogate_rules(pd.DataFrame(X, columns=["a", "b"]), labels, depth=1)
    assert rules.fidelity < 0.8 and "rough guides" in rules.note


def test_names_come_from_the_top_distinctions_and_stay_unique_and_plain():
    df, seg = planted_table()
    profiles = profile_clusters(df, seg, categorical=["plan", "channel", "has_mortgage", "region"])
    names = auto_names({p.cluster: p.distinctions for p in profiles}, {p.cluster: p.size for p in profiles})
    assert "high age" in names[0] or "plan premium" in names[0]
    assert len(set(names.values())) == 3
    assert clean_name("evil\u202ename\u200b  two\nlines") == "evilname two lines"
    same = auto_names({0: profiles[0].distinctions, 1: profiles[0].distinctions}, {0: 1, 1: 1})
    assert same[0] != same[1]


def test_typical_members_sit_at_the_centre_and_borderline_ones_between_clusters():
    rng = np.random.default_rng(1)
    a, b = rng.normal([-3, 0], 1.0, (300, 2)), rng.normal([3, 0], 1.0, (300, 2))
    Z = np.concatenate([a, b]).astype(np.float32)
    labels = (Z[:, 0] > 0).astype(int)
    m = membership(Z, labels, None, None, [0, 1])
    assert set(np.unique(m.runner_up)) == {0, 1} and (m.runner_up != labels).all()
    typical, borderline = typical_and_borderline(labels, m, 0, 10)
    assert np.abs(Z[typical, 0] + 3).max() < 1.0 and np.abs(Z[borderline, 0]).max() < 1.5
    nearest_the_boundary = set(np.flatnonzero(labels == 0)[np.argsort(-Z[labels == 0, 0])[:10]])
    assert len(nearest_the_boundary & set(borderline)) >= 8
    assert m.margin[typical].min() > 0.7 > m.margin[borderline].max()
    proba = np.column_stack([1 - 1 / (1 + np.exp(-2 * Z[:, 0])), 1 / (1 + np.exp(-2 * Z[:, 0]))]).astype(np.float32)
    mp = membership(Z, labels, None, proba, [0, 1])
    from scipy.stats import spearmanr

    assert mp.source == "probabilities" and spearmanr(mp.margin, np.abs(Z[:, 0])).statistic > 0.95


def test_overlapping_clusters_are_flagged_unstable_and_separated_ones_are_not():
    rng = np.random.default_rng(2)
    far = [rng.normal(c, 0.5, (400, 2)) for c in ([-10, 0], [10, 0])]
    close = [rng.normal([0, 10], 1.0, (400, 2)), rng.normal([0.3, 10], 1.0, (400, 2))]  # one blob, really
    Z = np.concatenate([*far, *close]).astype(np.float32)
    from sklearn.cluster import KMeans

    labels = KMeans(4, n_init=5, random_state=0).fit_predict(Z)
    fit, what = refitter("kmeans", 4)
    st = cluster_stability(Z, labels, fit, method=what, resamples=12, random_state=0)
    far_ids = {int(labels[0]), int(labels[400])}
    close_ids = set(range(4)) - far_ids
    assert all(st.jaccard[c] >= 0.9 for c in far_ids)
    assert set(st.flagged()) == close_ids, st.jaccard
    assert all(stability_level(st.jaccard[c]) in ("doubtful", "unstable") for c in close_ids)
    co = st.co_assignment
    assert np.nanmean(co[:800]) > 0.95 > np.nanmean(co[800:])


def test_explain_a_run_and_keep_it_through_save_and_load(tmp_path):
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.files import load_run, save_run

    df, seg = planted_table(n=900)
    df["segment"] = np.array(["A", "B", "C"])[seg]
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    ds = load(path, table=TableOptions(label_column="segment"))
    result = run_pipeline(ds, default_config(ds, k=3, projection_method="pca"))
    ex = result.explanation
    assert ex is not None and ex.on == "columns" and "segment" not in ex.columns
    assert len(ex.clusters) == 3 and ex.rules.fidelity > 0.85
    assert all(c.jaccard is not None and c.jaccard > 0.8 for c in ex.clusters)
    ex.rename({ex.clusters[0].cluster: "the *older* ones"})
    saved = save_run(result, tmp_path / "runs")
    back = load_run(saved).explanation
    assert back.to_dict() == ex.to_dict()
    assert back.clusters[0].name == "the *older* ones"
    assert np.allclose(back.points.margin, ex.points.margin)


def test_images_are_explained_by_their_codes():
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import default_config, run_pipeline

    rng = np.random.default_rng(3)
    imgs = np.zeros((120, 8, 8, 1), np.uint8)
    imgs[:60, :4] = 200
    imgs[60:, 4:] = 200
    imgs = np.clip(imgs + rng.integers(0, 40, imgs.shape), 0, 255).astype(np.uint8)
    ds = Dataset(
        X=imgs.reshape(120, -1).astype(np.float32) / 255,
        feature_names=[f"p{i}" for i in range(64)],
        ids=np.arange(120).astype(str),
        report=LoadReport(source="x", kind="images"),
        kind="images",
        name="x",
        images=imgs,
    )
    result = run_pipeline(
        ds, default_config(ds, k=2, model="pca", latent_dim=4, projection_method="pca", method="kmeans")
    )
    ex = explain(result, ExplainConfig(resamples=5))
    assert ex.on == "latent" and ex.columns == [] and ex.rules.on == "latent"
    assert all(c.name.startswith("cluster ") for c in ex.clusters)
    assert ex.rules.fidelity > 0.95 and "z1" in ex.rules.rules[0].text


def test_names_reach_the_exports_and_the_html_escapes_them(tmp_path):
    from explorer.data import TableOptions, load
    from explorer.explain.report import to_html
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.exports import points_csv

    df, _seg = planted_table(n=600)
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    ds = load(path, table=TableOptions())
    result = run_pipeline(ds, default_config(ds, k=3, projection_method="pca", explain=ExplainConfig(resamples=4)))
    first = result.explanation.clusters[0].cluster
    result.explanation.rename({first: "<script>alert(1)</script> =cmd"})
    page = to_html(result.explanation)
    assert "<script>" not in page and "&lt;script&gt;" in page and "agrees with the clusters" in page
    text = points_csv(result).decode()
    header = text.splitlines()[0].split(",")
    assert header[:3] == ["id", "cluster", "cluster_name"]
    assert "<script>alert(1)</script> =cmd" in text  # plain text in a CSV; starts with '<', not a formula


def test_infinite_values_are_explained_as_missing():
    df = pd.DataFrame({"a": [1.0, 2.0, np.inf, 10.0, 11.0, -np.inf, 12.0, 1.5] * 10, "b": list("xxxyyyyx") * 10})
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 0] * 10)
    rules = surrogate_rules(df, labels, depth=2)
    assert rules.fidelity > 0.7 and len(rules.rules) == 2
    p = profile_clusters(df, labels)
    assert all(np.isfinite(x.effect) for q in p for x in q.numeric)
