"""Weights & Biases: what a training run logs offline can be read back, and the API key from
`.env` never lands in a log, a run file or the run config (the run file is read by
`tests/support/wandb_records.py`; `resolve_wandb`'s modes: tests/unit/test_wandb_setup.py).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wandb_records import logged, read_offline_run

REPO = Path(__file__).resolve().parents[2]
FAKE_KEY = "local-" + "5eC7e7" * 6 + "ab12"  # 44 characters, shaped like a wandb key


def test_offline_run_logs_loss_and_metrics_and_never_the_key(msmarco_dir, tmp_path):
    (tmp_path / ".env").write_text(f"WANDB_API_KEY={FAKE_KEY}\n")  # read from the working dir
    out, wandb_dir = tmp_path / "out", tmp_path / "wandb_files"
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    env |= {"WANDB_MODE": "offline", "WANDB_DIR": str(wandb_dir), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, str(REPO / "scripts/train.py"),
        "--train_file", str(msmarco_dir / "train_pairs.jsonl"), "--output_dir", str(out),
        "--max_train_queries", "160", "--eval_fraction", "0.008",
        "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "16",
        "--max_steps", "6", "--logging_steps", "2", "--save_strategy", "no",
        "--hidden_size", "8", "--passage_max_length", "48",
        "--prune_vocab", "--prune_keep_top", "1000", "--disable_tqdm", "true",
        "--wandb", "auto",  # the key is found, WANDB_MODE=offline keeps it off the network
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    run = read_offline_run(wandb_dir)
    assert run["exit_code"] == 0  # the run was finished and flushed before the process ended
    losses = logged(run, "train/loss")
    assert len(losses) == 3 and all(math.isfinite(x) and x > 0 for x in losses)
    summary = json.loads((out / "train_summary.json").read_text())
    for metric in ("recall@1", "recall@5", "gap"):
        (value,) = logged(run, f"eval/{metric}")
        assert value == pytest.approx(summary["eval"][f"eval_{metric}"])
    assert json.loads(run["config"]["max_steps"]) == 6

    # The key is nowhere: not in the config, not in any file wandb or the Trainer wrote, not
    # in the console output.
    assert not any(FAKE_KEY in value for value in run["config"].values())
    assert FAKE_KEY not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".env"]
    assert any(p.suffix == ".wandb" for p in written) and any(
        p.name == "debug.log" for p in written
    )
    assert [p for p in written if FAKE_KEY.encode() in p.read_bytes()] == []
