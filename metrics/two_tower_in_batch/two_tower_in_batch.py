"""`evaluate` module: the in-batch recall@1, recall@5 and gap the trainer reports.

Load it by path (it is not on the Hub): ``evaluate.load("metrics/two_tower_in_batch")`` from the
repository root. Each example is one batch: its ``(B, P)`` query-passage scores and positive
mask. The figures come from ``modeling.training.in_batch_metrics`` (the project's single
implementation), averaged over batches weighted by their query count, as
``TwoTowerTrainer.evaluate`` averages them; the installed project must be importable.
Deliberately left out: IR metrics over a corpus (``metrics/two_tower_ir``).
"""

import datasets
import evaluate
import torch

from modeling.training.in_batch_metrics import in_batch_metrics

_DESCRIPTION = """In-batch retrieval metrics: each query ranks every passage of its batch.
recall@k is the share of queries with a positive in their top k (queries without a positive
are left out); gap is the mean positive-pair score minus the mean negative-pair score."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: One ``(B, P)`` score matrix per batch (nested lists or arrays).
    references: The matching ``(B, P)`` positive masks (True where the passage is a positive).
Returns:
    ``{"recall@1", "recall@5", "gap"}``: each batch's value weighted by its B.
Example:
    >>> in_batch = evaluate.load("metrics/two_tower_in_batch")
    >>> in_batch.compute(predictions=[[[0.9, 0.1], [0.8, 0.3]]],
    ...                  references=[[[True, False], [False, True]]])
    {'recall@1': 0.5, 'recall@5': 1.0, 'gap': 0.15000000596046448}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class TwoTowerInBatch(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        matrix = datasets.Sequence(datasets.Sequence(datasets.Value("float32")))
        mask = datasets.Sequence(datasets.Sequence(datasets.Value("bool")))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": matrix, "references": mask}),
        )

    def _compute(self, predictions, references):
        if not predictions:
            raise ValueError("No batch to score: add at least one (scores, positive_mask) pair.")
        sums, queries = {}, 0
        for scores, mask in zip(predictions, references, strict=True):
            scores, mask = torch.tensor(scores), torch.tensor(mask, dtype=torch.bool)
            if scores.shape != mask.shape:
                raise ValueError(
                    f"A batch's scores {tuple(scores.shape)} and positive mask "
                    f"{tuple(mask.shape)} differ in shape: pass (B, P) for both."
                )
            for name, value in in_batch_metrics(scores, mask).items():
                sums[name] = sums.get(name, 0.0) + value * scores.size(0)
            queries += scores.size(0)
        return {name: total / queries for name, total in sums.items()}
