"""genzoo's ModelCheckpoint: the best checkpoint by the model's metric, and one last.ckpt.

Lightning's ModelCheckpoint writes last.ckpt again when training ends and, finding a file of
that name it did not write in this process, names it last-v1.ckpt (then -v2 on each resume).
In genzoo `RunEndCheckpoint` writes last.ckpt at the end (with a mid-epoch stop recorded so a
resume continues the epoch), so here last.ckpt is only ever overwritten: one file, the newest.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class RunCheckpoint(ModelCheckpoint):
    def __init__(self, **kwargs: Any) -> None:
        # best-step<step>.ckpt names are unique by themselves; last.ckpt is meant to be replaced.
        kwargs.setdefault("enable_version_counter", False)
        super().__init__(**kwargs)

    def _monitor_candidates(self, trainer: L.Trainer) -> dict[str, Any]:
        """`{step}` in file names counts batches, as trainer.max_steps does in genzoo."""
        import torch

        from genzoo.callbacks.console import batches_done

        candidates = super()._monitor_candidates(trainer)
        candidates["step"] = torch.tensor(batches_done(trainer))
        return candidates

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Nothing: RunEndCheckpoint has written last.ckpt at this point."""
