"""``AutoTokenizer.from_pretrained(checkpoint)`` without ``trust_remote_code``: a known limit.

transformers 5.24 reads ``config.json`` before any tokenizer file, through
``AutoConfig.from_pretrained(checkpoint, trust_remote_code=None)``. Its ``auto_map.AutoConfig``
(which ``AutoModel.from_pretrained(..., trust_remote_code=True)`` needs, as ``two_tower`` is no
model type of transformers) makes that call ask "Do you wish to run the custom code? [y/N]":
an interactive session waits up to 15 s for the answer; without a terminal the question is
printed, the answer is read as no, and the fallback config warns "You are using a model of type
`two_tower` to instantiate a model of type ``". No file of the checkpoint avoids it without
breaking AutoModel (without ``auto_map.AutoConfig`` AutoModel refuses the unknown model type).
The quiet calls are ``AutoTokenizer.from_pretrained(repo, trust_remote_code=True)`` (the model
card's) and ``PreTrainedTokenizerFast.from_pretrained(repo)``. This test fails (XPASS, strict)
once a transformers release loads the tokenizer quietly, so the limit is revisited then.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from modeling import TwoTowerModel, TwoTowerTokenizerFast

WORDS = ["the", "cat", "<pad>", "<unk>"]
LOAD = "from transformers import AutoTokenizer; AutoTokenizer.from_pretrained({!r})"


@pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="transformers asks about the config's remote code"
)
def test_plain_autotokenizer_loads_without_a_prompt_or_warning(tmp_path):
    TwoTowerModel.from_glove(torch.randn(4, 3), hidden_size=2).save_pretrained(tmp_path)
    TwoTowerTokenizerFast.from_vocabulary(WORDS).save_pretrained(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", LOAD.format(str(tmp_path))],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:  # not the known limit: fail outright
        raise RuntimeError(f"AutoTokenizer failed: {proc.stderr[-2000:]}")
    assert proc.stdout + proc.stderr == ""
