"""The real data: MS MARCO subsets in ../shared/data/msmarco (or $MSMARCO_DIR) and the installed
GloVe 6B 50d vectors. A missing directory fails the test, naming it, rather than skipping it:
an integration run without its data has checked nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MSMARCO_DIR = Path(os.environ.get("MSMARCO_DIR", REPO_ROOT.parent / "shared/data/msmarco"))


@pytest.fixture(scope="session")
def msmarco_dir() -> Path:
    """The real MS MARCO subsets."""
    if not (MSMARCO_DIR / "train_pairs.jsonl").exists():
        pytest.fail(
            f"Real MS MARCO data not found in {MSMARCO_DIR}; set MSMARCO_DIR, or run the unit "
            "tier alone: python -m pytest tests/unit"
        )
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
