"""Contrastive losses over one batch of queries and passages.

Every loss takes ``query_embeds (B, d)``, ``passage_embeds (P, d)`` (L2-normalised, so dot
products are cosines) and ``positive_mask (B, P)``: ``positive_mask[i, j]`` is True when passage
``j`` answers query ``i``. Any passage that is not a positive of query ``i`` is a negative for it:
the other queries' positives (in-batch negatives) and any mined hard negatives. A query may have
several positives; each (query, positive) pair is one term of the loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("triplet", "infonce")  # the main loss; `distillation_loss` may be added to either


def _positive_pairs(positive_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if positive_mask.dtype != torch.bool or positive_mask.dim() != 2:
        raise ValueError("positive_mask must be a 2-D bool tensor (queries x passages).")
    if (~positive_mask).sum(dim=1).eq(0).any():
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
) -> torch.Tensor:
    """The seed's triplet loss: ``mean(relu(margin - cos(q, p+) + cos(q, p-)))``.

    Each query is paired with each of its positives; each such positive is matched with one
    negative drawn uniformly from the batch passages that are not positives of that query.

    Args:
        margin: Required cosine gap between a positive and its drawn negative.
        generator: Random source of the negative draws (for reproducible runs).
    """
    pair_q, pair_p = _positive_pairs(positive_mask)
    scores = query_embeds @ passage_embeds.T  # (B, P) cosine similarities
    candidates = (~positive_mask[pair_q]).float()  # (N, P): 1 where a negative may be drawn
    negative = torch.multinomial(candidates, 1, generator=generator).squeeze(1)  # (N,)
    positive_scores = scores[pair_q, pair_p]  # (N,)
    negative_scores = scores[pair_q, negative]  # (N,)
    return F.relu(margin - positive_scores + negative_scores).mean()


def info_nce_loss(
    query_embeds: torch.Tensor,
    passage_embeds: torch.Tensor,
    positive_mask: torch.Tensor,
    temperature: float = 0.05,
) -> torch.Tensor:
    """In-batch InfoNCE: each (query, positive) pair is a softmax over that positive and all of
    the query's negatives (its other positives are left out of the denominator).

    Args:
        temperature: Divides the cosines before the softmax (smaller = sharper).
    """
    pair_q, pair_p = _positive_pairs(positive_mask)
    logits = query_embeds @ passage_embeds.T / temperature  # (B, P)
    rows = logits[pair_q].masked_fill(positive_mask[pair_q], float("-inf"))  # (N, P) negatives
    rows[torch.arange(len(pair_q), device=rows.device), pair_p] = logits[pair_q, pair_p]
    return (torch.logsumexp(rows, dim=1) - logits[pair_q, pair_p]).mean()


def distillation_loss(
    query_embeds: torch.Tensor,
    passage_embeds: torch.Tensor,
    teacher_query_embeds: torch.Tensor,
    teacher_passage_embeds: torch.Tensor,
    temperature: float = 0.05,
    teacher_temperature: float = 0.05,
) -> torch.Tensor:
    """KL(teacher || student) of each query's softmax over all the batch's passages.

    The teacher's similarities grade every passage, including the other queries' positives and the
    hard negatives that labels only call "wrong"; it needs no ``positive_mask``.

    Args:
        teacher_query_embeds, teacher_passage_embeds: ``(B, d_t)`` and ``(P, d_t)`` teacher vectors
            of the same texts (any dimension ``d_t``).
        temperature, teacher_temperature: Divide the student's and the teacher's cosines.
    """
    student = F.log_softmax(query_embeds @ passage_embeds.T / temperature, dim=1)  # (B, P)
    teacher = teacher_query_embeds @ teacher_passage_embeds.T / teacher_temperature
    return F.kl_div(student, F.log_softmax(teacher, dim=1), log_target=True, reduction="batchmean")
