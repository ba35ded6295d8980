"""The two-tower model: one GloVe embedding table feeding a query RNN and a passage RNN.

Each tower packs its variable-length batch (no RNN step runs over padding), pools the token
states into one vector, optionally projects it, and L2-normalises it; with ``lexical_buckets``
it appends a hashed bag of the text's words, weighted by term weights read from the same token
states. ``scores = query_embeds @ passage_embeds.T`` are then cosine similarities plus, for
each word the two texts share, the product of its two term weights (words match by stem with
``lexical_stems``, unknown words by a hashed id with ``hash_unknown_words``);
`encode_passages_sparse` gives that bag sparse, for indexes. `TwoTowerModel.save_pretrained`
also writes the files that load the folder as a ``SentenceTransformer``
(``sentence_transformer_two_tower.py`` is copied from next to this file).
Deliberately left out: the training loss (``losses.py``, applied by the trainer), so that this
file and its shipped siblings (``*_two_tower.py``) are all a checkpoint needs for
``trust_remote_code``.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_two_tower import TwoTowerConfig
from .tokenization_two_tower import encode_ids
from .towers_two_tower import RNNTower

logger = logging.getLogger(__name__)

# sentence-transformers loads a checkpoint through this sibling file (its only module), with the
# dot product as the score: a vector with a lexical part is not unit length.
SENTENCE_TRANSFORMERS_FILE = "sentence_transformer_two_tower.py"
SENTENCE_TRANSFORMERS_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformer_two_tower.TwoTowerModule"}
]
SENTENCE_TRANSFORMERS_CONFIG = {
    "model_type": "SentenceTransformer",
    "prompts": {"query": "", "document": ""},  # no prompt text: the task picks the tower
    "default_prompt_name": None,
    "similarity_fn_name": "dot",
    "requirements": {
        "sentence-transformers": {
            "specifier": ">=6.0",
            "reason": "the two-tower module reads the query/document task in preprocess",
        }
    },
}


@dataclass
class TwoTowerOutput(ModelOutput):
    """Output of `TwoTowerModel.forward`.

    Args:
        loss: Training loss, filled by the trainer's loss function (the model computes none).
        query_embeds: ``(B, d)`` query vectors.
        passage_embeds: ``(P, d)`` passage vectors.
        scores: ``(B, P)`` similarity of every query with every passage.
    """

    loss: torch.FloatTensor | None = None
    query_embeds: torch.FloatTensor | None = None
    passage_embeds: torch.FloatTensor | None = None
    scores: torch.FloatTensor | None = None


class TwoTowerPreTrainedModel(PreTrainedModel):
    config_class = TwoTowerConfig
    base_model_prefix = "two_tower"
    main_input_name = "query_input_ids"

    def _init_weights(self, module: nn.Module) -> None:
        # transformers' guarded init: weights loaded by from_pretrained are left untouched.
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, (nn.GRU, nn.LSTM)):
            for name, param in module.named_parameters():
                if "weight" in name:
                    init.xavier_uniform_(param)
                else:
                    init.zeros_(param)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)


class TwoTowerModel(TwoTowerPreTrainedModel):
    """Dual encoder: ``encode_query`` and ``encode_passage`` share the word embeddings only."""

    def __init__(self, config: TwoTowerConfig):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.embeddings.weight.requires_grad = not config.freeze_embeddings
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.query_tower = RNNTower(config)
        self.passage_tower = RNNTower(config)
        if config.lexical_stems:  # each word's stem group; from_glove fills it
            self.register_buffer("lexical_ids", torch.arange(config.vocab_size))
        self.post_init()

    @classmethod
    def from_glove(cls, vectors: torch.Tensor, stem_groups=None, **config_kwargs) -> TwoTowerModel:
        """Builds a model whose embedding rows are ``vectors`` (GloVe words, then <pad>, <unk>).

        Args:
            vectors: ``(V, dim)`` matrix; ``<pad>`` at row V-2 and ``<unk>`` at V-1 unless
                ``pad_token_id``/``unk_token_id`` say otherwise.
            stem_groups: With ``lexical_stems=True``: ``(V,)`` ids, each word's stem group
                (``data_prep.glove.stem_groups``).
            **config_kwargs: Any other `TwoTowerConfig` field.
        """
        vectors = torch.as_tensor(vectors, dtype=torch.float32)
        vocab_size, dim = vectors.shape
        config_kwargs.setdefault("pad_token_id", vocab_size - 2)
        config_kwargs.setdefault("unk_token_id", vocab_size - 1)
        config = TwoTowerConfig(vocab_size=vocab_size, embedding_dim=dim, **config_kwargs)
        if config.lexical_stems != (stem_groups is not None):
            raise ValueError("Pass stem_groups exactly when lexical_stems=True.")
        model = cls(config)
        with torch.no_grad():
            model.embeddings.weight.copy_(vectors)
            if stem_groups is not None:
                groups = torch.as_tensor(stem_groups, dtype=torch.long)
                if groups.shape != (vocab_size,) or groups.min() < 0 or groups.max() >= vocab_size:
                    raise ValueError(f"stem_groups must hold one id in [0, {vocab_size}) per row.")
                model.lexical_ids.copy_(groups)
        return model

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`, refusing a checkpoint whose weights are incomplete.

        Raises:
            ValueError: A weight is missing from the checkpoint (it would start random) or holds
                NaN/inf values; the message names the tensor and the weights file.
        """
        with_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(
            pretrained_model_name_or_path, *args, output_loading_info=True, **kwargs
        )
        source = _weights_file(pretrained_model_name_or_path)
        if info["missing_keys"]:
            raise ValueError(
                f"{source} lacks the weights {sorted(info['missing_keys'])}: they would start "
                "random. The checkpoint is incomplete or from another model; save it again with "
                "save_pretrained, or load an earlier checkpoint."
            )
        model.check_weights(source)
        # Loading replaces the embedding parameter and forgets its requires_grad=False, so a
        # loaded checkpoint would fine-tune its "frozen" GloVe table; freeze it again here.
        model.embeddings.weight.requires_grad_(not model.config.freeze_embeddings)
        return (model, info) if with_info else model

    def check_weights(self, source: str = "the model") -> None:
        """Raises ValueError naming the first tensor that holds NaN or inf values.

        Args:
            source: Where the weights came from, for the message (e.g. the weights file).
        """
        for name, tensor in self.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                bad = int((~torch.isfinite(tensor)).sum())
                raise ValueError(
                    f"{source}: tensor {name} holds {bad:,} NaN/inf values of {tensor.numel():,}, "
                    "so every score would be NaN. The weights are damaged: load an earlier "
                    "checkpoint or save the model again."
                )

    def check_tokenizer(self, tokenizer) -> None:
        """Raises ValueError unless ``tokenizer``'s ids are this model's embedding rows.

        Compares the vocabulary size with ``config.vocab_size`` and the ``<pad>``/``<unk>`` ids
        with the config's; a tokenizer that passed is remembered, so repeated calls are free.
        """
        checked = getattr(self, "_checked_tokenizer", None)
        if checked is not None and checked() is tokenizer:
            return
        fix = "load the tokenizer saved with this model (tokenizer.json in its folder)."
        if len(tokenizer) != self.config.vocab_size:
            raise ValueError(
                f"The tokenizer has {len(tokenizer):,} tokens but the model's embedding table has "
                f"{self.config.vocab_size:,} rows (config.json vocab_size): its ids would read "
                f"other words' vectors; {fix}"
            )
        for name in ("pad_token_id", "unk_token_id"):
            if getattr(tokenizer, name) != getattr(self.config, name):
                raise ValueError(
                    f"The tokenizer's {name} is {getattr(tokenizer, name)} but the model's "
                    f"config.json says {getattr(self.config, name)}; {fix}"
                )
        self._checked_tokenizer = weakref.ref(tokenizer)

    def save_pretrained(self, save_directory, *args, push_to_hub: bool = False, **kwargs):
        """Saves as transformers does, plus what makes the folder a sentence-transformers model:
        ``modules.json``, ``config_sentence_transformers.json`` and the module's source file.

        With ``push_to_hub=True`` the folder is pushed once complete (transformers' own push
        would upload only the files its save wrote).
        """
        hub = {}
        if push_to_hub:
            hub["repo_id"] = kwargs.pop("repo_id", Path(save_directory).name)
            hub.update({k: kwargs.pop(k) for k in ("commit_message", "create_pr") if k in kwargs})
            hub.update({k: kwargs[k] for k in ("token",) if k in kwargs})
        super().save_pretrained(save_directory, *args, **kwargs)
        if not self.should_save_on_this_rank(kwargs.get("is_main_process", True)):
            return
        _save_sentence_transformers_files(Path(save_directory))
        if push_to_hub:
            self.push_to_hub(**hub)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings = value

    def _encode(
        self,
        tower: RNNTower,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        sparse: bool = False,
    ):
        """``(B, d)`` vectors, or with ``sparse`` `RNNTower.sparse_forward`'s pieces."""
        if input_ids.size(1) == 0:  # only empty texts: give each one <pad> step to read
            input_ids = input_ids.new_full((input_ids.size(0), 1), self.config.pad_token_id)
            attention_mask = torch.zeros_like(input_ids)
        embeds = self.embedding_dropout(self.embed(input_ids))  # (B, T, dim)
        run = tower.sparse_forward if sparse else tower
        return run(embeds, attention_mask, self.lexical_word_ids(input_ids))

    def lexical_word_ids(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The ids the lexical part matches words by: each word's stem group with
        ``config.lexical_stems``, else the ids themselves (unknown words' always)."""
        if not self.config.lexical_stems:
            return input_ids
        known = input_ids < self.config.vocab_size
        grouped = self.lexical_ids[input_ids.masked_fill(~known, 0)]
        return torch.where(known, grouped, input_ids)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` ids -> ``(B, T, dim)`` word vectors; an id past the vocabulary (an unknown
        word's, ``config.hash_unknown_words``) reads the ``<unk>`` row."""
        unknown = input_ids >= self.config.vocab_size
        return self.embeddings(input_ids.masked_fill(unknown, self.config.unk_token_id))

    def encode_query(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` token ids -> ``(B, d)`` query vectors."""
        return self._encode(self.query_tower, input_ids, attention_mask)

    def encode_passage(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(P, T)`` token ids -> ``(P, d)`` passage vectors."""
        return self._encode(self.passage_tower, input_ids, attention_mask)

    def forward(
        self,
        query_input_ids: torch.Tensor | None = None,
        query_attention_mask: torch.Tensor | None = None,
        passage_input_ids: torch.Tensor | None = None,
        passage_attention_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> TwoTowerOutput:
        """Encodes whichever sides are given; ``scores`` when both are."""
        q = p = scores = None
        if query_input_ids is not None:
            q = self.encode_query(
                query_input_ids, _mask_or_ones(query_attention_mask, query_input_ids)
            )
        if passage_input_ids is not None:
            p = self.encode_passage(
                passage_input_ids, _mask_or_ones(passage_attention_mask, passage_input_ids)
            )
        if q is not None and p is not None:
            scores = q @ p.T  # (B, P)
        return TwoTowerOutput(query_embeds=q, passage_embeds=p, scores=scores)

    @torch.inference_mode()
    def term_weights(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, side: str = "passage"
    ) -> torch.Tensor:
        """Each token's term weight in the ``side`` tower: the lexical part made visible (a word
        that a query and a passage share adds the product of its two weights to their score).

        Args:
            input_ids: ``(B, T)`` token ids (the tokenizer's, truncated as encoding does).
            attention_mask: ``(B, T)``, 1 on real tokens.
            side: ``"query"`` or ``"passage"``.

        Returns:
            ``(B, T)`` float weights, 0 on padding and unknown words.
        """
        if side not in ("query", "passage"):
            raise ValueError(f"side={side!r}: pass 'query' or 'passage'.")
        tower = self.query_tower if side == "query" else self.passage_tower
        if input_ids.size(1) == 0:
            return torch.zeros(input_ids.shape, device=input_ids.device)
        embeds = self.embed(input_ids)  # (B, T, dim); dropout is off at inference
        return tower.term_weights(embeds, attention_mask, input_ids)

    @torch.inference_mode()
    def encode_queries(self, texts: list[str], tokenizer, batch_size: int = 256, **kwargs):
        """Queries -> ``(n, d)`` float tensor on the CPU, in input order (as `encode_query`)."""
        return self._encode_texts(
            texts, tokenizer, self.config.query_max_length, self.encode_query, batch_size, **kwargs
        )

    @torch.inference_mode()
    def encode_passages(
        self,
        texts: list[str],
        tokenizer,
        batch_size: int = 256,
        max_length: int | None = None,
        **kwargs,
    ):
        """Passages -> ``(n, d)`` float tensor on the CPU, in input order (as `encode_passage`);
        ``max_length`` tokens of each (None: the config's ``passage_max_length``)."""
        return self._encode_texts(
            texts,
            tokenizer,
            max_length or self.config.passage_max_length,
            self.encode_passage,
            batch_size,
            **kwargs,
        )

    @torch.inference_mode()
    def encode_passages_sparse(
        self,
        texts: list[str],
        tokenizer,
        batch_size: int = 256,
        max_length: int | None = None,
        progress_bar: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`encode_passages` with the lexical part kept sparse, for indexing many passages.

        Returns:
            The pooled part ``(n, d_pooled)`` and the lexical part, an ``(n, lexical_buckets)``
            sparse COO tensor (coalesced): the two halves of `encode_passages`'s vectors,
            without ever making the dense ``(n, lexical_buckets)`` matrix.
        """
        if not self.config.lexical_buckets:
            raise ValueError("This model has no lexical part (lexical_buckets=0): nothing sparse.")

        def encode(input_ids, attention_mask):
            return self._encode(self.passage_tower, input_ids, attention_mask, sparse=True)

        length = max_length or self.config.passage_max_length
        return self._encode_texts(
            texts, tokenizer, length, encode, batch_size, progress_bar, sparse=True
        )

    def _encode_texts(
        self, texts, tokenizer, max_length, encode, batch_size, progress_bar=False, sparse=False
    ):
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        self.check_tokenizer(tokenizer)
        texts = list(texts)
        was_training = self.training
        self.eval()
        ids = encode_ids(tokenizer, texts, max_length, self.config.hash_unknown_words)
        out = torch.empty(len(ids), self.config.pooled_size if sparse else self.config.embed_size)
        entries = []  # sparse: each batch's (rows, buckets, weights)
        batches = length_batches(ids, batch_size, self.config.pad_token_id, progress_bar)
        for rows, input_ids, mask in batches:
            rows = torch.tensor(rows)
            vectors = encode(input_ids.to(self.device), mask.to(self.device))
            if sparse:
                vectors, (batch_rows, buckets, weights) = vectors
                entries.append((rows[batch_rows.cpu()], buckets.cpu(), weights.float().cpu()))
            out.index_copy_(0, rows, vectors.float().cpu())  # faster than out[rows] = ...
        self.train(was_training)
        if not sparse:
            return out
        nothing = torch.empty(0, dtype=torch.long)
        entries = entries or [(nothing, nothing, torch.empty(0))]
        rows, buckets, weights = (torch.cat(parts) for parts in zip(*entries, strict=True))
        shape = (len(ids), self.config.lexical_buckets)
        with torch.inference_mode(False):  # a plain tensor: to_dense() works on it anywhere
            indices = torch.stack([rows, buckets]).clone()
            lexical = torch.sparse_coo_tensor(
                indices, weights.clone(), shape, check_invariants=False
            )
            return out, lexical.coalesce()  # already one entry per (row, bucket): a sort


def _save_sentence_transformers_files(folder: Path) -> None:
    source = Path(__file__).with_name(SENTENCE_TRANSFORMERS_FILE)
    if not source.is_file():  # e.g. code loaded from a repo that predates the module
        message = "%s was saved without sentence-transformers files: no %s next to %s. Copy it "
        message += (
            "there, so that SentenceTransformer(..., trust_remote_code=True) loads the folder."
        )
        logger.warning(message, folder, SENTENCE_TRANSFORMERS_FILE, Path(__file__).name)
        return
    shutil.copy(source, folder / SENTENCE_TRANSFORMERS_FILE)
    for name, content in (
        ("modules.json", SENTENCE_TRANSFORMERS_MODULES),
        ("config_sentence_transformers.json", SENTENCE_TRANSFORMERS_CONFIG),
    ):
        (folder / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _weights_file(name_or_path) -> str:
    """The weights file of a local checkpoint folder, for messages; else the name as given."""
    names = ("model.safetensors", "model.safetensors.index.json")
    found = [Path(str(name_or_path), n) for n in names if Path(str(name_or_path), n).is_file()]
    return str(found[0] if found else name_or_path)


def length_batches(ids: list[list[int]], batch_size: int, pad_token_id: int, progress_bar=False):
    """Tokenised texts -> ``(rows, input_ids (b, T), attention_mask (b, T))`` batches by length.

    Similar lengths share a batch, so little padding is encoded; ``rows`` are the texts' indices
    in ``ids``. A batch of empty texts has ``T == 0``.
    """
    lengths = torch.tensor([len(row) for row in ids], dtype=torch.long)
    order = torch.argsort(lengths, stable=True).tolist()
    starts = range(0, len(order), batch_size)
    if progress_bar:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="Encoding", unit="batch")
    for start in starts:
        rows = order[start : start + batch_size]
        # Padded by hand (tokenizer.pad is slow next to the RNN): the batch's ids in one tensor,
        # poured into the real positions.
        flat = list(itertools.chain.from_iterable(ids[i] for i in rows))
        row_lengths = lengths[rows]
        steps = int(row_lengths.max()) if rows else 0
        mask = torch.arange(steps)[None, :] < row_lengths[:, None]  # (b, T)
        input_ids = torch.full(mask.shape, pad_token_id, dtype=torch.long)
        input_ids.masked_scatter_(mask, torch.tensor(flat, dtype=torch.long))
        yield rows, input_ids, mask.long()


def _mask_or_ones(mask: torch.Tensor | None, input_ids: torch.Tensor) -> torch.Tensor:
    return mask if mask is not None else torch.ones_like(input_ids)


TwoTowerConfig.register_for_auto_class()
TwoTowerModel.register_for_auto_class("AutoModel")
