"""Weights & Biases: what a training run logs offline can be read back, and the API key from
`.env` never lands in a log, a run file or the run config.

`read_offline_run` parses the run's `.wandb` file: wandb's LevelDB-style log (a 7-byte
``:W&B`` header, 32 KiB blocks of CRC'd chunks) of `wandb_internal_pb2.Record` messages.
"""

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from modeling.training.wandb_setup import resolve_wandb

REPO = Path(__file__).resolve().parents[1]
FAKE_KEY = "local-" + "5eC7e7" * 6 + "ab12"  # 44 characters, shaped like a wandb key
BLOCK, CHUNK_HEADER = 32 * 1024, struct.Struct("<IHB")  # crc32, length, chunk type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_offline_run(wandb_dir: Path) -> dict:
    """The single offline run under ``wandb_dir``: history rows, config keys, exit code."""
    from wandb.proto import wandb_internal_pb2

    (path,) = wandb_dir.glob("wandb/offline-run-*/run-*.wandb")
    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a wandb run file.")
    run = {"history": [], "config": {}, "exit_code": None}
    pos, pending = 7, b""
    while pos + CHUNK_HEADER.size <= len(data):
        if BLOCK - pos % BLOCK < CHUNK_HEADER.size:  # a block's tail too short for a chunk
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        payload = data[pos + CHUNK_HEADER.size : pos + CHUNK_HEADER.size + length]
        pos += CHUNK_HEADER.size + length
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind not in (FULL, LAST):
            continue
        record = wandb_internal_pb2.Record()
        record.ParseFromString(pending)
        kind_name = record.WhichOneof("record_type")
        if kind_name == "history":
            items = record.history.item
            run["history"].append({i.key or "/".join(i.nested_key): i.value_json for i in items})
        elif kind_name == "config":
            for item in record.config.update:
                run["config"][item.key or "/".join(item.nested_key)] = item.value_json
        elif kind_name == "exit":
            run["exit_code"] = record.exit.exit_code
    return run


def logged(run: dict, key: str) -> list[float]:
    """Every value logged under ``key``, in order."""
    return [json.loads(row[key]) for row in run["history"] if key in row]


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


def test_resolve_wandb_modes(tmp_path, monkeypatch):
    # resolve_wandb writes os.environ: give it a copy without WANDB_*, restored afterwards.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    monkeypatch.setattr(os, "environ", clean)
    no_env = tmp_path / "missing.env"
    assert resolve_wandb("auto", no_env) is False  # no key: no wandb, no error
    with pytest.raises(ValueError, match="--wandb offline"):
        resolve_wandb("online", no_env)
    assert resolve_wandb("offline", no_env) is True
    assert os.environ.pop("WANDB_MODE") == "offline"
    env_file = tmp_path / ".env"
    env_file.write_text(f"WANDB_API_KEY={FAKE_KEY}\nOTHER_SECRET=x\n")
    assert resolve_wandb("auto", env_file) is True
    assert os.environ["WANDB_API_KEY"] == FAKE_KEY and "OTHER_SECRET" not in os.environ
    assert resolve_wandb("disabled", env_file) is False
