"""Means of per-image held-out metrics over every image of every process: one MeanMetric per
name, whose states torchmetrics sums over processes under DDP when they are computed."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torchmetrics import MeanMetric


class HeldOutMeans:
    """Started at a validation's start, fed each batch's per-image values, read at its end.

    Kept in a plain attribute of the model, not as a submodule: its metrics are no part of
    the model's state. Names given to `start` exist on every process from the first batch on
    (a process without a batch still takes part in the sync)."""

    def __init__(self) -> None:
        self._metrics: dict[str, MeanMetric] | None = None
        self._device = torch.device("cpu")

    def start(self, device: torch.device, names: Iterable[str] = ()) -> None:
        self._device = device
        self._metrics = {name: MeanMetric().to(device) for name in names}

    def add(self, values: dict[str, torch.Tensor]) -> None:
        """name -> per-image values (B,) of one batch."""
        if self._metrics is None:
            raise RuntimeError("HeldOutMeans.add before start: call start() at validation start")
        for name, value in values.items():
            if name not in self._metrics:
                self._metrics[name] = MeanMetric().to(self._device)
            self._metrics[name].update(value.detach().float())

    def finish(self) -> dict[str, torch.Tensor]:
        """The means (synced over processes), and the end of this validation."""
        if self._metrics is None:
            raise RuntimeError("HeldOutMeans.finish before start")
        means = {name: metric.compute() for name, metric in self._metrics.items()}
        self._metrics = None
        return means
