"""The fit of a run whose start passed every check: loggers, callbacks and the Trainer built
from the config, `trainer.fit`, and the run's summary (final_metrics.json)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from genzoo.config.compose import slurm_batch_job, to_plain
from genzoo.errors import RunInterrupted

if TYPE_CHECKING:
    import lightning as L

    from genzoo.callbacks.run_end import RunEndCheckpoint

log = logging.getLogger("genzoo")


class FitProgress:
    """How far a fit got, read when it fails: batches trained (0 until the first one ends)."""

    def __init__(self) -> None:
        self.trainer: L.Trainer | None = None

    @property
    def batches(self) -> int:
        from genzoo.callbacks.console import batches_done

        return batches_done(self.trainer) if self.trainer is not None else 0


def fit(
    cfg: DictConfig,
    run_dir: Path,
    ckpt_path: Path | None,
    meta: dict[str, Any],
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    trainer_cfg: DictConfig,
    saving: bool,
    progress: FitProgress,
) -> dict[str, float]:
    """Build loggers, callbacks and the Trainer; fit; write the summary."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from genzoo.callbacks.console import batches_done

    trainer, run_end = _trainer(cfg, meta, datamodule, model, trainer_cfg, saving)
    progress.trainer = trainer
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
    except SIGTERMException as stop:
        raise _interrupted(cfg, trainer, run_end) from stop
    log.info("stopped after %s", _batches(batches_done(trainer)))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    if trainer.is_global_zero and saving:
        _write_summary(run_dir, trainer, model, metrics)
    return metrics


def _trainer(
    cfg: DictConfig,
    meta: dict[str, Any],
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    trainer_cfg: DictConfig,
    saving: bool,
) -> tuple[L.Trainer, RunEndCheckpoint]:
    """The Trainer with genzoo's loggers and callbacks (and the run-end one, which says where
    an interrupted run saved itself); the loggers have the run's config."""
    from hydra.utils import instantiate

    from genzoo.callbacks.console import RunSummary
    from genzoo.callbacks.nan_guard import NaNGuard
    from genzoo.callbacks.rank_agreement import RankAgreement
    from genzoo.callbacks.run_end import RunEndCheckpoint
    from genzoo.callbacks.run_metadata import RunMetadata
    from genzoo.training.loggers import build_callbacks, build_loggers
    from genzoo.utils.checkpoint_io import SafeCheckpointIO

    plain_cfg = to_plain(cfg)
    loggers = (
        build_loggers(cfg.get("logger"), resume_run_id=meta.get("wandb_run_id")) if saving else []
    )
    callbacks = build_callbacks(cfg.get("callbacks"), model, bool(loggers), datamodule)
    run_end = RunEndCheckpoint()
    callbacks += [NaNGuard(), RankAgreement(), RunMetadata(plain_cfg, meta), run_end]
    if trainer_cfg.get("enable_model_summary", True):
        callbacks.append(RunSummary())
    trainer: L.Trainer = instantiate(
        trainer_cfg, callbacks=callbacks, logger=loggers or False, plugins=[SafeCheckpointIO()]
    )
    for logger in loggers:
        logger.log_hyperparams(plain_cfg)
    log.info(
        "training on %s x%d, precision %s",
        type(trainer.accelerator).__name__.removesuffix("Accelerator").lower(),
        trainer.num_devices,
        trainer.precision,
    )

    return trainer, run_end


def _interrupted(cfg: DictConfig, trainer: L.Trainer, run_end: RunEndCheckpoint) -> RunInterrupted:
    """What to tell a user whose run a signal stopped: after how many batches, what was
    saved, and the command that continues it."""
    from genzoo.callbacks.console import batches_done

    signal_name = run_end.interrupted_by or "SIGTERM"
    saved = f"saved {run_end.saved_path}" if run_end.saved_path else "checkpoints are off"
    requeue = " (a SLURM restart of this job does so by itself)" if slurm_batch_job() else ""
    return RunInterrupted(
        f"training interrupted by {signal_name} after {_batches(batches_done(trainer))}; "
        f"{saved}. Continue it with {_resume_hint(str(cfg.run_name))}" + requeue,
        signal_name,
    )


def _write_summary(
    run_dir: Path, trainer: L.Trainer, model: L.LightningModule, metrics: dict[str, float]
) -> None:
    from genzoo.callbacks.console import batches_done
    from genzoo.models.base import GenerativeModel

    summary = {
        "batches": batches_done(trainer),
        "global_step": trainer.global_step,
        **_epochs(trainer),
        "metrics": metrics,
        # What the metrics mean on this machine (e.g. the feature network `auto` became).
        "notes": model.metric_notes() if isinstance(model, GenerativeModel) else {},
    }
    (run_dir / "final_metrics.json").write_text(json.dumps(summary, indent=2))
    log.info("run directory: %s", run_dir)


def _epochs(trainer: L.Trainer) -> dict[str, int | None]:
    """The epoch of the last batch trained, 0-based as the log's "(epoch N)" (Lightning's
    current_epoch has moved on by one when fit ends), and the whole epochs trained."""
    import math

    from genzoo.callbacks.console import batches_done

    done = batches_done(trainer)
    per_epoch = trainer.num_training_batches
    whole = done // int(per_epoch) if per_epoch and math.isfinite(per_epoch) else None
    return {"epoch": max(0, trainer.current_epoch - 1) if done else 0, "epochs_completed": whole}


def _batches(count: int) -> str:
    return f"{count} batch" if count == 1 else f"{count} batches"


def _resume_hint(run_name: str) -> str:
    """'the same command plus resume=true run_name=X', less what the command already has."""
    from genzoo.training.run_dir import hydra_overrides

    given = hydra_overrides()
    missing = [o for o in ("resume=true", f"run_name={run_name}") if o not in given]
    return "the same command" + (f" plus {' '.join(missing)}" if missing else "")
