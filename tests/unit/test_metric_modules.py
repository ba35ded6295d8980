"""The `evaluate` modules in metrics/: hand-checked toy cases, and the same figures as the pure
functions they wrap (modeling.evaluation.ir_metrics, modeling.training.in_batch_metrics)."""

from pathlib import Path

import evaluate
import pytest
import torch

from modeling.evaluation.ir_metrics import mean_metrics, to_columns
from modeling.training.in_batch_metrics import in_batch_metrics

METRICS = Path(__file__).resolve().parents[2] / "metrics"

# q1 ranks c, a, b: its relevant b (grade 2) is 3rd, a (grade 1) 2nd. q2 ranks x, y: y relevant.
# q3 is judged but missing from the run (scores 0); q9 is in the run but not judged (ignored).
RUN = {
    "q1": {"a": 0.5, "b": 0.1, "c": 0.9},
    "q2": {"x": 0.7, "y": 0.6},
    "q9": {"z": 1.0},
}
QRELS = {"q1": {"a": 1, "b": 2, "c": 0}, "q2": {"y": 1}, "q3": {"w": 1}}


@pytest.fixture(scope="module")
def ir():
    return evaluate.load(str(METRICS / "two_tower_ir"))


@pytest.fixture(scope="module")
def in_batch():
    return evaluate.load(str(METRICS / "two_tower_in_batch"))


def test_ir_module_on_a_toy_run_checked_by_hand(ir):
    got = ir.compute(
        predictions=[to_columns(RUN, "score")],
        references=[to_columns(QRELS, "grade")],
        metrics=["MRR@10", "MRR@1", "R@2", "nDCG@3"],
    )
    # MRR@10: q1 first relevant at rank 2, q2 at rank 2, q3 none: (1/2 + 1/2 + 0) / 3.
    assert got["MRR@10"] == pytest.approx(1 / 3)
    assert got["MRR@1"] == 0.0
    # R@2: q1 finds a of {a, b}, q2 finds y of {y}, q3 nothing: (1/2 + 1 + 0) / 3.
    assert got["R@2"] == pytest.approx(0.5)
    # nDCG@3 of q1: (0/log2 2 + 1/log2 3 + 2/log2 4) / (2/log2 2 + 1/log2 3); q2: (1/log2 3) / 1.
    log2_3 = torch.log2(torch.tensor(3.0, dtype=torch.float64)).item()
    q1 = (1 / log2_3 + 2 / 2) / (2 + 1 / log2_3)
    assert got["nDCG@3"] == pytest.approx((q1 + 1 / log2_3 + 0) / 3)
    assert got == pytest.approx(mean_metrics(RUN, QRELS, ["MRR@10", "MRR@1", "R@2", "nDCG@3"]))


def test_ir_module_joins_rows_added_in_parts(ir):
    whole = ir.compute(
        predictions=[to_columns(RUN, "score")], references=[to_columns(QRELS, "grade")]
    )
    for qid in RUN:
        ir.add(prediction=to_columns({qid: RUN[qid]}, "score"), reference=to_columns({}, "grade"))
    ir.add_batch(predictions=[to_columns({}, "score")], references=[to_columns(QRELS, "grade")])
    assert ir.compute() == whole
    assert set(whole) == {"MRR@10", "nDCG@10", "R@100"}


def test_ir_module_rejects_a_pair_scored_twice(ir):
    run = {"query_id": ["q1", "q1"], "passage_id": ["a", "a"], "score": [0.5, 0.4]}
    with pytest.raises(ValueError, match="appears twice"):
        ir.compute(predictions=[run], references=[to_columns(QRELS, "grade")])


def test_in_batch_module_on_toy_batches_checked_by_hand(in_batch):
    # Batch 1 (2 queries): q1's top passage is its positive, q2's is not; positives score
    # 0.9 and 0.5, negatives 0.1 and 0.7 -> gap (0.9 + 0.5) / 2 - (0.1 + 0.7) / 2 = 0.3.
    first = ([[0.9, 0.1], [0.7, 0.5]], [[True, False], [False, True]])
    # Batch 2 (1 query, top passage positive): recall 1, gap 0.8 - 0.2 = 0.6.
    second = ([[0.8, 0.2]], [[True, False]])
    got = in_batch.compute(predictions=[first[0], second[0]], references=[first[1], second[1]])
    assert got["recall@1"] == pytest.approx((0.5 * 2 + 1.0 * 1) / 3)
    assert got["recall@5"] == pytest.approx(1.0)
    assert got["gap"] == pytest.approx((0.3 * 2 + 0.6 * 1) / 3)


def test_in_batch_module_equals_the_function_on_one_batch(in_batch):
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(7, 11, generator=generator)
    mask = torch.zeros(7, 11, dtype=torch.bool)
    mask[torch.arange(7), torch.arange(7)] = True  # in-batch positives on the diagonal
    got = in_batch.compute(predictions=[scores.tolist()], references=[mask.tolist()])
    assert got == pytest.approx(in_batch_metrics(scores, mask), rel=1e-6)


def test_in_batch_module_rejects_mismatched_shapes(in_batch):
    with pytest.raises(ValueError, match="differ in shape"):
        in_batch.compute(predictions=[[[0.1, 0.2]]], references=[[[True], [False]]])
