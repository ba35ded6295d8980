"""The systems that benchmark.py (next to this file) measures side by side, behind one interface.

- ``ours-gru`` / ``ours-lstm``: `TwoTowerModel` trained by `TwoTowerTrainer` (InfoNCE, t=0.05);
- ``st-lstm``: sentence-transformers ``WordEmbeddings`` (same GloVe) + bidirectional ``LSTM`` +
  mean ``Pooling``, trained with ``MultipleNegativesRankingLoss`` (scale 20 = temperature 0.05);
- ``minilm``: all-MiniLM-L6-v2 (encoding only);
- ``model2vec``: the static model distilled from all-MiniLM-L6-v2 (encoding only; built once by
  ``distill_model2vec.py``).
- ``ours-gru-onnx`` / ``ours-gru-onnx-int8`` (and ``-lstm-``): ours exported to ONNX (float32, or
  int8 weights by dynamic quantisation) and run by onnxruntime (encoding only).
Deliberately left out: timing; the script measures, these only build and run the systems.
"""

from __future__ import annotations

import argparse

import numpy as np

from data_prep.glove import model_from_glove
from modeling.training.recipe import RECIPE

PEER = "st-lstm"
OURS = ("ours-gru", "ours-lstm")
ENCODE_ONLY = ("minilm", "model2vec")  # pretrained peers: encoding and search, no training
ONNX = tuple(f"{ours}-onnx{kind}" for ours in OURS for kind in ("", "-int8"))


class System:
    """What the benchmark needs from each system."""

    name: str
    dim: int
    lexical_buckets: int = 0  # trailing columns of `dim` that are a sparse bag of words
    trainable: bool = True  # False: encoding and search only (no `trainer`)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_passages_split(self, texts: list[str]):
        """What an index stores: the dense part and the lexical part sparse (None without)."""
        vectors = self.encode_passages(texts)
        if not self.lexical_buckets:
            return vectors, None
        from modeling.retrieval.search import split_lexical

        return split_lexical(vectors, self.lexical_buckets)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def tokenize_passages(self, texts: list[str]) -> float:
        """Tokens per passage; the call is timed to find tokenising's share of encoding."""
        raise NotImplementedError

    def trainer(self, pairs: list[tuple[str, str]], args: argparse.Namespace, steps: int):
        """A Trainer that runs ``steps`` optimizer steps over ``pairs`` when ``.train()``."""
        raise NotImplementedError


class OurSystem(System):
    def __init__(self, vocab, args: argparse.Namespace, rnn_type: str):
        from modeling import TwoTowerTokenizerFast

        self.name = f"ours-{rnn_type}"
        self.tokenizer = TwoTowerTokenizerFast.from_vocabulary(
            vocab.words,
            query_max_length=args.query_max_length,
            passage_max_length=args.passage_max_length,
            drop_stopwords=not args.keep_stopwords,
        )
        self.model = model_from_glove(
            vocab,
            hash_unknown_words=RECIPE.hash_unknown_words,
            lexical_stems=RECIPE.lexical_stems,
            lexical_tf_saturation=RECIPE.lexical_tf_saturation,
            rnn_type=rnn_type,
            hidden_size=args.hidden_size,
            pooling=args.pooling,
            bidirectional=args.bidirectional == "true",
            lexical_buckets=args.lexical_buckets,
            query_max_length=args.query_max_length,
            passage_max_length=args.passage_max_length,
        )
        self.dim = self.model.config.embed_size
        self.lexical_buckets = self.model.config.lexical_buckets
        self.batch_size = args.encode_batch_size

    def encode_passages(self, texts):
        return self.model.encode_passages(texts, self.tokenizer, self.batch_size).numpy()

    def encode_passages_split(self, texts):
        if not self.lexical_buckets:
            return self.encode_passages(texts), None
        pooled, lexical = self.model.encode_passages_sparse(texts, self.tokenizer, self.batch_size)
        return pooled.numpy(), lexical  # as an index stores them (its scipy copy left out)

    def encode_queries(self, texts):
        return self.model.encode_queries(texts, self.tokenizer, self.batch_size).numpy()

    def tokenize_passages(self, texts):
        from modeling.tokenization_two_tower import encode_ids  # as encode_passages tokenises

        hashed = self.model.config.hash_unknown_words
        ids = encode_ids(self.tokenizer, texts, self.tokenizer.passage_max_length, hashed)
        return float(np.mean([len(row) for row in ids]))

    def trainer(self, pairs, args, steps):
        import datasets

        from modeling.training.arguments import TwoTowerTrainingArguments
        from modeling.training.collator import TwoTowerCollator
        from modeling.training.trainer import TwoTowerTrainer

        rows = [{"query": q, "positives": [p], "negatives": []} for q, p in pairs]
        training_args = TwoTowerTrainingArguments(
            output_dir=f"/tmp/benchmark-{self.name}", max_steps=steps,
            per_device_train_batch_size=args.batch_size, learning_rate=1e-3,
            save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            wandb="disabled", use_cpu=True, dataloader_drop_last=True,
        )  # fmt: skip
        return TwoTowerTrainer(
            model=self.model,
            args=training_args,
            train_dataset=datasets.Dataset.from_list(rows),
            data_collator=TwoTowerCollator(
                self.tokenizer, hash_unknown_words=self.model.config.hash_unknown_words
            ),
            processing_class=self.tokenizer,
        )


