"""`train(cfg)`: a function of the composed config; genzoo-train (cli/train.py) is its Hydra shell.

Heavy imports (torch, Lightning) happen inside `train` so that `--help` and `--cfg` are quick.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from genzoo.config.compose import build
from genzoo.errors import ConfigError
from genzoo.training.run_lock import LOCK_NAME

if TYPE_CHECKING:
    import lightning as L

    from genzoo.models.base import GenerativeModel

log = logging.getLogger("genzoo")


def train(cfg: DictConfig) -> dict[str, float]:
    """Train the configured model on the configured data; return the final logged metrics.

    Nothing is written into the run directory until every check has passed (values, resume,
    model family), so a refused start leaves an existing run as it was.
    """
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    from genzoo.training.run_lock import run_lock
    from genzoo.utils.console import quiet_console

    quiet_console()
    check_start(cfg)
    # Under DDP every process runs this; the run directory is rank 0's to hold and write.
    rank = getattr(rank_zero_only, "rank", 0)
    with run_lock(Path(cfg.paths.run_dir), enabled=rank == 0):
        return _start(cfg, rank)


def _start(cfg: DictConfig, rank: int) -> dict[str, float]:
    """The start of a run whose directory this process holds: resume, build, record, fit."""
    import lightning as L

    from genzoo.training.fit import FitProgress, fit
    from genzoo.training.loggers import ending_wandb_run
    from genzoo.training.recipes import recipe_tip
    from genzoo.training.resume import load_resume_metadata, resume_checkpoint
    from genzoo.training.run_dir import close_run_log, open_run_dir
    from genzoo.utils.checkpoint import checkpoint_batches
    from genzoo.utils.device import bf16_on_cpu_warning

    recipe_tip()
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
    model: GenerativeModel = build(cfg.model, "model")
    trainer_cfg = _trainer_config(cfg, model, ckpt_path, meta)
    if trainer_cfg is None:
        return {}
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
            return fit(
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


def _trainer_config(
    cfg: DictConfig, model: GenerativeModel, ckpt_path: Path | None, meta: dict
) -> DictConfig | None:
    """The Trainer's config for this start: max_steps counted in batches, a short run's
    logging interval, no sanity validation on a resume; None when a resume has nothing left."""
    from genzoo.training.resume import check_same_model, nothing_left_to_do

    trainer_cfg = cfg.trainer
    batches = int(cfg.trainer.get("max_steps") or -1)
    steps = model.optimizer_steps_for(batches) if batches > 0 else batches
    if steps != batches:
        # GANs step two optimizers per batch and Lightning counts both: max_steps means batches.
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
            return None
        # A sanity-check validation would draw random numbers the uninterrupted run never drew.
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"num_sanity_val_steps": 0})

    return trainer_cfg


def check_start(cfg: DictConfig) -> None:
    """The checks of a config that need nothing built: the model / data pair first (from the
    two `_target_`s, before values that only one kind of data defines are resolved), then
    every value's type and meaning. Raises one GenzooError naming what to change."""
    from genzoo.config.types import check_config_types
    from genzoo.config.values import check_config_values, check_model_fits_data
    from genzoo.training.loggers import check_wandb_upload

    check_model_fits_data(cfg)
    check_config_types(cfg)
    check_config_values(cfg)
    check_wandb_upload(cfg.get("logger"))


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


def train_command(cfg: DictConfig) -> float | None:
    """genzoo-train's work (cli/train.py): train, leave no empty run directory behind, and
    return the monitored metric to a sweeper that optimises (e.g. Optuna)."""
    from genzoo.training.run_dir import remove_if_empty

    run_dir = Path(cfg.paths.run_dir)
    try:
        metrics = train(cfg)
    finally:
        # A refused start or a debug run leaves no empty directory behind.
        remove_if_empty(run_dir, Path(cfg.paths.runs_root))
    monitor = cfg.get("optimized_metric")
    if not monitor:
        return None
    if monitor not in metrics:  # a sweeper would fail on None with no word of why
        logged = ", ".join(sorted(k for k in metrics if k.startswith("val/"))) or "none"
        raise ConfigError(
            f"optimized_metric={monitor} was not logged by this run (validation metrics logged: "
            f"{logged}): name one of those, or let the run validate (trainer.check_val_every_n_epoch)"
        )
    return float(metrics[monitor])
