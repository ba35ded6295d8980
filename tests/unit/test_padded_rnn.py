"""The training path (padded RNN calls) gives the packed inference path's vectors and gradients."""

import pytest
import torch

from modeling.configuration_two_tower import TwoTowerConfig
from modeling.towers_two_tower import RNNTower


@pytest.mark.parametrize(
    "rnn_type,layers,bidirectional,pooling,buckets",
    [
        ("gru", 1, True, "mean", 0),
        ("gru", 2, True, "max", 0),
        ("gru", 1, False, "last", 0),
        ("lstm", 1, True, "last", 0),
        ("lstm", 2, False, "mean", 0),
        ("lstm", 2, True, "last", 0),
        ("gru", 1, True, "attention", 0),
        ("gru", 1, True, "attention", 4),  # 4 buckets for 13 ids: shared buckets too
        ("gru", 1, False, "attention", 4),  # the recipe's tower
    ],
)
def test_padded_training_path_matches_packed(rnn_type, layers, bidirectional, pooling, buckets):
    torch.manual_seed(0)
    config = TwoTowerConfig(
        vocab_size=13, embedding_dim=5, pad_token_id=11, unk_token_id=12, rnn_type=rnn_type,
        hidden_size=7, num_layers=layers, bidirectional=bidirectional, pooling=pooling,
        lexical_buckets=buckets,
    )  # fmt: skip
    tower = RNNTower(config).train()
    if pooling == "attention":  # a non-zero scorer: zero would make it mean pooling
        torch.nn.init.normal_(tower.attention)
    if buckets:  # context-dependent term weights, not the initial constant
        torch.nn.init.normal_(tower.lexical.scorer)
    lengths = torch.tensor([6, 1, 3, 6, 4])
    mask = (torch.arange(6)[None, :] < lengths[:, None]).long()  # right padding, odd lengths
    embeds = torch.randn(5, 6, 5) * mask[..., None]
    ids = torch.randint(0, 13, (5, 6)).masked_fill(mask == 0, 11)  # some <unk> (12) among them
    weight = torch.randn(tower(embeds, mask, ids).shape)

    padded = tower(embeds, mask, ids)  # grad enabled: padded path
    (padded * weight).sum().backward()
    grads_padded = {n: p.grad.clone() for n, p in tower.named_parameters()}
    tower.zero_grad()
    with torch.no_grad():
        packed = tower(embeds, mask, ids)  # inference: packed path
    states, last = tower._packed_states(embeds, lengths)  # packed, with gradients
    if pooling == "last":
        reference = last
    elif pooling == "mean":
        reference = states.sum(dim=1) / lengths[:, None]
    elif pooling == "attention":
        weights = (states @ tower.attention).masked_fill(mask == 0, float("-inf")).softmax(dim=1)
        reference = (weights[..., None] * states).sum(dim=1)
    else:
        reference = states.masked_fill(mask[..., None] == 0, float("-inf")).amax(dim=1)
    reference = torch.nn.functional.normalize(reference, dim=-1)
    if buckets:
        reference = torch.cat([reference, tower.lexical(states, ids, mask)], dim=-1)
    (reference * weight).sum().backward()

    assert torch.allclose(padded, packed, atol=1e-5)
    assert torch.allclose(padded, reference, atol=1e-5)
    for name, param in tower.named_parameters():
        assert torch.allclose(grads_padded[name], param.grad, atol=1e-5), name
    # Padding content never leaks into a text's vector on the padded path.
    noisy = embeds + torch.randn_like(embeds) * (1 - mask[..., None])
    assert torch.allclose(tower(noisy, mask, ids), padded, atol=1e-5)
