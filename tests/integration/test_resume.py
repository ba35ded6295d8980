"""A training process killed with SIGKILL resumes from its last checkpoint and ends where an
uninterrupted run ends: same step count, same batches in the same order, same final metrics.

What the Trainer documents and this test allows: the steps after the last checkpoint are lost
with the process and are trained again, on the same batches, after the resume.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
MAX_STEPS, SAVE_STEPS, KILL_AT = 24, 12, 15  # 10 steps an epoch: the kill lands in epoch 2

# Runs scripts/train.py with every training step's batch recorded (step before the update, and a
# checksum of each query's unpadded token ids); at step STOP_AT it announces itself and hangs.
TRACED_TRAIN = textwrap.dedent(
    """
    import os, runpy, sys, time, zlib
    sys.path.insert(0, os.environ["REPO"])
    from modeling.training.trainer import TwoTowerTrainer

    trace, stop_at = os.environ["TRACE"], int(os.environ.get("STOP_AT", -1))
    training_step = TwoTowerTrainer.training_step

    def traced_step(self, model, inputs, *args, **kwargs):
        step = self.state.global_step
        if step == stop_at:
            open(trace + ".hung", "w").close()
            time.sleep(3600)
        ids, mask = inputs["query_input_ids"], inputs["query_attention_mask"].bool()
        sums = [zlib.crc32(row[m].numpy().tobytes()) for row, m in zip(ids, mask)]
        with open(trace, "a") as f:
            f.write(f"{step} {' '.join(map(str, sums))}\\n")
        return training_step(self, model, inputs, *args, **kwargs)

    TwoTowerTrainer.training_step = traced_step
    sys.argv[0] = os.path.join(os.environ["REPO"], "scripts/train.py")
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def _command(script: Path, msmarco_dir: Path, out: Path) -> list[str]:
    return [
        sys.executable, str(script),
        "--train_file", str(msmarco_dir / "train_pairs.jsonl"), "--output_dir", str(out),
        "--max_train_queries", "160", "--eval_fraction", "0.008",
        "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "16",
        "--max_steps", str(MAX_STEPS), "--save_steps", str(SAVE_STEPS), "--logging_steps", "4",
        "--hidden_size", "8", "--query_max_length", "16", "--passage_max_length", "48",
        "--prune_vocab", "--prune_keep_top", "1000", "--learning_rate", "0.005",
        "--wandb", "disabled", "--disable_tqdm", "true", "--seed", "5",
    ]  # fmt: skip


def _start(cmd: list[str], trace: Path, **env) -> subprocess.Popen:
    # One thread each: the uninterrupted and the killed run share the 2 cores.
    env = {**os.environ, "REPO": str(REPO), "TRACE": str(trace), "OMP_NUM_THREADS": "1", **env}
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen) -> str:
    log, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, log[-3000:]
    return log


def _trace(path: Path) -> list[tuple[int, str]]:
    return [
        (int(step), sums)
        for step, sums in (line.split(" ", 1) for line in path.read_text().splitlines())
    ]


@pytest.fixture(scope="module")
def runs(msmarco_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    script = root / "traced_train.py"
    script.write_text(TRACED_TRAIN)
    full = _start(_command(script, msmarco_dir, root / "full"), root / "full.trace")
    killed = _start(
        _command(script, msmarco_dir, root / "run"), root / "killed.trace", STOP_AT=str(KILL_AT)
    )
    hung = Path(f"{root / 'killed.trace'}.hung")
    deadline = time.monotonic() + 240
    while not hung.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert hung.exists(), killed.communicate()[0][-3000:]
    checkpoints_at_kill = sorted(p.name for p in (root / "run").glob("checkpoint-*"))
    killed.send_signal(signal.SIGKILL)  # no cleanup, no final save: a crash or a preemption
    killed.communicate(timeout=60)
    resumed = _start(
        [*_command(script, msmarco_dir, root / "run"), "--resume_from_checkpoint", "last"],
        root / "resumed.trace",
    )
    return {
        "killed_returncode": killed.returncode,
        "checkpoints_at_kill": checkpoints_at_kill,
        "full_log": _finish(full),
        "resumed_log": _finish(resumed),
        "root": root,
    }


def test_the_kill_was_real_and_mid_run(runs):
    assert runs["killed_returncode"] == -signal.SIGKILL
    assert runs["checkpoints_at_kill"] == [f"checkpoint-{SAVE_STEPS}"]
    killed = _trace(runs["root"] / "killed.trace")
    assert [step for step, _ in killed] == list(range(KILL_AT))


def test_resumed_run_continues_the_data_order(runs):
    root = runs["root"]
    full, killed, resumed = (
        _trace(root / f"{name}.trace") for name in ("full", "killed", "resumed")
    )
    assert [step for step, _ in full] == list(range(MAX_STEPS))
    # The resume starts after the checkpoint: steps SAVE_STEPS.. are trained again, on the same
    # batches the killed process had drawn; then the order goes on as in the uninterrupted run.
    assert [step for step, _ in resumed] == list(range(SAVE_STEPS, MAX_STEPS))
    assert resumed[: KILL_AT - SAVE_STEPS] == killed[SAVE_STEPS:]
    assert killed[:SAVE_STEPS] + resumed == full
    assert len({sums for _, sums in full[:10]}) == 10  # the checksums tell batches apart


def test_resumed_run_ends_where_the_uninterrupted_run_ends(runs):
    root = runs["root"]
    full = json.loads((root / "full/train_summary.json").read_text())
    resumed = json.loads((root / "run/train_summary.json").read_text())
    state = json.loads((root / f"run/checkpoint-{MAX_STEPS}/trainer_state.json").read_text())
    assert state["global_step"] == MAX_STEPS
    # Optimizer, scheduler, RNG and data position are restored, so the resumed run recomputes the
    # same steps: metrics agree to 1e-4 and weights to 1e-5 (float noise only).
    for key in ("eval_recall@1", "eval_recall@5", "eval_gap", "eval_loss"):
        assert resumed["eval"][key] == pytest.approx(full["eval"][key], abs=1e-4), key
    weights = load_file(root / "full/model.safetensors")
    for name, weight in load_file(root / "run/model.safetensors").items():
        torch.testing.assert_close(weight, weights[name], atol=1e-5, rtol=0, msg=name)
