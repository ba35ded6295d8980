"""A tiny model2vec static model (8 tokens x 5 dims), written by model2vec itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np

STATIC_WORDS = ["[UNK]", "fleas", "jump", "high", "dogs", "bite", "eggs", "hatch"]


def save_static_model(path: Path) -> np.ndarray:
    """Writes the model to ``path``; returns its ``(8, 5)`` token vectors."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {word: i for i, word in enumerate(STATIC_WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    vectors = np.random.default_rng(0).standard_normal((len(STATIC_WORDS), 5)).astype(np.float32)
    config = {"model_type": "model2vec", "architectures": ["StaticModel"]}  # as distill writes
    StaticModel(vectors, tokenizer, config=config, normalize=True).save_pretrained(path)
    return vectors
