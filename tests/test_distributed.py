"""Cross-process in-batch negatives, on real gloo processes.

The gathering functions are checked against one process holding the whole batch (values and the
gradient DDP ends up applying); then `accelerate launch` with 2 CPU processes is checked against a
1-process run on the same global batches: same losses step by step, same final weights, same
held-out metrics; with gathering off the losses differ, so the comparison can fail.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file

from modeling.training.distributed import gather_positive_mask, gather_with_local_grad
from modeling.training.losses import full_batch_triplet_loss, info_nce_loss

REPO = Path(__file__).resolve().parents[1]

# Stated tolerances. Measured here: the gathered 2-process run's losses are within 3e-8 of the
# 1-process run's (float32 sums in another order) and its weights within 1.6e-6 after 12 AdamW
# steps (Adam's division by sqrt(v) magnifies last-bit differences of tiny gradients). Without
# gathering the first loss is 5e-3 away and the weights 5e-2: far outside both tolerances.
LOSS_TOL = 1e-5
WEIGHT_TOL = 1e-4

# A global batch split over 2 ranks: 5 queries, 7 passages, d=4. Queries 0 and 3 have two
# positives each, passage 5 answers queries 3 and 4 (one column after de-duplication), passage 6
# is a hard negative (nobody's positive).
ROWS_Q = [(0, 2), (2, 5)]  # rank -> its query rows
ROWS_P = [(0, 3), (3, 7)]  # rank -> its passage rows
MASK = torch.zeros(5, 7, dtype=torch.bool)
for _q, _p in [(0, 0), (0, 1), (1, 2), (2, 3), (3, 4), (3, 5), (4, 5)]:
    MASK[_q, _p] = True


def _embeddings() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(5, 4, generator=generator), dim=-1)
    p = torch.nn.functional.normalize(torch.randn(7, 4, generator=generator), dim=-1)
    return q, p


def _losses(q, p, mask):
    return {
        "infonce": info_nce_loss(q, p, mask, temperature=0.1),
        "triplet": full_batch_triplet_loss(
            q, p, mask, margin=0.5, generator=torch.Generator().manual_seed(7)
        ),
    }


def _gather_worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        q_all, p_all = _embeddings()
        (q0, q1), (p0, p1) = ROWS_Q[rank], ROWS_P[rank]
        mask = gather_positive_mask(MASK[q0:q1, p0:p1].clone())
        results = {"mask": mask}
        for name in ("infonce", "triplet"):
            q = q_all[q0:q1].clone().requires_grad_()
            p = p_all[p0:p1].clone().requires_grad_()
            loss = _losses(gather_with_local_grad(q), gather_with_local_grad(p), mask)[name]
            loss.backward()
            results[name] = (loss.detach(), q.grad, p.grad)
        torch.save(results, Path(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_gathering_gives_the_one_process_loss_and_gradient(tmp_path):
    # Forked, not spawned: the children inherit the imported modules (a spawn re-imports
    # transformers in each, ~10 s); the tensors are too small for torch to use its thread pool.
    context, port = mp.get_context("fork"), _free_port()
    workers = [
        context.Process(target=_gather_worker, args=(rank, port, str(tmp_path))) for rank in (0, 1)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        if worker.is_alive():
            worker.kill()
    assert [worker.exitcode for worker in workers] == [0, 0]
    q_all, p_all = _embeddings()
    q_all.requires_grad_()
    p_all.requires_grad_()
    full = {
        name: (loss.item(), *torch.autograd.grad(loss, (q_all, p_all)))
        for name, loss in _losses(q_all, p_all, MASK).items()
    }
    for rank in range(2):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        assert torch.equal(got["mask"], MASK)  # block-diagonal, several positives kept in place
        (q0, q1), (p0, p1) = ROWS_Q[rank], ROWS_P[rank]
        for name, (loss, q_grad, p_grad) in full.items():
            got_loss, got_q_grad, got_p_grad = got[name]
            assert got_loss.item() == pytest.approx(loss, abs=1e-6), name
            # DDP averages the 2 ranks' gradients: each rank's local rows carry 2x their share.
            torch.testing.assert_close(got_q_grad / 2, q_grad[q0:q1])
            torch.testing.assert_close(got_p_grad / 2, p_grad[p0:p1])


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
        "--main_process_port", str(_free_port()), "--mixed_precision", "no",
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
    from test_wandb import logged, read_offline_run

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
