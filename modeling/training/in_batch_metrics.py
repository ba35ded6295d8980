"""In-batch retrieval metrics (the seed's): each query ranks every passage of its batch.

Pure functions of ``scores (B, P)`` and ``positive_mask (B, P)``; queries without a positive
are left out. Standard IR metrics over runs and qrels live in ``ir_metrics.py``.
"""

from __future__ import annotations

import torch


def recall_at_k(scores: torch.Tensor, positive_mask: torch.Tensor, k: int) -> float:
    """Fraction of queries with at least one positive among their top ``k`` passages
    (DPR's top-k accuracy; equal to recall when a query has one positive)."""
    has_positive = positive_mask.any(dim=1)
    if not has_positive.any():
        raise ValueError("No query in the batch has a positive passage.")
    top = scores.topk(min(k, scores.size(1)), dim=1).indices  # (B, k)
    hits = positive_mask.gather(1, top).any(dim=1)  # (B,)
    return hits[has_positive].float().mean().item()


def similarity_gap(scores: torch.Tensor, positive_mask: torch.Tensor) -> float:
    """Mean positive-pair score minus mean negative-pair score over the batch."""
    if positive_mask.all() or not positive_mask.any():
        raise ValueError("The gap needs both positive and negative pairs in the batch.")
    return (scores[positive_mask].mean() - scores[~positive_mask].mean()).item()


def in_batch_metrics(scores: torch.Tensor, positive_mask: torch.Tensor) -> dict[str, float]:
    """``recall@1``, ``recall@5`` and ``gap`` of one batch."""
    return {
        "recall@1": recall_at_k(scores, positive_mask, 1),
        "recall@5": recall_at_k(scores, positive_mask, 5),
        "gap": similarity_gap(scores, positive_mask),
    }
