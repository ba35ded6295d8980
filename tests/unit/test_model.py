"""The two-tower model on tiny odd sizes: shapes, packing, towers, save -> reload equality."""

import json

import pytest
import torch

from modeling import TwoTowerConfig, TwoTowerModel, TwoTowerTokenizerFast

WORDS = [f"w{i}" for i in range(11)] + ["<pad>", "<unk>"]  # vocab 13
TEXTS = ["w1 w2 w3", "w4", "w5 w6 w7 w8 w9 w10", "", "w1 zzz"]


@pytest.fixture
def tok():
    return TwoTowerTokenizerFast.from_vocabulary(WORDS)


def make(**kwargs):
    torch.manual_seed(0)
    return TwoTowerModel.from_glove(torch.randn(13, 7), hidden_size=5, **kwargs)


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
@pytest.mark.parametrize("pooling", ["mean", "max", "last", "attention"])
def test_shapes_norms_and_padding_invariance(tok, rnn_type, pooling):
    model = make(rnn_type=rnn_type, pooling=pooling, output_dim=3, num_layers=2)
    vectors = model.encode_passages(TEXTS, tokenizer=tok, batch_size=2)
    assert vectors.shape == (5, 3)
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(5))
    # Packed sequences: a text's vector does not depend on the padding of its batch.
    alone = torch.cat([model.encode_passages([t], tokenizer=tok) for t in TEXTS])
    torch.testing.assert_close(vectors, alone, atol=1e-6, rtol=0)


def test_attention_pooling_starts_as_mean_pooling_and_learns_token_weights(tok):
    mean, attention = make(pooling="mean"), make(pooling="attention")
    attention.load_state_dict(mean.state_dict(), strict=False)  # same RNN weights
    torch.testing.assert_close(
        attention.encode_passages(TEXTS, tokenizer=tok), mean.encode_passages(TEXTS, tokenizer=tok)
    )
    torch.nn.init.normal_(attention.passage_tower.attention)
    assert not torch.allclose(
        attention.encode_passages(TEXTS[:1], tokenizer=tok),
        mean.encode_passages(TEXTS[:1], tokenizer=tok),
    )
    names = {name for name, p in attention.named_parameters() if p.requires_grad}
    assert {"query_tower.attention", "passage_tower.attention"} <= names


def test_lexical_part_adds_the_term_weights_of_shared_words(tok):
    dense, lexical = make(pooling="attention"), make(pooling="attention", lexical_buckets=16)
    lexical.load_state_dict(dense.state_dict(), strict=False)  # same RNN weights
    query = lexical.encode_queries(["w1 w2 zzz"], tokenizer=tok)  # zzz is <unk>
    passages = lexical.encode_passages(["w1 w2 w3", "w4", "w2 w2 qqq", ""], tokenizer=tok)
    assert query.shape == (1, 10 + 16) and lexical.config.embed_size == 26
    # The pooled part is the dense model's vector; the scores add 0.3 x 0.3 per shared word
    # (the initial term weight): w1 and w2, none, w2 once (repeats keep the largest weight; two
    # unknown words never match), nothing for an empty text.
    torch.testing.assert_close(query[:, :10], dense.encode_queries(["w1 w2 zzz"], tokenizer=tok))
    cosines = query[:, :10] @ passages[:, :10].T
    torch.testing.assert_close(
        query @ passages.T - cosines, torch.tensor([[0.18, 0.0, 0.09, 0.0]]), atol=1e-6, rtol=0
    )
    # Term weights come from the token states: a trained scorer gives each word its own.
    torch.nn.init.normal_(lexical.passage_tower.lexical.scorer, std=0.1)
    bag = lexical.encode_passages(["w1 w2 w3"], tokenizer=tok)[0, 10:]
    assert bag[[1, 2, 3]].unique().numel() == 3 and bag.count_nonzero() == 3
    # Batched and alone agree (padding adds no word), and 0 buckets means no lexical part.
    alone = torch.cat([lexical.encode_passages([t], tokenizer=tok) for t in TEXTS])
    torch.testing.assert_close(lexical.encode_passages(TEXTS, tokenizer=tok), alone)
    assert dense.query_tower.lexical is None


