"""Cross-process in-batch negatives on 2 real gloo processes (forked, on 127.0.0.1): the gathering
functions give the loss and gradient of one process holding the whole batch."""

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from ports import free_port

from modeling.training.distributed import gather_positive_mask, gather_with_local_grad
from modeling.training.losses import full_batch_triplet_loss, info_nce_loss

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
    context, port = mp.get_context("fork"), free_port()
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
