"""Tiny stand-ins for the real data, written in the tests' own code: a 13-word vocabulary with
7-dimensional vectors, untrained checkpoints over it and small corpora made of its words.

Odd sizes on purpose (vocabulary 13, embeddings 7, hidden 7: 14-dimensional vectors), so a shape
mix-up shows. Nothing here reads ../shared or the installed GloVe package.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from data_prep.glove import GloveVocabulary
from modeling import TwoTowerModel, TwoTowerTokenizerFast

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "flea", "blood", "heart", "what", "is"]
WORDS += ["<pad>", "<unk>"]  # 13 rows; from_glove expects the two special rows last


def tiny_vocabulary(dim: int = 7, seed: int = 0) -> GloveVocabulary:
    """`WORDS` with random vectors; ``<pad>`` is zeros and ``<unk>`` the mean, as `load_glove`."""
    vectors = np.random.default_rng(seed).standard_normal((len(WORDS), dim)).astype(np.float32)
    vectors[-2] = 0.0
    vectors[-1] = vectors[:-2].mean(axis=0)
    return GloveVocabulary(words=list(WORDS), vectors=vectors)


def save_tiny_checkpoint(
    path: Path,
    vocabulary: GloveVocabulary | None = None,
    seed: int = 0,
    lexical_buckets: int = 0,
) -> Path:
    """An untrained two-tower model (hidden 7, both directions) and its tokenizer in ``path``."""
    vocabulary = vocabulary or tiny_vocabulary()
    torch.manual_seed(seed)
    model = TwoTowerModel.from_glove(
        torch.from_numpy(vocabulary.vectors),
        hidden_size=7,
        passage_max_length=64,
        lexical_buckets=lexical_buckets,
    )
    model.save_pretrained(path)
    TwoTowerTokenizerFast.from_vocabulary(vocabulary.words).save_pretrained(path)
    return path


def tiny_texts(count: int, seed: int = 0) -> list[str]:
    """``count`` texts of 2 to 9 words of `WORDS`, some with a word outside it."""
    rng = random.Random(seed)
    known = WORDS[:-2]
    texts = []
    for i in range(count):
        words = rng.choices(known, k=rng.randint(2, 9))
        if i % 5 == 0:
            words.insert(rng.randint(0, len(words)), f"oov{i}")
        texts.append(" ".join(words))
    return texts


def write_tiny_corpus(path: Path, count: int = 120, seed: int = 0) -> Path:
    """A ``pid<TAB>text`` corpus of `tiny_texts`, ids ``"100"``, ``"101"``, ..."""
    texts = tiny_texts(count, seed)
    path.write_text("".join(f"{100 + i}\t{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    return path


# An evaluation results file of the tiny checkpoint, as scripts/evaluate.py writes one (made up).
TINY_EVAL = {
    "two_tower_tiny": {
        "dev600-rerank/MRR@10": 0.2468,
        "dev600-retrieve/MRR@10": 0.1357,
        "dev600-retrieve/R@100": 0.8642,
        "dl19-pool/nDCG@10": 0.3141,
        "passages_per_s": 31234.5,
    },
    "BM25": {"dev600-rerank/MRR@10": 0.384, "dev600-retrieve/R@100": 0.998, "passages_per_s": 812},
}


def tiny_benchmark_argv(data_dir, output, systems: str, rounds: int = 1) -> list[str]:
    """scripts/experiments/benchmark.py arguments for a run of seconds over the real data."""
    return [
        "--data_dir", str(data_dir), "--systems", systems, "--output", str(output),
        "--hidden_size", "8", "--batch_size", "8", "--train_steps", "2", "--warmup_steps", "1",
        "--rounds", str(rounds), "--passages", "40", "--queries", "10", "--latency_queries", "3",
        "--synthetic_size", "5000", "--passage_max_length", "64", "--no_memory",
    ]  # fmt: skip
