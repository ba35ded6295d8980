"""The model card of a checkpoint folder: which row of the evaluation table is this model, and
nothing secret or local in the card (the card as pushed: tests/integration/test_push_to_hub.py)."""

import pytest
from tiny import save_tiny_checkpoint

EVAL = {
    "two_tower_tiny": {
        "dev600-rerank/MRR@10": 0.2468,
        "dev600-retrieve/MRR@10": 0.1357,
        "dev600-retrieve/R@100": 0.8642,
        "dl19-pool/nDCG@10": 0.3141,
        "passages_per_s": 31234.5,
    },
    "BM25": {"dev600-rerank/MRR@10": 0.384, "dev600-retrieve/R@100": 0.998, "passages_per_s": 812},
}


def test_card_needs_to_know_which_system_it_is_and_hides_secrets_and_paths(tmp_path):
    from modeling.hub.model_card import build_model_card

    folder = save_tiny_checkpoint(tmp_path / "two_tower_tiny", lexical_buckets=16)
    renamed = {"run-7": EVAL["two_tower_tiny"], "BM25": EVAL["BM25"]}
    with pytest.raises(ValueError, match="pass --eval_system"):
        build_model_card(folder, eval_results=renamed)
    training = {"hub_token": "hf_secret", "output_dir": "/home/me/out", "learning_rate": 0.001}
    training["data"] = {"train_file": "/home/me/data/pairs.jsonl"}
    card = build_model_card(
        folder, eval_results=renamed, eval_system="run-7", training_args=training
    )
    assert "hf_secret" not in card.content and "/home/me" not in card.content
    assert "| `data.train_file` | pairs.jsonl |" in card.content
    assert "| **two_tower_tiny** (this model) | 0.247 |" in card.content  # named by its folder
    assert "| BM25 | 0.384 |" in card.content
