"""Standard IR metrics over a run and graded qrels: MRR@k, nDCG@k and Recall@k.

A *run* maps each query id to the scores of the passages retrieved for it,
``{qid: {pid: score}}``; *qrels* map each query id to judged passages, ``{qid: {pid: grade}}``
(grade >= ``relevance_level`` counts as relevant; 0 or unjudged is not relevant).

The conventions are trec_eval's (and so pytrec_eval's and ir-measures'), so figures agree with
theirs to float precision:

- A query's passages are ranked by score, highest first; ties go to the larger passage id in
  string order (trec_eval sorts by score, then docno, both descending).
- nDCG gains are the grades themselves (linear, as trec_eval's ``ndcg_cut``), discounted by
  ``log2(rank + 1)``; the ideal ranking uses every judged passage of the query.
- A query with no relevant passage scores 0 on every metric; a query of the qrels missing from
  the run scores 0; queries of the run absent from the qrels are ignored. Means are over all
  queries of the qrels.

Deliberately left out: the in-batch recall@1/5 and gap used during training (``metrics.py``),
and trec_eval's other measures (MAP, P@k, ...); ``ir_measures`` computes those when needed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

_METRIC_PATTERN = re.compile(r"^(MRR|nDCG|R|Recall)@(\d+)$")


def ranked_ids(scores: Mapping[str, float], k: int | None = None) -> list[str]:
    """Passage ids by descending score, ties by descending id (trec_eval's order), cut at ``k``.

    Args:
        scores: ``{pid: score}`` for one query.
        k: Keep the first ``k`` ids; None keeps all.
    """
    order = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return [pid for pid, _ in order[:k]]


def reciprocal_rank(
    scores: Mapping[str, float], judged: Mapping[str, int], k: int, relevance_level: int = 1
) -> float:
    """``1 / rank`` of the first relevant passage within the top ``k``; 0 if there is none."""
    _check_k(k)
    for rank, pid in enumerate(ranked_ids(scores, k), start=1):
        if judged.get(pid, 0) >= relevance_level:
            return 1.0 / rank
    return 0.0


def ndcg(scores: Mapping[str, float], judged: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain of the top ``k`` with the grades as gains."""
    _check_k(k)
    dcg = sum(
        max(judged.get(pid, 0), 0) / math.log2(rank + 1)
        for rank, pid in enumerate(ranked_ids(scores, k), start=1)
    )
    ideal_grades = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal_grades, start=1))
    return dcg / ideal if ideal > 0 else 0.0


def recall(
    scores: Mapping[str, float], judged: Mapping[str, int], k: int, relevance_level: int = 1
) -> float:
    """Share of the query's relevant passages found in the top ``k``; 0 if none is relevant."""
    _check_k(k)
    relevant = {pid for pid, grade in judged.items() if grade >= relevance_level}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked_ids(scores, k))) / len(relevant)


def per_query(run: Run, qrels: Qrels, metric: str, relevance_level: int = 1) -> dict[str, float]:
    """One metric for every query of the qrels (0 where the run has no entry for it).

    Args:
        run: ``{qid: {pid: score}}``.
        qrels: ``{qid: {pid: grade}}``.
        metric: ``"MRR@k"``, ``"nDCG@k"`` or ``"R@k"`` (also spelled ``"Recall@k"``).
        relevance_level: Smallest grade that counts as relevant for MRR and Recall (nDCG uses
            the grades directly).
    """
    name, k = parse_metric(metric)
    values = {}
    for qid, judged in qrels.items():
        scores = run.get(qid, {})
        if name == "MRR":
            values[qid] = reciprocal_rank(scores, judged, k, relevance_level)
        elif name == "nDCG":
            values[qid] = ndcg(scores, judged, k)
        else:
            values[qid] = recall(scores, judged, k, relevance_level)
    return values


def mean_metrics(
    run: Run, qrels: Qrels, metrics: Iterable[str], relevance_level: int = 1
) -> dict[str, float]:
    """Mean of each metric over the queries of the qrels, e.g. ``{"MRR@10": 0.38}``."""
    if not qrels:
        raise ValueError("The qrels are empty: there is no query to average over.")
    means = {}
    for metric in metrics:
        values = per_query(run, qrels, metric, relevance_level)
        means[metric] = sum(values.values()) / len(values)
    return means


def mrr_at_k(run: Run, qrels: Qrels, k: int = 10, relevance_level: int = 1) -> float:
    """Mean reciprocal rank of the first relevant passage in the top ``k``."""
    return mean_metrics(run, qrels, [f"MRR@{k}"], relevance_level)[f"MRR@{k}"]


def ndcg_at_k(run: Run, qrels: Qrels, k: int = 10) -> float:
    """Mean nDCG@k with graded (linear) gains."""
    return mean_metrics(run, qrels, [f"nDCG@{k}"])[f"nDCG@{k}"]


def recall_at_k(run: Run, qrels: Qrels, k: int = 100, relevance_level: int = 1) -> float:
    """Mean share of relevant passages retrieved in the top ``k``."""
    return mean_metrics(run, qrels, [f"R@{k}"], relevance_level)[f"R@{k}"]


def to_columns(pairs: Run | Qrels, value: str) -> dict[str, list]:
    """``{qid: {pid: value}}`` -> parallel lists ``{"query_id", "passage_id", value}``: one row
    of the ``two_tower_ir`` evaluate module (``value`` is ``"score"`` for a run, ``"grade"`` for
    qrels)."""
    columns: dict[str, list] = {"query_id": [], "passage_id": [], value: []}
    for qid, values in pairs.items():
        for pid, number in values.items():
            columns["query_id"].append(qid)
            columns["passage_id"].append(pid)
            columns[value].append(number)
    return columns


def from_columns(
    query_ids: Iterable[str], passage_ids: Iterable[str], values: Iterable[float]
) -> dict[str, dict[str, float]]:
    """Parallel lists -> ``{qid: {pid: value}}``, the inverse of `to_columns`."""
    pairs: dict[str, dict[str, float]] = {}
    for qid, pid, number in zip(query_ids, passage_ids, values, strict=True):
        query = pairs.setdefault(qid, {})
        if pid in query:
            raise ValueError(
                f"Passage {pid!r} appears twice for query {qid!r}: give each (query, passage) "
                "pair one score or grade."
            )
        query[pid] = number
    return pairs


def parse_metric(metric: str) -> tuple[str, int]:
    """``"nDCG@10"`` -> ``("nDCG", 10)``; ``"Recall@k"`` is read as ``"R@k"``."""
    match = _METRIC_PATTERN.match(metric)
    if match is None:
        raise ValueError(
            f"Unknown metric {metric!r}: use MRR@k, nDCG@k or R@k with a positive integer k "
            "(e.g. MRR@10, nDCG@10, R@100)."
        )
    name, k = match.group(1), int(match.group(2))
    _check_k(k)
    return ("R" if name == "Recall" else name), k


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be a positive integer (the rank cut-off), got {k}.")
