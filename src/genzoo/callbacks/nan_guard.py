"""Stop training at the first non-finite loss, naming the step and the loss (docs/architecture.md, rule 8)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch

from genzoo.callbacks.console import batches_done
from genzoo.errors import GenzooError
from genzoo.models.base import GenerativeModel

# Deferred flags kept before the host reads them anyway (a run that never logs).
MAX_PENDING_FLAGS = 256


class NonFiniteLossError(GenzooError, FloatingPointError):
    """Raised by NaNGuard; no weight or checkpoint has seen the bad value."""


@dataclass
class LossFlag:
    """One loss handed to backward, kept on the device until the host reads it."""

    name: str
    batch: int  # the training batch it belongs to, counted from 1 across epochs and resumes
    epoch: int
    bad: torch.Tensor  # () bool: the loss was not finite
    value: torch.Tensor  # () float: the loss, for the message


def _message(flag: LossFlag, value: float, read_at_batch: int | None = None) -> str:
    """What happened, in training batches (genzoo's unit everywhere, trainer.max_steps too).

    `read_at_batch`: in the deferred way, the batch at whose end the host read the flag."""
    where = f"{flag.name} is {value} in training batch {flag.batch} (epoch {flag.epoch})"
    if read_at_batch is None:
        after = "Training stopped before that batch changed any weight"
    else:
        later = read_at_batch - flag.batch
        trained_on = (
            f"the {later} batch{'es' if later != 1 else ''} after it, up to batch "
            f"{read_at_batch} where the loss was read, trained as usual"
            if later > 0
            else "no batch after it trained"
        )
        after = (
            f"Its optimizer update was skipped on the device; {trained_on}, and no checkpoint "
            "was written from it on"
        )
    return (
        f"{where}. {after}: the checkpoints hold the state before it. Lower the learning "
        f"rate, enable gradient clipping (model.clip_grad_norm or trainer.gradient_clip_val), "
        f"or resume from last.ckpt."
    )


class NaNGuard(L.Callback):
    """Checks every loss handed to backward (automatic and manual optimization alike), in one
    of two ways that keep the same promise: no optimizer step and no checkpoint sees a
    non-finite loss.

    - Checked (the default): each loss is read on the host before its backward, and a bad
      one raises there. On a GPU each read waits for every queued kernel.
    - Deferred, where every optimizer is fused on one process and the precision is not
      16-mixed (genzoo's default on CUDA, models/speed.py): each loss's finiteness stays on
      the device; the fused optimizer skips its update there when a loss of that step was not
      finite (its `found_inf`, as under a GradScaler); the host reads the flags when Lightning
      logs (every log_every_n_steps batches), before every checkpoint is written and at the
      end, and then raises naming the first bad loss.
    """

    def __init__(self) -> None:
        self.deferred = False
        self._flags: list[LossFlag] = []
        self._step_bad: torch.Tensor | None = None
        self._batch = 0  # the batch being trained, counted from 1 (LossFlag.batch)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch = batches_done(trainer) + 1

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        optimizers = trainer.optimizers
        self.deferred = (
            bool(optimizers)
            and all(opt.defaults.get("fused") for opt in optimizers)
            and trainer.world_size == 1
            and not str(trainer.precision).startswith("16")
        )

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        # Models with several losses (GANs) say which one is being backpropagated.
        name = (
            pl_module.backward_loss_name if isinstance(pl_module, GenerativeModel) else "train/loss"
        )
        if not self.deferred:
            if torch.isfinite(loss).all():
                return
            flag = LossFlag(name, self._batch, trainer.current_epoch, loss, loss)
            raise NonFiniteLossError(_message(flag, loss.detach().float().mean().item()))
        loss = loss.detach()
        bad = ~torch.isfinite(loss).all()
        self._step_bad = bad if self._step_bad is None else self._step_bad | bad
        flag = LossFlag(name, self._batch, trainer.current_epoch, bad, loss.float().mean())
        self._flags.append(flag)

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any
    ) -> None:
        if not self.deferred:
            return
        # Read by the fused kernel: 1 skips this update (and its step count) on the device.
        optimizer.found_inf = None if self._step_bad is None else self._step_bad.float()
        self._step_bad = None

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        logs_now = getattr(trainer._logger_connector, "should_update_logs", True)
        if logs_now or len(self._flags) >= MAX_PENDING_FLAGS:
            self.check()

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.check()  # raising here leaves the file unwritten

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check()

    def check(self) -> None:
        """Read the deferred flags (one host sync) and raise at the first bad loss."""
        flags, self._flags = self._flags, []
        if not flags:
            return
        bad = torch.stack([flag.bad for flag in flags]).cpu()
        if not bad.any():
            return
        first = flags[int(bad.nonzero()[0])]
        raise NonFiniteLossError(_message(first, float(first.value.cpu()), self._batch))

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
                f"validation metrics {', '.join(sorted(monitored))} are not finite after "
                f"{batches_done(trainer)} training batches; stopping before a checkpoint "
                "records them."
            )
