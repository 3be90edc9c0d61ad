"""Stop training at the first non-finite loss, naming the step and the loss (docs/architecture.md, rule 8)."""

from __future__ import annotations

import math

import lightning as L
import torch

from genzoo.errors import GenzooError


class NonFiniteLossError(GenzooError, FloatingPointError):
    """Raised by NaNGuard; training stops before the bad step updates any weight or checkpoint."""


class NaNGuard(L.Callback):
    """Checks every loss handed to backward (automatic and manual optimization alike).

    Raising before backward means no optimizer step and no checkpoint sees the bad value.
    """

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        if torch.isfinite(loss).all():
            return
        # Models with several losses (GANs) say which one is being backpropagated.
        name = getattr(pl_module, "backward_loss_name", None) or "train/loss"
        raise NonFiniteLossError(
            f"{name} is {loss.detach().float().mean().item()} at global step {trainer.global_step} "
            f"(epoch {trainer.current_epoch}). Training stopped before this step changed any weight; "
            f"checkpoints hold the last finite state. Lower the learning rate, enable gradient clipping "
            f"(model.clip_grad_norm or trainer.gradient_clip_val), or resume from last.ckpt."
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        monitored = [
            n
            for n, v in trainer.callback_metrics.items()
            if n.startswith("val/")
            and isinstance(v, torch.Tensor)
            and not math.isfinite(v.float().mean())
        ]
        if monitored:
            raise NonFiniteLossError(
                f"validation metrics {', '.join(sorted(monitored))} are not finite at global step "
                f"{trainer.global_step}; stopping before a checkpoint records them."
            )
