"""`TwoTowerModel.term_weights`: the per-token weights behind the lexical part of a vector."""

from __future__ import annotations

import pytest
import torch
from tiny_two_tower import tiny


@pytest.mark.parametrize("side", ["query", "passage"])
def test_weights_rebuild_the_lexical_part_of_the_vector(side):
    model, tokenizer = tiny()
    texts = ["fleas jump high", "dogs bite cats and fleas bite dogs", "eggs hatch in days"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    weights = model.term_weights(ids, mask, side=side)  # (B, T)
    assert weights.shape == ids.shape
    encode = model.encode_query if side == "query" else model.encode_passage
    with torch.inference_mode():
        lexical = encode(ids, mask)[:, -model.config.lexical_buckets :]
    # The vector's lexical part is the largest weight per bucket: rebuild it from the weights.
    rebuilt = torch.zeros_like(lexical).scatter_reduce(
        1, ids % model.config.lexical_buckets, weights, reduce="amax"
    )
    torch.testing.assert_close(rebuilt, lexical)
    assert (weights[mask == 0] == 0).all()  # padding weighs nothing
    assert (weights[mask == 1] > 0).any()


def test_unknown_words_weigh_nothing_and_sides_differ():
    model, tokenizer = tiny()
    batch = tokenizer(["fleas zzzunknown jump"], return_tensors="pt")
    query = model.term_weights(batch["input_ids"], batch["attention_mask"], side="query")
    passage = model.term_weights(batch["input_ids"], batch["attention_mask"], side="passage")
    assert batch["input_ids"][0, 1] == model.config.unk_token_id
    assert query[0, 1] == 0 and passage[0, 1] == 0
    assert not torch.allclose(query, passage)  # two towers, two scorers


def test_model_without_lexical_part_and_bad_side_are_refused():
    model, tokenizer = tiny(lexical_buckets=0)
    batch = tokenizer(["fleas jump"], return_tensors="pt")
    with pytest.raises(ValueError, match="no lexical part"):
        model.term_weights(batch["input_ids"], batch["attention_mask"])
    model, _ = tiny()
    with pytest.raises(ValueError, match="'query' or 'passage'"):
        model.term_weights(batch["input_ids"], batch["attention_mask"], side="document")
