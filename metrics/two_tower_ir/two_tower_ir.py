"""`evaluate` module: MRR@k, nDCG@k and Recall@k of a retrieval run against graded qrels.

Load it by path (it is not on the Hub): ``evaluate.load("metrics/two_tower_ir")`` from the
repository root. The figures come from ``modeling.evaluation.ir_metrics``, the project's single
implementation (trec_eval's conventions), so the installed project must be importable.
Deliberately left out: per-query values (``ir_metrics.per_query`` gives them).
"""

import datasets
import evaluate

from modeling.evaluation.ir_metrics import from_columns, mean_metrics

DEFAULT_METRICS = ("MRR@10", "nDCG@10", "R@100")

_DESCRIPTION = """Mean MRR@k, nDCG@k (linear gains) and Recall@k over the queries of the qrels.
A query with no relevant passage, or missing from the run, scores 0; run queries absent from
the qrels are ignored; ties rank the larger passage id first (as trec_eval)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: Runs, one row per part: ``{"query_id": [...], "passage_id": [...],
        "score": [...]}`` (parallel lists; ``ir_metrics.to_columns(run, "score")`` builds one).
    references: Qrels, one row per part: ``{"query_id": [...], "passage_id": [...],
        "grade": [...]}`` (``ir_metrics.to_columns(qrels, "grade")``). The rows of each side
        are joined into one run and one qrels before scoring.
    metrics: Names such as ``"MRR@10"``, ``"nDCG@10"``, ``"R@100"`` (default: those three).
    relevance_level: Smallest grade counted relevant by MRR and Recall (default 1).
Returns:
    ``{metric: mean}``, e.g. ``{"MRR@10": 0.31, "nDCG@10": 0.42, "R@100": 0.87}``.
Example:
    >>> ir = evaluate.load("metrics/two_tower_ir")
    >>> run = {"query_id": ["q1", "q1"], "passage_id": ["a", "b"], "score": [0.9, 0.2]}
    >>> qrels = {"query_id": ["q1"], "passage_id": ["b"], "grade": [1]}
    >>> ir.compute(predictions=[run], references=[qrels], metrics=["MRR@10"])
    {'MRR@10': 0.5}
"""


def _columns(value: datasets.Value) -> dict:
    strings = datasets.Sequence(datasets.Value("string"))
    return {"query_id": strings, "passage_id": strings, **value}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class TwoTowerIR(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": _columns(
                        {"score": datasets.Sequence(datasets.Value("float64"))}
                    ),
                    "references": _columns({"grade": datasets.Sequence(datasets.Value("int64"))}),
                }
            ),
        )

    def _compute(self, predictions, references, metrics=DEFAULT_METRICS, relevance_level=1):
        run = _join(predictions, "score")
        qrels = _join(references, "grade")
        return mean_metrics(run, qrels, list(metrics), relevance_level)


def _join(rows: list[dict], value: str) -> dict[str, dict]:
    return from_columns(
        [qid for row in rows for qid in row["query_id"]],
        [pid for row in rows for pid in row["passage_id"]],
        [number for row in rows for number in row[value]],
    )
