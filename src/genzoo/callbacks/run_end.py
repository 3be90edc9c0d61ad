"""last.ckpt at the end of training and at an interruption, so that nothing trained is lost.

ModelCheckpoint writes at validation ends only: a run that stops at max_steps between two
validations, or is pre-empted, would otherwise keep an older state. Lightning turns SIGTERM into
an exception raised between two batches (after that batch's validation, if any); this callback
treats the first Ctrl-C (SIGINT) the same way, and on either writes last.ckpt there, where the
state is whole, so that `resume=true` continues exactly (docs/architecture.md, "Exact resume").
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger("genzoo")


def last_checkpoint_path(trainer: L.Trainer) -> Path | None:
    """Where the run's ModelCheckpoint keeps last.ckpt, or None when checkpoints are off."""
    callback = trainer.checkpoint_callback
    if not isinstance(callback, ModelCheckpoint) or not callback.save_last or not callback.dirpath:
        return None
    return Path(callback.dirpath) / f"{callback.CHECKPOINT_NAME_LAST}{callback.FILE_EXTENSION}"


class RunEndCheckpoint(L.Callback):
    """Writes last.ckpt when fit ends and when it is interrupted by SIGTERM or a first Ctrl-C."""

    def __init__(self) -> None:
        self.interrupted_by: str | None = None
        self.saved_path: Path | None = None
        self._ending = False
        self._previous_sigint: Any = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        try:
            self._previous_sigint = signal.signal(signal.SIGINT, self._on_sigint(trainer))
        except ValueError:  # not the main thread: leave Ctrl-C to Python
            self._previous_sigint = None

    def _on_sigint(self, trainer: L.Trainer) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            if self.interrupted_by == "SIGINT":  # a second Ctrl-C stops at once
                raise KeyboardInterrupt
            self.interrupted_by = "SIGINT"
            log.warning(
                "interrupted: finishing this batch and saving last.ckpt (Ctrl-C again to stop at once)"
            )
            # The same path as SIGTERM: Lightning stops between batches, on every rank. Its
            # "Received SIGTERM: 2" line would name the wrong signal: not logged.
            connector_log = logging.getLogger(
                "lightning.pytorch.trainer.connectors.signal_connector"
            )
            level = connector_log.level
            connector_log.setLevel(logging.WARNING)
            try:
                trainer._signal_connector._sigterm_notifier_fn(signum, frame)  # type: ignore[arg-type]
            finally:
                connector_log.setLevel(level)

        return handler

    def _restore_sigint(self) -> None:
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def _save(self, trainer: L.Trainer) -> None:
        path = last_checkpoint_path(trainer)
        if (
            path is not None
            and not trainer.sanity_checking
            and not getattr(trainer, "fast_dev_run", False)
        ):
            trainer.save_checkpoint(path, weights_only=False)  # the full state, to continue
            self.saved_path = path

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._ending = True
        try:
            self._save(trainer)  # the final step, not the last validation's
        finally:
            self._ending = False
        self._restore_sigint()

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if not self._ending or trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return
        # Training stopped mid-epoch (max_steps), and Lightning has since closed the epoch's
        # progress as if it were complete: a resume with a larger max_steps would start the
        # next epoch. Record the state of the last batch's end instead, where the epoch is still
        # open, so the resume continues that epoch with its next batch.
        progress = checkpoint["loops"]["fit_loop"]["epoch_progress"]
        for counts in (progress["total"], progress["current"]):
            counts["processed"] -= 1
            counts["completed"] -= 1
        checkpoint["epoch"] = progress["current"]["completed"]

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore_sigint()
        if isinstance(exception, SIGTERMException):
            self.interrupted_by = self.interrupted_by or "SIGTERM"
            self._save(trainer)
