"""W&B's logger with the summaries its users look for: each held-out metric's best value, in
that metric's own direction, beside its last value in the run table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger
from lightning.pytorch.utilities import rank_zero_only

from genzoo.metrics.directions import badness, best_at_one, higher_is_better

# Metrics whose best value is summarised: the held-out ones (losses of training batches are
# noisy, and a GAN's are not "better" when lower).
SUMMARISED = ("val/", "test/", "eval/")
# Lightning logs every key against this step (WandbLogger.experiment's define_metric("*")).
STEP_METRIC = "trainer/global_step"


def summary_kind(metric: str) -> str:
    """W&B's define_metric summary for `metric`: its best (min or max) and its last value; a
    ratio best at 1 has no W&B summary of its best, only `best/<metric>`."""
    if best_at_one(metric):
        return "last"
    return "max,last" if higher_is_better(metric) else "min,last"


class WandbLogger(LightningWandbLogger):
    """Lightning's WandbLogger; each held-out metric is declared once, on its first value, with
    the summary its direction asks for (metrics/directions.py), and its best value so far is
    also a plain number `best/<metric>` (what a W&B sweep's `metric.name` can name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._best: dict[str, float] = {}

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        held_out = [name for name in metrics if name.startswith(SUMMARISED)]
        for name in held_out:
            if name not in self._best:
                self.experiment.define_metric(
                    name, summary=summary_kind(name), step_metric=STEP_METRIC
                )
        super().log_metrics(metrics, step)
        for name in held_out:
            value = float(metrics[name])
            best = self._best.get(name)
            if best is None or badness(name, value) < badness(name, best):
                self._best[name] = value
                self.experiment.summary[f"best/{name}"] = value
