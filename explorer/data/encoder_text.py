"""Free text as features: what the table encoder learns about a column of text (TF-IDF + LSA).

A column is free text when nearly all its values differ (:func:`~explorer.data.profiles.profile_column`
says "text") and its cells hold several words (median at least ``TEXT_MIN_WORDS``): names, IDs and
codes, one or two tokens a cell, stay dropped. At fit the text gets a vocabulary (unigrams and bigrams,
English stop words out, in at least two rows, the ``TEXT_VOCABULARY`` most frequent), its inverse document
frequencies, and the ``TEXT_COMPONENTS`` directions of a truncated SVD of the TF-IDF matrix (LSA); all
three are saved as plain JSON arrays. A row's features are its TF-IDF vector (sublinear tf, l2 norm)
projected on the directions and normalized to length 1 (LSA's cosine geometry), then centred on the
training rows' mean and scaled so that the block's total variance is 1: two rows' texts are on average
as far apart as two rows' values of a standardized number, so the text block counts as one number
column, whatever its width (a category counts for less: its indicators' variance is at most 1/2). A
missing cell (or one with no known word) is 0 in every feature: the block's centre, it pulls toward no
text.
Each cell is cut to ``TEXT_MAX_CHARS`` characters before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

TEXT_MIN_WORDS = 3  # a column of text needs this many words in its median cell (fewer: a name or code)
TEXT_MAX_CHARS = 2_000  # each cell is cut to this many characters before it is read
TEXT_VOCABULARY = 5_000  # terms kept (the most frequent)
TEXT_COMPONENTS = 16  # LSA directions
TEXT_FIT_ROWS = 50_000  # the vocabulary and directions are learned on at most this many rows (seeded sample)
TEXT_MIN_VARIANCE = 0.04  # of the block of unit rows (at most 1): below it the texts say the same thing
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def text_cells(series: pd.Series) -> tuple[list[str], np.ndarray, int]:
    """A column as text -> (cells, each stripped and cut to ``TEXT_MAX_CHARS``, "" where missing; missing
    mask (n,); how many cells were cut)."""
    strings = series.astype(object).where(series.notna()).map(lambda v: "" if v is None or v != v else str(v).strip())
    lengths = strings.str.len().to_numpy()
    cut = int((lengths > TEXT_MAX_CHARS).sum())
    cells = strings.str.slice(0, TEXT_MAX_CHARS).tolist()
    return cells, lengths == 0, cut


def looks_like_text(series: pd.Series) -> bool:
    """Several words a cell (the median cell has ``TEXT_MIN_WORDS`` or more): free text, not names or codes."""
    present = series.dropna().astype(str).iloc[:5_000]
    return bool(len(present)) and float(present.str.split().str.len().median()) >= TEXT_MIN_WORDS


@dataclass
class TextColumn:
    """A text column: ``terms`` (V), their ``idf`` (V), the LSA ``components`` (k, V), the training rows'
    mean ``center`` (k) of the unit-length projections and the ``weight`` that gives the block variance 1."""

    name: str
    terms: list[str]
    idf: np.ndarray
    components: np.ndarray
    center: np.ndarray
    weight: float = 1.0

    @property
    def width(self) -> int:
        return int(self.components.shape[0])

    def feature_names(self) -> list[str]:
        return [f"{self.name} (text {i + 1})" for i in range(self.width)]

    def features(self, cells: list[str]) -> np.ndarray:
        """Cells (n) -> the block (n, k) float64: TF-IDF on the saved vocabulary, projected, unit length,
        centred and weighted; 0 for a cell with no known term."""
        from sklearn.feature_extraction.text import CountVectorizer

        counts = (
            CountVectorizer(
                vocabulary=self.terms,
                ngram_range=(1, 2),
                token_pattern=TOKEN_PATTERN,
                stop_words="english",
                dtype=np.float64,
            )
            .transform(cells)
            .tocsr()
        )
        counts.data = (np.log(counts.data) + 1.0) * self.idf[counts.indices]  # sublinear tf times idf
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        projected = np.asarray(counts @ self.components.T) / np.maximum(norms, 1e-12)[:, None]
        return self.weight * (self.unit(projected) - self.center) * (np.linalg.norm(projected, axis=1) > 1e-12)[:, None]

    @staticmethod
    def unit(projected: np.ndarray) -> np.ndarray:
        return projected / np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "text",
            "terms": list(self.terms),
            "idf": self.idf.tolist(),
            "components": self.components.tolist(),
            "center": self.center.tolist(),
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> TextColumn:
        terms = [str(t) for t in spec["terms"]]
        idf = np.asarray(spec["idf"], dtype=np.float64)
        components = np.asarray(spec["components"], dtype=np.float64).reshape(-1, len(terms))
        return cls(
            str(spec["name"]),
            terms,
            idf,
            components,
            np.asarray(spec["center"], dtype=np.float64),
            float(spec["weight"]),
        )


def fit_text_column(name: str, cells: list[str], missing: np.ndarray, random_state: int = 0) -> TextColumn | None:
    """Learn a :class:`TextColumn` from the training cells (n); None when they share too few words to give
    features (no term in two rows, or every row's block nearly the same: "order 17", "order 18", ...)."""
    import warnings

    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows = np.flatnonzero(~missing)
    if len(rows) > TEXT_FIT_ROWS:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, TEXT_FIT_ROWS, replace=False))
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        token_pattern=TOKEN_PATTERN,
        stop_words="english",
        min_df=2,
        max_features=TEXT_VOCABULARY,
        sublinear_tf=True,
        dtype=np.float64,
    )
    try:
        tfidf = vectorizer.fit_transform([cells[i] for i in rows])
    except ValueError:  # no term in two rows
        return None
    k = min(TEXT_COMPONENTS, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    if k < 1:
        return None
    with warnings.catch_warnings():  # a vocabulary of a few terms has no variance left to explain
        warnings.simplefilter("ignore", RuntimeWarning)
        svd = TruncatedSVD(n_components=k, random_state=random_state).fit(tfidf)
    # Kaiser's rule over the directions found: those that vary more than the average one carry the topics; the rest
    # is the word-by-word noise of each text, which would weigh on the block as much as the topics
    keep = svd.explained_variance_ >= svd.explained_variance_.mean()
    if keep.sum() < min(2, k):
        keep = np.argsort(-svd.explained_variance_)[: min(2, k)]
    components = svd.components_[keep]
    terms = vectorizer.get_feature_names_out().tolist()
    column = TextColumn(
        name, terms, vectorizer.idf_.astype(np.float64), components.astype(np.float64), np.zeros(len(components))
    )
    block = column.features([cells[i] for i in rows])  # unit rows (centre 0, weight 1 so far); 0 for no known term
    known = np.linalg.norm(block, axis=1) > 0
    variance = float(block[known].var(axis=0).sum()) if known.sum() > 1 else 0.0
    if variance < TEXT_MIN_VARIANCE:
        return None
    column.center, column.weight = block[known].mean(axis=0), 1 / np.sqrt(variance)
    return column


def text_sentence(column: TextColumn, n_rows: int, cut: int) -> str:
    """The load report's sentence on what a text column became."""
    cut_note = f" {cut:,} cells longer than {TEXT_MAX_CHARS:,} characters were cut to that length." if cut else ""
    return (
        f"Took '{column.name}' as free text (nearly all of its {n_rows:,} values differ and they hold several "
        f"words a cell): {column.width} features from TF-IDF + LSA over {len(column.terms):,} terms, together "
        f"weighing as much as one standardized number (total variance 1).{cut_note}"
    )
