"""Cross-process gathers for in-batch negatives under ``accelerate launch``.

Every query sees the whole global batch as negatives; the gradient flows through the local slice
only (tevatron's ``negatives_x_device``).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def all_gather_variable(tensor: torch.Tensor) -> list[torch.Tensor]:
    """All-gathers tensors whose sizes differ between processes; one (detached) tensor a rank."""
    world = dist.get_world_size()
    shape = torch.tensor(tensor.shape, device=tensor.device)
    shapes = [torch.zeros_like(shape) for _ in range(world)]
    dist.all_gather(shapes, shape)
    largest = torch.stack(shapes).amax(dim=0)
    padding = [
        x
        for dim in reversed(range(tensor.dim()))
        for x in (0, int(largest[dim] - tensor.shape[dim]))
    ]
    padded = F.pad(tensor.detach(), padding)
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded)
    return [
        part[tuple(slice(0, int(n)) for n in size)]
        for part, size in zip(gathered, shapes, strict=True)
    ]


def gather_with_local_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenates every rank's rows (rank order); only the local rows carry a gradient.

    DDP averages gradients over the W processes while each process's loss covers the whole global
    batch, so the local rows' gradient is scaled by W (value unchanged) to give the gradient of a
    single process training on the global batch.
    """
    world, rank = dist.get_world_size(), dist.get_rank()
    parts = all_gather_variable(tensor)
    parts[rank] = tensor * world - (tensor * (world - 1)).detach()
    return torch.cat(parts)


def gather_positive_mask(positive_mask: torch.Tensor) -> torch.Tensor:
    """Every rank's ``(B_r, P_r)`` mask -> the global block-diagonal ``(sum B, sum P)`` mask."""
    return torch.block_diag(*all_gather_variable(positive_mask))
