"""What training prints: a short model summary, a progress bar on a terminal, and plain log lines
(no colour codes, no redrawn bars) when the output goes to a file or a pipe.

Progress is counted in batches, the unit of `trainer.max_steps` in genzoo (a GAN's two
optimizer steps per batch are Lightning's business, not the user's).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelSummary, ProgressBar, RichProgressBar
from lightning.pytorch.utilities.model_summary import get_human_readable_count

from genzoo.models.base import GenerativeModel

log = logging.getLogger("genzoo")


def batches_done(trainer: L.Trainer) -> int:
    """Training batches completed so far, across epochs and resumes."""
    return int(trainer.fit_loop.epoch_loop.batch_progress.total.completed)


def batch_limit(trainer: L.Trainer, model: L.LightningModule) -> int | None:
    """trainer.max_steps in batches, or None without a step limit."""
    steps = int(trainer.max_steps or -1)
    if steps <= 0:
        return None
    if not isinstance(model, GenerativeModel):
        return steps
    return max(1, round(steps / model.optimizer_steps_for(1)))


class RunSummary(ModelSummary):
    """The model in one line per top-level network, with parameter counts; no FLOPs column
    (genzoo gives no example input, so Lightning's would be zeros)."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int = 0,
        **summarize_kwargs: Any,
    ) -> None:
        columns = dict(summary_data)
        parts = [
            f"{name} ({kind}, {params.strip()})"
            for name, kind, params in zip(
                columns.get("Name", []), columns.get("Type", []), columns.get("Params", []),
                strict=False,
            )
            if kind != "n/a"  # Lightning's 'other params' row
        ]  # fmt: skip
        frozen = total_parameters - trainable_parameters
        log.info(
            "model: %s parameters%s, %.1f MB: %s",
            get_human_readable_count(total_parameters).strip(),
            f" ({get_human_readable_count(frozen).strip()} not trained)" if frozen else "",
            model_size,
            ", ".join(parts),
        )


class RunProgressBar(RichProgressBar):
    """Rich's bar on a terminal, saying 'Epoch 3' rather than 'Epoch 3/-2' when only
    max_steps limits the run."""

    def _get_train_description(self, current_epoch: int) -> str:
        max_epochs = self.trainer.max_epochs
        if max_epochs is None or max_epochs < 0:
            return f"Epoch {current_epoch}"
        return super()._get_train_description(current_epoch)


class LogProgress(ProgressBar):
    """Off a terminal: one log line about every tenth of the run (or every `every_s` seconds
    without a step limit) with the batch count, speed and the progress-bar metrics."""

    def __init__(self, every_s: float = 60.0) -> None:
        super().__init__()
        self.every_s = every_s
        self._enabled = True
        self._last_time = 0.0
        self._last_batch = 0
        self._next_report = 0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_time, self._last_batch = time.perf_counter(), batches_done(trainer)
        limit = batch_limit(trainer, pl_module)
        self._stride = max(1, limit // 10) if limit else None
        self._next_report = self._last_batch + (self._stride or 1)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        done, now = batches_done(trainer), time.perf_counter()
        due = done >= self._next_report if self._stride else now - self._last_time >= self.every_s
        if not (self._enabled and trainer.is_global_zero and due):
            return
        limit = batch_limit(trainer, pl_module)
        speed = (done - self._last_batch) / max(now - self._last_time, 1e-9)
        metrics = ", ".join(
            f"{k}={v:.4g}" for k, v in self.get_metrics(trainer, pl_module).items()
            if isinstance(v, float)
        )  # fmt: skip
        log.info(
            "batch %d%s (epoch %d), %.1f batches/s%s",
            done,
            f"/{limit}" if limit else "",
            trainer.current_epoch,
            speed,
            f": {metrics}" if metrics else "",
        )
        self._last_time, self._last_batch = now, done
        self._next_report = done + (self._stride or 1)
