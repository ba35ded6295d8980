"""Batches of B queries with their positives (and optional hard negatives) for the two towers.

Passages are de-duplicated by text inside a batch, so a passage that answers two queries is one
column that is positive for both: the loss never treats a true answer as a negative.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class TwoTowerCollator:
    """Turns canonical rows (``query``, ``positives``, ``negatives``) into model inputs.

    Args:
        tokenizer: A `TwoTowerTokenizerFast` (its per-tower max lengths apply).
        max_positives: Positives kept per query (drawn at random when a query has more);
            None keeps all, as the seed does.
        num_negatives: Hard negatives per query taken from its ``negatives`` column.
        seed: Seed of the draws above.
        teacher: Optional ``texts -> (n, d_t) array`` (`data_prep.teacher.TeacherVectors`): adds
            ``teacher_query_embeds`` and ``teacher_passage_embeds`` for distillation.
    """

    tokenizer: object
    max_positives: int | None = None
    num_negatives: int = 0
    seed: int = 0
    teacher: Callable[[list[str]], np.ndarray] | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self):
        self._rng = random.Random(self.seed)

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        queries = [row["query"] for row in rows]
        column: dict[str, int] = {}  # passage text -> column in the batch
        positives: list[tuple[int, int]] = []
        for i, row in enumerate(rows):
            for text in self._draw(row["positives"], self.max_positives):
                positives.append((i, column.setdefault(text, len(column))))
            for text in self._draw(row.get("negatives") or [], self.num_negatives):
                column.setdefault(text, len(column))
        positive_mask = torch.zeros(len(rows), len(column), dtype=torch.bool)  # (B, P)
        for i, j in positives:
            positive_mask[i, j] = True
        q = self.tokenizer.encode_queries(queries)
        p = self.tokenizer.encode_passages(list(column))
        batch = {
            "query_input_ids": q["input_ids"],
            "query_attention_mask": q["attention_mask"],
            "passage_input_ids": p["input_ids"],
            "passage_attention_mask": p["attention_mask"],
            "positive_mask": positive_mask,
        }
        if self.teacher is not None:
            batch["teacher_query_embeds"] = torch.from_numpy(self.teacher(queries))
            batch["teacher_passage_embeds"] = torch.from_numpy(self.teacher(list(column)))
        return batch

    def _draw(self, texts: list[str], limit: int | None) -> list[str]:
        if limit is None or len(texts) <= limit:
            return list(texts)
        return self._rng.sample(list(texts), limit)
