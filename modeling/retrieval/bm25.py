"""`BM25Retriever`: the lexical baseline every figure is measured next to.

``bm25s`` with k1=0.9, b=0.4 (pyserini's MS MARCO passage setting), English stopwords and the
Snowball English stemmer (``PyStemmer``). Deliberately left out: other BM25 variants.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np


class BM25Retriever:
    """Lexical BM25 over one collection (its statistics come from the indexed texts).

    Args:
        k1: Term-frequency saturation (0.9: pyserini's MS MARCO passage setting).
        b: Length normalisation (0.4: same source).
        stopwords: ``bm25s`` stopword list name; ``None`` keeps every word.
        stemmer_language: Snowball stemmer language for ``PyStemmer``; ``None`` disables stemming.
    """

    name = "BM25"

    def __init__(
        self,
        k1: float = 0.9,
        b: float = 0.4,
        stopwords: str | None = "en",
        stemmer_language: str | None = "english",
    ):
        import bm25s

        if logging.getLogger("bm25s").level == logging.DEBUG:  # bm25s sets DEBUG on import
            logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._bm25s = bm25s
        self.k1, self.b, self.stopwords = k1, b, stopwords
        self.stemmer = None
        if stemmer_language:
            import Stemmer

            self.stemmer = Stemmer.Stemmer(stemmer_language)
        self.retriever = None
        self.num_passages = 0

    def index(self, texts: Sequence[str], progress_bar: bool = False) -> BM25Retriever:
        """Tokenises and indexes the collection; returns ``self``."""
        tokens = self._bm25s.tokenize(
            list(texts), stopwords=self.stopwords, stemmer=self.stemmer, show_progress=progress_bar
        )
        self.retriever = self._bm25s.BM25(k1=self.k1, b=self.b)
        self.retriever.index(tokens, show_progress=progress_bar)
        self.num_passages = len(texts)
        return self

    def tokenize_queries(self, queries: Sequence[str]) -> list[list[str]]:
        """Queries -> token strings, with the same stopwords and stemmer as the index."""
        return self._bm25s.tokenize(
            list(queries),
            stopwords=self.stopwords,
            stemmer=self.stemmer,
            return_ids=False,
            show_progress=False,
        )

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every indexed passage for one tokenised query: ``(num_passages,)``."""
        self._check_indexed()
        return np.asarray(self.retriever.get_scores(query_tokens), dtype=np.float32)

    def retrieve(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` passage rows and scores per query, both ``(len(queries), k)``."""
        self._check_indexed()
        k = min(k, self.num_passages)
        rows, scores = self.retriever.retrieve(
            self.tokenize_queries(queries), k=k, show_progress=False, n_threads=1
        )
        return np.asarray(rows), np.asarray(scores, dtype=np.float32)

    def _check_indexed(self) -> None:
        if self.retriever is None:
            raise ValueError("BM25Retriever has no index: call .index(texts) first.")
