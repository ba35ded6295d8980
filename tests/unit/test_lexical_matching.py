"""What the lexical part matches: words GloVe lacks (``hash_unknown_words``) and words sharing a
stem (``lexical_stems``), the same through every path that tokenises (the model's ``encode_*``,
the training collator, a saved and reloaded checkpoint)."""

from __future__ import annotations

import pytest
import torch

from data_prep.glove import stem_groups
from modeling import TwoTowerConfig, TwoTowerModel, TwoTowerTokenizerFast
from modeling.tokenization_two_tower import unknown_word_id
from modeling.training.collator import TwoTowerCollator

WORDS = ["the", "cat", "cats", "sat", "dog", "running", "run", "<pad>", "<unk>"]
BUCKETS = 4096  # wide enough that the words below share no bucket by chance
WEIGHT = 0.3**2  # every real token weighs 0.3 before training (zero scorer, bias 0.3)


def model_with(**config) -> tuple[TwoTowerModel, TwoTowerTokenizerFast]:
    torch.manual_seed(0)
    groups = stem_groups(WORDS) if config.get("lexical_stems") else None
    model = TwoTowerModel.from_glove(
        torch.randn(len(WORDS), 6), stem_groups=groups, hidden_size=5, lexical_buckets=BUCKETS,
        **config,
    ).eval()  # fmt: skip
    return model, TwoTowerTokenizerFast.from_vocabulary(WORDS)


def lexical_score(model, tokenizer, query: str, passage: str) -> float:
    pooled = model.config.pooled_size
    q = model.encode_queries([query], tokenizer)[0, pooled:]
    p = model.encode_passages([passage], tokenizer)[0, pooled:]
    return float(q @ p)


def test_stem_groups_join_inflections_only():
    assert stem_groups(["cell", "cells", "run", "running", "ran"]).tolist() == [0, 0, 2, 2, 4]


def test_unknown_words_match_only_when_hashed():
    vocab = len(WORDS)
    zebra, quagga = unknown_word_id("zebra", vocab), unknown_word_id("quagga", vocab)
    assert min(zebra, quagga) >= vocab and zebra % BUCKETS != quagga % BUCKETS
    hashed, tokenizer = model_with(hash_unknown_words=True)
    assert lexical_score(hashed, tokenizer, "zebra", "the Zebra sat") == pytest.approx(WEIGHT)
    assert lexical_score(hashed, tokenizer, "zebra", "the quagga sat") == 0.0
    plain, _ = model_with()
    assert lexical_score(plain, tokenizer, "zebra", "the Zebra sat") == 0.0


def test_stems_match_inflections_only_with_lexical_stems():
    stems, tokenizer = model_with(lexical_stems=True)
    assert lexical_score(stems, tokenizer, "cats", "a cat sat") == pytest.approx(WEIGHT)
    assert lexical_score(stems, tokenizer, "running", "run dog") == pytest.approx(WEIGHT)
    assert lexical_score(stems, tokenizer, "cats", "a dog sat") == 0.0
    plain, _ = model_with()
    assert lexical_score(plain, tokenizer, "cats", "a cat sat") == 0.0


def test_ids_past_the_vocabulary_read_the_unk_row():
    model, tokenizer = model_with(hash_unknown_words=True)
    ids = torch.tensor([[unknown_word_id("zebra", len(WORDS)), tokenizer.unk_token_id]])
    embedded = model.embed(ids)
    torch.testing.assert_close(embedded[0, 0], model.embeddings.weight[tokenizer.unk_token_id])
    torch.testing.assert_close(embedded[0, 0], embedded[0, 1])


@pytest.mark.parametrize("hashed", [False, True])
def test_the_collator_tokenises_as_the_model_does(hashed):
    model, tokenizer = model_with(hash_unknown_words=hashed)
    rows = [{"query": "zebra cats", "positives": ["the zebra sat"], "negatives": []}]
    batch = TwoTowerCollator(tokenizer, hash_unknown_words=hashed)(rows)
    zebra = unknown_word_id("zebra", len(WORDS)) if hashed else tokenizer.unk_token_id
    assert batch["query_input_ids"].tolist() == [[zebra, WORDS.index("cats")]]
    with torch.no_grad():  # the collator's batch gives the model's own vectors
        from_batch = model.encode_passage(
            batch["passage_input_ids"], batch["passage_attention_mask"]
        )
    torch.testing.assert_close(from_batch, model.encode_passages(["the zebra sat"], tokenizer))


