"""`TwoTowerTrainer`: the Hugging Face Trainer with a contrastive loss and in-batch metrics.

With several processes (``accelerate launch``), query and passage embeddings are gathered so every
query sees the whole global batch as negatives; the gradient flows through the local slice only
(tevatron's ``negatives_x_device``). The triplet loss draws its negatives from a generator seeded
by (seed, step, micro-batch), so all processes draw the same negatives for the gathered batch, an
N-process run draws what a 1-process run on the same global batch draws, and a resumed run what an
uninterrupted one draws. Deliberately left out: de-duplicating a passage that lands on two
processes (it counts as a negative for the other process's query, a rare collision; less rare
with distillation, whose teacher passages related queries share).
Every save (checkpoints and the final model) goes through a staging folder (`_save`).
"""

from __future__ import annotations

import os
import shutil

import torch
import torch.distributed as dist
from transformers import Trainer

from modeling.training.distributed import (
    all_gather_variable,
    gather_positive_mask,
    gather_with_local_grad,
)
from modeling.training.in_batch_metrics import in_batch_metrics
from modeling.training.losses import (
    full_batch_triplet_loss,
    info_nce_loss,
    listwise_distillation_loss,
    margin_mse_loss,
)
from modeling.training.run_outputs import STAGING_NAME, publish_saved_model

METRIC_NAMES = ("recall@1", "recall@5", "gap")


