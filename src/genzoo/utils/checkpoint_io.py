"""Checkpoint writing that fails loudly and loses nothing (docs/architecture.md, rule 8).

Lightning already writes through a temporary file (an fsspec transaction), so a write that
fails midway leaves the previous checkpoint whole. This plugin turns the failure (a full disk,
a read-only mount) into an error naming the file and the way back.

A checkpoint write also holds back SIGUSR1 and SIGTERM until it is done: Lightning's SLURM
handler writes its own checkpoint inside the signal handler, and a second fsspec transaction
opened in the middle of the first one broke both (the job died instead of requeueing).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from genzoo.errors import GenzooError


class CheckpointWriteError(GenzooError, OSError):
    """A checkpoint could not be written; the earlier checkpoints are intact."""


# The signals whose handlers (Lightning's SLURM requeue, the SIGTERM notifier) may save.
DEFERRED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGUSR1", "SIGTERM") if hasattr(signal, name)
)


@contextmanager
def signals_held_back() -> Iterator[None]:
    """Within: DEFERRED_SIGNALS are only noted; after: their own handlers run, in order."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread only: nothing to hold back here
        return
    caught: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
        for sig in DEFERRED_SIGNALS
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in caught:
            signal.raise_signal(signum)


class SafeCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        try:
            with signals_held_back():
                super().save_checkpoint(checkpoint, path, storage_options)
        except OSError as err:
            folder = Path(str(path)).parent
            raise CheckpointWriteError(
                f"could not write checkpoint {path} at global step {checkpoint.get('global_step')} ({err}). "
                f"Earlier checkpoints in {folder} are intact: free space (or fix permissions), then continue "
                f"with resume=true."
            ) from err
