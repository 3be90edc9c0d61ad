"""Checkpoint writes and signals: a SLURM SIGUSR1 whose handler saves a checkpoint of its own
(Lightning's auto-requeue) is handled after the write in progress, not inside it."""

from __future__ import annotations

import signal
from pathlib import Path

import fsspec.transaction
import torch

from genzoo.utils.checkpoint_io import SafeCheckpointIO


def test_a_signal_during_a_checkpoint_write_is_handled_after_it(
    tmp_path: Path, monkeypatch
) -> None:
    io = SafeCheckpointIO()
    order: list[str] = []

    def requeue_handler(signum: int, frame: object) -> None:  # as Lightning's: save, then requeue
        order.append("handler")
        io.save_checkpoint({"global_step": 2}, tmp_path / "hpc_ckpt_1.ckpt")

    start = fsspec.transaction.Transaction.start

    def start_then_signal(self) -> None:  # the signal arrives inside the write's transaction
        start(self)
        if not order:
            order.append("writing")
            signal.raise_signal(signal.SIGUSR1)
            order.append("still writing")

    monkeypatch.setattr(fsspec.transaction.Transaction, "start", start_then_signal)
    previous = signal.signal(signal.SIGUSR1, requeue_handler)
    try:
        io.save_checkpoint({"global_step": 1}, tmp_path / "last.ckpt")
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert order == ["writing", "still writing", "handler"]
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["global_step"] == 1
    assert torch.load(tmp_path / "hpc_ckpt_1.ckpt", weights_only=True)["global_step"] == 2
    assert signal.getsignal(signal.SIGUSR1) is previous
