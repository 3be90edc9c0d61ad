"""Stamps every checkpoint with what is needed to reload and resume it outside Lightning."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from genzoo.callbacks.console import batches_done
from genzoo.data.base import ImageDataModule
from genzoo.data.on_device import CutThenFinish

log = logging.getLogger("genzoo")


def batches_finished_on(trainer: L.Trainer) -> str | None:
    """Where this run's training batches are finished (data.augment_on, resolved): 'host',
    'device', or None for a training set that has no such choice."""
    # Lightning sets `datamodule` on the trainer during fit; its stubs do not declare it.
    datamodule = getattr(trainer, "datamodule", None)
    if not isinstance(datamodule, ImageDataModule):
        return None
    train_set = datamodule.train_set
    if not isinstance(train_set, CutThenFinish):
        return None
    return "device" if train_set.finish_on_device else "host"


class RunMetadata(L.Callback):
    """Adds checkpoint['genzoo']: the model class, the resolved run config, the W&B run id.

    The config is a plain dict so `torch.load(weights_only=True)` reads it (docs/architecture.md, rule 5).
    """

    def __init__(self, config: dict[str, Any], resumed: dict[str, Any] | None = None) -> None:
        self.config = config
        self.resumed = resumed or {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        before, now = self.resumed.get("batches_finished_on"), batches_finished_on(trainer)
        if before and now and before != now:
            log.warning(
                "this resume finishes training batches on the %s, where the run so far "
                "finished them on the %s (data.augment_on): photo resizes give the same bytes "
                "on both, but float kernels (SR's bicubic LR) may differ by a level, so this is "
                "not an exact continuation. Set data.augment_on=%s for one.",
                now,
                before,
                before,
            )

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        wandb_ids = [lg.version for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        cls = type(pl_module)
        checkpoint["genzoo"] = {
            "model_target": f"{cls.__module__}.{cls.__qualname__}",
            "config": self.config,
            "wandb_run_id": wandb_ids[0] if wandb_ids else None,
            # Training batches done: the unit of trainer.max_steps and of genzoo's file names
            # (a GAN's global_step counts its two optimizers' steps).
            "batches": batches_done(trainer),
            "batches_finished_on": batches_finished_on(trainer),
        }
