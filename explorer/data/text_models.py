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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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
EMBED_BATCH = 1_024  # texts tokenized at a time
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
        """Texts (n) -> their mean token vectors (n, 256) float32; 0 for a text with no token."""
        from scipy.sparse import csr_matrix

        out = np.zeros((len(cells), self.vectors.shape[1]), dtype=np.float32)
        for start in range(0, len(cells), EMBED_BATCH):
            encoded = self.tokenizer.encode_batch(cells[start : start + EMBED_BATCH], add_special_tokens=False)
            ids = [np.asarray(e.ids[:WORDLLAMA_MAX_TOKENS], dtype=np.int64) for e in encoded]
            lengths = np.array([len(i) for i in ids])
            if not lengths.sum():
                continue
            # each text's mean token vector as a sparse (texts x vocabulary) matrix of 1/length times the vectors
            flat = np.clip(np.concatenate(ids), 0, len(self.vectors) - 1)
            weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            means = csr_matrix((weights, flat, indptr), shape=(len(ids), len(self.vectors))) @ self.vectors
            out[start : start + len(ids)] = means
        return out


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
