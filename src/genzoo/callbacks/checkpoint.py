"""genzoo's ModelCheckpoint: the best checkpoint by the model's metric, and one last.ckpt.

Lightning's ModelCheckpoint writes last.ckpt again when training ends and, finding a file of
that name it did not write in this process, names it last-v1.ckpt (then -v2 on each resume).
In genzoo `RunEndCheckpoint` writes last.ckpt at the end (with a mid-epoch stop recorded so a
resume continues the epoch), so here last.ckpt is only ever overwritten: one file, the newest.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

log = logging.getLogger("genzoo")


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

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """A checkpoint of another run directory (ckpt_path= from a copied or branched run)
        starts this run's own best-checkpoint record: said in one line, in place of
        Lightning's warning that the dirpath changed."""
        import warnings

        saved = state_dict.get("dirpath")
        if saved is not None and self.dirpath is not None and saved != self.dirpath:
            log.info(
                "continuing from a checkpoint of %s: this run keeps its own best checkpoint in %s",
                saved,
                self.dirpath,
            )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*dirpath has changed.*")
            super().load_state_dict(state_dict)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Nothing: RunEndCheckpoint has written last.ckpt at this point."""
