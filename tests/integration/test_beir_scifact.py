"""The real BEIR SciFact folder (../shared/data/beir_scifact): BM25 reproduces its README."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modeling.evaluation.runner import evaluate_system
from modeling.evaluation.tasks import load_beir_tasks

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
