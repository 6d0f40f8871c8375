"""The words of a free text: the one rule by which a cluster's distinctive words are found
(:mod:`explorer.explain.words`) and by which drift counts new words and a vocabulary shift
(:mod:`explorer.apply.drift`), so both see the same words in the same text.

A text is read in Unicode's compatibility form (NFKC: full-width letters and ligatures as plain ones), in lower
case, with typographic apostrophes and hyphens as plain ones. A word is a run of letters and digits (in any
script), kept whole across an inner apostrophe or hyphen ("don't", "e-mail", "covid-19"); a possessive "'s" is
dropped ("bank's" is "bank"). Chinese and Japanese are written without spaces: each of their ideographs and kana
is a word of its own. Left out: words of a single letter or digit in other scripts, and English stop words
(scikit-learn's list, and their contractions: "it's", "don't", "we've").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

APOSTROPHES = str.maketrans(
    dict.fromkeys("\u2019\u2018\u02bc\uff07\u2032`\u00b4", "'") | dict.fromkeys("\u2010\u2011", "-")
)
WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
# scripts written without spaces between words: one character a word
UNSPACED = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
CONTRACTION_TAILS = frozenset({"t", "s", "m", "re", "ve", "ll", "d"})
NEGATIONS = frozenset({"won't", "can't", "shan't", "ain't"})


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words: scikit-learn's list."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _is_stop(word: str, stops: frozenset[str]) -> bool:
    if word in stops or word in NEGATIONS:
        return True
    head, _, tail = word.rpartition("'")
    if not head or tail not in CONTRACTION_TAILS:
        return False
    return head in stops or (tail == "t" and head.endswith("n") and head[:-1] in stops)  # "don't", "isn't"


def words(text: Any) -> list[str]:
    """The words of ``text`` (str; anything else is read as its str), in order, stop words out."""
    normal = unicodedata.normalize("NFKC", str(text)).translate(APOSTROPHES).lower()
    stops = stop_words()
    out = []
    for match in WORD.finditer(UNSPACED.sub(r" \1 ", normal)):
        word = match.group()
        if word.endswith("'s"):
            word = word[:-2]
        if (len(word) > 1 or UNSPACED.match(word)) and not _is_stop(word, stops):
            out.append(word)
    return out


def word_counter(**options: Any) -> Any:
    """A scikit-learn CountVectorizer that reads texts as :func:`words` (``options``: ngram_range, binary,
    min_df, max_features, ...; two-word phrases are of neighbouring words once stop words are out)."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(tokenizer=words, token_pattern=None, lowercase=False, **options)
