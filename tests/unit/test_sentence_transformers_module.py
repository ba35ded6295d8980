"""Every saved checkpoint loads as ``SentenceTransformer(folder, trust_remote_code=True)``, and
its ``encode_query`` / ``encode_document`` are the model's own two towers, lengths and scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from data_prep.glove import stem_groups
from modeling import TwoTowerModel, TwoTowerTokenizerFast

sentence_transformers = pytest.importorskip("sentence_transformers")
SentenceTransformer = sentence_transformers.SentenceTransformer

REPO = Path(__file__).resolve().parents[2]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "what", "is", "where", "?"]
WORDS += ["<pad>", "<unk>"]  # 13 rows: from_glove puts <pad> and <unk> last
# Lengths 3 and 5 tokens: the long texts below are cut differently by the two towers.
QUERIES = ["what is the cat", "", "where is a dog ? the cat sat on the mat", "zebra", "the"]
PASSAGES = ["the cat sat on the mat", "", "a dog sat on the mat , the cat is on a dog", "zebras"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained tiny checkpoint (the towers' random weights differ), saved as train.py does."""
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(
        torch.randn(13, 7),
        stem_groups=stem_groups(WORDS),
        hidden_size=5,
        lexical_buckets=16,
        hash_unknown_words=True,  # "zebra" and "zebras" get their own ids, as encode_* gives
        lexical_stems=True,
        query_max_length=3,
        passage_max_length=5,
    ).eval()
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    folder = tmp_path_factory.mktemp("st") / "tiny"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    queries = model.encode_queries(QUERIES, tokenizer=tokenizer)
    passages = model.encode_passages(PASSAGES, tokenizer=tokenizer)
    return folder, queries, passages


def test_checkpoint_carries_the_sentence_transformers_files(checkpoint):
    folder, _, _ = checkpoint
    modules = json.loads((folder / "modules.json").read_text())
    assert modules == [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformer_two_tower.TwoTowerModule"}
    ]
    shipped = REPO / "modeling" / "sentence_transformer_two_tower.py"
    assert (folder / shipped.name).read_bytes() == shipped.read_bytes()
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["similarity_fn_name"] == "dot"
    assert config["prompts"] == {"query": "", "document": ""}


def test_encode_query_and_document_equal_the_models_own_towers(checkpoint):
    folder, queries, passages = checkpoint
    model = SentenceTransformer(str(folder), trust_remote_code=True)
    q = model.encode_query(QUERIES, convert_to_tensor=True)
    d = model.encode_document(PASSAGES, convert_to_tensor=True)
    assert q.shape == (len(QUERIES), 10 + 16) and d.shape == (len(PASSAGES), 10 + 16)
    assert (q - queries).abs().max() < 1e-6
    assert (d - passages).abs().max() < 1e-6
    # The towers and lengths differ, so a wrong tower or length could not pass the checks above.
    as_passages = model.encode_document(QUERIES, convert_to_tensor=True)
    assert (as_passages - queries).abs().max() > 1e-2
    assert model.get_embedding_dimension() == 26


def test_similarity_is_the_dot_product_and_plain_encode_is_the_passage_tower(checkpoint):
    folder, queries, passages = checkpoint
    model = SentenceTransformer(str(folder), trust_remote_code=True)
    assert model.similarity_fn_name == "dot"
    scores = model.similarity(queries, passages)
    assert torch.allclose(scores, queries @ passages.T, atol=1e-6)
    assert not torch.allclose(scores, torch.nn.functional.normalize(queries) @ passages.T.float())
    plain = model.encode(PASSAGES, convert_to_tensor=True)
    assert (plain - passages).abs().max() < 1e-6
    with pytest.raises(ValueError, match="encode_query"):
        model.encode(QUERIES, task="summary")


def test_sentence_transformers_save_round_trip(checkpoint, tmp_path):
    folder, queries, passages = checkpoint
    SentenceTransformer(str(folder), trust_remote_code=True).save(str(tmp_path / "resaved"))
    model = SentenceTransformer(str(tmp_path / "resaved"), trust_remote_code=True)
    assert model.similarity_fn_name == "dot"
    assert (model.encode_query(QUERIES, convert_to_tensor=True) - queries).abs().max() < 1e-6
    assert (model.encode_document(PASSAGES, convert_to_tensor=True) - passages).abs().max() < 1e-6


def test_loading_without_trust_remote_code_is_refused_with_the_fix(checkpoint):
    folder, _, _ = checkpoint
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        SentenceTransformer(str(folder))


def test_push_script_sends_the_module_and_refuses_a_folder_missing_it(checkpoint, tmp_path):
    from script_loader import load_script

    checkpoint_files = load_script("push_to_hub").checkpoint_files
    folder, _, _ = checkpoint
    names = {"modules.json", "config_sentence_transformers.json"}
    names.add("sentence_transformer_two_tower.py")
    assert names <= set(checkpoint_files(folder))
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "sentence_transformer_two_tower.py").unlink()
    with pytest.raises(ValueError, match=r"sentence_transformer_two_tower\.py \(remote code"):
        checkpoint_files(broken)
