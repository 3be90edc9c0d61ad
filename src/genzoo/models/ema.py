"""The generator EMA of the GAN papers (Karras et al. 2018, sec. 4.1; Yazici et al. 2019): a
copy of the generator whose weights follow the live ones as an exponential moving average.
It lives inside the family's module (and so in its checkpoint); these are its operations."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def ema_copy(generator: nn.Module) -> nn.Module:
    """The EMA generator at the start: a frozen copy of the live one, in eval mode."""
    return copy.deepcopy(generator).eval().requires_grad_(False)


def ema_decay_at(decay: float, steps: int) -> float:
    """The decay after `steps` generator steps, ramped up from 0.1 so that the average does not
    keep the random initialisation for ~1 / (1 - decay) steps."""
    return min(decay, (1 + steps) / (10 + steps))


@torch.no_grad()
def ema_update(ema: nn.Module, live: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * live for the weights; buffers (batch-norm statistics,
    counters) copied from the live generator. One fused kernel launch per list."""
    ema_params: list[torch.Tensor] = list(ema.parameters())
    live_params = [p.detach() for p in live.parameters()]
    torch._foreach_lerp_(ema_params, live_params, 1.0 - decay)
    ema_buffers, live_buffers = list(ema.buffers()), list(live.buffers())
    if ema_buffers:
        torch._foreach_copy_(ema_buffers, live_buffers)


@torch.no_grad()
def recompute_batch_norm(ema: nn.Module, run_batches: Callable[[], None]) -> bool:
    """Reset the EMA generator's batch-norm statistics and average them anew (a plain
    cumulative average) over the forward passes `run_batches` makes through it in training
    mode: copied from the live generator they would not match the averaged weights. False
    when it has no batch norm."""
    norms = [m for m in ema.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return False
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches below
    ema.train()
    run_batches()
    ema.eval()
    for norm in norms:
        norm.momentum = 0.1
    return True
