"""The two-tower model: one GloVe embedding table feeding a query RNN and a passage RNN.

Each tower packs its variable-length batch (no RNN step runs over padding), pools the token
states into one vector, optionally projects it, and L2-normalises it; with ``lexical_buckets``
it appends a hashed bag of the text's words, weighted by term weights read from the same token
states. ``scores = query_embeds @ passage_embeds.T`` are then cosine similarities plus, for
each word the two texts share, the product of its two term weights.
Deliberately left out: the training loss (``losses.py``, applied by the trainer), so that this
file and its two siblings are all a checkpoint needs for ``trust_remote_code``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_two_tower import TwoTowerConfig


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


# A learned term weight starts at this value for every word: a shared word adds 0.3^2 = 0.09 to
# the score (a cosine is at most 1); training moves each weight from there.
LEXICAL_INITIAL_WEIGHT = 0.3


class LexicalHead(nn.Module):
    """Token states -> the text's words as a hashed, weighted bag: ``(B, buckets)``.

    A word's weight is ``relu(state . scorer + bias)`` of its token state, so it depends on its
    context (as in uniCOIL); it lands in bucket ``token_id % buckets``, keeping the largest weight
    where tokens share a bucket (a repeated word, or a hash collision).
    """

    def __init__(self, state_size: int, buckets: int, unk_token_id: int):
        super().__init__()
        self.buckets = buckets
        self.unk_token_id = unk_token_id  # every unknown word shares this id: never a match
        self.scorer = nn.Parameter(torch.zeros(state_size))
        self.bias = nn.Parameter(torch.tensor(LEXICAL_INITIAL_WEIGHT))

    def forward(self, states: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        steps = states.size(1)  # packed states stop at the longest text of the batch
        ids = input_ids[:, :steps]
        real = attention_mask[:, :steps].bool() & ids.ne(self.unk_token_id)
        weights = torch.relu(states @ self.scorer + self.bias) * real  # (B, T)
        bag = weights.new_zeros(ids.size(0), self.buckets)
        return bag.scatter_reduce(1, ids % self.buckets, weights, reduce="amax")


class RNNTower(nn.Module):
    """Embedded tokens -> packed RNN -> pooled (projected, normalised) vector [+ lexical part]."""

    def __init__(self, config: TwoTowerConfig):
        super().__init__()
        rnn_class = nn.GRU if config.rnn_type == "gru" else nn.LSTM
        self.rnn = rnn_class(
            input_size=config.embedding_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        rnn_size = config.hidden_size * (2 if config.bidirectional else 1)
        self.projection = nn.Linear(rnn_size, config.output_dim) if config.output_dim else None
        # Attention pooling's token scorer starts at zero: training begins from mean pooling.
        self.attention = (
            nn.Parameter(torch.zeros(rnn_size)) if config.pooling == "attention" else None
        )
        self.lexical = (
            LexicalHead(rnn_size, config.lexical_buckets, config.unk_token_id)
            if config.lexical_buckets
            else None
        )
        self.pooling = config.pooling
        self.normalize = config.normalize
        self.num_directions = 2 if config.bidirectional else 1

    def forward(
        self,
        embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        input_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(B, T, dim)`` embedded tokens -> ``(B, d)`` vectors; the lexical part needs the ids."""
        if self.lexical is not None and input_ids is None:
            raise ValueError("This tower has a lexical part: pass the input_ids too.")
        # Empty texts have no token; they read one <pad> (a zero vector) instead of crashing.
        lengths = attention_mask.sum(dim=1).clamp(min=1)  # (B,)
        if torch.is_grad_enabled():
            states, last = self._padded_states(embeds, lengths)
        else:
            states, last = self._packed_states(embeds, lengths.cpu())
        if self.pooling == "last":
            pooled = last  # (B, dirs * H)
        else:
            lengths = lengths.to(states.device)
            positions = torch.arange(states.size(1), device=states.device)
            padding = positions[None, :] >= lengths[:, None]  # (B, T)
            if self.pooling == "mean":
                states = states.masked_fill(padding.unsqueeze(-1), 0.0)
                pooled = states.sum(dim=1) / lengths[:, None].to(states.dtype)
            elif self.pooling == "attention":
                logits = (states @ self.attention).masked_fill(padding, float("-inf"))
                pooled = (logits.softmax(dim=1).unsqueeze(-1) * states).sum(dim=1)
            else:
                pooled = states.masked_fill(padding.unsqueeze(-1), float("-inf")).amax(dim=1)
        vector = self.projection(pooled) if self.projection is not None else pooled
        if self.normalize:
            vector = F.normalize(vector, dim=-1)
        if self.lexical is None:
            return vector
        return torch.cat([vector, self.lexical(states, input_ids, attention_mask)], dim=-1)

    def _packed_states(self, embeds: torch.Tensor, lengths: torch.Tensor):
        """Inference: no RNN step runs over padding. States and last (B, dirs*H)."""
        packed = pack_padded_sequence(embeds, lengths, batch_first=True, enforce_sorted=False)
        packed_states, last = self.rnn(packed)
        h_n = last[0] if isinstance(last, tuple) else last  # (layers * dirs, B, H)
        states, _ = pad_packed_sequence(packed_states, batch_first=True)  # (B, T, dirs * H)
        return states, torch.cat(list(h_n[-self.num_directions :]), dim=-1)

    def _padded_states(self, embeds: torch.Tensor, lengths: torch.Tensor):
        """Training: the packed RNN's states on real tokens, computed on the padded batch.

        On CPU the backward pass of a packed RNN refills the whole packed gradient at every time
        step (quadratic in the longest text), so training runs each direction of each layer as
        one padded call instead: the forward direction reads the padding only after a text's
        last token, and the reverse direction reads every text reversed in place (padding stays
        at the end). Same weights, same states (to float error).
        """
        batch, steps = embeds.shape[:2]
        positions = torch.arange(steps, device=embeds.device).expand(batch, steps)
        lengths = lengths.to(embeds.device)
        real = positions < lengths[:, None]
        reverse = torch.where(real, lengths[:, None] - 1 - positions, positions)  # (B, T)
        x = embeds
        for layer in range(self.rnn.num_layers):
            if layer:
                x = F.dropout(x, self.rnn.dropout, self.training)  # as nn.GRU/LSTM between layers
            outputs = []
            for direction in range(self.num_directions):
                inputs = _reorder(x, reverse) if direction else x
                out = self._one_direction(inputs, layer, direction)  # (B, T, H)
                outputs.append(_reorder(out, reverse) if direction else out)
            x = torch.cat(outputs, dim=-1)  # (B, T, dirs * H)
        hidden = self.rnn.hidden_size
        last_step = (lengths - 1)[:, None, None].expand(batch, 1, hidden)
        last = [x[:, :, :hidden].gather(1, last_step).squeeze(1)]  # forward: at the last token
        if self.num_directions == 2:
            last.append(x[:, 0, hidden:])  # reverse: its final state sits at position 0
        return x, torch.cat(last, dim=-1)

    def _one_direction(self, inputs: torch.Tensor, layer: int, direction: int) -> torch.Tensor:
        """One direction of one layer of ``self.rnn`` over a padded batch: ``(B, T, H)`` states.

        Relies on two private torch details (torch 2.x): ``nn.GRU``/``nn.LSTM._flat_weights``
        lists each layer's directions in order, each as ``w_ih, w_hh[, b_ih, b_hh]``; and
        ``torch._VF.gru``/``lstm(input, hx, params, has_biases, num_layers, dropout, train,
        bidirectional, batch_first)`` is the kernel ``nn.GRU``/``nn.LSTM`` call. If either
        changes, the padded == packed test (states and gradients) fails.
        """
        weights = self.rnn._flat_weights
        per_direction = len(weights) // (self.rnn.num_layers * self.num_directions)
        first = (layer * self.num_directions + direction) * per_direction
        weights = weights[first : first + per_direction]
        h0 = inputs.new_zeros(1, inputs.size(0), self.rnn.hidden_size)
        args = (weights, self.rnn.bias, 1, 0.0, self.training, False, True)
        if isinstance(self.rnn, nn.LSTM):
            return torch._VF.lstm(inputs, (h0, h0), *args)[0]
        return torch._VF.gru(inputs, h0, *args)[0]


