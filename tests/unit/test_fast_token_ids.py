"""`encode_ids` (the chunked fast path of `TwoTowerModel.encode_*`) gives the tokenizer's own ids.

Random texts of tricky pieces (contractions, abbreviations, numbers, brackets, Unicode that NFKC
rewrites, spaces of every kind, words outside the vocabulary) are tokenised both ways, for each
pipeline `build_backend` makes or made, after a save -> plain ``AutoTokenizer`` reload too, with
unknown words as ``<unk>`` and as their hashed ids (``hash_unknown_words``).
"""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from tokenizers import pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.tokenization_two_tower import (
    _LEGACY_DROPPED_TOKEN_PATTERN,
    ChunkEncoder,
    _pre_tokenizer,
    encode_ids,
    hash_unknown_ids,
)

WORDS = ["the", "cat", "do", "n't", "'s", "u.s.", "3.5", "1,000", "42", ",", "(", "é", "fi"]
WORDS += ["<pad>", "<unk>"]
PIECES = [
    "the", "The", "THE", "cat", "Cat", "do", "don't", "Don't", "it's", "'s", "'", "n't", "n",
    "U.S.", "u.s.", "e.g.", "e-mail", "at&t", "3.5", "1,000", "10:30", "42", "42a", "a42", ".",
    ",", "(", ")", "[", "]", '"', "!", "?", ";", ":", "-", "&", "%", "$", "é", "É", "ﬁ", "Ⅻ", "¨",
    "\u0301", "ΟΔΟΣ", "<pad>", "<unk>", "zebra", "Zebra", "IL-6", "ﬁsh", "TNFα", "\u00a0",
    "\u3000", "\t", "\n", "\x1c", " ", " ", " ",
]  # fmt: skip


def random_texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(PIECES, k=rng.randint(0, 14))) for _ in range(count)]


def reference_ids(tokenizer, texts, max_length, hashed=False):
    """The tokenizer's own ids; ``hashed``: unknown words' ids from their offsets."""
    batch = tokenizer(texts, truncation=True, max_length=max_length, return_offsets_mapping=hashed)
    if hashed:
        return hash_unknown_ids(tokenizer, texts, batch["input_ids"], batch["offset_mapping"])
    return batch["input_ids"]


def legacy_tokenizer() -> PreTrainedTokenizerFast:
    """What checkpoints saved before the prefix-tree stopword pattern hold in tokenizer.json."""
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS, drop_stopwords=True)
    tokenizer.backend_tokenizer.pre_tokenizer = _pre_tokenizer(_LEGACY_DROPPED_TOKEN_PATTERN)
    return tokenizer


@pytest.mark.parametrize("pipeline", ["words", "drop", "legacy drop"])
@pytest.mark.parametrize("reload", [False, True])
@pytest.mark.parametrize("hashed", [False, True])
def test_fast_ids_equal_the_tokenizers_own(pipeline, reload, hashed, tmp_path):
    if pipeline == "legacy drop":
        tokenizer = legacy_tokenizer()
    else:
        tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS, drop_stopwords=pipeline == "drop")
    if reload:
        tokenizer.save_pretrained(tmp_path)
        tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert ChunkEncoder.for_tokenizer(tokenizer) is not None  # the fast path, not the fallback
    texts = random_texts(3000)
    for max_length in (5, 1000):
        assert encode_ids(tokenizer, texts, max_length, hashed) == reference_ids(
            tokenizer, texts, max_length, hashed
        )
    tokenizer.truncation_side = "left"
    assert encode_ids(tokenizer, texts, 5, hashed) == reference_ids(tokenizer, texts, 5, hashed)
    if hashed:  # the random pieces do hold unknown words, and each gets an id of its own
        ids = set(itertools.chain.from_iterable(encode_ids(tokenizer, texts, 1000, True)))
        assert tokenizer.unk_token_id not in ids and len({i for i in ids if i >= len(WORDS)}) > 5


def test_plain_chunks_are_looked_up_without_the_pipeline():
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    encoder = ChunkEncoder.for_tokenizer(tokenizer)
    ids = {word: i for i, word in enumerate(WORDS)}
    unk = ids["<unk>"]
    assert encoder._plain_chunk('("The),') == [ids["("], unk, ids["the"], unk, ids[","]]
    assert encoder._plain_chunk("42.") == [ids["42"], unk]
    for other in ("don't", "u.s.", "3.5", "e-mail", "42a", "é", ""):
        assert encoder._plain_chunk(other) is None  # left to tokenizer.json's pipeline
    dropping = ChunkEncoder.for_tokenizer(
        TwoTowerTokenizerFast.from_vocabulary(WORDS, drop_stopwords=True)
    )
    assert dropping._plain_chunk("(The),") == [] and dropping._plain_chunk("Cat.") == [1]


@pytest.mark.parametrize("change", ["pre_tokenizer", "added word"])
def test_other_pipelines_fall_back_to_the_tokenizer(change):
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    if change == "pre_tokenizer":
        tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    else:
        tokenizer.add_tokens(["cat"])  # could sit inside a plain chunk: "cats" -> "cat", "s"
    assert ChunkEncoder.for_tokenizer(tokenizer) is None
    texts = random_texts(300, seed=1) + ["cats the Cat"]
    assert encode_ids(tokenizer, texts, 50) == reference_ids(tokenizer, texts, 50)
    assert encode_ids(tokenizer, texts, 50, True) == reference_ids(tokenizer, texts, 50, True)


def test_encode_passages_equals_the_towers_on_the_tokenizers_batch(tiny_vocab):
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(tiny_vocab.words, passage_max_length=6)
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(
        torch.from_numpy(tiny_vocab.vectors),
        hidden_size=7,
        lexical_buckets=11,
        passage_max_length=6,
    ).eval()
    rng = random.Random(2)
    words = [*tiny_vocab.words[:-2], "The", "cat.", "(dog),", "zebra", "it's", "  "]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 9))) for _ in range(101)]
    batch = tokenizer.encode_passages(texts)
    with torch.no_grad():
        expected = model.encode_passage(batch["input_ids"], batch["attention_mask"])
    got = model.encode_passages(texts, tokenizer, batch_size=16)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
