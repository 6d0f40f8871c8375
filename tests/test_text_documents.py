"""Documents (a table of free text alone) and the offline text embedding (issue 27): small synthetic documents
with known topics are embedded, clustered into their topics and explained by their words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explorer.data import TableOptions, load
from explorer.data.encoder import TableEncoder
from explorer.data.encoder_text import TFIDF, resolve_embedding
from explorer.data.text_models import WORDLLAMA, load_wordllama, wordllama_folder
from explorer.errors import InputError

needs_wordllama = pytest.mark.skipif(wordllama_folder() is None, reason="the wordllama wheel is not installed")

TOPICS = {
    "sport": ["football", "match", "goal", "team", "coach", "league", "season", "players", "stadium", "win"],
    "money": ["bank", "interest", "loan", "mortgage", "savings", "inflation", "market", "shares", "investors", "rates"],
    "food": ["recipe", "soup", "garlic", "oven", "bake", "flour", "tomatoes", "dinner", "kitchen", "chef"],
}
FILLER = ["the", "a", "we", "they", "said", "today", "this", "week", "after", "again", "new", "more", "very"]


def documents(n: int = 240, seed: int = 0, topics: tuple[str, ...] = tuple(TOPICS)) -> pd.DataFrame:
    """``n`` short texts, each of 5 words of its topic among 6 common ones, and the topic as ``label``."""
    rng = np.random.default_rng(seed)
    names = list(topics)
    topic = rng.integers(0, len(names), n)
    texts = []
    for t in topic:
        words = list(rng.choice(TOPICS[names[t]], 5, replace=False)) + list(rng.choice(FILLER, 6))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".")
    return pd.DataFrame({"text": texts, "label": [names[t] for t in topic]})


@needs_wordllama
def test_wordllama_is_read_from_its_wheel_and_places_texts_by_meaning():
    model = load_wordllama()
    E = model.embed(["the football team won the match", "the players scored a goal", "bake the bread in the oven", ""])
    assert E.shape == (4, 256) and E.dtype == np.float32 and np.all(E[3] == 0)  # no token: no vector
    unit = E[:3] / np.linalg.norm(E[:3], axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]  # two texts on football are nearer than football and baking


def test_an_unknown_text_embedding_is_refused():
    with pytest.raises(InputError, match="text embedding 'bert' is not known"):
        TableOptions(text_embedding="bert").validate()
    assert resolve_embedding(TFIDF) == TFIDF
    assert resolve_embedding("auto") == (WORDLLAMA if wordllama_folder() is not None else TFIDF)


@pytest.mark.parametrize("embedding", [TFIDF, pytest.param(WORDLLAMA, marks=needs_wordllama)])
def test_a_table_of_text_alone_is_clustered_as_documents_into_its_topics(tmp_path, embedding):
    from sklearn.metrics import adjusted_rand_score

    from explorer.dashboard.understand import text_table
    from explorer.pipeline.defaults import DOCUMENT_METHOD, default_config, default_reason, is_document_set
    from explorer.pipeline.run import run_pipeline

    documents().to_csv(tmp_path / "docs.csv", index=False)
    ds = load(tmp_path / "docs.csv", table=TableOptions(label_column="label", text_embedding=embedding))
    encoder = ds.table_encoder
    assert isinstance(encoder, TableEncoder) and encoder.documents_ and is_document_set(ds)
    assert encoder.columns_[0].embedding == embedding and ds.report.transformed["text"].startswith("free text")
    assert "Documents" in default_reason(ds)
    cfg = default_config(ds, k=3)
    assert cfg.cluster.method == DOCUMENT_METHOD and cfg.model.kind == "none"
    res = run_pipeline(ds, cfg)
    assert adjusted_rand_score(ds.labels, res.labels) >= 0.9
    ex = res.explanation
    assert ex is not None
    for c in ex.clusters:
        topic = pd.Series(ds.labels[res.labels == c.cluster]).mode()[0]
        assert any(word in c.name for word in TOPICS[topic]), c.name  # named by its own topic's words
        profile = next(p for p in ex.profiles if p.cluster == c.cluster)
        examples = profile.text[0].examples
        assert examples and all(sum(w in e.lower() for w in TOPICS[topic]) >= 3 for e in examples)
        shown = text_table(profile)["words or text"].tolist()  # the Understand page's table: words, then texts
        assert shown[-len(examples) :] == examples and any(w in shown[0] for w in TOPICS[topic])
    # the fitted text column is plain JSON and gives the same features back
    again = TableEncoder.from_json(json.loads(json.dumps(encoder.to_json())))
    np.testing.assert_allclose(again.transform(ds.table)[0], ds.X, atol=1e-6)


@needs_wordllama
def test_documents_keep_few_enough_directions_for_the_mixture_to_refine_a_few_thousand_texts():
    from explorer.cluster.mixture import mixture_parameters
    from explorer.data.encoder_text import DOCUMENT_COMPONENTS, WORDLLAMA_COMPONENTS, fit_text_column

    cells = documents(240)["text"].tolist()
    empty = np.zeros(len(cells), bool)
    docs, _ = fit_text_column("text", cells, empty, embedding=WORDLLAMA, documents=True)
    column, _ = fit_text_column("text", cells, empty, embedding=WORDLLAMA)
    assert docs is not None and docs.width == DOCUMENT_COMPONENTS  # a document set keeps them all
    assert column is not None and column.width < WORDLLAMA_COMPONENTS  # a table's column: Kaiser's rule keeps some
    # the mixture's guard (parameters under the rows) lets it refine 4 topics from 5,000 texts; 64 directions did not
    assert mixture_parameters(4, DOCUMENT_COMPONENTS, []) < 5_000 < mixture_parameters(4, 64, [])


def test_text_beside_other_columns_is_a_table_not_documents_and_weighs_as_the_user_says():
    df = documents(120)
    df["amount"] = np.arange(120.0) % 7
    encoder = TableEncoder(text_embedding=TFIDF).fit(df.drop(columns="label"))
    assert not encoder.documents_ and {c.name for c in encoder.columns_} == {"text", "amount"}
    assert [c.name for c in encoder.columns_] == ["text", "amount"]  # the columns keep the table's order
    for weight in (1.0, 2.0):
        X, _ = TableEncoder(text_embedding=TFIDF, text_weight=weight).fit_transform(df.drop(columns="label"))
        assert abs(X[:, :-1].var(axis=0).sum() - weight**2) < 0.05 * weight**2  # the text block; "amount" last
    with pytest.raises(InputError, match="text_weight must be above 0"):
        TableOptions(text_weight=0).validate()


def test_text_drift_is_a_shift_of_words_that_a_sample_of_the_training_texts_does_not_show():
    from explorer.apply.drift import text_shift

    train = documents(400, seed=1, topics=("sport", "money"))
    same = documents(150, seed=2, topics=("sport", "money"))
    shifted = pd.concat([documents(100, seed=3, topics=("sport", "money")), documents(50, seed=4, topics=("food",))])
    encoder = TableEncoder(text_embedding=TFIDF).fit(train.drop(columns="label"))
    before = encoder.raw_columns(train)["text"]
    assert before.dtype == object and len(before) == 400
    calm = text_shift("text", before, encoder.raw_columns(same)["text"])
    moved = text_shift("text", before, encoder.raw_columns(shifted)["text"])
    assert calm is not None and moved is not None
    assert not calm.drifted and calm.new_words == 0.0  # the same topics: every word seen in training
    assert moved.drifted and moved.value > calm.value + 0.1  # a third of the new texts on a topic never seen
    assert moved.new_words is not None and moved.new_words > 0.1


WORDY = [  # apostrophes (straight and curly), hyphens, case, digits, accents, full-width letters, ideographs
    "The bank’s E-mail said COVID-19 rates rose 12% in Zürich; don't panic, it's fine",
    "the BANK'S e-mail: covid-19 rates ROSE 12 percent in ＺＵＲＩＣＨ",
    "東京の銀行 rates rose again",
]


def test_the_explanations_and_drift_split_text_into_the_same_words():
    from explorer.apply.drift import word_distance
    from explorer.data.text_terms import words
    from explorer.explain.words import text_profiles

    assert words(WORDY[0]) == ["bank", "e-mail", "said", "covid-19", "rates", "rose", "12", "zürich", "panic", "fine"]
    assert words(WORDY[1]) == ["bank", "e-mail", "covid-19", "rates", "rose", "12", "percent", "zurich"]
    assert words(WORDY[2]) == ["東", "京", "の", "銀", "行", "rates", "rose"]
    # the explanations: the terms a cluster holding each text twice is told apart by are that text's words
    texts = pd.Series(WORDY * 2 + ["soup and garlic in the oven", "bake the flour"] * 2, name="notes")
    for i, text in enumerate(WORDY):
        labels = np.array([int(j % len(WORDY) == i and j < 2 * len(WORDY)) for j in range(len(texts))])
        shown = {t.term for t in text_profiles(texts, labels, [1])[1].terms if " " not in t.term}
        assert shown and shown <= set(words(text))
    # drift: the same words written another way are no new words, and a word it has not seen is
    assert word_distance(WORDY[:1], [WORDY[0].upper().replace("’", "'")]) == (0.0, 0.0)
    distance = word_distance(WORDY[:2], ["The bank’s loan rates"])
    assert distance is not None and distance[1] == pytest.approx(1 / 3)  # "loan" of bank, loan, rates


def test_documents_automatic_k_finds_the_topics_and_word_soup_has_no_groups(tmp_path):
    from explorer.cluster import cluster
    from explorer.pipeline.defaults import default_config

    rng = np.random.default_rng(5)
    every = [w for words in TOPICS.values() for w in words] + FILLER
    soup = pd.DataFrame({"text": [" ".join(rng.choice(every, 11)).capitalize() + "." for _ in range(240)]})
    topics = documents(240).drop(columns="label")
    for name, df, embedding, wanted in (("topics", topics, TFIDF, {3}), ("soup", soup, "auto", {1})):
        df.to_csv(tmp_path / f"{name}.csv", index=False)
        ds = load(tmp_path / f"{name}.csv", table=TableOptions(text_embedding=embedding))
        cfg = default_config(ds).cluster
        assert cfg.nested_k and cfg.neighbour_means and cfg.k is None
        res = cluster(ds.X, cfg)
        assert res.k in wanted, (name, res.k, res.sweep.reason if res.sweep else None)


def test_the_documents_rule_on_measured_stabilities():
    """Stability by k (2 to 9) as measured on WordLlama features: AG News' 7,600 news (4 topics that overlap: none
    comes back at the tables' 0.95, and k = 8 comes back again), Banking77's queries (card queries against the rest
    come back at 0.99), random word soup."""
    from explorer.cluster.stability import NO_GROUPS, suggest_nested_k, suggest_stable_k

    ks = list(range(2, 10))
    ag_news = [0.16, 0.90, 0.89, 0.63, 0.75, 0.79, 0.87, 0.70]
    assert suggest_stable_k(ks, ag_news)[1] == "stability (none stable)"  # the tables' rule finds nothing stable
    assert suggest_nested_k(ks, ag_news)[:2] == (4, "stability")
    assert suggest_nested_k(ks, [0.99, 0.86, 0.66, 0.83, 0.88, 0.66, 0.73, 0.72])[0] == 2
    assert suggest_nested_k(ks, [0.25, 0.17, 0.11, 0.11, 0.09, 0.07, 0.10, 0.09])[:2] == (1, NO_GROUPS)


def test_many_fine_topics_are_clustered_on_neighbour_means():
    """Planted: 10 topics of 30 rows in 16 directions whose rows stray heavy-tailed (Student's t, 2 degrees of
    freedom), as a text's own words now and then pull it far from its topic. From FINE_K clusters the documents'
    k-means clusters each row's mean with its nearest rows and finds the topics better than on the rows; below
    FINE_K (4 of the topics) it clusters the rows themselves."""
    from dataclasses import replace

    from sklearn.metrics import adjusted_rand_score

    from explorer.cluster import cluster
    from explorer.cluster.types import FINE_K, NEIGHBOUR_MEAN_ROWS, ClusterConfig
    from explorer.neighbors import Neighbors
    from explorer.pipeline.defaults import DOCUMENT_METHOD

    rng = np.random.default_rng(2)
    topic = np.repeat(np.arange(10), 30)
    Z = rng.normal(size=(10, 16))[topic] + 0.35 * rng.standard_t(2, size=(300, 16))
    cfg = ClusterConfig(method=DOCUMENT_METHOD, k=10, neighbour_means=True)
    assert cfg.k is not None and cfg.k >= FINE_K > 4
    fine, plain = cluster(Z, cfg), cluster(Z, replace(cfg, neighbour_means=False))
    assert fine.info["neighbour_means"] == NEIGHBOUR_MEAN_ROWS and "neighbour_means" not in plain.info
    assert adjusted_rand_score(topic, fine.labels) > adjusted_rand_score(topic, plain.labels) + 0.1
    graph = Neighbors(Z, k=10)  # a run's graph of these rows gives the same neighbours
    assert adjusted_rand_score(fine.labels, cluster(Z, cfg, knn=graph).labels) > 0.99
    few = topic < 4
    broad = cluster(Z[few], replace(cfg, k=4))
    assert "neighbour_means" not in broad.info
    assert np.array_equal(broad.labels, cluster(Z[few], replace(cfg, k=4, neighbour_means=False)).labels)
