"""What scripts/train.py leaves behind: no token anywhere, no run mixed into an earlier one, no
half-written checkpoint resumed. Each test runs the real script as a subprocess on a toy
vocabulary and toy pairs (seconds), against the local Hub server and wandb in offline mode.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import session_hub
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "what", "is", "where", "of", "and"]
TOKEN = "hf_" + "Zq7" * 11  # never a real token: the local server accepts hub.token only


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    """A 7-d toy GloVe file and train/eval pairs."""
    folder = tmp_path_factory.mktemp("toy")
    rng = random.Random(0)
    lines = [f"{w} " + " ".join(f"{rng.uniform(-1, 1):.4f}" for _ in range(7)) for w in WORDS]
    (folder / "glove.toy.7d.txt").write_text("\n".join(lines) + "\n")
    for name, count in (("train.jsonl", 8), ("eval.jsonl", 4)):
        pairs = [
            {"query_id": i, "query": f"what is the {w}", "passage": f"the {w} sat on a mat"}
            for i, w in enumerate(WORDS[:count])
        ]
        (folder / name).write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return folder


def train(toy: Path, out: Path, *extra: str, env: dict | None = None, steps: int = 2):
    argv = [
        sys.executable,
        str(REPO / "scripts" / "train.py"),
        "--glove",
        str(toy / "glove.toy.7d.txt"),
    ]
    argv += ["--train_file", str(toy / "train.jsonl"), "--eval_file", str(toy / "eval.jsonl")]
    argv += ["--hidden_size", "4", "--max_steps", str(steps), "--save_steps", "1"]
    argv += ["--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4"]
    argv += ["--output_dir", str(out), "--disable_tqdm", "true", *extra]
    base = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "TWO_TOWER_DEBUG")}
    env = {**base, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", **(env or {})}
    return subprocess.run(
        argv, cwd=out.parent, env=env, capture_output=True, text=True, timeout=300
    )


def test_hub_token_reaches_no_file_log_run_or_hub_commit(toy, tmp_path):
    hub = session_hub()
    out, wandb_dir = tmp_path / "out", tmp_path / "wandb_files"
    env = hub.client_env(tmp_path / "hf_home", base={})
    env |= {"WANDB_MODE": "offline", "WANDB_DIR": str(wandb_dir)}
    proc = train(
        toy, out, "--push_to_hub", "--hub_model_id", "tester/secret-run", "--hub_token",
        hub.token, "--wandb", "offline", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]

    state = hub.storage.load("models", "tester/secret-run")  # the flag's token did push
    pushed = state["commits"][state["refs"]["main"]]["files"]
    assert {"model.safetensors", "training_args.bin", "config.json"} <= set(pushed)
    token = hub.token.encode()
    assert token not in (proc.stdout + proc.stderr).encode()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "training_args.bin" for p in written)
    assert any(p.suffix == ".wandb" for p in written)  # wandb's run file, with the argv it saw
    assert len([p for p in written if "checkpoint-" in str(p)]) > 5
    assert [p for p in written if token in p.read_bytes()] == []
    stored = [p for p in Path(hub.storage.root).rglob("*") if p.is_file()]
    assert len(stored) > 5
    assert [p for p in stored if token in p.read_bytes()] == []


def test_existing_output_dir_is_refused_then_overwritten_only_when_asked(toy, tmp_path):
    out = tmp_path / "run"
    assert train(toy, out, "--wandb", "disabled").returncode == 0
    (out / "eval_results.json").write_text("{}")  # as make train's evaluation leaves it
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert any("checkpoint-2" in str(p) for p in before)

    refused = train(toy, out, "--wandb", "disabled")
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert f"error: --output_dir {out} already holds an earlier run" in refused.stderr
    assert "--overwrite_output_dir" in refused.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before

    overwritten = train(toy, out, "--wandb", "disabled", "--overwrite_output_dir", steps=1)
    assert overwritten.returncode == 0, overwritten.stderr[-3000:]
    assert "deleting the earlier run" in overwritten.stderr
    assert not (out / "eval_results.json").exists()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]
    assert (out / "model.safetensors").is_file() and not (out / "_saving").exists()


def test_resume_last_skips_a_half_written_checkpoint(toy, tmp_path):
    out = tmp_path / "run"
    assert train(toy, out, "--wandb", "disabled").returncode == 0
    # An interrupted save of checkpoint-2: weights cut short, no trainer_state.json yet.
    weights = out / "checkpoint-2" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(Exception):  # noqa: B017 (safetensors' own error type)
        load_file(weights)
    (out / "checkpoint-2" / "trainer_state.json").unlink()

    resumed = train(toy, out, "--wandb", "disabled", "--resume_from_checkpoint", "last", steps=3)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Skipping {out / 'checkpoint-2'}: no trainer_state.json" in resumed.stderr
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    redone = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert redone["global_step"] == 2  # step 2 trained again from checkpoint-1, saved whole
    assert load_file(weights)  # whole again: it reads

    # A named half-written checkpoint is refused with the reason, before any training.
    (out / "checkpoint-3" / "trainer_state.json").write_text('{"global_st')
    named = train(toy, out, "--resume_from_checkpoint", str(out / "checkpoint-3"), steps=4)
    assert named.returncode == 2 and "Traceback" not in named.stderr
    assert "trainer_state.json is cut short (the save was interrupted)" in named.stderr
