"""The training recipe: every default of `make train`, defined once.

``scripts/train.py``'s flags default to it (``arguments.py``), the Makefile reads its global batch
from it, the benchmark trains and encodes our model with it, and the ablation's baseline row is
it. `TwoTowerConfig` keeps its own architecture defaults, which describe checkpoints saved before
a field existed (``bidirectional=True``, ``lexical_buckets=0``), so those still load unchanged;
the recipe sets every architecture field explicitly. RESULTS.md records the runs behind each
choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Recipe:
    """The recipe's settings; `RECIPE` is the one instance."""

    # Data
    num_negatives: int = 1  # BM25 negatives per query and batch; more cost time, not quality
    drop_stopwords: bool = True  # about half the tokens to encode, at equal quality
    # Architecture (TwoTowerConfig fields)
    rnn_type: str = "gru"  # faster than an LSTM per token, as good here
    hidden_size: int = 128
    num_layers: int = 1  # a second layer was slower and no better
    bidirectional: bool = False  # with the lexical part one direction matched two, at half the time
    pooling: str = "attention"  # a learned weight per token state; starts as mean pooling
    output_dim: int = 0  # no projection after pooling
    lexical_buckets: int = 16384  # the learned, hashed bag of words; wider: fewer collisions
    hash_unknown_words: bool = True  # words GloVe lacks match lexically (rare names, terms)
    lexical_stems: bool = True  # words match lexically by stem, as in BM25
    lexical_tf_saturation: float = 0.0  # a repeated word weighs as much as one seen once
    dropout: float = 0.0
    freeze_embeddings: bool = True  # fine-tuning GloVe overfits the training queries
    query_max_length: int = 32
    passage_max_length: int = 64  # nearly all of an MS MARCO passage once stopwords are dropped
    # Distillation: MiniLM's precomputed scores (a file of the MS MARCO folder; "none" = labels
    # only) grade each query's positives and this many of its top passages; the listwise KL is
    # added to the label loss. It raised SciFact (out of domain) at equal MS MARCO quality.
    teacher_scores: str = "teacher_minilm_top50.jsonl.gz"
    num_teacher_passages: int = 2
    distill_loss: str = "kl"
    distill_weight: float = 1.0
    # Training
    loss: str = "infonce"  # in-batch softmax; the seed's triplet loss stays selectable
    temperature: float = 0.05
    learning_rate: float = 8e-3  # frozen embeddings leave few weights: a high rate pays
    num_train_epochs: float = 1.0  # more epochs overfit with the lexical part
    global_batch_size: int = 64  # queries per optimizer step, summed over processes
    seed: int = 42

    def architecture(self) -> dict:
        """The `TwoTowerConfig` fields of the recipe."""
        names = (
            "rnn_type", "hidden_size", "num_layers", "bidirectional", "pooling", "output_dim",
            "lexical_buckets", "hash_unknown_words", "lexical_stems", "lexical_tf_saturation",
            "dropout", "freeze_embeddings", "query_max_length", "passage_max_length",
        )  # fmt: skip
        return {name: value for name, value in asdict(self).items() if name in names}


RECIPE = Recipe()
