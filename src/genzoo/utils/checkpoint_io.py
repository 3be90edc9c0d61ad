"""Checkpoint writing that fails loudly and loses nothing (docs/architecture.md, rule 8).

Lightning already writes through a temporary file (an fsspec transaction), so a write that
fails midway leaves the previous checkpoint whole. This plugin turns the failure (a full disk,
a read-only mount) into an error naming the file and the way back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from genzoo.errors import GenzooError


class CheckpointWriteError(GenzooError, OSError):
    """A checkpoint could not be written; the earlier checkpoints are intact."""


class SafeCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        try:
            super().save_checkpoint(checkpoint, path, storage_options)
        except OSError as err:
            folder = Path(str(path)).parent
            raise CheckpointWriteError(
                f"could not write checkpoint {path} at global step {checkpoint.get('global_step')} ({err}). "
                f"Earlier checkpoints in {folder} are intact: free space (or fix permissions), then continue "
                f"with resume=true."
            ) from err
