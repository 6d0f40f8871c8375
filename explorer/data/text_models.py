"""Pretrained text embeddings that ship inside a wheel: WordLlama's static token vectors, read offline.

WordLlama (PyPI ``wordllama``, MIT) is a table of 256-d vectors, one per token of Llama 2's tokenizer, trained so
that a text's mean token vector embeds it (no network, no torch: a lookup and a mean). Its wheel holds the
vectors (``weights/l2_supercat_256.safetensors``) and the tokenizer (``tokenizers/...json``); its own ``load()``
looks for the tokenizer in another folder and then downloads it, and importing the package sets up logging
for the whole process. So the two files are read here directly from the installed package's folder: nothing is
imported from it and nothing can be downloaded. A missing package raises an InputError with the install line.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import InputError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

WORDLLAMA = "wordllama"
WORDLLAMA_VERSION = "0.4.0.post1"  # the wheel pinned in requirements.txt
WORDLLAMA_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
WORDLLAMA_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
WORDLLAMA_DIM = 256
WORDLLAMA_MAX_TOKENS = 512  # of each text (WordLlama's training length); the rest is not read
EMBED_BATCH = 1_024  # texts (or pieces of texts) tokenized at a time
EMBED_ROWS = 100_000  # distinct texts summed at a time (their pieces' index is held meanwhile)
PIECE_RE = re.compile(r"(?<=[^ ])(?= )")  # a text's pieces: split before each space that follows a non-space
WORDLLAMA_HINT = f"pip install {WORDLLAMA}=={WORDLLAMA_VERSION} (its wheel holds the model; nothing is downloaded)"


def wordllama_folder() -> Path | None:
    """The installed package's folder when it holds the model's two files, else None (nothing is imported)."""
    spec = importlib.util.find_spec(WORDLLAMA)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    ok = (folder.joinpath(*WORDLLAMA_WEIGHTS)).is_file() and (folder.joinpath(*WORDLLAMA_TOKENIZER)).is_file()
    return folder if ok and importlib.util.find_spec("tokenizers") is not None else None


@dataclass
class WordLlamaModel:
    """WordLlama's token ``vectors`` (V, 256) float32 and its ``tokenizer``."""

    vectors: np.ndarray
    tokenizer: Tokenizer

    def embed(self, cells: list[str]) -> np.ndarray:
        """Texts (n) -> their mean token vectors (n, 256) float32; 0 for a text with no token.

        The tokenizer reads a text as one string (no pre-tokenizer), and no token of its vocabulary joins a
        character to a following space, so a text's tokens are those of its pieces (:data:`PIECE_RE`: split
        before each space that follows a non-space) read one by one. Each distinct piece is tokenized once and
        each distinct text summed from its pieces: a million short texts drawn from a vocabulary of a few
        thousand words cost a few thousand tokenizations, not a million. A text past ``WORDLLAMA_MAX_TOKENS``
        tokens is read whole, as the model reads only its first tokens."""
        import pandas as pd

        out = np.zeros((len(cells), self.vectors.shape[1]), dtype=np.float32)
        codes, distinct = pd.factorize(pd.Series(cells, dtype=object), use_na_sentinel=False)
        texts = [str(t) for t in distinct]
        for start in range(0, len(texts), EMBED_ROWS):
            part = texts[start : start + EMBED_ROWS]
            means, lengths = self._pieces_mean(part)
            long = np.flatnonzero(lengths > WORDLLAMA_MAX_TOKENS)
            if len(long):  # cut to the model's length: read whole
                means[long] = self._whole_mean([part[i] for i in long])
            where = (codes >= start) & (codes < start + len(part))
            out[where] = means[codes[where] - start]
        return out

    def _token_rows(self, texts: list[str]) -> tuple[Any, np.ndarray]:
        """Texts (m) -> (a sparse (m, V) matrix of each text's token counts, its tokens (m,)); every token."""
        from scipy.sparse import csr_matrix

        ids: list[np.ndarray] = []
        for start in range(0, len(texts), EMBED_BATCH):
            encoded = self.tokenizer.encode_batch(texts[start : start + EMBED_BATCH], add_special_tokens=False)
            ids += [np.asarray(e.ids, dtype=np.int64) for e in encoded]
        lengths = np.array([len(i) for i in ids], dtype=np.int64)
        flat = np.clip(np.concatenate(ids), 0, len(self.vectors) - 1) if len(ids) else np.zeros(0, np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        counts = csr_matrix((np.ones(len(flat), np.float32), flat, indptr), shape=(len(texts), len(self.vectors)))
        return counts, lengths

    def _pieces_mean(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct texts (m) -> (their mean token vectors (m, 256) float32, their tokens (m,)), from each
        distinct piece's tokens."""
        import itertools

        import pandas as pd
        from scipy.sparse import csr_matrix

        split = [_pieces(text) for text in texts]
        indptr = np.concatenate([[0], np.cumsum(np.fromiter(map(len, split), np.int64, len(split)))])
        columns, distinct = pd.factorize(np.fromiter(itertools.chain.from_iterable(split), object, int(indptr[-1])))
        pieces = [str(p) for p in distinct]
        counts, lengths = self._token_rows(pieces)
        sums = np.asarray(counts @ self.vectors, dtype=np.float32)  # each piece's token vectors summed
        space = self.tokenizer.token_to_id("\u2581")
        if "" in pieces and space is not None:  # "" is only ever a text's one trailing space: a token of its own
            sums[pieces.index("")], lengths[pieces.index("")] = self.vectors[space], 1
        layout = csr_matrix(
            (np.ones(len(columns), np.float32), np.asarray(columns), np.asarray(indptr)),
            shape=(len(texts), len(pieces)),
        )
        total = np.asarray(layout @ lengths.astype(np.float32)).ravel()
        means = np.asarray(layout @ sums, dtype=np.float32) / np.maximum(total, 1)[:, None]
        return means.astype(np.float32), total.astype(np.int64)

    def _whole_mean(self, texts: list[str]) -> np.ndarray:
        """Texts (m) read whole, each cut to its first ``WORDLLAMA_MAX_TOKENS`` tokens -> mean vectors (m, 256)."""
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = np.asarray(self.tokenizer.encode(text, add_special_tokens=False).ids[:WORDLLAMA_MAX_TOKENS])
            if len(ids):
                out[row] = self.vectors[np.clip(ids, 0, len(self.vectors) - 1)].mean(axis=0)
        return out


def _pieces(text: str) -> list[str]:
    """What :meth:`WordLlamaModel.embed` tokenizes of a text: its pieces (:data:`PIECE_RE`), each but the first
    without its first space; "" for a trailing single space; none for ""."""
    if not text:
        return []
    if "  " not in text and text[0] != " " and text[-1] != " ":
        return text.split(" ")  # the same pieces, at C speed
    return [piece if i == 0 else piece[1:] for i, piece in enumerate(PIECE_RE.split(text))]


def load_wordllama() -> WordLlamaModel:
    """The model from the installed wheel's folder, offline. Raises InputError when it is not installed."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    folder = wordllama_folder()
    if folder is None:
        raise InputError(f"the text model WordLlama is not installed; {WORDLLAMA_HINT}, or choose TF-IDF + LSA.")
    with safe_open(str(folder.joinpath(*WORDLLAMA_WEIGHTS)), framework="np", device="cpu") as f:
        vectors = np.ascontiguousarray(f.get_tensor("embedding.weight"), dtype=np.float32)
    tokenizer = Tokenizer.from_file(str(folder.joinpath(*WORDLLAMA_TOKENIZER)))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return WordLlamaModel(vectors, tokenizer)
