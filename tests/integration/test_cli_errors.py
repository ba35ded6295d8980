"""The scripts' user errors: one ``error:`` line and exit code 2, no traceback (unless
TWO_TOWER_DEBUG=1), arguments checked before anything loads, and no arbitrary hits for a query
the model cannot read. Each script runs as a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.retrieval.encoders import TwoTowerEncoder
from modeling.retrieval.index import build_index

REPO = Path(__file__).resolve().parents[2]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "heart", "blood", "river", "bank"]
WORDS += ["<pad>", "<unk>"]
PASSAGES = ["the cat sat on the mat", "a dog sat", "blood enters the heart", "the river bank"]


def script(name: str, *argv: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TWO_TOWER_DEBUG"}
    env |= {"OMP_NUM_THREADS": "1", **({"TWO_TOWER_DEBUG": "1"} if debug else {})}
    command = [sys.executable, str(REPO / "scripts" / f"{name}.py"), *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    torch.manual_seed(0)
    TwoTowerModel.from_glove(torch.randn(len(WORDS), 7), hidden_size=5).save_pretrained(folder)
    TwoTowerTokenizerFast.from_vocabulary(WORDS, drop_stopwords=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def index_dir(checkpoint, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("index")
    (root / "corpus.tsv").write_text("".join(f"p{i}\t{t}\n" for i, t in enumerate(PASSAGES)))
    return build_index(
        TwoTowerEncoder(checkpoint), root / "corpus.tsv", root / "index", progress_bar=False
    )


def test_bad_top_k_fails_before_anything_loads(tmp_path):
    started = time.perf_counter()
    proc = script("search", "query", "--index_dir", str(tmp_path / "none"), "--top_k", "0")
    assert_user_error(proc, "argument --top_k: must be at least 1, got 0")
    assert time.perf_counter() - started < 60  # argparse, not a model load


def test_missing_index_is_one_line_and_debug_keeps_the_traceback(tmp_path):
    argv = ("query", "--index_dir", str(tmp_path / "none"), "--query", "cat")
    assert_user_error(script("search", *argv), f"error: {tmp_path / 'none'} is not an index")
    debug = script("search", *argv, debug=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_stopword_only_query_gets_no_results_and_the_reason(index_dir):
    argv = ["query", "--index_dir", str(index_dir), "--top_k", "2", "--format", "jsonl"]
    proc = script("search", *argv, "--query", "the a on", "--query", "heart blood")
    assert proc.returncode == 0, proc.stderr[-3000:]
    empty, answered = (json.loads(line) for line in proc.stdout.splitlines())
    assert empty["hits"] == []
    assert empty["no_results"].startswith("the query has no words once stopwords")
    assert len(answered["hits"]) == 2 and "no_results" not in answered


def test_evaluate_refuses_a_nan_checkpoint_naming_the_tensor(checkpoint, msmarco_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in checkpoint.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    weights = load_file(broken / "model.safetensors")
    weights["passage_tower.rnn.weight_ih_l0"][0, 0] = float("nan")
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    argv = ["--model", str(broken), "--baselines", "none", "--data_dir", str(msmarco_dir)]
    proc = script("evaluate", *argv, "--tasks", "dev600-rerank", "--throughput_passages", "0")
    assert_user_error(
        proc,
        f"error: {broken / 'model.safetensors'}: tensor passage_tower.rnn.weight_ih_l0 holds 1 NaN",
    )
    assert "MRR@10" not in proc.stdout  # no table of meaningless numbers


def test_evaluate_checks_model_paths_before_loading_tasks(msmarco_dir, tmp_path):
    missing = str(tmp_path / "typo" / "model")
    proc = script("evaluate", "--model", missing, "--data_dir", str(msmarco_dir))
    assert_user_error(proc, f"--model {missing}: no such checkpoint folder")
