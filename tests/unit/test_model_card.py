"""The model card of a checkpoint folder: which row of the evaluation table is this model, and
nothing secret or local in the card (the card as pushed: tests/integration/test_push_to_hub.py)."""

from pathlib import Path

import pytest
from tiny import TINY_EVAL, save_tiny_checkpoint

EVAL = TINY_EVAL


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


def test_card_reports_a_beir_task_of_the_evaluation_json(tmp_path):
    from modeling.hub.model_card import build_model_card

    folder = save_tiny_checkpoint(tmp_path / "two_tower_tiny", lexical_buckets=16)
    results = {name: dict(values) for name, values in EVAL.items()}
    results["two_tower_tiny"]["scifact-train/nDCG@10"] = 0.5071
    results["BM25"]["scifact-train/nDCG@10"] = 0.6941
    card = build_model_card(folder, eval_results=results)
    header = next(line for line in card.content.splitlines() if line.startswith("| system"))
    assert "scifact-train/nDCG@10" in header
    assert "0.507" in card.content and "0.694" in card.content
    assert "BEIR SciFact's 809 train claims" in card.content  # the task described
    scifact = [r for r in card.data.eval_results if r.dataset_type == "scifact-train"]
    assert [r.metric_value for r in scifact] == [0.5071]


def test_card_says_how_the_lexical_part_matches_words():
    from modeling.hub.model_card import _architecture

    def output(config: dict) -> str:
        rows = dict(_architecture({"hidden_size": 8, "lexical_buckets": 16, **config}, Path()))
        return next(value for value in rows.values() if "bucket hashed bag" in value)

    plain = output({})
    assert "stem" not in plain and "outside GloVe" not in plain
    both = output({"lexical_stems": True, "hash_unknown_words": True})
    assert both.endswith(
        "; words match by their Snowball stem and words outside GloVe included, as written"
    )
