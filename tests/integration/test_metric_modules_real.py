"""The `evaluate` modules on real runs: the IR module scores BM25's real MS MARCO runs as
scripts/evaluate.py does, and the in-batch module gives what TwoTowerTrainer.evaluate reports."""

from pathlib import Path

import datasets
import evaluate
import pytest
import torch

from data_prep.msmarco import load_msmarco
from modeling import TwoTowerModel
from modeling.evaluation.ir_metrics import to_columns
from modeling.evaluation.runner import bm25_runs, score_runs
from modeling.evaluation.tasks import load_tasks
from modeling.training.arguments import TwoTowerTrainingArguments
from modeling.training.collator import TwoTowerCollator
from modeling.training.trainer import TwoTowerTrainer

METRICS = Path(__file__).resolve().parents[2] / "metrics"


def test_ir_module_scores_real_runs_as_the_evaluation(msmarco_dir):
    tasks = load_tasks(msmarco_dir, ["dev600-rerank", "dl19-pool"])
    runs = bm25_runs(tasks)
    expected = score_runs(runs, tasks)
    ir = evaluate.load(str(METRICS / "two_tower_ir"))
    for task in tasks:
        got = ir.compute(
            predictions=[to_columns(runs[task.name], "score")],
            references=[to_columns(task.qrels, "grade")],
            metrics=task.metrics,
        )
        for metric, value in got.items():
            assert value == expected[f"{task.name}/{metric}"], (task.name, metric)
    assert 0.1 < expected["dev600-rerank/MRR@10"] < 0.5  # BM25 reranking its own candidates


class RecordingTrainer(TwoTowerTrainer):
    """Keeps every evaluation batch's scores and positive mask."""

    batches: list

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        if not model.training:
            self.batches.append((outputs.scores.tolist(), self._last_positive_mask.tolist()))
        return (loss, outputs) if return_outputs else loss


def test_in_batch_module_gives_the_trainers_evaluation(
    msmarco_dir, glove, glove_tokenizer, tmp_path
):
    table = load_msmarco(msmarco_dir / "train_pairs.jsonl").slice(0, 40)  # 5 batches of 8
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(torch.from_numpy(glove.vectors), hidden_size=8)
    args = TwoTowerTrainingArguments(
        output_dir=str(tmp_path), per_device_eval_batch_size=8, disable_tqdm=True,
        report_to="none",
    )  # fmt: skip
    trainer = RecordingTrainer(
        model=model, args=args, eval_dataset=datasets.Dataset(table),
        data_collator=TwoTowerCollator(glove_tokenizer), processing_class=glove_tokenizer,
    )  # fmt: skip
    trainer.batches = []
    reported = trainer.evaluate()
    assert [len(scores) for scores, _ in trainer.batches] == [8] * 5
    in_batch = evaluate.load(str(METRICS / "two_tower_in_batch"))
    got = in_batch.compute(
        predictions=[scores for scores, _ in trainer.batches],
        references=[mask for _, mask in trainer.batches],
    )
    for name, value in got.items():
        assert value == pytest.approx(reported[f"eval_{name}"], rel=1e-6, abs=1e-7), name
