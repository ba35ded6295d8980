"""Contrastive losses over one batch of queries and passages.

Every loss takes ``query_embeds (B, d)``, ``passage_embeds (P, d)`` (L2-normalised, so dot
products are cosines) and ``positive_mask (B, P)``: ``positive_mask[i, j]`` is True when passage
``j`` answers query ``i``. Any passage that is not a positive of query ``i`` is a negative for it:
the other queries' positives (in-batch negatives) and any mined hard negatives. A query may have
several positives; each (query, positive) pair is one term of the loss. An optional
``ignore_mask (B, P)`` takes passages out of a query's negatives (distillation candidates the
teacher grades but the labels do not: possibly relevant, so never pushed down by rank alone).

The distillation losses compare the student's scores with a teacher's over each query's
``candidate_mask`` columns (its positives and the teacher's top passages, or every column when the
teacher embeds the whole batch).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("triplet", "infonce")  # the main loss; a distillation loss may be added to either
DISTILL_LOSSES = ("kl", "margin_mse")


def _positive_pairs(
    positive_mask: torch.Tensor, ignore_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    if positive_mask.dtype != torch.bool or positive_mask.dim() != 2:
        raise ValueError("positive_mask must be a 2-D bool tensor (queries x passages).")
    negatives = ~positive_mask if ignore_mask is None else ~positive_mask & ~ignore_mask
    if negatives.sum(dim=1).eq(0).any():
        raise ValueError("Every query needs a negative: use at least 2 queries per batch.")
    pair_q, pair_p = positive_mask.nonzero(as_tuple=True)  # (N,) each: one row per positive
    if pair_q.numel() == 0:
        raise ValueError("The batch has no positive pair.")
    return pair_q, pair_p


def full_batch_triplet_loss(
    query_embeds: torch.Tensor,
    passage_embeds: torch.Tensor,
    positive_mask: torch.Tensor,
    margin: float = 0.2,
    generator: torch.Generator | None = None,
    ignore_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The seed's triplet loss: ``mean(relu(margin - cos(q, p+) + cos(q, p-)))``.

    Each query is paired with each of its positives; each such positive is matched with one
    negative drawn uniformly from the batch passages that are not positives of that query.

    Args:
        margin: Required cosine gap between a positive and its drawn negative.
        generator: Random source of the negative draws (for reproducible runs).
        ignore_mask: ``(B, P)`` passages never drawn as the query's negatives.
    """
    pair_q, pair_p = _positive_pairs(positive_mask, ignore_mask)
    scores = query_embeds @ passage_embeds.T  # (B, P) cosine similarities
    negatives = ~positive_mask if ignore_mask is None else ~positive_mask & ~ignore_mask
    candidates = negatives[pair_q].float()  # (N, P): 1 where a negative may be drawn
    negative = torch.multinomial(candidates, 1, generator=generator).squeeze(1)  # (N,)
    positive_scores = scores[pair_q, pair_p]  # (N,)
    negative_scores = scores[pair_q, negative]  # (N,)
    return F.relu(margin - positive_scores + negative_scores).mean()


def info_nce_loss(
    query_embeds: torch.Tensor,
    passage_embeds: torch.Tensor,
    positive_mask: torch.Tensor,
    temperature: float = 0.05,
    ignore_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """In-batch InfoNCE: each (query, positive) pair is a softmax over that positive and all of
    the query's negatives (its other positives are left out of the denominator).

    Args:
        temperature: Divides the cosines before the softmax (smaller = sharper).
        ignore_mask: ``(B, P)`` passages left out of the query's denominator too.
    """
    pair_q, pair_p = _positive_pairs(positive_mask, ignore_mask)
    logits = query_embeds @ passage_embeds.T / temperature  # (B, P)
    left_out = positive_mask if ignore_mask is None else positive_mask | ignore_mask
    rows = logits[pair_q].masked_fill(left_out[pair_q], float("-inf"))  # (N, P) negatives
    rows[torch.arange(len(pair_q), device=rows.device), pair_p] = logits[pair_q, pair_p]
    return (torch.logsumexp(rows, dim=1) - logits[pair_q, pair_p]).mean()


def listwise_distillation_loss(
    scores: torch.Tensor,
    teacher_scores: torch.Tensor,
    candidate_mask: torch.Tensor,
    temperature: float = 0.05,
    teacher_temperature: float = 0.05,
) -> torch.Tensor:
    """KL(teacher || student) of each query's softmax over its candidates, mean over queries.

    The teacher grades every candidate, including the unlabelled relevant ones that labels only
    call "wrong". Queries with fewer than two candidates have no distribution and are skipped.

    Args:
        scores: ``(B, P)`` student scores (``q @ p.T``).
        teacher_scores: ``(B, P)`` teacher scores (cosines); read only where ``candidate_mask``.
        candidate_mask: ``(B, P)`` bool, the columns each query's distribution covers.
        temperature, teacher_temperature: Divide the student's and the teacher's scores.
    """
    rows = candidate_mask.sum(dim=1) >= 2  # (B,) queries with a distribution
    if not rows.any():
        return scores.sum() * 0.0  # no candidate list in this batch: no signal, graph kept
    mask = candidate_mask[rows]  # (R, P)
    student = F.log_softmax((scores[rows] / temperature).masked_fill(~mask, float("-inf")), 1)
    teacher = F.log_softmax(
        (teacher_scores[rows] / teacher_temperature).masked_fill(~mask, float("-inf")), 1
    )
    kl = torch.where(mask, teacher.exp() * (teacher - student), 0.0)  # (R, P): 0 off the list
    return kl.sum(dim=1).mean()


def margin_mse_loss(
    scores: torch.Tensor,
    teacher_scores: torch.Tensor,
    candidate_mask: torch.Tensor,
    positive_mask: torch.Tensor,
) -> torch.Tensor:
    """Margin-MSE (Hofstätter et al., 2020): for each query, each (positive, other candidate)
    pair's student margin ``s+ - s-`` regresses on the teacher's ``t+ - t-``; mean over pairs.

    Args:
        scores, teacher_scores, candidate_mask: As `listwise_distillation_loss`.
        positive_mask: ``(B, P)`` the labelled positives (each must be a candidate to count).
    """
    positives = positive_mask & candidate_mask  # (B, P)
    others = candidate_mask & ~positive_mask  # (B, P)
    margins = scores.unsqueeze(2) - scores.unsqueeze(1)  # (B, P+, P-)
    teacher_margins = teacher_scores.unsqueeze(2) - teacher_scores.unsqueeze(1)
    pairs = positives.unsqueeze(2) & others.unsqueeze(1)  # (B, P+, P-)
    if not pairs.any():
        return scores.sum() * 0.0
    return (margins - teacher_margins)[pairs].pow(2).mean()


def distillation_loss(
    query_embeds: torch.Tensor,
    passage_embeds: torch.Tensor,
    teacher_query_embeds: torch.Tensor,
    teacher_passage_embeds: torch.Tensor,
    temperature: float = 0.05,
    teacher_temperature: float = 0.05,
) -> torch.Tensor:
    """`listwise_distillation_loss` with teacher vectors: every passage of the batch is each
    query's candidate, the teacher's score its cosine ``(B, d_t) @ (P, d_t).T`` (any ``d_t``)."""
    scores = query_embeds @ passage_embeds.T  # (B, P)
    teacher = teacher_query_embeds @ teacher_passage_embeds.T  # (B, P)
    every = torch.ones_like(scores, dtype=torch.bool)
    return listwise_distillation_loss(scores, teacher, every, temperature, teacher_temperature)
