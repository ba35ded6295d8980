"""IR metrics: hand-checkable toy cases, then agreement with pytrec_eval on a real BM25 run."""

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


@pytest.fixture(scope="module")
def dl19_bm25_run(msmarco_dir):
    """A real run: BM25 over the TREC DL 2019 pool, top 100 per query, with graded qrels."""
    from modeling.evaluation.runner import bm25_runs
    from modeling.evaluation.tasks import load_tasks

    (task,) = load_tasks(msmarco_dir, ["dl19-pool"])
    return bm25_runs([task])["dl19-pool"], task.qrels


def test_agrees_with_pytrec_eval_on_a_real_run(dl19_bm25_run):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    run, qrels = dl19_bm25_run
    # Rounded scores create many ties, so the tie-break is checked on real data as well.
    rounded = {qid: {pid: round(s, 0) for pid, s in scores.items()} for qid, scores in run.items()}
    assert sum(len(s) - len(set(s.values())) for s in rounded.values()) > 1000  # ties exist
    measures = {"recip_rank", "ndcg_cut.10", "ndcg_cut.5", "recall.100", "recall.10"}
    ours = {"recip_rank": "MRR@1000", "ndcg_cut_10": "nDCG@10", "ndcg_cut_5": "nDCG@5",
            "recall_100": "R@100", "recall_10": "R@10"}  # fmt: skip
    for candidate in (run, rounded):
        reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(candidate)
        for trec_name, metric in ours.items():
            mine = per_query(candidate, qrels, metric)
            for qid, values in reference.items():
                assert mine[qid] == pytest.approx(values[trec_name], abs=1e-6), (qid, metric)
    strict = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}, relevance_level=2)
    reference = strict.evaluate(rounded)
    mine = per_query(rounded, qrels, "MRR@1000", relevance_level=2)
    assert all(mine[q] == pytest.approx(v["recip_rank"], abs=1e-6) for q, v in reference.items())


def test_means_agree_with_ir_measures(dl19_bm25_run):
    ir_measures = pytest.importorskip("ir_measures")
    run, qrels = dl19_bm25_run
    reference = ir_measures.calc_aggregate(
        [ir_measures.nDCG @ 10, ir_measures.RR @ 10, ir_measures.R @ 100], qrels, run
    )
    ours = mean_metrics(run, qrels, ["nDCG@10", "MRR@10", "R@100"])
    assert ours["nDCG@10"] == pytest.approx(reference[ir_measures.nDCG @ 10], abs=1e-6)
    assert ours["MRR@10"] == pytest.approx(reference[ir_measures.RR @ 10], abs=1e-6)
    assert ours["R@100"] == pytest.approx(reference[ir_measures.R @ 100], abs=1e-6)
