"""genzoo-train: `train(cfg)` is a function of the composed config; `main()` is its Hydra shell.

Heavy imports (torch, Lightning) happen inside `train` so that `--help` and `--cfg` are quick.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf

from genzoo.errors import RunInterrupted, exit_on_user_error
from genzoo.utils.config import build, config_dir, slurm_batch_job, to_plain
from genzoo.utils.run_lock import LOCK_NAME

if TYPE_CHECKING:
    import lightning as L

log = logging.getLogger("genzoo")


def train(cfg: DictConfig) -> dict[str, float]:
    """Train the configured model on the configured data; return the final logged metrics.

    Nothing is written into the run directory until every check has passed (values, resume,
    model family), so a refused start leaves an existing run as it was.
    """
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    from genzoo.utils.console import quiet_console
    from genzoo.utils.run_lock import run_lock

    quiet_console()
    check_start(cfg)
    # Under DDP every process runs this; the run directory is rank 0's to hold and write.
    rank = getattr(rank_zero_only, "rank", 0)
    with run_lock(Path(cfg.paths.run_dir), enabled=rank == 0):
        return _start(cfg, rank)


def _start(cfg: DictConfig, rank: int) -> dict[str, float]:
    """The start of a run whose directory this process holds: resume, build, record, fit."""
    import lightning as L

    from genzoo.utils.checkpoint import checkpoint_batches
    from genzoo.utils.device import bf16_on_cpu_warning
    from genzoo.utils.loggers import ending_wandb_run
    from genzoo.utils.resume import (
        check_same_model,
        load_resume_metadata,
        nothing_left_to_do,
        resume_checkpoint,
    )
    from genzoo.utils.run_dir import close_run_log, open_run_dir

    _recipe_tip()
    slow_bf16 = bf16_on_cpu_warning(
        str(cfg.trainer.get("precision")), str(cfg.trainer.get("accelerator"))
    )
    if slow_bf16:
        log.warning(slow_bf16)
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    run_dir = Path(cfg.paths.run_dir)
    ckpt_path = resume_checkpoint(cfg)
    meta = load_resume_metadata(ckpt_path)

    datamodule: L.LightningDataModule = build(cfg.data, "data")
    model: L.LightningModule = build(cfg.model, "model")
    trainer_cfg = cfg.trainer
    batches = int(cfg.trainer.get("max_steps") or -1)
    if batches > 0 and hasattr(model, "optimizer_steps_for"):
        # GANs step two optimizers per batch and Lightning counts both: max_steps means batches.
        steps = int(getattr(model, "optimizer_steps_for")(batches))  # noqa: B009
        log.debug(
            "max_steps=%d batches -> %d optimizer steps (Lightning's global_step)", batches, steps
        )
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"max_steps": steps})
    interval = int(trainer_cfg.get("log_every_n_steps") or 50)
    if 0 < batches < interval:  # a short run logs its training metrics at least once
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"log_every_n_steps": batches})
    if ckpt_path:
        check_same_model(meta, f"{type(model).__module__}.{type(model).__qualname__}", ckpt_path)
        finished = nothing_left_to_do(
            meta,
            int(trainer_cfg.get("max_steps") or -1),
            trainer_cfg.get("max_epochs"),
            batches if batches > 0 else None,
        )
        if finished:
            log.warning(
                "nothing left to do: %s has finished (%s). Raise trainer.max_steps or "
                "trainer.max_epochs to train further.",
                ckpt_path,
                finished,
            )
            return {}
        # A sanity-check validation would draw random numbers the uninterrupted run never drew.
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"num_sanity_val_steps": 0})

    _check_data_ready(datamodule)
    # debug=fdr (fast_dev_run) promises that nothing is saved: no config, log or summary either.
    saving = not cfg.trainer.get("fast_dev_run")
    resumed_from = checkpoint_batches(meta) if ckpt_path else None
    # A new run's directory holds nothing of the run yet (at most the lock): a start that
    # fails before its first batch is trained takes away what it made (remove_failed_start).
    new_run = ckpt_path is None and not any(p.name != LOCK_NAME for p in _entries(run_dir))
    log_file = open_run_dir(cfg, run_dir, resumed_from) if saving and rank == 0 else None
    if ckpt_path:
        log.info("resuming from %s (after %d batches)", ckpt_path, resumed_from)
    progress = FitProgress()
    try:
        # The W&B run ends with the fit, failed or not: a sweep's next job starts its own.
        with ending_wandb_run():
            return _fit(
                cfg, run_dir, ckpt_path, meta, datamodule, model, trainer_cfg, saving, progress
            )
    except BaseException:
        close_run_log(log_file)
        log_file = None
        if new_run and rank == 0 and progress.batches == 0:
            remove_failed_start(run_dir)
        raise
    finally:
        close_run_log(log_file)


def check_start(cfg: DictConfig) -> None:
    """The checks of a config that need nothing built: the model / data pair first (from the
    two `_target_`s, before values that only one kind of data defines are resolved), then
    every value's type and meaning. Raises one GenzooError naming what to change."""
    from genzoo.utils.config_checks import check_config_values, check_model_fits_data
    from genzoo.utils.loggers import check_wandb_upload
    from genzoo.utils.validate import check_config_types

    check_model_fits_data(cfg)
    check_config_types(cfg)
    check_config_values(cfg)
    check_wandb_upload(cfg.get("logger"))