def test_a_checkpoint_keeps_its_stem_groups_and_old_configs_match_as_before(tmp_path):
    model, tokenizer = model_with(hash_unknown_words=True, lexical_stems=True)
    model.save_pretrained(tmp_path)
    loaded = TwoTowerModel.from_pretrained(tmp_path)
    assert torch.equal(loaded.lexical_ids, model.lexical_ids)
    texts = ["cats running", "zebra", ""]
    torch.testing.assert_close(
        loaded.encode_queries(texts, tokenizer), model.encode_queries(texts, tokenizer)
    )
    old = TwoTowerConfig.from_dict({"vocab_size": len(WORDS), "pad_token_id": 7, "unk_token_id": 8})
    assert not old.hash_unknown_words and not old.lexical_stems


def test_stem_groups_must_fit_the_vocabulary():
    with pytest.raises(ValueError, match="exactly when lexical_stems"):
        TwoTowerModel.from_glove(torch.randn(len(WORDS), 6), lexical_stems=True)
    with pytest.raises(ValueError, match="one id in"):
        TwoTowerModel.from_glove(torch.randn(len(WORDS), 6), stem_groups=[0, 1], lexical_stems=True)


def test_tf_saturation_weighs_repeats_as_bm25_does():
    model, tokenizer = model_with(lexical_tf_saturation=1.2)
    once = lexical_score(model, tokenizer, "cat", "cat dog")
    thrice = lexical_score(model, tokenizer, "cat", "cat cat cat dog")
    assert once == pytest.approx(WEIGHT)
    assert thrice == pytest.approx(WEIGHT * 3 * 2.2 / 4.2)
    plain, _ = model_with()
    assert lexical_score(plain, tokenizer, "cat", "cat cat cat dog") == pytest.approx(WEIGHT)


@pytest.mark.parametrize(
    "config",
    [{}, {"hash_unknown_words": True, "lexical_stems": True, "lexical_tf_saturation": 1.2}],
)
def test_sparse_passages_are_the_dense_vectors_halves(config):
    model, tokenizer = model_with(**config)
    with torch.no_grad():  # trained-looking weights: some tokens weigh 0
        model.passage_tower.lexical.scorer.normal_()
    texts = ["cat cats cat dog", "", "zebra zebra sat", "the", "running run dog sat cat"] * 7
    dense = model.encode_passages(texts, tokenizer, batch_size=4)
    pooled, lexical = model.encode_passages_sparse(texts, tokenizer, batch_size=4)
    assert lexical.shape == (len(texts), BUCKETS) and lexical.is_coalesced()
    assert 0 < lexical.values().numel() < len(texts) * 5  # only the non-zero weights are kept
    torch.testing.assert_close(torch.cat([pooled, lexical.to_dense()], dim=1), dense)
    empty_pooled, empty_lexical = model.encode_passages_sparse([], tokenizer)
    assert empty_pooled.shape == (0, model.config.pooled_size)
    assert empty_lexical.shape == (0, BUCKETS)


@pytest.mark.parametrize("hashed", [False, True])
def test_a_query_of_unknown_words_is_answered_when_they_can_match(hashed, tmp_path):
    from modeling.retrieval.encoders import TwoTowerEncoder

    model, tokenizer = model_with(hash_unknown_words=hashed)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    reason = TwoTowerEncoder(tmp_path).why_unanswerable("zebra quagga")
    assert reason == (None if hashed else "none of its words is in the model's vocabulary")


def test_the_demo_marks_words_as_the_model_matches_them():
    from modeling.demo.highlight import weigh_texts

    model, tokenizer = model_with(hash_unknown_words=True, lexical_stems=True)
    tokenizer.query_max_length = tokenizer.passage_max_length = 16
    (query,) = weigh_texts(model, tokenizer, ["zebra cats"], side="query")
    (passage,) = weigh_texts(model, tokenizer, ["the zebra cat sat"], side="passage")
    zebra = unknown_word_id("zebra", len(WORDS))
    cat = WORDS.index("cat")  # the stem group of "cats" and "cat"
    assert query.token_ids == [zebra, cat]
    assert passage.token_ids == [WORDS.index("the"), zebra, cat, WORDS.index("sat")]
