"""Broken checkpoints are refused where they load, and NaN scores where they would rank.

Each case is a defect that used to pass silently: NaN weights (every score NaN, the ranking the
candidates' input order), a missing weight (random rows), a tokenizer of another vocabulary
(``<pad>``/``<unk>`` on real words' vectors), a NaN probe passing the index's model check, and
an empty or stopword-only query answered with arbitrary passages.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.evaluation.runner import system_runs
from modeling.evaluation.tasks import Collection, EvalTask
from modeling.retrieval.encoders import DenseEncoder, TwoTowerEncoder
from modeling.retrieval.index import build_index, search

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "heart", "blood", "river", "bank"]
WORDS += ["<pad>", "<unk>"]  # 13 rows: <pad> and <unk> last, as from_glove expects
PASSAGES = ["the cat sat on the mat", "a dog sat", "blood enters the heart", "the river bank"]


def save_checkpoint(folder, words=WORDS, seed=0, **tokenizer_kwargs):
    torch.manual_seed(seed)
    model = TwoTowerModel.from_glove(torch.randn(len(words), 7), hidden_size=5)
    model.save_pretrained(folder)
    TwoTowerTokenizerFast.from_vocabulary(words, **tokenizer_kwargs).save_pretrained(folder)
    return folder


def rewrite_weights(folder, change) -> None:
    weights = load_file(folder / "model.safetensors")
    change(weights)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})


def test_nan_weights_are_refused_naming_the_tensor_and_file(tmp_path):
    folder = save_checkpoint(tmp_path / "ckpt")
    rewrite_weights(folder, lambda w: w["query_tower.rnn.weight_hh_l0"].fill_(float("nan")))
    with pytest.raises(ValueError, match="query_tower.rnn.weight_hh_l0 holds 75 NaN") as err:
        TwoTowerModel.from_pretrained(folder)
    assert str(folder / "model.safetensors") in str(err.value)
    with pytest.raises(ValueError, match="weight_hh_l0"):  # the evaluation/search entry point too
        TwoTowerEncoder(folder)


def test_missing_weight_is_refused_instead_of_starting_random(tmp_path):
    folder = save_checkpoint(tmp_path / "ckpt")
    rewrite_weights(folder, lambda w: w.pop("embeddings.weight"))
    with pytest.raises(ValueError, match=r"lacks the weights \['embeddings.weight'\]") as err:
        TwoTowerModel.from_pretrained(folder)
    assert str(folder / "model.safetensors") in str(err.value)


def test_intact_checkpoint_still_loads_and_returns_loading_info(tmp_path):
    folder = save_checkpoint(tmp_path / "ckpt")
    model, info = TwoTowerModel.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"]
    assert isinstance(model, TwoTowerModel)


def test_tokenizer_of_another_vocabulary_is_refused(tmp_path):
    folder = save_checkpoint(tmp_path / "ckpt")
    small = TwoTowerTokenizerFast.from_vocabulary([*WORDS[:5], "<pad>", "<unk>"])
    small.save_pretrained(folder)  # 7 ids for a 13-row embedding table
    with pytest.raises(ValueError, match="has 7 tokens but the model's embedding table has 13"):
        TwoTowerEncoder(folder)
    model = TwoTowerModel.from_pretrained(folder)
    with pytest.raises(ValueError, match="has 7 tokens"):
        model.encode_queries(["the cat"], tokenizer=small)


def test_tokenizer_with_other_special_ids_is_refused(tmp_path):
    model = TwoTowerModel.from_pretrained(save_checkpoint(tmp_path / "ckpt"))
    swapped = TwoTowerTokenizerFast.from_vocabulary([*WORDS[:-2], "<unk>", "<pad>"])
    with pytest.raises(ValueError, match="pad_token_id is 12 but the model's config.json says 11"):
        model.encode_passages(["the cat"], tokenizer=swapped)
    right = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    assert model.encode_passages(["the cat"], tokenizer=right).shape == (1, model.config.embed_size)


class NaNEncoder(DenseEncoder):
    """Wraps a real encoder and spoils every vector, as a NaN weight would."""

    name = reference = "nan-model"

    def __init__(self, inner: DenseEncoder):
        self.inner = inner

    def encode_queries(self, texts, progress_bar=False):
        return self.inner.encode_queries(texts) * np.nan

    def encode_passages(self, texts, progress_bar=False):
        return self.inner.encode_passages(texts) * np.nan


@pytest.fixture
def index_and_encoder(tmp_path):
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("".join(f"p{i}\t{text}\n" for i, text in enumerate(PASSAGES)))
    encoder = TwoTowerEncoder(save_checkpoint(tmp_path / "ckpt", drop_stopwords=True))
    index = build_index(encoder, corpus, tmp_path / "index", progress_bar=False)
    from modeling.retrieval.index import SearchIndex

    return SearchIndex(index), encoder


def test_nan_probe_is_a_model_mismatch(index_and_encoder):
    index, encoder = index_and_encoder
    with pytest.raises(ValueError, match=r"max difference nan"):
        search(index, NaNEncoder(encoder), ["the cat"])


def test_evaluation_refuses_nan_vectors(index_and_encoder):
    _, encoder = index_and_encoder
    collection = Collection("toy", [f"p{i}" for i in range(4)], PASSAGES)
    task = EvalTask(
        "toy-retrieve", {"q1": "cat on a mat"}, {"q1": {"p0": 1}}, collection, ("MRR@10",)
    )
    assert system_runs(encoder, [task])["toy-retrieve"]["q1"]  # a real model ranks
    with pytest.raises(ValueError, match="4 of 4 nan-model's passage vectors of toy hold NaN"):
        system_runs(NaNEncoder(encoder), [task])


def test_empty_and_stopword_only_queries_get_no_hits_and_a_reason(index_and_encoder, caplog):
    index, encoder = index_and_encoder
    with caplog.at_level(logging.WARNING):
        hits = search(index, encoder, ["the a on", "", "heart blood", "zebra"], k=2)
    assert hits[0] == [] and hits[1] == [] and hits[3] == []
    assert len(hits[2]) == 2
    assert "'the a on': the query has no words once stopwords" in caplog.text
    assert "'': the query has no words." in caplog.text
    assert "'zebra': none of its words is in the model's vocabulary" in caplog.text