class FitProgress:
    """How far a fit got, read when it fails: batches trained (0 until the first one ends)."""

    def __init__(self) -> None:
        self.trainer: L.Trainer | None = None

    @property
    def batches(self) -> int:
        from genzoo.callbacks.console import batches_done

        return batches_done(self.trainer) if self.trainer is not None else 0


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def remove_failed_start(run_dir: Path) -> None:
    """Take away what a new run wrote before it failed without training a batch (its config,
    log, logger folders): a failed start leaves no run behind. The lock stays to its holder."""
    import shutil

    for entry in _entries(run_dir):
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    log.debug("removed the failed start's files from %s", run_dir)


def _check_data_ready(datamodule: L.LightningDataModule) -> None:
    """Download (where the data needs it) and open the datasets before the run directory is
    made: a missing folder, an empty one or a failed download refuses the start and leaves
    nothing behind. Lightning's own calls later find them ready (setup returns early)."""
    import os

    from genzoo.data.base import ImageDataModule

    if os.environ.get("LOCAL_RANK", "0") == "0":  # one download per machine, as Lightning does
        datamodule.prepare_data()
    datamodule.setup("fit")
    if isinstance(datamodule, ImageDataModule):
        datamodule.check_one_batch()


def _recipe_tip() -> None:
    """Without experiment=..., name the pinned recipe for the chosen model and data, if any:
    family defaults are sized for real data (StyleGAN's crawl on 32 px digits on a CPU)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    choices = HydraConfig.get().runtime.choices
    if choices.get("experiment") not in (None, "null"):
        return
    model, data = choices.get("model"), choices.get("data")
    recipe = f"{model}_{data}"
    if (config_dir() / "experiment" / f"{recipe}.yaml").is_file():
        log.warning(
            "model=%s data=%s with the family's defaults: experiment=%s is the recipe sized for "
            "this data (widths, batch, steps)",
            model,
            data,
            recipe,
        )
        return
    family = sorted(p.stem for p in (config_dir() / "experiment").glob(f"{model}_*.yaml"))
    if family:
        log.warning(
            "model=%s data=%s has no pinned recipe: the family's defaults are sized for its "
            "paper's data and may be slow or poor here. Its recipes (experiment=...): %s",
            model,
            data,
            ", ".join(family),
        )


def _fit(
    cfg: DictConfig,
    run_dir: Path,
    ckpt_path: Path | None,
    meta: dict,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    trainer_cfg: DictConfig,
    saving: bool,
    progress: FitProgress,
) -> dict[str, float]:
    """Build loggers, callbacks and the Trainer; fit; write the summary."""
    from hydra.utils import instantiate
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from genzoo.callbacks.console import RunSummary, batches_done
    from genzoo.callbacks.nan_guard import NaNGuard
    from genzoo.callbacks.rank_agreement import RankAgreement
    from genzoo.callbacks.run_end import RunEndCheckpoint
    from genzoo.callbacks.run_metadata import RunMetadata
    from genzoo.models.base import GenerativeModel
    from genzoo.utils.checkpoint_io import SafeCheckpointIO
    from genzoo.utils.loggers import build_callbacks, build_loggers

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
    progress.trainer = trainer
    for logger in loggers:
        logger.log_hyperparams(plain_cfg)
    log.info(
        "training on %s x%d, precision %s",
        type(trainer.accelerator).__name__.removesuffix("Accelerator").lower(),
        trainer.num_devices,
        trainer.precision,
    )

    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
    except SIGTERMException as stop:
        signal_name = run_end.interrupted_by or "SIGTERM"
        saved = f"saved {run_end.saved_path}" if run_end.saved_path else "checkpoints are off"
        requeue = " (a SLURM restart of this job does so by itself)" if slurm_batch_job() else ""
        raise RunInterrupted(
            f"training interrupted by {signal_name} after {_batches(batches_done(trainer))}; "
            f"{saved}. Continue it with {_resume_hint(str(cfg.run_name))}" + requeue,
            signal_name,
        ) from stop

    log.info("stopped after %s", _batches(batches_done(trainer)))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    if trainer.is_global_zero and saving:
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
    return metrics


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
    from genzoo.utils.run_dir import hydra_overrides

    given = hydra_overrides()
    missing = [o for o in ("resume=true", f"run_name={run_name}") if o not in given]
    return "the same command" + (f" plus {' '.join(missing)}" if missing else "")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    from genzoo.utils.run_dir import remove_if_empty

    run_dir = Path(cfg.paths.run_dir)
    try:
        with exit_on_user_error():
            metrics = train(cfg)
    finally:
        # A refused start or a debug run leaves no empty directory behind.
        remove_if_empty(run_dir, Path(cfg.paths.runs_root))
    # A sweeper that optimises reads the returned value (e.g. Optuna): the monitored metric.
    monitor = cfg.get("optimized_metric")
    return metrics.get(monitor) if monitor else None


def main() -> None:
    """genzoo-train: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line, check_run_location
    from genzoo.utils.resume_config import rewrite_resume_command_line

    check_command_line("train", sys.argv[1:])
    check_run_location(sys.argv[1:])
    with exit_on_user_error():
        rewrite_resume_command_line(sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
