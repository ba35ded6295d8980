"""Losses and in-batch metrics on cases small enough to check by hand."""

import math

import pytest
import torch

from modeling.training.in_batch_metrics import in_batch_metrics, recall_at_k, similarity_gap
from modeling.training.losses import distillation_loss, full_batch_triplet_loss, info_nce_loss

# Two queries, two passages, one positive each: cosines q0 -> [1, 0], q1 -> [0.6, 0.8].
Q2 = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
P2 = torch.eye(2)
M2 = torch.eye(2, dtype=torch.bool)

# q0 has two positives (p0, p1), q1 one (p2): cosines q0 -> [1, .8, 0], q1 -> [0, .6, 1].
Q3 = torch.eye(2)
P3 = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
M3 = torch.tensor([[True, True, False], [False, False, True]])


def test_triplet_loss_hand_computed():
    # (q0,p0) vs p1: relu(.5 - 1 + 0) = 0; (q1,p1) vs p0: relu(.5 - .8 + .6) = .3
    assert full_batch_triplet_loss(Q2, P2, M2, margin=0.5).item() == pytest.approx(0.15)


def test_triplet_loss_never_draws_a_query_own_positive():
    # A wrong draw of p1 for (q0, p0) would add relu(.5 - 1 + .8) = .3; q1's draw gives 0 or .1.
    seen = set()
    for seed in range(30):
        generator = torch.Generator().manual_seed(seed)
        loss = full_batch_triplet_loss(Q3, P3, M3, margin=0.5, generator=generator).item()
        seen.add(round(loss, 6))
    assert seen == {0.0, round(0.1 / 3, 6)}


def test_info_nce_hand_computed():
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(-0.2))) / 2
    assert info_nce_loss(Q2, P2, M2, temperature=1.0).item() == pytest.approx(expected)


def test_info_nce_leaves_other_positives_out_of_the_denominator():
    terms = [
        math.log(math.exp(1) + math.exp(0)) - 1,  # (q0, p0): p1 is not a negative
        math.log(math.exp(0.8) + math.exp(0)) - 0.8,  # (q0, p1)
        math.log(math.exp(0) + math.exp(0.6) + math.exp(1)) - 1,  # (q1, p2)
    ]
    assert info_nce_loss(Q3, P3, M3, temperature=1.0).item() == pytest.approx(sum(terms) / 3)


def test_distillation_loss_hand_computed():
    # Student rows: q0 -> softmax([1, 0]), q1 -> softmax([.6, .8]); the teacher (3-d, other
    # vectors) gives q0 -> softmax([0, 0]) = uniform and q1 -> softmax([1, 0]).
    teacher_q = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    teacher_p = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

    def kl(t, s):
        t, s = torch.tensor(t).softmax(0), torch.tensor(s).softmax(0)
        return (t * (t.log() - s.log())).sum().item()

    expected = (kl([0.0, 0.0], [1.0, 0.0]) + kl([1.0, 0.0], [0.6, 0.8])) / 2
    loss = distillation_loss(Q2, P2, teacher_q, teacher_p, temperature=1.0, teacher_temperature=1.0)
    assert loss.item() == pytest.approx(expected)
    # A student that scores like its teacher has nothing to learn.
    assert distillation_loss(Q3, P3, Q3, P3).item() == pytest.approx(0.0, abs=1e-6)


def test_losses_reject_batches_without_negatives():
    with pytest.raises(ValueError, match="at least 2 queries"):
        info_nce_loss(Q2[:1], P2[:1], M2[:1, :1])


def test_in_batch_metrics_hand_computed():
    scores = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8]])
    mask = torch.tensor([[False, True, False], [False, False, True]])
    assert recall_at_k(scores, mask, 1) == 0.5  # q0 ranks p0 first (a miss), q1 finds p2
    assert recall_at_k(scores, mask, 2) == 0.5  # q0's positive is last of three
    assert recall_at_k(scores, mask, 5) == 1.0  # k beyond the batch: everything retrieved
    assert similarity_gap(scores, mask) == pytest.approx(
        (0.1 + 0.8) / 2 - (0.9 + 0.5 + 0.2 + 0.3) / 4
    )
    assert set(in_batch_metrics(scores, mask)) == {"recall@1", "recall@5", "gap"}


def test_queries_without_positive_are_left_out():
    scores = torch.tensor([[0.9, 0.1], [0.2, 0.3]])
    mask = torch.tensor([[True, False], [False, False]])
    assert recall_at_k(scores, mask, 1) == 1.0
