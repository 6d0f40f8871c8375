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
