"""Stamps every checkpoint with what is needed to reload and resume it outside Lightning."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from genzoo.callbacks.console import batches_done


class RunMetadata(L.Callback):
    """Adds checkpoint['genzoo']: the model class, the resolved run config, the W&B run id.

    The config is a plain dict so `torch.load(weights_only=True)` reads it (docs/architecture.md, rule 5).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

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
        }
