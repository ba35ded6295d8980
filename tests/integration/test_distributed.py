"""Cross-process in-batch negatives through real `accelerate launch` runs.

`accelerate launch` with 2 CPU processes is checked against a 1-process run on the same global
batches: same losses step by step, same final weights, same held-out metrics; with gathering off
the losses differ, so the comparison can fail. (The gathering functions alone, on 2 forked gloo
processes: tests/unit/test_gather_across_processes.py.)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ports import free_port
from safetensors.torch import load_file
from wandb_records import logged, read_offline_run

REPO = Path(__file__).resolve().parents[2]

# Stated tolerances. Measured here: the gathered 2-process run's losses are within 3e-8 of the
# 1-process run's (float32 sums in another order) and its weights within 1.6e-6 after 12 AdamW
# steps (Adam's division by sqrt(v) magnifies last-bit differences of tiny gradients). Without
# gathering the first loss is 5e-3 away and the weights 5e-2: far outside both tolerances.
LOSS_TOL = 1e-5
WEIGHT_TOL = 1e-4

# --- Real launches: 1 process x 16 queries vs 2 processes x 8 queries, same sampler seed. ---
# With 2 processes, rank r takes batches r, r+2, ... of 8 from the same shuffled order, so the
# global batch of a step is the 1-process batch of 16 (rank 0's half first, as gathered).


def _train_args(msmarco_dir: Path, out: Path, batch: int) -> list[str]:
    return [
        str(REPO / "scripts/train.py"),
        "--train_file", str(msmarco_dir / "train_pairs.jsonl"), "--output_dir", str(out),
        "--max_train_queries", "800", "--eval_fraction", "0.008",  # 96 held-out = 6 x 16
        "--max_steps", "12", "--per_device_train_batch_size", str(batch),
        "--per_device_eval_batch_size", str(batch), "--learning_rate", "0.005",
        "--hidden_size", "8", "--query_max_length", "16", "--passage_max_length", "48",
        "--prune_vocab", "--prune_keep_top", "1000", "--dropout", "0",
        "--logging_steps", "1", "--save_steps", "12", "--wandb", "disabled",
        "--disable_tqdm", "true", "--seed", "3",
        # Labels alone: a teacher passage that two queries on different processes share is one
        # column in 1 process and two in 2 (as any shared passage), which distillation makes common.
        "--teacher_scores", "none",
    ]  # fmt: skip


def _start(cmd: list[str], out: Path, **env: str) -> tuple[subprocess.Popen, Path]:
    # One thread a process: the three runs share the 2 cores, and torch's 2-thread pool
    # slows to a crawl when the cores are oversubscribed.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_DIR": str(out / "wandb"), **env}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc, out


def _result(started: tuple[subprocess.Popen, Path]) -> dict:
    proc, out = started
    log, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, log[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    state = json.loads((out / "checkpoint-12/trainer_state.json").read_text())
    return {
        "out": out,
        "log": log,
        "summary": summary,
        "losses": [row["loss"] for row in state["log_history"] if "loss" in row],
        "weights": load_file(out / "model.safetensors"),
    }


def _launch(msmarco_dir: Path, out: Path, gather: bool, wandb: bool = False):
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--main_process_port", str(free_port()), "--mixed_precision", "no",
        "--dynamo_backend", "no", "--num_machines", "1",
        *_train_args(msmarco_dir, out, batch=8),
        "--gather_across_processes", str(gather).lower(),
        "--wandb", "offline" if wandb else "disabled",  # the last --wandb wins
    ]  # fmt: skip
    return _start(cmd, out, ACCELERATE_USE_CPU="1")


@pytest.fixture(scope="module")
def runs(msmarco_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("distributed")
    started = {  # all at once: most of each run is single-threaded start-up
        "one": _start([sys.executable, *_train_args(msmarco_dir, root / "one", 16)], root / "one"),
        "two": _launch(msmarco_dir, root / "two", gather=True, wandb=True),
        "two_local": _launch(msmarco_dir, root / "two_local", gather=False),
    }
    return {name: _result(run) for name, run in started.items()}


def test_two_process_launch_is_really_distributed(runs):
    for name in ("two", "two_local"):
        assert "world_size=2 device=cpu" in runs[name]["log"]
        assert runs[name]["summary"]["world_size"] == 2
    assert "world_size=1" in runs["one"]["log"]


def test_gathered_two_process_run_equals_one_process_run(runs):
    one, two = runs["one"], runs["two"]
    assert len(one["losses"]) == len(two["losses"]) == 12
    # Every step's loss, not only the first ones: the whole run is the same computation.
    assert two["losses"] == pytest.approx(one["losses"], abs=LOSS_TOL)
    assert one["weights"].keys() == two["weights"].keys()
    for name, weight in one["weights"].items():
        torch.testing.assert_close(two["weights"][name], weight, atol=WEIGHT_TOL, rtol=0, msg=name)
    # Held-out in-batch metrics over the same gathered eval batches of 16.
    for phase in ("untrained", "eval"):
        for metric in ("recall@1", "recall@5", "gap"):
            key = f"{phase}_{metric}"
            got, expected = two["summary"][phase][key], one["summary"][phase][key]
            assert got == pytest.approx(expected, abs=1e-5), key


def test_two_process_run_closes_its_wandb_run(runs):
    # The distributed exit path (os._exit after destroy_process_group) skips atexit hooks.
    run = read_offline_run(runs["two"]["out"] / "wandb")
    assert run["exit_code"] == 0
    assert logged(run, "train/loss") == pytest.approx(runs["two"]["losses"])
    (recall,) = logged(run, "eval/recall@1")
    assert recall == pytest.approx(runs["two"]["summary"]["eval"]["eval_recall@1"])


def test_without_gathering_the_runs_differ(runs):
    one, local = runs["one"], runs["two_local"]
    # Each rank ranks its own 8 queries against 8 passages: another loss from the first step on.
    assert abs(local["losses"][0] - one["losses"][0]) > 100 * LOSS_TOL
    largest = max((local["weights"][k] - w).abs().max().item() for k, w in one["weights"].items())
    assert largest > 10 * WEIGHT_TOL
