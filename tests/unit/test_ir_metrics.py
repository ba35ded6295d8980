"""IR metrics on hand-checkable toy cases (agreement with pytrec_eval on a real run:
tests/integration/test_ir_metrics_reference.py)."""

from __future__ import annotations

import math

import pytest

from modeling.evaluation.ir_metrics import (
    mean_metrics,
    mrr_at_k,
    ndcg_at_k,
    parse_metric,
    per_query,
    ranked_ids,
    recall_at_k,
)


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_passage():
    run = {"q": {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6}}
    qrels = {"q": {"c": 1, "d": 1, "a": 0}}
    assert mrr_at_k(run, qrels, k=10) == pytest.approx(1 / 3)
    assert mrr_at_k(run, qrels, k=2) == 0.0  # first relevant at rank 3 is past the cut-off


def test_ndcg_uses_the_grades_as_gains():
    run = {"q": {"b": 2.0, "a": 1.0}}
    qrels = {"q": {"a": 3, "b": 1, "z": 0}}
    dcg = 1 / math.log2(2) + 3 / math.log2(3)  # b (grade 1) first, a (grade 3) second
    ideal = 3 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(run, qrels, k=10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(run, qrels, k=1) == pytest.approx(1 / 3)  # top-1: gain 1 of ideal 3
    perfect = {"q": {"a": 2.0, "b": 1.0}}
    assert ndcg_at_k(perfect, qrels, k=10) == pytest.approx(1.0)


def test_k_larger_than_the_ranked_list():
    run = {"q": {"a": 0.5, "x": 0.4, "y": 0.3}}
    qrels = {"q": {"a": 1, "b": 1}}  # b was never retrieved
    assert recall_at_k(run, qrels, k=100) == pytest.approx(0.5)
    assert mrr_at_k(run, qrels, k=1000) == 1.0
    assert ndcg_at_k(run, qrels, k=100) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ties_break_by_descending_passage_id_like_trec_eval():
    assert ranked_ids({"a": 1.0, "c": 1.0, "b": 1.0, "d": 2.0}) == ["d", "c", "b", "a"]
    run = {"q": {"a": 1.0, "b": 1.0, "x": 1.0}}
    assert mrr_at_k(run, {"q": {"a": 1}}, k=10) == pytest.approx(1 / 3)  # x, b, a
    assert mrr_at_k(run, {"q": {"x": 1}}, k=10) == 1.0


def test_queries_without_relevant_or_without_results_count_as_zero():
    run = {"q1": {"a": 1.0}, "q2": {"b": 1.0}, "extra": {"a": 1.0}}
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}, "q3": {"c": 2}}  # q2: none relevant; q3: no run
    assert per_query(run, qrels, "MRR@10") == {"q1": 1.0, "q2": 0.0, "q3": 0.0}
    means = mean_metrics(run, qrels, ["MRR@10", "nDCG@10", "R@10"])
    assert means == pytest.approx({"MRR@10": 1 / 3, "nDCG@10": 1 / 3, "R@10": 1 / 3})


def test_relevance_level_decides_what_counts_as_relevant():
    run = {"q": {"a": 2.0, "b": 1.0}}
    qrels = {"q": {"a": 1, "b": 2}}
    assert mrr_at_k(run, qrels, k=10, relevance_level=2) == pytest.approx(0.5)
    assert recall_at_k(run, qrels, k=1, relevance_level=2) == 0.0


def test_metric_names_are_validated():
    assert parse_metric("Recall@100") == ("R", 100)
    assert parse_metric("nDCG@10") == ("nDCG", 10)
    for bad in ("MAP@10", "MRR", "ndcg@10"):
        with pytest.raises(ValueError, match="MRR@k"):
            parse_metric(bad)
    with pytest.raises(ValueError, match="positive"):
        parse_metric("MRR@0")
    with pytest.raises(ValueError, match="empty"):
        mean_metrics({}, {}, ["MRR@10"])
