"""Shared fixtures: where the real MS MARCO data lives, and the real GloVe vocabulary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MSMARCO_DIR = Path(os.environ.get("MSMARCO_DIR", REPO_ROOT.parent / "shared/data/msmarco"))

# Never reach for the network from tests: the Hub and wandb.ai are unreachable here and in CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


@pytest.fixture(scope="session")
def msmarco_dir() -> Path:
    """The real MS MARCO subsets; a missing directory fails the test instead of skipping it."""
    if not (MSMARCO_DIR / "train_pairs.jsonl").exists():
        pytest.fail(f"Real MS MARCO data not found in {MSMARCO_DIR}; set MSMARCO_DIR.")
    return MSMARCO_DIR


@pytest.fixture(scope="session")
def glove():
    """The real GloVe 6B 50d vocabulary (400k words + <pad> + <unk>)."""
    from data_prep.glove import load_glove

    return load_glove()


@pytest.fixture(scope="session")
def glove_tokenizer(glove):
    from modeling import TwoTowerTokenizerFast

    return TwoTowerTokenizerFast.from_vocabulary(glove.words)