def test_checkpoints_saved_before_the_lexical_part_load_without_one(tok, tmp_path):
    model = make()
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["lexical_buckets"]  # as written before the field existed
    (tmp_path / "config.json").write_text(json.dumps(config))
    again = TwoTowerModel.from_pretrained(tmp_path)
    assert again.config.lexical_buckets == 0 and again.query_tower.lexical is None
    torch.testing.assert_close(
        again.encode_queries(TEXTS, tokenizer=tok), model.encode_queries(TEXTS, tokenizer=tok)
    )


def test_towers_are_separate_and_share_embeddings(tok):
    model = make()
    q = model.encode_queries(TEXTS, tokenizer=tok)
    p = model.encode_passages(TEXTS, tokenizer=tok)
    assert not torch.allclose(q, p)
    assert model.query_tower.rnn.weight_ih_l0 is not model.passage_tower.rnn.weight_ih_l0
    assert model.get_input_embeddings() is model.embeddings


def test_forward_scores_are_query_passage_cosines(tok):
    model = make()
    q = tok.encode_queries(TEXTS[:2])
    p = tok.encode_passages(TEXTS)
    out = model(q["input_ids"], q["attention_mask"], p["input_ids"], p["attention_mask"])
    assert out.scores.shape == (2, 5) and out.loss is None
    torch.testing.assert_close(out.scores, out.query_embeds @ out.passage_embeds.T)


def test_from_glove_rows_and_freezing():
    vectors = torch.randn(13, 7)
    frozen = TwoTowerModel.from_glove(vectors, hidden_size=5)
    torch.testing.assert_close(frozen.embeddings.weight.detach(), vectors)
    assert not frozen.embeddings.weight.requires_grad
    assert (frozen.config.pad_token_id, frozen.config.unk_token_id) == (11, 12)
    tuned = TwoTowerModel.from_glove(vectors, hidden_size=5, freeze_embeddings=False)
    assert tuned.embeddings.weight.requires_grad


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained_keeps_embeddings_frozen_or_trainable(tmp_path, freeze):
    TwoTowerModel.from_glove(
        torch.randn(13, 7), hidden_size=5, freeze_embeddings=freeze
    ).save_pretrained(tmp_path)
    again = TwoTowerModel.from_pretrained(tmp_path)
    assert again.embeddings.weight.requires_grad is not freeze
    assert all(p.requires_grad for p in again.query_tower.parameters())


@pytest.mark.parametrize("pooling,buckets", [("mean", 0), ("attention", 0), ("attention", 8)])
def test_save_reload_gives_identical_outputs(tok, tmp_path, pooling, buckets):
    model = make(rnn_type="lstm", output_dim=4, pooling=pooling, lexical_buckets=buckets)
    if pooling == "attention":  # a trained (non-zero) scorer must survive the round trip
        torch.nn.init.normal_(model.query_tower.attention)
    if buckets:  # so must trained term weights
        torch.nn.init.normal_(model.query_tower.lexical.scorer)
        torch.nn.init.normal_(model.query_tower.lexical.bias)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    again = TwoTowerModel.from_pretrained(tmp_path)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], tensor, atol=0, rtol=0, msg=name)
    torch.testing.assert_close(
        again.encode_queries(TEXTS, tokenizer=tok), model.encode_queries(TEXTS, tokenizer=tok)
    )


def test_encode_keeps_input_order_across_batch_sizes(tok):
    model = make()
    full = model.encode_queries(TEXTS, tokenizer=tok, batch_size=100)
    torch.testing.assert_close(model.encode_queries(TEXTS, tokenizer=tok, batch_size=1), full)
    torch.testing.assert_close(model.encode_queries(TEXTS[::-1], tokenizer=tok), full.flip(0))
    assert model.encode_queries([], tokenizer=tok).shape == (0, 10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rnn_type": "transformer"}, "rnn_type"),
        ({"pooling": "cls"}, "pooling"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"lexical_buckets": -1}, "lexical_buckets"),
        ({"vocab_size": 10, "pad_token_id": 12}, "pad_token_id"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TwoTowerConfig(**kwargs)
