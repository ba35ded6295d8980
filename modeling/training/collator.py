"""Batches of B queries with their positives (and optional hard negatives) for the two towers.

Passages are de-duplicated by text inside a batch, so a passage that answers two queries is one
column that is positive for both: the loss never treats a true answer as a negative.
Rows with teacher scores (``data_prep.teacher_scores``) add their drawn teacher passages as
columns and a ``teacher_scores`` / ``teacher_mask`` pair: each query's candidate list (its
positives and those passages) with the teacher's score of each.
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
        num_teacher_passages: Teacher-scored passages per query drawn from a row's
            ``teacher_passages`` (rows without that column add none).
        hash_unknown_words: Tokenise as a model with ``config.hash_unknown_words`` does.
    """

    tokenizer: object
    max_positives: int | None = None
    num_negatives: int = 0
    seed: int = 0
    teacher: Callable[[list[str]], np.ndarray] | None = None
    num_teacher_passages: int = 0
    hash_unknown_words: bool = False
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self):
        self._rng = random.Random(self.seed)

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        queries = [row["query"] for row in rows]
        column: dict[str, int] = {}  # passage text -> column in the batch
        positives: list[tuple[int, int]] = []
        graded: list[tuple[int, int, float]] = []  # (query, column, teacher score)
        for i, row in enumerate(rows):
            scored = bool(row.get("positive_scores")) and self.num_teacher_passages > 0
            for k in self._draw(len(row["positives"]), self.max_positives):
                j = column.setdefault(row["positives"][k], len(column))
                positives.append((i, j))
                if scored:
                    graded.append((i, j, row["positive_scores"][k]))
            negatives = row.get("negatives") or []
            for k in self._draw(len(negatives), self.num_negatives):
                column.setdefault(negatives[k], len(column))
            if scored:
                passages = row["teacher_passages"]
                # Drawn by a generator of the query's own: a process split of the batch (one
                # process or several) draws the same passages, as the gathered loss needs.
                query_rng = random.Random(f"{self.seed}:{row['query']}")
                for k in self._draw(len(passages), self.num_teacher_passages, query_rng):
                    j = column.setdefault(passages[k], len(column))
                    graded.append((i, j, row["teacher_scores"][k]))
        positive_mask = torch.zeros(len(rows), len(column), dtype=torch.bool)  # (B, P)
        for i, j in positives:
            positive_mask[i, j] = True
        hashed = {"hash_unknown_words": self.hash_unknown_words}
        q = self.tokenizer.encode_queries(queries, **hashed)
        p = self.tokenizer.encode_passages(list(column), **hashed)
        batch = {
            "query_input_ids": q["input_ids"],
            "query_attention_mask": q["attention_mask"],
            "passage_input_ids": p["input_ids"],
            "passage_attention_mask": p["attention_mask"],
            "positive_mask": positive_mask,
        }
        if graded:
            batch["teacher_scores"] = torch.zeros(len(rows), len(column))  # (B, P)
            batch["teacher_mask"] = torch.zeros(len(rows), len(column), dtype=torch.bool)
            for i, j, score in graded:
                batch["teacher_scores"][i, j] = score
                batch["teacher_mask"][i, j] = True
        if self.teacher is not None:
            batch["teacher_query_embeds"] = torch.from_numpy(self.teacher(queries))
            batch["teacher_passage_embeds"] = torch.from_numpy(self.teacher(list(column)))
        return batch

    def _draw(self, count: int, limit: int | None, rng: random.Random | None = None) -> list[int]:
        """Indices of ``limit`` of ``count`` items drawn at random (all when they fit)."""
        if limit is None or count <= limit:
            return list(range(count))
        return (rng or self._rng).sample(range(count), limit)
