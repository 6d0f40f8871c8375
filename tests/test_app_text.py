"""The Data page's text controls, driven by Streamlit's AppTest: a table with free text offers the text embedding
and the text weight (the CLI's --text-embedding and --text-weight), the choice reaches the loader's options and
the record the run saves, the Train page says what is in use, and a table without text shows neither control."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.data.encoder_text import TEXT_EMBEDDINGS, TFIDF, TextColumn
from explorer.data.preprocessing import record_preprocessing
from tests.test_app import app, blobs_csv, ok, runs_dir, texts, upload  # noqa: F401  (runs_dir: the fixture)
from tests.test_text_documents import documents

pytestmark = pytest.mark.usefixtures("navigation_only", "runs_dir")  # tests/conftest.py, tests/test_app.py

EMBEDDING = "Text embedding (free text in text)"


def notes_csv(n: int = 60) -> bytes:
    """Short texts of three topics beside a number."""
    df = documents(n).drop(columns="label")
    df["amount"] = np.arange(n) % 7
    return df.to_csv(index=False).encode()


def test_a_table_with_text_offers_the_embedding_and_its_weight_and_one_without_text_does_not():
    at = upload(app(), "notes.csv", notes_csv(), "text/csv")
    [embedding] = [s for s in at.selectbox if s.label == EMBEDDING]
    assert embedding.value == "auto" and len(embedding.options) <= len(TEXT_EMBEDDINGS)
    assert embedding.options[0].startswith("auto (") and "TF-IDF + LSA" in embedding.options  # auto says what it is
    embedding.set_value(TFIDF)
    [weight] = [s for s in at.number_input if s.label == "Text weight"]
    weight.set_value(2.0).run()
    ok(at)
    assert "TF-IDF + LSA: the words the texts share" in texts(at.caption)  # what the choice means
    dataset = at.session_state["ws"].dataset
    record = record_preprocessing(dataset)  # what a run made on these data saves as preprocess.json
    assert record is not None and record["params"]["text_embedding"] == TFIDF and record["params"]["text_weight"] == 2
    [text] = [c for c in dataset.table_encoder.columns_ if isinstance(c, TextColumn)]
    assert text.embedding == TFIDF and text.name == "text"
    at.switch_page("pages/train.py").run()
    ok(at)
    assert "Free text 'text': TF-IDF + LSA, weight 2" in texts(at.caption)
    at.switch_page("pages/data.py").run()  # a table without text: neither control
    upload(at, "blobs.csv", blobs_csv(60), "text/csv")
    assert at.session_state["ws"].dataset.name == "blobs"
    assert not [s for s in at.selectbox if s.label.startswith("Text embedding")]
    assert not [s for s in at.number_input if s.label == "Text weight"]
    at.switch_page("pages/train.py").run()
    assert "Free text" not in texts(at.caption)
