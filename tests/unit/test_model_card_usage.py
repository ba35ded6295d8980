"""The model card's usage snippets run as written, against a saved checkpoint, and both ways of
loading (transformers and sentence-transformers) give the same scores."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.hub.model_card import build_model_card

pytest.importorskip("sentence_transformers")

WORDS = ["the", "eiffel", "tower", "is", "in", "paris", "where", "coral", "reef", "plants"]
WORDS += ["<pad>", "<unk>"]


def test_both_usage_snippets_run_and_agree(tmp_path):
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(torch.randn(12, 7), hidden_size=5, lexical_buckets=16)
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    TwoTowerTokenizerFast.from_vocabulary(WORDS).save_pretrained(folder)

    card = str(build_model_card(folder, repo_id=str(folder)))
    blocks = re.findall(r"```python\n(.*?)```", card, flags=re.DOTALL)
    assert len(blocks) == 2
    assert "AutoModel" in blocks[0] and "SentenceTransformer" in blocks[1]
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(blocks[0], namespace)  # the transformers snippet defines repo and passages
        transformers_scores = namespace["scores"]
        exec(blocks[1], namespace)
    assert len(printed.getvalue().splitlines()) == 2  # its top-2 passages
    sentence_transformers_scores = torch.as_tensor(namespace["scores"])
    assert sentence_transformers_scores.shape == transformers_scores.shape == (1, 3)
    assert (sentence_transformers_scores - transformers_scores).abs().max() < 1e-6
