"""Text at scale (issue 27): WordLlama embeds each distinct piece of text once and gets every text's vector
exactly as reading it whole would; a huge cell is cut with a sentence, never read whole."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from explorer.data import TableOptions, load
from explorer.data.encoder_text import TEXT_MAX_CHARS
from explorer.data.text_models import WORDLLAMA_MAX_TOKENS, load_wordllama, wordllama_folder
from explorer.errors import InputError

needs_wordllama = pytest.mark.skipif(wordllama_folder() is None, reason="the wordllama wheel is not installed")

TRICKY = [
    "the football team won the match",
    "the football team won the match",  # a repeat
    "Fund pessimism grows.  NEW YORK (CNN/Money) - Money managers",  # two spaces
    "a  b   c    d",
    "ends in a space ",
    "ends in two spaces  ",
    "  starts with spaces",
    " ",
    "",
    "tabs\tand\nnew lines",
    "ünïcode 漢字 text and 😀 emoji",
    "punctuation,without spaces;at all!",
    "word " * (WORDLLAMA_MAX_TOKENS + 40),  # past the model's length: its first tokens only
    "x" * 3000,
]


@needs_wordllama
def test_texts_embedded_piece_by_piece_equal_texts_read_whole():
    model = load_wordllama()
    expected = np.zeros((len(TRICKY), model.vectors.shape[1]), np.float32)
    for row, text in enumerate(TRICKY):  # the definition: each text tokenized whole, its first tokens averaged
        ids = model.tokenizer.encode(text, add_special_tokens=False).ids[:WORDLLAMA_MAX_TOKENS]
        if ids:
            expected[row] = model.vectors[ids].mean(axis=0)
    got = model.embed(TRICKY)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.all(got[TRICKY.index("")] == 0) and np.any(got[TRICKY.index(" ")] != 0)


def _table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = [
        "card",
        "payment",
        "loan",
        "mortgage",
        "rate",
        "app",
        "login",
        "branch",
        "queue",
        "staff",
        "savings",
        "interest",
    ]
    return pd.DataFrame({"comment": [" ".join(rng.choice(words, 6)) for _ in range(n)], "x": rng.normal(size=n)})


def test_a_10_mb_cell_is_cut_with_a_sentence_in_parquet_and_refused_with_one_in_a_csv():
    df = _table()
    df.loc[3, "comment"] = "mortgage rate " * (10 * 2**20 // 14)  # 10 MB of text in one cell
    parquet = io.BytesIO()
    df.to_parquet(parquet)
    ds = load(parquet.getvalue(), name="big.parquet", table=TableOptions(text_embedding="tfidf"))
    assert ds.X.shape[0] == len(df) and any(c.startswith("comment (text") for c in ds.feature_names)
    assert any(f"1 cell longer than {TEXT_MAX_CHARS:,} characters was cut to that length" in n for n in ds.report.notes)
    with pytest.raises(InputError, match="no field is longer than"):  # the CSV reader's own field cap
        load(df.to_csv(index=False).encode(), name="big.csv")


def test_a_share_of_dates_is_decided_as_reading_every_cell_would_even_when_reading_stops_early(monkeypatch):
    from explorer.data import profiles

    monkeypatch.setattr(profiles, "MATCH_CHUNK", 7)  # many chunks on a small column
    for dates in (0, 5, 88, 89, 90, 91, 100):
        cells = pd.Series([f"2024-05-0{1 + i % 9}" for i in range(dates)] + ["free text"] * (100 - dates))
        cells = cells.sample(frac=1.0, random_state=dates).reset_index(drop=True)
        expected = bool(cells.str.match(profiles.DATE_RE).mean() >= profiles.NUMERIC_SHARE)
        assert profiles.mostly_match(cells, profiles.DATE_RE, profiles.NUMERIC_SHARE) == expected == (dates >= 90)
    assert not profiles.mostly_match(pd.Series([], dtype=object), profiles.DATE_RE, 0.9)


def test_the_report_judges_the_million_row_run_on_time_memory_and_the_network():
    from bench.report.text_scale import section_text_scale, text_scale_verdicts

    row = {
        "n": 1_000_000,
        "k": 6,
        "wall_s": 1092.0,
        "cpu_s": 233.0,
        "peak_rss_mb": 2315,
        "load_before": [12.3, 10.2, 6.4],
        "load_after": [13.9, 14.9, 12.4],
        "seconds": {"cluster": 520.0, "project": 217.0},
        "metrics": {"nmi": 0.29, "ari": 0.17},
        "model": "none",
        "cluster": "mixture",
        "network": "cut (unshare -rn)",
        "limits_from_environment": {"EXPLORER_MAX_LOAD_SECONDS": "3600"},
        "command": "python -m explorer run <data>.parquet --json --k 6",
    }
    machine = {"cpu": "AMD EPYC", "cores": 2, "torch_threads": 2, "date": "2026-12-07 18:00"}
    [(_, measured, verdict)] = text_scale_verdicts({"row": row, "machine": machine})
    assert verdict.startswith("met (on CPU s") and "233 CPU s" in measured  # a shared machine: judged on CPU s
    [(_, _, verdict)] = text_scale_verdicts({"row": {**row, "cpu_s": 700.0, "peak_rss_mb": 7000}, "machine": machine})
    assert "over by 100 s" in verdict and "memory over by" in verdict and verdict.startswith("**not met**")
    [(_, _, verdict)] = text_scale_verdicts({"row": {**row, "network": "available"}, "machine": machine})
    assert "network available" in verdict
    lines: list[str] = []
    section_text_scale({"row": row, "machine": machine}, lines)
    assert "EXPLORER_MAX_LOAD_SECONDS=3600" in lines[2] and "233 CPU seconds" in lines[2]
