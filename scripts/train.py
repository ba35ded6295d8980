"""Train the two-tower GloVe RNN retriever on MS MARCO.

    python scripts/train.py --train_file ../shared/data/msmarco/train_pairs.jsonl
    accelerate launch scripts/train.py --train_file ...        # same script, N processes/GPUs

Every TrainingArguments flag works (--max_steps, --learning_rate, --bf16, --push_to_hub, ...);
`--help` lists them with the data and model flags. The final model, tokenizer and modeling code
are saved in --output_dir itself, a complete checkpoint for `from_pretrained`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path

import torch
import torch.distributed as dist
import transformers
from transformers import HfArgumentParser

from data_prep.canonical import load_training_data, training_texts
from data_prep.glove import load_glove, model_from_glove, prune_vocabulary
from data_prep.msmarco import heldout_indices
from data_prep.teacher import TeacherVectors
from data_prep.teacher_scores import TEACHER_COLUMNS, resolve_scores_file, with_teacher_scores
from modeling import TwoTowerTokenizerFast
from modeling.cli import run_script
from modeling.training.arguments import DataArguments, ModelArguments, TwoTowerTrainingArguments
from modeling.training.collator import TwoTowerCollator
from modeling.training.hub_token import hide_hub_token
from modeling.training.run_outputs import (
    check_output_dir,
    checkpoint_problem,
    clear_output_dir,
    last_complete_checkpoint,
)
from modeling.training.trainer import TwoTowerTrainer
from modeling.training.wandb_setup import resolve_wandb

logger = logging.getLogger("train")
# Training settings recorded in train_summary.json (and so in the model card).
SUMMARY_ARGS = (
    "loss", "margin", "temperature", "learning_rate", "per_device_train_batch_size",
    "num_train_epochs", "max_steps", "gather_across_processes", "seed", "bf16", "distill_loss",
    "distill_weight", "teacher_temperature",
)  # fmt: skip


def main() -> None:
    # 1. Arguments and logging
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    data_args, model_args, args = parser.parse_args_into_dataclasses()
    hide_hub_token(args)  # to HF_TOKEN: never into training_args.bin, wandb or the Hub
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=logging.INFO if args.process_index == 0 else logging.WARNING,
    )
    # An earlier run's files are refused (by every process, before anything is written), or
    # cleared with --overwrite_output_dir (by the main process while the others wait)
    resume_from = _resume_path(args)
    to_clear = check_output_dir(args.output_dir, args.overwrite_output_dir, bool(resume_from))
    with args.main_process_first(desc="clearing output_dir"):
        if to_clear and args.process_index == 0:
            clear_output_dir(args.output_dir)
    transformers.utils.logging.set_verbosity_warning()
    logger.info(
        "world_size=%d device=%s distributed=%s",
        args.world_size,
        args.device,
        args.parallel_mode.value,
    )
    if resolve_wandb(args.wandb):
        args.report_to = ["wandb"]

    # 2. Data: canonical tables (a canonical parquet is memory-mapped, raw sources are read into
    #    memory); held-out queries are never trained on
    teacher_scores = resolve_scores_file(data_args.teacher_scores)
    if teacher_scores and data_args.teacher_file:
        raise ValueError(
            "Two teachers: --teacher_file (vectors) and --teacher_scores (the recipe's scores). "
            "Distil one: add --teacher_scores none to use the vectors."
        )
    data_args.teacher_scores = str(teacher_scores or "none")  # what the summary records
    with args.main_process_first(desc="loading data"):
        train_data = load_training_data(data_args.train_file, "train", data_args.positives)
        if teacher_scores:  # joined before any select: the table stays memory-mapped
            train_data = with_teacher_scores(train_data, teacher_scores)
            logger.info("Distilling the teacher scores of %s", teacher_scores)
        if data_args.eval_file:
            eval_data = load_training_data(data_args.eval_file, "validation", data_args.positives)
        else:
            kept, heldout = heldout_indices(train_data.num_rows, data_args.eval_fraction, args.seed)
            train_data, eval_data = train_data.select(kept), train_data.select(heldout)
            if teacher_scores:  # held-out batches are measured on their labels, as before
                eval_data = eval_data.remove_columns(list(TEACHER_COLUMNS))
    if data_args.max_train_queries:
        train_data = train_data.select(range(min(data_args.max_train_queries, len(train_data))))
    check_batches(train_data.num_rows, eval_data.num_rows, data_args, args)
    logger.info(
        "Training queries: %d, held-out queries: %d", train_data.num_rows, eval_data.num_rows
    )

    # 3. GloVe vocabulary -> tokenizer (ids are embedding rows)
    vocab = load_glove(model_args.glove, model_args.glove_dim)
    tokenizer_kwargs = {
        "query_max_length": model_args.query_max_length,
        "passage_max_length": model_args.passage_max_length,
        "drop_stopwords": model_args.drop_stopwords,
    }
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(vocab.words, **tokenizer_kwargs)
    if model_args.prune_vocab:
        vocab, report = prune_vocabulary(
            vocab,
            map(tokenizer.words, training_texts(train_data)),
            model_args.prune_min_count,
            model_args.prune_keep_top,
        )
        tokenizer = TwoTowerTokenizerFast.from_vocabulary(vocab.words, **tokenizer_kwargs)
        logger.info("Vocabulary: %s", report)

    # 4. Model (seeded here: the Trainer seeds only after the model exists)
    transformers.set_seed(args.seed)
    model = model_from_glove(vocab, **model_args.config_kwargs())
    logger.info(
        "Model: %s %s, %d trainable / %d parameters",
        model.config.rnn_type,
        model.config.embed_size,
        sum(p.numel() for p in model.parameters() if p.requires_grad),
        model.num_parameters(),
    )

    # 5. Train, measuring held-out in-batch metrics before and after. The untrained model is
    #    measured on its own Trainer over a copy: a Trainer that evaluates before it trains
    #    would skip wrapping the model for distributed training.
    collator = TwoTowerCollator(
        tokenizer,
        data_args.max_positives,
        data_args.num_negatives,
        seed=args.seed,
        teacher=TeacherVectors(data_args.teacher_file) if data_args.teacher_file else None,
        num_teacher_passages=data_args.num_teacher_passages if teacher_scores else 0,
        hash_unknown_words=model.config.hash_unknown_words,
    )
    before = TwoTowerTrainer(
        model=copy.deepcopy(model),
        args=args,
        eval_dataset=eval_data,
        data_collator=collator,
        processing_class=tokenizer,
    ).evaluate(metric_key_prefix="untrained")
    trainer = TwoTowerTrainer(
        model=model,
        args=args,
        train_dataset=train_data,
        eval_dataset=eval_data,
        data_collator=collator,
        processing_class=tokenizer,
    )
    result = trainer.train(resume_from_checkpoint=resume_from)
    after = trainer.evaluate()

    # 6. Save the complete checkpoint in output_dir itself; with --push_to_hub, save_model pushes
    #    it (the summary first, so the model card built from it goes along)
    summary = {
        "data": vars(data_args),
        "model": vars(model_args),
        "training": {name: getattr(args, name) for name in SUMMARY_ARGS},
        "train": dict(result.metrics),
        "train_queries": train_data.num_rows,
        "untrained": before,
        "eval": after,
        "world_size": args.world_size,
    }
    if torch.cuda.is_available():
        summary["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    if trainer.is_world_process_zero():
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        Path(args.output_dir, "train_summary.json").write_text(json.dumps(summary, indent=2))
    trainer.save_model(args.output_dir)
    logger.info(
        "Done in %.0fs (%.0f pairs/s): held-out recall@1 %.3f (untrained %.3f), recall@5 %.3f, "
        "gap %.3f -> %s",
        result.metrics["train_runtime"],
        result.metrics["train_pairs_per_second"],
        after["eval_recall@1"],
        before["untrained_recall@1"],
        after["eval_recall@5"],
        after["eval_gap"],
        args.output_dir,
    )

    # 7. Close the wandb run and wait for its files: the exit below skips atexit hooks
    if "wandb" in args.report_to and trainer.is_world_process_zero():
        import wandb

        wandb.finish()
        wandb.teardown()
    if dist.is_initialized():  # gloo can abort at interpreter exit; end cleanly
        dist.barrier()
        dist.destroy_process_group()
        logging.shutdown()
        os._exit(0)


def check_batches(
    num_train: int, num_eval: int, data_args: DataArguments, args: TwoTowerTrainingArguments
) -> None:
    """Refuses a split smaller than one global batch: with ``dataloader_drop_last`` (in-batch
    negatives need full batches) it would give no batch, and a held-out set NaN metrics."""
    sizes = (
        ("training", num_train, args.per_device_train_batch_size, data_args.train_file,
         "more training data, a larger --max_train_queries or a smaller "
         "--per_device_train_batch_size"),
        ("held-out", num_eval, args.per_device_eval_batch_size,
         data_args.eval_file or data_args.train_file,
         "more data, a larger --eval_fraction, an --eval_file with more queries or a smaller "
         "--per_device_eval_batch_size"),
    )  # fmt: skip
    for what, rows, per_device, source, fixes in sizes:
        needed = max(2, per_device * args.world_size) if args.dataloader_drop_last else 2
        if rows < needed:
            raise ValueError(
                f"The {what} set has {rows} queries (from {source}), fewer than one batch of "
                f"{needed} ({per_device} per device x {args.world_size} processes): it would "
                f"give no batch and no {'training' if what == 'training' else 'metrics (NaN)'}. "
                f"Use {fixes}."
            )


def _resume_path(args: TwoTowerTrainingArguments) -> str | None:
    """``--resume_from_checkpoint last`` resumes from the newest finished checkpoint in
    output_dir (half-written ones are skipped and named); a given folder must be finished."""
    if args.resume_from_checkpoint in (None, "", "False", "false"):
        return None
    if args.resume_from_checkpoint in ("last", "latest", "True", "true"):
        return last_complete_checkpoint(args.output_dir)
    problem = checkpoint_problem(args.resume_from_checkpoint)
    if problem:
        raise ValueError(
            f"--resume_from_checkpoint {args.resume_from_checkpoint}: {problem}. Pass a "
            "finished checkpoint-N folder, or 'last' for the newest finished one."
        )
    return args.resume_from_checkpoint


if __name__ == "__main__":
    run_script(main)
