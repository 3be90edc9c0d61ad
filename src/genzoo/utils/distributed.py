"""What several processes of one run (DDP) must do together (docs/architecture.md, "DDP").

Outside DDP (one process, `genzoo-eval`, the tests' direct calls) every function here is the
identity, so models call them unconditionally.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def mean_over_processes(value: torch.Tensor) -> torch.Tensor:
    """The mean of `value` over all processes (each holds an equal share of the global batch)."""
    if world_size() == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / world_size()


def sum_over_processes(value: torch.Tensor) -> torch.Tensor:
    """The sum of `value` over all processes (e.g. code counts of each process's batch)."""
    if world_size() == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value


def gather_from_processes(value: torch.Tensor) -> torch.Tensor:
    """(*shape) in each process -> (processes, *shape), process order, in every process; the
    shapes must agree."""
    if world_size() == 1:
        return value[None]
    parts = [torch.empty_like(value) for _ in range(world_size())]
    dist.all_gather(parts, value.contiguous())
    return torch.stack(parts)


def from_first_process(value: torch.Tensor) -> torch.Tensor:
    """Rank 0's `value` in every process: a random choice made once for all of them."""
    if world_size() == 1:
        return value
    value = value.detach().clone().contiguous()
    dist.broadcast(value, src=0)
    return value


# Gradients at least this large are all-reduced where they lie; smaller ones travel together in
# one flat buffer (one message instead of many small ones). Copying a large gradient into a
# flat buffer and back costs about as much as sending it on a CPU.
IN_PLACE_NUMEL = 1 << 18


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Average `.grad` over processes, as DDP would have.

    Adversarial families step each player with its own terms and backward passes (several per
    step, some through `autograd.grad`), which DDP's reducer does not follow; they switch it off
    and call this before each optimizer step instead. A parameter without a gradient in some
    processes counts as zero there; one without a gradient in every process keeps none (so
    Adam does not move it), as in a one-process run.
    """
    world = world_size()
    params = [p for p in params if p.requires_grad]
    if world == 1 or not params:
        return
    missing = [p.grad is None for p in params]
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
    large = [g for g in grads if g.numel() >= IN_PLACE_NUMEL and g.is_contiguous()]
    large_ids = {id(g) for g in large}
    pending = [dist.all_reduce(g, async_op=True) for g in large]
    # Has-gradient flags travel with the small gradients: their mean > 0 means "somewhere".
    has_grad = torch.tensor([not m for m in missing], device=grads[0].device, dtype=torch.float32)
    _mean_in_place([g for g in grads if id(g) not in large_ids] + [has_grad])
    for work in pending:
        assert work is not None
        work.wait()
    for g in large:
        g.div_(world)
    for p, g, absent, anywhere in zip(params, grads, missing, has_grad.tolist(), strict=True):
        if absent and anywhere > 0:
            p.grad = g


def average_buffers(modules: Iterable[nn.Module]) -> None:
    """Replace every floating-point buffer of `modules` by its mean over processes (one flat
    all-reduce); buffers equal in every process stay as they are."""
    buffers = [b for m in modules for b in m.buffers() if b.is_floating_point()]
    if world_size() > 1 and buffers:
        _mean_in_place(buffers)


def _mean_in_place(tensors: list[torch.Tensor]) -> None:
    """Each tensor becomes its mean over processes: one all-reduce of a flat float32 copy."""
    flat = torch.cat([t.reshape(-1).to(torch.float32) for t in tensors])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view(t.shape))  # keeps channels_last
        offset += t.numel()


def decorrelate_rng(rank: int) -> None:
    """Give process `rank` > 0 random streams of its own, derived from the shared state.

    Every process starts from the same seed (and a resumed run from rank 0's saved state), so
    without this each would draw the same latents and noise: the global batch would hold one
    process's fakes N times. Rank 0 keeps its stream, so a one-process run and rank 0 of a
    DDP run draw what they drew before.
    """
    if rank == 0:
        return
    shared = int(torch.randint(2**62, (1,)))  # the same number in every process
    seed = (shared + 1_000_003 * rank) % 2**63
    torch.manual_seed(seed)  # CUDA generators too
    np.random.seed(seed % 2**32)
    random.seed(seed)