class TwoTowerTrainer(Trainer):
    """Trainer whose batches hold a ``positive_mask`` instead of labels.

    Reads ``loss`` ("triplet" | "infonce"), ``margin``, ``temperature``, ``distill_loss``
    ("kl" | "margin_mse"), ``distill_weight``, ``teacher_temperature`` and
    ``gather_across_processes`` from its `TwoTowerTrainingArguments`. Batches with teacher scores
    (``teacher_scores`` and ``teacher_mask``: each query's candidates) or teacher vectors (every
    passage of the batch a candidate) add ``distill_weight`` x the distillation loss in
    training; a query's teacher-scored candidates that are not its positives are left out of its
    negatives in the label loss. Like the label loss, it runs over the gathered global batch.
    ``train()`` adds
    ``train_pairs_per_second`` (query-positive pairs, all processes) to its metrics.
    """

    loss_is_scaled_for_ga = False  # a mean over the batch: the Trainer divides it by the GA steps

    def train(self, *args, **kwargs):
        self._train_pairs = torch.zeros((), dtype=torch.long, device=self.args.device)
        result = super().train(*args, **kwargs)
        pairs = self.accelerator.reduce(self._train_pairs, reduction="sum").item()
        result.metrics["train_pairs_per_second"] = round(pairs / result.metrics["train_runtime"], 2)
        return result

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Saves into a staging folder, then moves the files into place, the weights last
        (`publish_saved_model`): an interrupted save never leaves a half model in ``output_dir``
        or a checkpoint."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return super()._save(output_dir, state_dict)
        staging = os.path.join(output_dir, STAGING_NAME)
        if os.path.isdir(staging):  # left by a save that was interrupted
            shutil.rmtree(staging)
        super()._save(staging, state_dict)
        publish_saved_model(staging, output_dir)

    def create_model_card(self, *args, **kwargs) -> None:
        """Writes this project's model card (config, training summary, results) to output_dir,
        in place of the generic Trainer card, before `push_to_hub` uploads the folder."""
        if self.is_world_process_zero():
            from modeling.hub.model_card import build_model_card

            card = build_model_card(self.args.output_dir, repo_id=self.hub_model_id)
            card.save(os.path.join(self.args.output_dir, "README.md"))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        positive_mask = inputs.pop("positive_mask")
        teacher_scores, teacher_mask = (
            inputs.pop("teacher_scores", None),
            inputs.pop("teacher_mask", None),
        )
        teacher = [inputs.pop(k, None) for k in ("teacher_query_embeds", "teacher_passage_embeds")]
        if model.training and hasattr(self, "_train_pairs"):
            self._train_pairs += positive_mask.sum()  # stays on the device: no sync per step
        outputs = model(**inputs)
        # The loss in float32 even under --bf16: InfoNCE divides cosines by a small temperature.
        q, p = outputs.query_embeds.float(), outputs.passage_embeds.float()
        if self._gathering():
            q, p = gather_with_local_grad(q), gather_with_local_grad(p)
            positive_mask = gather_positive_mask(positive_mask)  # block-diagonal, as the next
            if teacher_scores is not None:
                teacher_scores = gather_positive_mask(teacher_scores)
                teacher_mask = gather_positive_mask(teacher_mask)
            if teacher[0] is not None:
                teacher = [torch.cat(all_gather_variable(t)) for t in teacher]
        ignore_mask = None
        if teacher_scores is not None:
            ignore_mask = teacher_mask & ~positive_mask  # graded by the teacher, not the labels
        elif teacher[0] is not None:  # teacher vectors: every passage is every query's candidate
            teacher_scores = teacher[0].float() @ teacher[1].float().T  # (B, P) teacher cosines
            teacher_mask = torch.ones_like(positive_mask)
        outputs.loss = self._loss(q, p, positive_mask, ignore_mask)
        outputs.scores = q @ p.T  # (B, P) over the (global) batch
        if model.training and teacher_scores is not None and self.args.distill_weight:
            if self.args.distill_loss == "margin_mse":
                distill = margin_mse_loss(
                    outputs.scores, teacher_scores, teacher_mask, positive_mask
                )
            else:
                distill = listwise_distillation_loss(
                    outputs.scores, teacher_scores, teacher_mask,
                    temperature=self.args.temperature,
                    teacher_temperature=self.args.teacher_temperature,
                )  # fmt: skip
            outputs.loss = outputs.loss + self.args.distill_weight * distill
        self._last_positive_mask = positive_mask
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _loss(
        self,
        q: torch.Tensor,
        p: torch.Tensor,
        positive_mask: torch.Tensor,
        ignore_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.args.loss == "infonce":
            return info_nce_loss(
                q, p, positive_mask, temperature=self.args.temperature, ignore_mask=ignore_mask
            )
        return full_batch_triplet_loss(
            q,
            p,
            positive_mask,
            margin=self.args.margin,
            generator=self._negative_draws(q.device),
            ignore_mask=ignore_mask,
        )

    def _negative_draws(self, device: torch.device) -> torch.Generator:
        """A generator seeded by (seed, global step, micro-batch of that step, train/eval)."""
        key = (self.args.seed, self.state.global_step, self.model.training)
        self._micro_batch = getattr(self, "_micro_batch", -1) + 1
        if key != getattr(self, "_draw_key", None):
            self._draw_key, self._micro_batch = key, 0
        generator = torch.Generator(device=device)
        generator.manual_seed(hash((*key, self._micro_batch)) & (2**63 - 1))  # ints: no hash salt
        return generator

    def _gathering(self) -> bool:
        return (
            self.args.gather_across_processes
            and dist.is_initialized()
            and dist.get_world_size() > 1
        )

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        metrics = in_batch_metrics(outputs.scores, self._last_positive_mask)
        weight = float(self._last_positive_mask.size(0))
        for name in METRIC_NAMES:
            self._eval_sums[name] += metrics[name] * weight
        self._eval_sums["queries"] += weight
        return loss.detach(), None, None

    def evaluation_loop(
        self,
        dataloader,
        description,
        prediction_loss_only=None,
        ignore_keys=None,
        metric_key_prefix="eval",
    ):
        self._eval_sums = dict.fromkeys((*METRIC_NAMES, "queries"), 0.0)
        output = super().evaluation_loop(
            dataloader, description, True, ignore_keys, metric_key_prefix
        )
        sums = torch.tensor(
            [self._eval_sums[k] for k in (*METRIC_NAMES, "queries")], device=self.args.device
        )
        if self._gathering():
            sums = sums / dist.get_world_size()  # every rank already scored the global batch
            dist.all_reduce(sums)
        elif dist.is_initialized():
            dist.all_reduce(sums)  # each rank scored its own batches
        for name, total in zip(METRIC_NAMES, sums[:-1], strict=True):
            output.metrics[f"{metric_key_prefix}_{name}"] = (total / sums[-1]).item()
        return output
