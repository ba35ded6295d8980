"""Dense text encoders behind one interface, so evaluation and search treat every system alike.

An encoder turns lists of texts into L2-normalised ``(n, d)`` float32 numpy arrays in input
order, with separate query and passage sides. `TwoTowerEncoder` wraps a checkpoint directory;
the untrained GloVe average, the model2vec peer and all-MiniLM-L6-v2 live in ``baselines.py``.
`load_encoder` resolves a reference string (a checkpoint path, ``"minilm"``, ``"glove-avg"`` or
``"model2vec"``) to one of them, so an index can record which model built it. `EmbeddingCache`
keeps passage embeddings on disk, keyed by the encoder and a hash of the exact texts, for
encoders too slow to rerun (MiniLM). A two-tower model's lexical columns are mostly zeros:
`DenseEncoder.encode_passages_split` gives them as a sparse matrix (what indexes and evaluation
store), and `TwoTowerEncoder` computes them that way without the dense matrix.
Deliberately left out: sparse-only systems (BM25 is in ``bm25.py`` with its own interface).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from modeling.retrieval.search import split_lexical

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path(
    os.environ.get("TWO_TOWER_EVAL_CACHE", Path.home() / ".cache" / "two_tower_eval")
)


class DenseEncoder:
    """Base class: ``name`` for tables, ``reference`` to reload it, two encoding sides."""

    name: str = "dense"
    reference: str = ""
    lexical_buckets: int = 0  # trailing columns that are a sparse lexical part (two-tower models)

    def encode_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        """Queries -> ``(n, d)`` float32 array, L2-normalised but for the lexical columns."""
        raise NotImplementedError

    def encode_passages(
        self, texts: Sequence[str], progress_bar: bool = False, max_length: int | None = None
    ) -> np.ndarray:
        """Passages -> ``(n, d)`` float32 array, as `encode_queries`.

        Args:
            max_length: Tokens read of each passage where the encoder's cut is a setting
                (two-tower models); None keeps the encoder's own. Other encoders ignore it.
        """
        raise NotImplementedError

    def encode_passages_split(
        self, texts: Sequence[str], progress_bar: bool = False, max_length: int | None = None
    ) -> tuple[np.ndarray, sparse.csr_matrix | None]:
        """`encode_passages`'s vectors in two halves: the pooled part ``(n, d)`` and the lexical
        part ``(n, lexical_buckets)`` as a CSR matrix (None for an encoder without one)."""
        vectors = self.encode_passages(texts, progress_bar=progress_bar, max_length=max_length)
        if not self.lexical_buckets:
            return vectors, None
        pooled, lexical = split_lexical(vectors, self.lexical_buckets)
        return pooled, lexical.tocsr()

    @property
    def cache_key(self) -> str:
        """Identifies the weights for the on-disk cache; empty means "do not cache"."""
        return ""

    def why_unanswerable(self, query: str) -> str | None:
        """Why ``query`` would get arbitrary hits (e.g. it is empty), or None when it would not."""
        return None if query.strip() else "the query is empty"


class SymmetricEncoder(DenseEncoder):
    """An encoder that treats queries and passages alike: subclasses define ``_encode``."""

    def encode_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._encode(texts, progress_bar)

    def encode_passages(
        self, texts: Sequence[str], progress_bar: bool = False, max_length: int | None = None
    ) -> np.ndarray:
        return self._encode(texts, progress_bar)  # a fixed cut (MiniLM) or none (GloVe average)

    def _encode(self, texts: Sequence[str], progress_bar: bool) -> np.ndarray:
        raise NotImplementedError


class TwoTowerEncoder(DenseEncoder):
    """A two-tower checkpoint directory (or Hub id) loaded with ``from_pretrained``.

    Args:
        path: Directory holding ``config.json``, the weights and ``tokenizer.json``.
        batch_size: Texts per forward pass.
        device: ``"cpu"``, ``"cuda"``, ...; None picks CUDA when available.
        name: Label in result tables; defaults to the directory name.
    """

    def __init__(
        self, path: str | Path, batch_size: int = 256, device: str | None = None, name: str = ""
    ):
        import torch
        from transformers import AutoTokenizer

        from modeling import TwoTowerModel

        path = str(path)
        if Path(path).exists() and not (Path(path) / "config.json").exists():
            raise ValueError(
                f"{path} has no config.json: pass a checkpoint directory written by "
                "save_pretrained (e.g. checkpoints/two_tower_final)."
            )
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = TwoTowerModel.from_pretrained(path)
        except OSError as err:  # not a local folder, and the Hub has no such repo (or is offline)
            raise FileNotFoundError(
                f"Cannot load the model {path}: {err} Pass a checkpoint directory written by "
                "save_pretrained (e.g. checkpoints/two_tower_final) or a reachable Hub id."
            ) from err
        try:
            self.model.check_tokenizer(self.tokenizer)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(device).eval()
        self.lexical_buckets = self.model.config.lexical_buckets
        self.batch_size = batch_size
        self.reference = str(Path(path).resolve()) if Path(path).exists() else path
        self.name = name or Path(path.rstrip("/")).name

    def encode_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        vectors = self.model.encode_queries(
            list(texts),
            tokenizer=self.tokenizer,
            batch_size=self.batch_size,
            progress_bar=progress_bar,
        ).numpy()
        return check_finite(vectors, f"{self.reference}'s query vectors")

    def encode_passages(
        self, texts: Sequence[str], progress_bar: bool = False, max_length: int | None = None
    ) -> np.ndarray:
        vectors = self.model.encode_passages(
            list(texts),
            tokenizer=self.tokenizer,
            batch_size=self.batch_size,
            progress_bar=progress_bar,
            max_length=max_length,
        ).numpy()
        return check_finite(vectors, f"{self.reference}'s passage vectors")

    def encode_passages_split(
        self, texts: Sequence[str], progress_bar: bool = False, max_length: int | None = None
    ) -> tuple[np.ndarray, sparse.csr_matrix | None]:
        if not self.lexical_buckets:
            return super().encode_passages_split(texts, progress_bar, max_length)
        pooled, lexical = self.model.encode_passages_sparse(
            list(texts),
            tokenizer=self.tokenizer,
            batch_size=self.batch_size,
            progress_bar=progress_bar,
            max_length=max_length,
        )
        what = f"{self.reference}'s passage vectors"
        rows, buckets = lexical.indices().numpy()
        lexical = sparse.csr_matrix(
            (lexical.values().numpy(), (rows, buckets)), shape=tuple(lexical.shape)
        )
        check_finite(lexical.data[None, :], what)
        return check_finite(pooled.numpy(), what), lexical

    def why_unanswerable(self, query: str) -> str | None:
        ids = self.tokenizer(query)["input_ids"]
        if not ids:
            dropped = " once stopwords and punctuation are dropped" if query.strip() else ""
            return f"the query has no words{dropped}"
        config = self.model.config
        if all(i == config.unk_token_id for i in ids) and not (
            config.hash_unknown_words and config.lexical_buckets
        ):  # a model that hashes unknown words still matches them lexically
            return "none of its words is in the model's vocabulary"
        return None


def check_finite(vectors: np.ndarray, what: str) -> np.ndarray:
    """Returns ``vectors``, or raises ValueError when any of them holds NaN or inf.

    Args:
        vectors: ``(n, d)`` embeddings.
        what: Names them in the message, e.g. "checkpoints/x's passage vectors".
    """
    finite = np.isfinite(vectors).all(axis=-1)
    if not finite.all():
        raise ValueError(
            f"{int((~finite).sum()):,} of {len(vectors):,} {what} hold NaN/inf values, so their "
            "scores and rankings would be meaningless: the model's weights are damaged or "
            "overflowed; load an earlier checkpoint or retrain."
        )
    return vectors


class EmbeddingCache:
    """Passage embeddings on disk, one ``.npy`` per (encoder, exact list of texts).

    Args:
        directory: Where the files go (default ``~/.cache/two_tower_eval`` or
            ``$TWO_TOWER_EVAL_CACHE``).
    """

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else DEFAULT_CACHE_DIR

    def encode_passages(
        self,
        encoder: DenseEncoder,
        texts: Sequence[str],
        progress_bar: bool = False,
        max_length: int | None = None,
    ) -> np.ndarray:
        """Reads the embeddings of ``texts`` from disk, or encodes and stores them (``max_length``
        as `DenseEncoder.encode_passages`; it is part of the key when set)."""
        length = {"max_length": max_length} if max_length is not None else {}  # only if set
        if not encoder.cache_key:
            return encoder.encode_passages(texts, progress_bar=progress_bar, **length)
        suffix = f"-max{max_length}" if max_length is not None else ""
        path = self.directory / encoder.cache_key / f"{texts_fingerprint(texts)}{suffix}.npy"
        if path.exists():
            embeddings = np.load(path)
            if embeddings.shape[0] == len(texts):
                logger.info(
                    "%s: %d passage embeddings read from %s", encoder.name, len(texts), path
                )
                return embeddings
            logger.warning(
                "Ignoring %s: %d rows for %d texts", path, embeddings.shape[0], len(texts)
            )
        embeddings = encoder.encode_passages(texts, progress_bar=progress_bar, **length)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, embeddings)
        partial.replace(path)  # atomic: a concurrent reader never sees half a file
        logger.info("%s: cached %d passage embeddings in %s", encoder.name, len(texts), path)
        return embeddings


def texts_fingerprint(texts: Sequence[str]) -> str:
    """SHA-256 of the texts, length-prefixed so that no two different lists collide by joining."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]
