"""What sets a cluster apart in a column of free text: the words its rows use and the rest's do not.

A term (a word or two-word phrase, English stop words out: :mod:`explorer.data.text_terms`, the rule drift
counts words by too) is scored by the share of the cluster's texts that hold it minus the share of the rest's:
the same yardstick as the other columns' separation, 2 * AUC - 1 of "holds the term" as a test for membership
(Youden's J). A text column's separation is that of its best term, so it ranks beside numbers and categories;
its profile lists the ``TERMS_SHOWN`` best terms with their shares, and its ``EXAMPLES_SHOWN`` most typical texts:
the members that hold the most of the cluster's distinctive terms (each weighed by its gap), cut to
``EXAMPLE_CHARS`` characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.data.encoder_text import TEXT_MAX_CHARS  # each cell read as the encoder reads it
from explorer.data.text_terms import word_counter  # the words drift counts too

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TERMS_SHOWN = 5  # distinctive terms listed per text column and cluster
TEXT_NAME_TERMS = 2  # of them, in the cluster's name
MAX_TERMS = 20_000  # the most frequent terms considered
EXAMPLES_SHOWN = 3  # typical texts per text column and cluster
EXAMPLE_CHARS = 200  # of each typical text shown
TYPICAL_TERMS = 20  # the distinctive terms that choose the typical texts


@dataclass
class TermShare:
    """A term: the share of the cluster's texts holding it, and the rest's share."""

    term: str
    share: float
    rest: float


@dataclass
class TextProfile:
    column: str
    terms: list[TermShare] = field(default_factory=list)  # most distinctive first
    separation: float = 0.0  # share in the cluster minus share in the rest, of the best term, in [0, 1]
    examples: list[str] = field(default_factory=list)  # the most typical texts, cut to EXAMPLE_CHARS

    def text(self) -> str:
        if not self.terms:
            return f"{self.column}: no distinctive words"
        top = self.terms[0]
        words = ", ".join(f"'{t.term}'" for t in self.terms[:3])
        return f"{self.column} mentions {words}: '{top.term}' in {top.share:.0%} vs {top.rest:.0%} of the rest"


def text_profiles(texts: pd.Series, labels: np.ndarray, clusters: list[int]) -> dict[int, TextProfile]:
    """cluster -> the :class:`TextProfile` of one text column (n cells, None missing) for labels (n,)."""
    column = str(texts.name)
    cells = texts.astype(object).where(texts.notna(), "").map(lambda v: str(v)[:TEXT_MAX_CHARS]).tolist()
    try:
        vectorizer = word_counter(ngram_range=(1, 2), binary=True, min_df=2, max_features=MAX_TERMS)
        holds = vectorizer.fit_transform(cells).tocsc()
    except ValueError:  # no term in two texts
        return {c: TextProfile(column) for c in clusters}
    terms = vectorizer.get_feature_names_out()
    out = {}
    for c in clusters:
        member = labels == c
        n_in, n_out = int(member.sum()), int((~member).sum())
        inside = np.asarray(holds[member].sum(axis=0)).ravel() / max(n_in, 1)
        outside = np.asarray(holds[~member].sum(axis=0)).ravel() / max(n_out, 1)
        gap = inside - outside if n_out else inside
        best = np.argsort(-gap, kind="stable")[:TERMS_SHOWN]
        shown = [TermShare(str(terms[j]), float(inside[j]), float(outside[j])) for j in best if gap[j] > 0]
        out[c] = TextProfile(
            column, shown, float(max(gap[best[0]], 0.0)) if len(best) else 0.0, typical_texts(cells, holds, member, gap)
        )
    return out


def typical_texts(cells: list[str], holds: Any, member: np.ndarray, gap: np.ndarray) -> list[str]:
    """The ``EXAMPLES_SHOWN`` member texts (``member``: (n,) bool) that hold the most of the cluster's
    ``TYPICAL_TERMS`` most distinctive terms, each weighed by its ``gap`` (V,) (ties: the shorter text first),
    cut to ``EXAMPLE_CHARS`` characters. ``holds``: the texts' term indicators (n, V), sparse."""
    top = np.argsort(-gap, kind="stable")[:TYPICAL_TERMS]
    top = top[gap[top] > 0]
    rows = np.flatnonzero(member)
    if not len(top) or not len(rows):
        return []
    score = np.asarray(holds[rows][:, top] @ gap[top]).ravel()
    lengths = np.array([len(cells[i]) for i in rows])
    order = np.lexsort((lengths, -score))[:EXAMPLES_SHOWN]
    return [_cut(cells[rows[i]]) for i in order if score[i] > 0]


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1].rstrip() + "…"