def _reorder(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``x[b, order[b, t]]`` for every text b: ``(B, T, D)``."""
    return x.gather(1, order[..., None].expand(-1, -1, x.size(-1)))


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
        self.post_init()

    @classmethod
    def from_glove(cls, vectors: torch.Tensor, **config_kwargs) -> TwoTowerModel:
        """Builds a model whose embedding rows are ``vectors`` (GloVe words, then <pad>, <unk>).

        Args:
            vectors: ``(V, dim)`` matrix; ``<pad>`` at row V-2 and ``<unk>`` at V-1 unless
                ``pad_token_id``/``unk_token_id`` say otherwise.
            **config_kwargs: Any other `TwoTowerConfig` field.
        """
        vectors = torch.as_tensor(vectors, dtype=torch.float32)
        vocab_size, dim = vectors.shape
        config_kwargs.setdefault("pad_token_id", vocab_size - 2)
        config_kwargs.setdefault("unk_token_id", vocab_size - 1)
        config = TwoTowerConfig(vocab_size=vocab_size, embedding_dim=dim, **config_kwargs)
        model = cls(config)
        with torch.no_grad():
            model.embeddings.weight.copy_(vectors)
        return model

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        # Loading replaces the embedding parameter and forgets its requires_grad=False, so a
        # loaded checkpoint would fine-tune its "frozen" GloVe table; freeze it again here.
        model = super().from_pretrained(*args, **kwargs)
        model.embeddings.weight.requires_grad_(not model.config.freeze_embeddings)
        return model

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings = value

    def _encode(self, tower: RNNTower, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        if input_ids.size(1) == 0:  # only empty texts: give each one <pad> step to read
            input_ids = input_ids.new_full((input_ids.size(0), 1), self.config.pad_token_id)
            attention_mask = torch.zeros_like(input_ids)
        embeds = self.embedding_dropout(self.embeddings(input_ids))  # (B, T, dim)
        return tower(embeds, attention_mask, input_ids)  # (B, d)

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

    def _encode_texts(self, texts, tokenizer, max_length, encode, batch_size, progress_bar=False):
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        texts = list(texts)
        if not texts:
            return torch.empty(0, self.config.embed_size)
        was_training = self.training
        self.eval()
        # Tokenise once, then batch by length: similar lengths waste no padding.
        ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = torch.empty(len(ids), self.config.embed_size)
        starts = range(0, len(order), batch_size)
        if progress_bar:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Encoding", unit="batch")
        for start in starts:
            rows = order[start : start + batch_size]
            # Padded by hand: tokenizer.pad is slow next to the RNN.
            input_ids = pad_sequence(
                [torch.tensor(ids[i], dtype=torch.long) for i in rows],
                batch_first=True,
                padding_value=self.config.pad_token_id,
            )
            lengths = torch.tensor([len(ids[i]) for i in rows])
            mask = (torch.arange(input_ids.size(1))[None, :] < lengths[:, None]).long()
            vectors = encode(input_ids.to(self.device), mask.to(self.device))
            out[rows] = vectors.float().cpu()
        self.train(was_training)
        return out


def _mask_or_ones(mask: torch.Tensor | None, input_ids: torch.Tensor) -> torch.Tensor:
    return mask if mask is not None else torch.ones_like(input_ids)


TwoTowerConfig.register_for_auto_class()
TwoTowerModel.register_for_auto_class("AutoModel")
