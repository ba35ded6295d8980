"""Search index building with `accelerate launch` and 2 CPU processes over real MS MARCO passages,
with a small untrained model over the 5,000 most frequent GloVe words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ports import free_port
from script_loader import load_script
from tiny import save_tiny_checkpoint

from data_prep.glove import prune_vocabulary
from modeling.retrieval.index import SearchIndex

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_lexical_model_dir(glove, tmp_path_factory):
    """Hidden 7, a 97-bucket lexical part (its words collide: 5,000 ids)."""
    vocab, _ = prune_vocabulary(glove, [], keep_top=5000)
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_lexical"), vocab, lexical_buckets=97)


@pytest.fixture(scope="module")
def small_corpus(msmarco_dir, tmp_path_factory) -> Path:
    """The first 120 real passages of corpus.tsv."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.tsv"
    with open(msmarco_dir / "corpus.tsv", encoding="utf-8") as handle:
        path.write_text("".join(next(handle) for _ in range(120)), encoding="utf-8")
    return path


def test_two_process_encode_equals_one_process(tiny_lexical_model_dir, small_corpus, tmp_path):
    """`accelerate launch` with 2 CPU processes: shards merge into the 1-process index."""
    tiny_model_dir = tiny_lexical_model_dir  # both parts of the vectors go through the merge
    launcher = Path(sys.executable).with_name("accelerate")
    # 120 passages in chunks of 25: 5 chunks, so the two shards are uneven (3 and 2).
    common = ["--model", str(tiny_model_dir), "--corpus", str(small_corpus), "--chunk_size", "25",
              "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    launched = subprocess.run(
        [str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
         str(free_port()), str(REPO_ROOT / "scripts/search.py"), "build", *common,
         "--index_dir", str(tmp_path / "two")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr[-3000:]
    load_script("search").main(["build", *common, "--index_dir", str(tmp_path / "one")])
    one, two = SearchIndex(tmp_path / "one"), SearchIndex(tmp_path / "two")
    assert two.meta["num_processes"] == 2 and one.meta["num_processes"] == 1
    assert two.ids == one.ids and two.meta["chunks"] == 5
    np.testing.assert_allclose(two.embeddings, one.embeddings, atol=1e-6)
    np.testing.assert_allclose(two.lexical.toarray(), one.lexical.toarray(), atol=1e-6)
    assert [two.text(i) for i in (0, 60, 119)] == [one.text(i) for i in (0, 60, 119)]
