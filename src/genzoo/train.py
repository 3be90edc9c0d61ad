"""genzoo-train: `train(cfg)` is a function of the composed config; `main()` is its Hydra shell.

Heavy imports (torch, Lightning) happen inside `train` so that `--help` and `--cfg` are quick.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from genzoo.errors import exit_on_user_error
from genzoo.utils.config import config_dir, to_plain

log = logging.getLogger("genzoo")


def train(cfg: DictConfig) -> dict[str, float]:
    """Train the configured model on the configured data; return the final logged metrics."""
    import lightning as L
    from hydra.utils import instantiate

    from genzoo.callbacks.nan_guard import NaNGuard
    from genzoo.callbacks.run_metadata import RunMetadata
    from genzoo.utils.checkpoint_io import SafeCheckpointIO
    from genzoo.utils.loggers import build_callbacks, build_loggers
    from genzoo.utils.resume import check_same_model, load_resume_metadata, resume_checkpoint
    from genzoo.utils.validate import check_config_types

    check_config_types(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True)
    run_dir = Path(cfg.paths.run_dir)
    ckpt_path = resume_checkpoint(cfg)
    meta = load_resume_metadata(ckpt_path)

    datamodule: L.LightningDataModule = instantiate(cfg.data, _convert_="all")
    model: L.LightningModule = instantiate(cfg.model, _convert_="all")
    trainer_cfg = cfg.trainer
    batches = int(cfg.trainer.get("max_steps") or -1)
    if batches > 0 and hasattr(model, "optimizer_steps_for"):
        # GANs step two optimizers per batch and Lightning counts both: max_steps means batches.
        steps = int(getattr(model, "optimizer_steps_for")(batches))  # noqa: B009
        log.info(
            "max_steps=%d batches -> %d optimizer steps (Lightning's global_step)", batches, steps
        )
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"max_steps": steps})
    if ckpt_path:
        check_same_model(meta, f"{type(model).__module__}.{type(model).__qualname__}", ckpt_path)
        log.info("resuming from %s", ckpt_path)
        # A sanity-check validation would draw random numbers the uninterrupted run never drew.
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"num_sanity_val_steps": 0})

    plain_cfg = to_plain(cfg)
    loggers = build_loggers(cfg.get("logger"), resume_run_id=meta.get("wandb_run_id"))
    callbacks = build_callbacks(cfg.get("callbacks"), model, has_logger=bool(loggers))
    callbacks += [NaNGuard(), RunMetadata(plain_cfg)]
    trainer: L.Trainer = instantiate(
        trainer_cfg, callbacks=callbacks, logger=loggers or False, plugins=[SafeCheckpointIO()]
    )
    for logger in loggers:
        logger.log_hyperparams(plain_cfg)

    trainer.fit(model, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    if trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        summary = {
            "global_step": trainer.global_step,
            "epoch": trainer.current_epoch,
            "metrics": metrics,
        }
        (run_dir / "final_metrics.json").write_text(json.dumps(summary, indent=2))
        log.info("run directory: %s", run_dir)
    return metrics


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> float | None:
    with exit_on_user_error():
        metrics = train(cfg)
    # A sweeper that optimises reads the returned value (e.g. Optuna): the monitored metric.
    monitor = cfg.get("optimized_metric")
    return metrics.get(monitor) if monitor else None


if __name__ == "__main__":
    main()
