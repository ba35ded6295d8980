"""IR metrics against pytrec_eval and ir_measures on a real BM25 run (TREC DL 2019 pool)."""

from __future__ import annotations

import pytest

from modeling.evaluation.ir_metrics import mean_metrics, per_query


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
