"""Unit-tier fixtures: a 13-word vocabulary with 7-dimensional vectors and its tokenizer.

Nothing here (or in any unit test) reads ../shared or the installed GloVe package; the real-data
fixtures (`msmarco_dir`, `glove`, `glove_tokenizer`) exist only for tests/integration.
"""

from __future__ import annotations

import pytest
from tiny import tiny_vocabulary

from modeling import TwoTowerTokenizerFast


@pytest.fixture
def tiny_vocab():
    """`tiny.WORDS` with seeded random vectors (13 x 7), ``<pad>`` and ``<unk>`` last."""
    return tiny_vocabulary()


@pytest.fixture
def tiny_tokenizer(tiny_vocab):
    return TwoTowerTokenizerFast.from_vocabulary(tiny_vocab.words)
