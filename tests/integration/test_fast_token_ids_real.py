"""On real MS MARCO text and the real GloVe vocabulary: `encode_ids` (what `TwoTowerModel.encode_*`
tokenise with) gives the tokenizer's own ids, and the vectors equal the towers run on the
tokenizer's own padded batches."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.evaluation.tasks import read_tsv_collection
from modeling.tokenization_two_tower import ChunkEncoder, encode_ids


@pytest.fixture(scope="module")
def passages(msmarco_dir):
    return read_tsv_collection(msmarco_dir / "corpus.tsv").texts[:20_000]


@pytest.fixture(scope="module")
def queries(msmarco_dir):
    with open(msmarco_dir / "train_pairs.jsonl", encoding="utf-8") as handle:
        return [json.loads(line)["query"] for line in itertools.islice(handle, 5000)]


@pytest.mark.parametrize("drop_stopwords", [True, False])
def test_ids_equal_on_real_passages_and_queries(glove, passages, queries, drop_stopwords):
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(glove.words, drop_stopwords=drop_stopwords)
    assert ChunkEncoder.for_tokenizer(tokenizer) is not None
    for texts, max_length in ((passages, 64), (passages[:2000], 100_000), (queries, 32)):
        expected = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        got = encode_ids(tokenizer, texts, max_length)
        wrong = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
        assert not wrong, f"{len(wrong)} texts differ, first: {texts[wrong[0]]!r}"


def test_encode_passages_equals_the_towers_on_real_passages(glove, passages):
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(glove.words, drop_stopwords=True)
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(
        torch.from_numpy(glove.vectors), hidden_size=16, lexical_buckets=64, passage_max_length=64
    ).eval()
    texts = passages[:1000]
    got = model.encode_passages(texts, tokenizer, batch_size=128)
    expected = []
    with torch.no_grad():
        for start in range(0, len(texts), 100):
            batch = tokenizer.encode_passages(texts[start : start + 100])
            expected.append(model.encode_passage(batch["input_ids"], batch["attention_mask"]))
    torch.testing.assert_close(got, torch.cat(expected), atol=1e-6, rtol=0)