class SentenceTransformerLSTM(System):
    """GloVe ``WordEmbeddings`` + bidirectional ``LSTM`` + mean ``Pooling``, all from ST."""

    def __init__(self, vocab, args: argparse.Namespace):
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import LSTM, Pooling, WordEmbeddings
        from sentence_transformers.sentence_transformer.modules.tokenizer import (
            WhitespaceTokenizer,
        )

        self.name = PEER
        words = vocab.words[: vocab.pad_id]  # ST adds its own padding row 0, as from_text_file does
        vectors = np.concatenate([np.zeros((1, vocab.vectors.shape[1]), np.float32), vocab.vectors])
        tokenizer = WhitespaceTokenizer(["PADDING_TOKEN", *words], do_lower_case=True)
        embeddings = WordEmbeddings(
            tokenizer, vectors[: len(words) + 1], max_seq_length=args.passage_max_length
        )
        lstm = LSTM(vocab.vectors.shape[1], args.hidden_size, bidirectional=True)
        pooling = Pooling(lstm.get_embedding_dimension(), pooling_mode="mean")
        self.model = SentenceTransformer(modules=[embeddings, lstm, pooling], device="cpu")
        self.model.max_seq_length = args.passage_max_length
        self.dim = lstm.get_embedding_dimension()
        self.batch_size = args.encode_batch_size

    def _encode(self, texts):
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )

    encode_passages = encode_queries = _encode

    def tokenize_passages(self, texts):
        features = self.model.preprocess(texts)
        return float(features["sentence_lengths"].float().mean())

    def trainer(self, pairs, args, steps):
        import datasets
        from sentence_transformers import (
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from sentence_transformers.sentence_transformer.losses import (
            MultipleNegativesRankingLoss,
        )

        dataset = datasets.Dataset.from_dict(
            {"anchor": [q for q, _ in pairs], "positive": [p for _, p in pairs]}
        )
        training_args = SentenceTransformerTrainingArguments(
            output_dir=f"/tmp/benchmark-{self.name}", max_steps=steps,
            per_device_train_batch_size=args.batch_size, learning_rate=1e-3, save_strategy="no",
            logging_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True,
            dataloader_drop_last=True,
        )  # fmt: skip
        return SentenceTransformerTrainer(
            model=self.model,
            args=training_args,
            train_dataset=dataset,
            loss=MultipleNegativesRankingLoss(self.model, scale=20.0),
        )


class OnnxSystem(System):
    """Ours exported to ONNX (once per RNN type and process) and run by onnxruntime."""

    trainable = False
    _exported: dict[str, str] = {}  # RNN type -> checkpoint directory holding onnx/

    def __init__(self, vocab, args: argparse.Namespace, name: str):
        import atexit
        import shutil
        import tempfile

        from modeling.retrieval.onnx_encoder import OnnxEncoder
        from modeling.retrieval.onnx_export import export_onnx

        rnn_type = name.split("-")[1]
        self.ours = OurSystem(vocab, args, rnn_type)
        if rnn_type not in self._exported:
            directory = tempfile.mkdtemp(prefix=f"benchmark-onnx-{rnn_type}-")
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            self.ours.model.save_pretrained(directory)
            self.ours.tokenizer.save_pretrained(directory)
            export_onnx(directory, int8=True)
            self._exported[rnn_type] = directory
        self.encoder = OnnxEncoder(
            self._exported[rnn_type],
            int8=name.endswith("-int8"),
            batch_size=args.encode_batch_size,
            threads=args.threads,
        )
        self.name, self.dim, self.lexical_buckets = name, self.ours.dim, self.ours.lexical_buckets

    def encode_passages(self, texts):
        return self.encoder.encode_passages(texts)

    def encode_queries(self, texts):
        return self.encoder.encode_queries(texts)

    def tokenize_passages(self, texts):
        return self.ours.tokenize_passages(texts)


class MiniLMSystem(System):
    trainable = False

    def __init__(self, args: argparse.Namespace):
        from modeling.retrieval.baselines import MiniLMEncoder

        self.name = "minilm"
        self.encoder = MiniLMEncoder(batch_size=args.encode_batch_size, device="cpu")
        self.dim = self.encoder.model.get_sentence_embedding_dimension()

    def encode_passages(self, texts):
        return self.encoder.encode_passages(texts)

    def encode_queries(self, texts):
        return self.encoder.encode_queries(texts)

    def tokenize_passages(self, texts):
        features = self.encoder.model.preprocess(texts)
        return float(features["attention_mask"].sum(dim=1).float().mean())


class Model2VecSystem(System):
    """The static model2vec peer (`Model2VecEncoder`): a token lookup and a mean per text."""

    trainable = False

    def __init__(self, args: argparse.Namespace):
        from modeling.retrieval.baselines import Model2VecEncoder

        self.name = "model2vec"
        self.encoder = Model2VecEncoder(batch_size=args.encode_batch_size)
        self.dim = self.encoder.model.dim

    def encode_passages(self, texts):
        return self.encoder.encode_passages(texts)

    def encode_queries(self, texts):
        return self.encoder.encode_queries(texts)

    def tokenize_passages(self, texts):
        limit = self.encoder.model.max_length or float("inf")
        ids = self.encoder.model.tokenize(texts)  # what its encode looks up, before truncation
        return float(np.mean([min(len(row), limit) for row in ids]))


def build_system(name: str, vocab, args: argparse.Namespace) -> System:
    if name in OURS:
        return OurSystem(vocab, args, name.split("-")[1])
    if name == PEER:
        return SentenceTransformerLSTM(vocab, args)
    if name == "minilm":
        return MiniLMSystem(args)
    if name == "model2vec":
        return Model2VecSystem(args)
    if name in ONNX:
        return OnnxSystem(vocab, args, name)
    raise ValueError(f"Unknown system {name!r}: choose from {[*OURS, *ONNX, PEER, *ENCODE_ONLY]}.")
