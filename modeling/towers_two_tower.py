"""The towers of the two-tower model: an RNN over embedded tokens, pooled into one vector, and
the optional learned lexical part (`LexicalHead`) read from the same token states.

Shipped with every checkpoint beside ``modeling_two_tower.py`` (which imports it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .configuration_two_tower import TwoTowerConfig

# A learned term weight starts at this value for every word: a shared word adds 0.3^2 = 0.09 to
# the score (a cosine is at most 1); training moves each weight from there.
LEXICAL_INITIAL_WEIGHT = 0.3


class LexicalHead(nn.Module):
    """Token states -> the text's words as a hashed, weighted bag: ``(B, buckets)``.

    A word's weight is ``relu(state . scorer + bias)`` of its token state, so it depends on its
    context (as in uniCOIL); it lands in bucket ``word_id % buckets`` of the ids it is given (the
    model's `lexical_word_ids`: a stem group, or an unknown word's hashed id), keeping the largest
    weight where tokens share a bucket (a repeated word, or a hash collision). With
    ``tf_saturation`` (BM25's k1) that weight is multiplied by ``tf * (k1 + 1) / (tf + k1)`` of
    the bucket's ``tf`` tokens: 1 for a word seen once, growing ever slower with repeats.
    """

    def __init__(
        self, state_size: int, buckets: int, unk_token_id: int, tf_saturation: float = 0.0
    ):
        super().__init__()
        self.buckets = buckets
        self.unk_token_id = unk_token_id  # <unk> (unknown words not hashed): never a match
        self.tf_saturation = tf_saturation
        self.scorer = nn.Parameter(torch.zeros(state_size))
        self.bias = nn.Parameter(torch.tensor(LEXICAL_INITIAL_WEIGHT))

    def forward(self, states: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        weights = self.token_weights(states, input_ids, attention_mask)  # (B, T')
        buckets = input_ids[:, : weights.size(1)] % self.buckets
        bag = weights.new_zeros(buckets.size(0), self.buckets)
        bag = bag.scatter_reduce(1, buckets, weights, reduce="amax")
        if not self.tf_saturation:
            return bag
        counts = bag.new_zeros(bag.shape).scatter_add(1, buckets, (weights > 0).to(bag.dtype))
        return bag * self._saturate(counts)

    def _saturate(self, tf: torch.Tensor) -> torch.Tensor:
        k1 = self.tf_saturation
        return tf * (k1 + 1) / (tf + k1)

    def sparse(self, states: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """The bag of `forward` as its non-zero entries ``(rows, buckets, weights)``, each
        ``(nnz,)``, sorted by row then bucket: no ``(B, buckets)`` matrix is made."""
        weights = self.token_weights(states, input_ids, attention_mask)  # (B, T')
        buckets = input_ids[:, : weights.size(1)] % self.buckets
        rows, steps = weights.nonzero(as_tuple=True)
        keys = rows * self.buckets + buckets[rows, steps]
        unique, slot = torch.unique(keys, return_inverse=True)  # sorted: by row, then bucket
        largest = weights.new_zeros(unique.numel()).scatter_reduce(
            0, slot, weights[rows, steps], reduce="amax", include_self=False
        )
        if self.tf_saturation:
            tf = torch.bincount(slot, minlength=unique.numel()).to(largest.dtype)
            largest = largest * self._saturate(tf)
        return unique // self.buckets, unique % self.buckets, largest

    def token_weights(
        self, states: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Each token's term weight, 0 on padding and unknown words: ``(B, T')``.

        ``T'`` is ``states.size(1)``: packed states stop at the longest text of the batch.
        """
        steps = states.size(1)
        ids = input_ids[:, :steps]
        real = attention_mask[:, :steps].bool() & ids.ne(self.unk_token_id)
        return torch.relu(states @ self.scorer + self.bias) * real  # (B, T')


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
            LexicalHead(
                rnn_size,
                config.lexical_buckets,
                config.unk_token_id,
                config.lexical_tf_saturation,
            )
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
        vector, states = self._pooled(embeds, attention_mask)
        if self.lexical is None:
            return vector
        return torch.cat([vector, self.lexical(states, input_ids, attention_mask)], dim=-1)

    def sparse_forward(
        self, embeds: torch.Tensor, attention_mask: torch.Tensor, input_ids: torch.Tensor
    ):
        """`forward` with the lexical part kept sparse: the pooled ``(B, d_pooled)`` vectors and
        the bag's non-zero ``(rows, buckets, weights)`` (`LexicalHead.sparse`)."""
        if self.lexical is None:
            raise ValueError("This model has no lexical part (lexical_buckets=0): nothing sparse.")
        vector, states = self._pooled(embeds, attention_mask)
        return vector, self.lexical.sparse(states, input_ids, attention_mask)

    def _pooled(self, embeds: torch.Tensor, attention_mask: torch.Tensor):
        """The pooled (projected, normalised) vectors ``(B, d_pooled)`` and the token states."""
        states, last, lengths = self._states(embeds, attention_mask)
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
        return vector, states

    def term_weights(
        self, embeds: torch.Tensor, attention_mask: torch.Tensor, input_ids: torch.Tensor
    ) -> torch.Tensor:
        """The lexical part's weight of every token: ``(B, T)``, 0 on padding and unknown words."""
        if self.lexical is None:
            raise ValueError("This model has no lexical part (lexical_buckets=0): no term weights.")
        states, _, _ = self._states(embeds, attention_mask)
        weights = self.lexical.token_weights(states, input_ids, attention_mask)  # (B, T')
        return F.pad(weights, (0, input_ids.size(1) - weights.size(1)))  # (B, T)

    def _states(self, embeds: torch.Tensor, attention_mask: torch.Tensor):
        """Token states ``(B, T', dirs*H)``, last states ``(B, dirs*H)`` and lengths ``(B,)``."""
        # Empty texts have no token; they read one <pad> (a zero vector) instead of crashing.
        lengths = attention_mask.sum(dim=1).clamp(min=1)  # (B,)
        if torch.is_grad_enabled():
            states, last = self._padded_states(embeds, lengths)
        else:
            states, last = self._packed_states(embeds, lengths.cpu())
        return states, last, lengths

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
