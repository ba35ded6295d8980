"""The real BEIR SciFact folder (../shared/data/beir_scifact): BM25 reproduces its README, and
matching the words GloVe lacks and stems helps there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from data_prep.glove import stem_groups
from modeling.evaluation.runner import dense_runs_by_part, evaluate_system, score_runs
from modeling.evaluation.tasks import load_beir_tasks
from modeling.tokenization_two_tower import encode_ids

BEIR_DIR = Path(
    os.environ.get("BEIR_DIR", Path(__file__).resolve().parents[3] / "shared/data/beir_scifact")
)


@pytest.fixture(scope="module")
def scifact_tasks():
    if not (BEIR_DIR / "corpus.jsonl").exists():
        pytest.fail(f"BEIR SciFact not found in {BEIR_DIR}; set BEIR_DIR.")
    return load_beir_tasks(BEIR_DIR)


def test_scifact_train_is_read_whole(scifact_tasks):
    (task,) = scifact_tasks
    assert task.name == "scifact-train"
    assert (len(task.queries), len(task.collection)) == (809, 5183)
    assert sum(len(judged) for judged in task.qrels.values()) == 919


def test_bm25_reproduces_the_readme_figures(scifact_tasks):
    results = evaluate_system("bm25", scifact_tasks, throughput_passages=0, progress_bar=False)
    assert results["scifact-train/nDCG@10"] == pytest.approx(0.695, abs=0.002)
    assert results["scifact-train/R@100"] == pytest.approx(0.926, abs=0.002)


def test_a_lexical_part_that_matches_unknown_words_and_stems_ranks_better(scifact_tasks, glove):
    """SciFact's claims are full of words GloVe lacks (genes, drugs, codes) and their abstracts
    repeat them; an untrained lexical part (every word weighs the same) ranks the abstracts
    better when it matches those words (``hash_unknown_words``) and stems (``lexical_stems``)."""
    from modeling import TwoTowerModel, TwoTowerTokenizerFast
    from modeling.retrieval.encoders import DenseEncoder

    tokenizer = TwoTowerTokenizerFast.from_vocabulary(glove.words, drop_stopwords=True)
    claims = [text for (task,) in [scifact_tasks] for text in task.queries.values()]
    ids = encode_ids(tokenizer, claims, 32, hash_unknown_words=True)
    with_unknown = sum(any(token >= len(glove.words) for token in row) for row in ids)
    assert with_unknown / len(claims) > 0.4  # more than 2 in 5 claims hold an unknown word

    class Untrained(DenseEncoder):
        def __init__(self, **matching):
            torch.manual_seed(0)
            groups = stem_groups(glove.words) if matching.get("lexical_stems") else None
            self.model = TwoTowerModel.from_glove(
                torch.from_numpy(glove.vectors), stem_groups=groups, hidden_size=8,
                lexical_buckets=16384, **matching,
            ).eval()  # fmt: skip
            self.lexical_buckets, self.name = 16384, str(matching)

        def encode_queries(self, texts, progress_bar=False):
            return self.model.encode_queries(list(texts), tokenizer).numpy()

        def encode_passages(self, texts, progress_bar=False, max_length=None):
            return self.model.encode_passages(list(texts), tokenizer, max_length=max_length).numpy()

    ndcg = {}
    for matching in (
        {},
        {"hash_unknown_words": True},
        {"hash_unknown_words": True, "lexical_stems": True},
    ):
        runs = dense_runs_by_part(
            Untrained(**matching), scifact_tasks, ("lexical",), progress_bar=False
        )
        ndcg[len(matching)] = score_runs(runs["lexical"], scifact_tasks)["scifact-train/nDCG@10"]
    assert ndcg[0] + 0.05 < ndcg[1] < ndcg[2], ndcg
