"""A CSV logger that keeps the metrics of a resumed run's earlier part."""

from __future__ import annotations

import warnings
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class AppendingCSVLogger(CSVLogger):
    """Lightning's CSVLogger deletes an existing metrics.csv; this one appends to it.

    A resumed run (resume=true) so keeps one metrics file across its parts. Rows logged after
    the checkpoint by an interrupted part stay in the file; the `step` column tells them apart.
    """

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            metrics_file = Path(self.log_dir) / ExperimentWriter.NAME_METRICS_FILE
            kept = metrics_file.read_text() if metrics_file.is_file() else ""
            with warnings.catch_warnings():  # its "will be deleted" warning is not true here
                warnings.filterwarnings(
                    "ignore", message=".*Previous log files in this directory.*"
                )
                writer = super().experiment  # creates the writer, which removes the old file
            if kept.strip():
                metrics_file.write_text(kept)
                writer.metrics_keys = kept.splitlines()[0].split(",")
        assert isinstance(self._experiment, ExperimentWriter)
        return self._experiment
