"""Free text as features: what the table encoder learns about a column of text.

A column is free text when nearly all its values differ (:func:`~explorer.data.profiles.profile_column`
says "text") and its cells hold several words (median at least ``TEXT_MIN_WORDS``): names, IDs and
codes, one or two tokens a cell, stay dropped. Each text becomes a vector by one of ``TEXT_EMBEDDINGS``:

- "wordllama": the mean token vector of WordLlama's 256-d static embedding (:mod:`explorer.data.text_models`,
  read from its wheel, offline), unit length, centred on the training rows' mean; the directions are those of
  a PCA of these vectors;
- "tfidf": TF-IDF (unigrams and bigrams, English stop words out, in at least two rows, the
  ``TEXT_VOCABULARY`` most frequent, sublinear tf, l2 norm) whose vocabulary and inverse document
  frequencies are learned at fit; the directions are those of a truncated SVD (LSA);
- "auto" (the default) is "wordllama" where its wheel is installed, else "tfidf": WordLlama agreed better with the
  topics of news and the intents of bank queries (docs/BENCHMARKS.md, documents).

In a table the first directions (``TEXT_COMPONENTS`` of TF-IDF, ``WORDLLAMA_COMPONENTS`` of WordLlama) are found
and those that vary more than the average one kept (Kaiser's rule); a document set (:func:`fit_text_column` with
``documents=True``: every feature is text) keeps all ``DOCUMENT_COMPONENTS``, since its topics are the whole story:
few enough that the documents' default clustering, the mixture, can fit a full covariance per topic on a few thousand
documents (at 64 it fell back to k-means on AG News' 7,600: NMI 0.55 against 0.61; docs/BENCHMARKS.md, documents).
Whether a column's texts differ at all is always asked of TF-IDF + LSA (words shared between rows). A row's
features are its vector projected on the directions and normalized to length 1 (cosine geometry), then centred
on the training rows' mean and scaled so that the block's total variance is 1: two rows' texts are on average as
far apart as two rows' values of a standardized number, so the text block counts as one number column, whatever
its width (a category counts for less: its indicators' variance is at most 1/2). A missing cell (or one with no
known word or token) is 0 in every feature: the block's centre, it pulls toward no text. Everything learned is
saved as plain JSON arrays. Each cell is cut to ``TEXT_MAX_CHARS`` characters before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.data.text_models import WORDLLAMA, WordLlamaModel, load_wordllama, wordllama_folder
from explorer.data.words import plural
from explorer.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

TEXT_MIN_WORDS = 3  # a column of text needs this many words in its median cell (fewer: a name or code)
TEXT_MAX_CHARS = 2_000  # each cell is cut to this many characters before it is read
TEXT_VOCABULARY = 5_000  # terms kept (the most frequent)
TEXT_COMPONENTS = 16  # TF-IDF directions found in a table's text column (Kaiser's rule keeps some)
WORDLLAMA_COMPONENTS = 64  # directions found with WordLlama in a table's text column (Kaiser's rule keeps some)
DOCUMENT_COMPONENTS = 48  # directions a document set keeps (WordLlama or TF-IDF): 4 topics' full covariances
# fit from 4,900 documents (explorer.cluster.mixture.mixture_parameters)
TEXT_CHUNK = 20_000  # cells embedded at a time when transforming
TEXT_FIT_ROWS = 50_000  # the vocabulary and directions are learned on at most this many rows (seeded sample)
TEXT_MIN_VARIANCE = 0.04  # of the block of unit rows (at most 1): below it the texts say the same thing
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
TFIDF = "tfidf"
TEXT_EMBEDDINGS = ("auto", WORDLLAMA, TFIDF)
EMBEDDING_LABELS = {WORDLLAMA: "WordLlama (256-d, offline)", TFIDF: "TF-IDF + LSA"}


def resolve_embedding(choice: str = "auto") -> str:
    """The embedding ``choice`` names ("auto": WordLlama where its wheel is installed, else TF-IDF + LSA)."""
    if choice not in TEXT_EMBEDDINGS:
        raise InputError(f"text embedding '{choice}' is not known; choose one of: {', '.join(TEXT_EMBEDDINGS)}.")
    if choice == "auto":
        return WORDLLAMA if wordllama_folder() is not None else TFIDF
    return choice


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows (n, k) scaled to length 1 (a zero row stays 0)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


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
    """A text column embedded by ``embedding`` ("tfidf" or "wordllama"): for TF-IDF its ``terms`` (V) and their
    ``idf`` (V); for WordLlama the training vectors' ``mean`` (256); the ``components`` (k, V or 256) it is
    projected on, the training rows' mean ``center`` (k) of the unit-length projections and the ``weight``
    that gives the block variance 1."""

    name: str
    terms: list[str]
    idf: np.ndarray
    components: np.ndarray
    center: np.ndarray
    weight: float = 1.0
    embedding: str = TFIDF
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    model: WordLlamaModel | None = field(default=None, repr=False, compare=False)  # loaded on first use

    @property
    def width(self) -> int:
        return int(self.components.shape[0])

    def feature_names(self) -> list[str]:
        return [f"{self.name} (text {i + 1})" for i in range(self.width)]

    def vectors(self, cells: list[str]) -> Any:
        """Cells (n) -> the vectors the components project: TF-IDF rows of unit length (sparse (n, V)) or
        WordLlama's unit mean token vectors less the training mean (n, 256), 0 for a cell with no known token."""
        if self.embedding == WORDLLAMA:
            if self.model is None:
                self.model = load_wordllama()
            return centred_tokens(self.model.embed(cells), self.mean)
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
        return self.tfidf_rows(counts)

    def tfidf_rows(self, counts: Any) -> Any:
        """Term counts (sparse (n, V) float64, in the order of ``terms``; changed in place) -> TF-IDF rows of unit
        length (sparse (n, V)): sublinear tf times idf, then l2."""
        counts.sort_indices()
        counts.data = (np.log(counts.data) + 1.0) * self.idf[counts.indices]  # sublinear tf times idf
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        return counts.multiply(1 / np.maximum(norms, 1e-12)[:, None]).tocsr()

    def project(self, vectors: Any, unit: bool = True) -> np.ndarray:
        """:meth:`vectors` (n, V or 256) -> projected on the components (n, k) float64, unit length (``unit``)."""
        projected = np.asarray(vectors @ self.components.T)
        return unit_rows(projected) if unit else projected

    def projections(self, cells: list[str], unit: bool = True) -> np.ndarray:
        """Cells (n) -> their vectors projected on the components (n, k) float64, unit length (``unit``); 0 for a
        cell with no known term or token."""
        return self.project(self.vectors(cells), unit)

    def block(self, projected: np.ndarray) -> np.ndarray:
        """Unit projections (n, k) -> the features (n, k): centred and weighted; 0 where the projection is 0."""
        return self.weight * (projected - self.center) * (np.linalg.norm(projected, axis=1) > 1e-12)[:, None]

    def features(self, cells: list[str]) -> np.ndarray:
        """Cells (n) -> the block (n, k) float64: projected, unit length, centred and weighted; 0 for a cell with
        no known term or token. Read ``TEXT_CHUNK`` cells at a time: a million rows' 256-d vectors are never held."""
        out = np.zeros((len(cells), self.width))
        for start in range(0, len(cells), TEXT_CHUNK):
            out[start : start + TEXT_CHUNK] = self.block(self.projections(cells[start : start + TEXT_CHUNK]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "text",
            "embedding": self.embedding,
            "terms": list(self.terms),
            "idf": self.idf.tolist(),
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "center": self.center.tolist(),
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> TextColumn:
        embedding = str(spec.get("embedding", TFIDF))
        if embedding not in (WORDLLAMA, TFIDF):
            raise InputError(f"this run embeds text with '{embedding}', which this explorer does not know; update it.")
        terms = [str(t) for t in spec["terms"]]
        mean = np.asarray(spec.get("mean", []), dtype=np.float64)
        components = np.asarray(spec["components"], dtype=np.float64)
        components = components.reshape(-1, len(mean) if embedding == WORDLLAMA else len(terms))
        return cls(
            str(spec["name"]),
            terms,
            np.asarray(spec["idf"], dtype=np.float64),
            components,
            np.asarray(spec["center"], dtype=np.float64),
            float(spec["weight"]),
            embedding,
            mean,
        )


def centred_tokens(embedded: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """WordLlama's mean token vectors (n, 256) -> unit length less ``mean`` (256); 0 for a text with no token."""
    vectors = embedded.astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    vectors /= np.maximum(norms, 1e-12)[:, None]  # in place: a chunk's (n, 256) float64 is made once
    vectors -= mean
    vectors[norms <= 1e-12] = 0.0
    return vectors


def fit_text_column(
    name: str,
    cells: list[str],
    missing: np.ndarray,
    random_state: int = 0,
    *,
    embedding: str = "auto",
    documents: bool = False,
    weight: float = 1.0,
) -> tuple[TextColumn | None, np.ndarray | None]:
    """Learn a :class:`TextColumn` from the training cells (n) with the ``embedding`` (see
    :func:`resolve_embedding`); ``documents``: keep all ``DOCUMENT_COMPONENTS`` directions (no Kaiser's rule);
    ``weight``: the block's total variance is ``weight`` squared (1: it counts as one standardized number).
    Returns (the column, its features of the n cells when all of them were read to fit it, else None: the
    caller need not embed them again). The column is None when the texts share too few words to give features
    (no term in two rows, or every row's TF-IDF vector nearly the same: "order 17", "order 18", ...)."""
    rows = np.flatnonzero(~missing)
    if len(rows) > TEXT_FIT_ROWS:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, TEXT_FIT_ROWS, replace=False))
    sample = [cells[i] for i in rows]
    # whether the texts differ in words they share is asked of TF-IDF + LSA whatever the embedding: a token model
    # sees "order 17" and "order 18" differ by their digits
    column, vectors = _fit_tfidf(name, sample, TEXT_COMPONENTS, random_state)
    if column is None or _weigh(column, vectors, kaiser=True) < TEXT_MIN_VARIANCE:
        return None, None
    chosen = resolve_embedding(embedding)
    if chosen != TFIDF or documents:
        fit = _fit_wordllama if chosen == WORDLLAMA else _fit_tfidf
        column, vectors = fit(name, sample, DOCUMENT_COMPONENTS if documents else WORDLLAMA_COMPONENTS, random_state)
        if column is None or _weigh(column, vectors, kaiser=not documents) <= 0:
            return None, None
    column.weight *= weight
    if len(rows) < int((~missing).sum()):
        return column, None
    block = np.zeros((len(cells), column.width))
    block[rows] = column.block(column.project(vectors))
    return column, block


def _weigh(column: TextColumn, vectors: Any, kaiser: bool) -> float:
    """Keep the column's directions that vary more than the average one (``kaiser``), then set its centre and
    weight from the training cells' ``vectors``; returns the unit block's total variance (0 with under two known
    cells)."""
    if kaiser and column.width > 2:
        # Kaiser's rule over the directions found: those that vary more than the average one carry the topics; the
        # rest is the word-by-word noise of each text, which would weigh on the block as much as the topics
        spread = np.var(column.project(vectors, unit=False), axis=0)
        keep = spread >= spread.mean()
        if keep.sum() < 2:
            keep = np.argsort(-spread)[:2]
        column.components = column.components[keep]
    block = column.project(vectors)  # unit rows; 0 for no known term
    known = np.linalg.norm(block, axis=1) > 0
    if known.sum() < 2:
        return 0.0
    variance = float(block[known].var(axis=0).sum())
    column.center, column.weight = block[known].mean(axis=0), 1 / np.sqrt(max(variance, 1e-12))
    return variance


def _fit_tfidf(name: str, sample: list[str], wanted: int, random_state: int) -> tuple[TextColumn | None, Any]:
    """(TF-IDF + LSA's column, the sample's TF-IDF rows (sparse, unit length)), or (None, None)."""
    import warnings

    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    counter = CountVectorizer(
        ngram_range=(1, 2),
        token_pattern=TOKEN_PATTERN,
        stop_words="english",
        min_df=2,
        max_features=TEXT_VOCABULARY,
        dtype=np.float64,
    )
    try:
        counts = counter.fit_transform(sample).tocsr()  # the sample's words are read once: fit and rows alike
    except ValueError:  # no term in two rows
        return None, None
    k = min(wanted, counts.shape[1] - 1, counts.shape[0] - 1)
    if k < 1:
        return None, None
    idf = TfidfTransformer(sublinear_tf=True).fit(counts).idf_
    column = TextColumn(
        name, counter.get_feature_names_out().tolist(), idf.astype(np.float64), np.zeros(0), np.zeros(k)
    )
    tfidf = column.tfidf_rows(counts)  # as a transform reads them (TextColumn.vectors), exactly
    with warnings.catch_warnings():  # a vocabulary of a few terms has no variance left to explain
        warnings.simplefilter("ignore", RuntimeWarning)
        svd = TruncatedSVD(n_components=k, random_state=random_state).fit(tfidf)
    column.components = svd.components_.astype(np.float64)
    return column, tfidf


def _fit_wordllama(name: str, sample: list[str], wanted: int, random_state: int) -> tuple[TextColumn | None, Any]:
    """(WordLlama + PCA's column, the sample's centred unit vectors (n, 256)), or (None, None)."""
    model = load_wordllama()
    embedded = model.embed(sample)
    known = np.linalg.norm(embedded, axis=1) > 1e-12
    if known.sum() < 3:
        return None, None
    mean = unit_rows(embedded[known].astype(np.float64)).mean(axis=0)
    vectors = centred_tokens(embedded, mean)
    k = min(wanted, int(known.sum()) - 1, vectors.shape[1])
    # the principal directions from the 256 x 256 scatter matrix: a full SVD of the rows costs far more
    values, axes = np.linalg.eigh(vectors[known].T @ vectors[known])
    directions = axes[:, np.argsort(-values)[:k]].T
    column = TextColumn(name, [], np.zeros(0), directions.copy(), np.zeros(k), embedding=WORDLLAMA, mean=mean)
    column.model = model
    return column, vectors


def text_sentence(column: TextColumn, n_rows: int, cut: int, weight: float = 1.0) -> str:
    """The load report's sentence on what a text column became."""
    cut_note = (
        f" {plural(cut, 'cell')} longer than {TEXT_MAX_CHARS:,} characters {'was' if cut == 1 else 'were'} cut to "
        "that length."
        if cut
        else ""
    )
    source = (
        f"TF-IDF + LSA over {len(column.terms):,} terms"
        if column.embedding == TFIDF
        else "WordLlama's offline text embedding (256-d), reduced by PCA"
    )
    return (
        f"Took '{column.name}' as free text (nearly all of its {n_rows:,} values differ and they hold several "
        f"words a cell): {column.width} features from {source}, together "
        f"weighing as much as {weight_text(weight)}.{cut_note}"
    )


def weight_text(weight: float) -> str:
    """How much a text block of this weight counts, in words."""
    if weight == 1:
        return "one standardized number (total variance 1)"
    return f"a standardized number scaled by {weight:g} (total variance {weight * weight:g})"
