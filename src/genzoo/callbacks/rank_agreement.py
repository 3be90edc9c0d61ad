"""Under DDP, check at each validation that every process holds the same training state.

Weights, EMA, buffers (StyleGAN's w_avg and path-length mean, the step counters) and optimizer
states must be equal in every process, or the processes train different models and the
checkpoint (rank 0's) is not what the others trained. Their random streams must differ, or
every process draws the same latents and noise. A cheap fingerprint per tensor (three sums in
float64) is gathered, not the tensors. Logged: `ddp/state_mismatches` (0 when all agree) and
`ddp/rng_distinct` (1 when the processes' random streams differ); a mismatch is also a warning
naming the first tensors that differ.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch

log = logging.getLogger("genzoo")


def fingerprint(tensor: torch.Tensor) -> torch.Tensor:
    """(3,) float64: sum, sum of squares and a position-weighted sum (catches permutations)."""
    values = tensor.detach().reshape(-1).to(torch.float64)
    weights = torch.arange(1, values.numel() + 1, device=values.device, dtype=torch.float64)
    return torch.stack(
        [values.sum(), values.square().sum(), (values * weights).sum() / weights[-1]]
    )


def training_state(pl_module: L.LightningModule, optimizers: list[Any]) -> dict[str, torch.Tensor]:
    """Every tensor that must agree across processes: the module's state dict and the
    optimizers' states (moments, step counts)."""
    state = dict(pl_module.state_dict())
    for i, optimizer in enumerate(optimizers):
        for j, per_param in enumerate(optimizer.state_dict()["state"].values()):
            for key, value in per_param.items():
                if isinstance(value, torch.Tensor):
                    state[f"optimizer{i}.param{j}.{key}"] = value
    return state


def disagreeing(names: list[str], gathered: torch.Tensor) -> list[str]:
    """Names whose fingerprints (processes, tensors, 3) differ from rank 0's in any process."""
    differ = (gathered != gathered[:1]).flatten(2).any(dim=2).any(dim=0)
    return [name for name, d in zip(names, differ.tolist(), strict=True) if d]


class RankAgreement(L.Callback):
    """Does nothing in a one-process run."""

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size == 1 or trainer.sanity_checking:
            return
        state = training_state(pl_module, trainer.optimizers)
        names = sorted(state)
        prints = torch.stack([fingerprint(state[name].to(pl_module.device)) for name in names])
        gathered = torch.as_tensor(pl_module.all_gather(prints))  # (processes, tensors, 3)
        mismatched = disagreeing(names, gathered)
        # The next number each process's generator would give, without drawing it.
        probe = torch.Generator().manual_seed(0)
        probe.set_state(torch.get_rng_state())
        draw = torch.randint(2**62, (1,), generator=probe).to(pl_module.device)
        draws = torch.as_tensor(pl_module.all_gather(draw)).reshape(-1)
        distinct = len(set(draws.tolist())) == len(draws)
        if mismatched and trainer.is_global_zero:
            log.warning(
                "DDP processes disagree on %d tensors after global step %d (first: %s): "
                "they no longer train one model",
                len(mismatched),
                trainer.global_step,
                ", ".join(mismatched[:5]),
            )
        pl_module.log_dict(
            {
                "ddp/state_mismatches": float(len(mismatched)),
                "ddp/rng_distinct": float(distinct),
            }
        )
