"""Building loggers and callbacks from their config groups."""

from __future__ import annotations

import contextlib
import logging
import netrc
import os
import sys
from collections.abc import Iterator
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("genzoo")

# genzoo's W&B logger, and Lightning's, which configs saved by earlier versions name.
_WANDB = ("genzoo.training.wandb_logger.WandbLogger", "lightning.pytorch.loggers.WandbLogger")


def is_wandb_target(target: str) -> bool:
    return target in _WANDB


def wandb_has_api_key() -> bool:
    """True when W&B could authenticate: WANDB_API_KEY, or a netrc entry from `wandb login`."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def _prepare_wandb(node: DictConfig, resume_run_id: str | None) -> None:
    """Go offline (and say so once) without a key; reattach to a resumed run's id."""
    mode = os.environ.get("WANDB_MODE", "")
    if not node.get("offline") and mode not in ("offline", "disabled") and not wandb_has_api_key():
        node.offline = True
        # W&B's own closing lines would advise `wandb online`, contradicting the line below.
        os.environ.setdefault("WANDB_SILENT", "true")
        log.warning(
            "W&B: no API key found (WANDB_API_KEY or `wandb login`), so this run logs offline "
            "to %s/wandb. Upload it later with: wandb sync %s/wandb/offline-run-*",
            node.save_dir,
            node.save_dir,
        )
    if node.get("name"):
        node.name = sweep_job_name(str(node.name))
    if resume_run_id:
        node.id = resume_run_id
        node.resume = "allow"


def check_wandb_upload(logger_cfg: DictConfig | None) -> None:
    """`logger.wandb.log_model` uploads checkpoints to a W&B server: refused in one line, before
    anything is written, where the run would log offline (no API key, or WANDB_MODE=offline),
    as Lightning would fail on it only after training."""
    from genzoo.errors import ConfigError

    node = logger_cfg.get("wandb") if logger_cfg is not None else None
    if not node or node.get("_target_") not in _WANDB or not node.get("log_model"):
        return
    mode = os.environ.get("WANDB_MODE", "")
    if node.get("offline") or mode in ("offline", "disabled", "dryrun"):
        why = "this run logs offline"
    elif not wandb_has_api_key():
        why = "no W&B API key is set (WANDB_API_KEY or `wandb login`), so it would log offline"
    else:
        return
    raise ConfigError(
        f"logger.wandb.log_model={node.get('log_model')} uploads checkpoints to W&B, but {why}: "
        "log in and run online, or drop logger.wandb.log_model (checkpoints stay in the run's "
        "checkpoints/ folder either way)"
    )


@contextlib.contextmanager
def ending_wandb_run() -> Iterator[None]:
    """End this process's W&B run, if one was opened, when the block ends: a sweep's next job
    (same process) then starts its own run instead of Lightning reusing this one. A block
    that raised ends it marked failed."""
    failed = True
    try:
        yield
        failed = False
    finally:
        wandb = sys.modules.get("wandb")
        if wandb is not None and getattr(wandb, "run", None) is not None:
            wandb.finish(exit_code=1 if failed else 0)


def sweep_job_name(name: str) -> str:
    """A W&B display name of its own for each job of a Hydra sweep (`<run_name>/<job num>`, as
    its folder multirun/<run_name>/<num>): the run name is resolved once per sweep."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return name
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return name
    return f"{name}/{hydra_cfg.job.num}"


def _resolved(node: DictConfig) -> DictConfig:
    """A resolved, editable copy of one config entry."""
    return DictConfig(OmegaConf.to_container(node, resolve=True))


def build_loggers(cfg: DictConfig | None, resume_run_id: str | None = None) -> list[Any]:
    """One logger per entry of the `logger` group; entries set to null are left out."""
    loggers = []
    for name, node in (cfg or {}).items():
        if node is None:
            continue
        node = _resolved(node)
        if node.get("_target_") in _WANDB:
            _prepare_wandb(node, resume_run_id)
        log.debug("logger %s -> %s", name, node.get("_target_"))
        logger = instantiate(node, _convert_="all")
        if node.get("_target_") in _WANDB:
            # Lightning passes anonymous=None, which W&B answers with a deprecation note every run.
            logger._wandb_init.pop("anonymous", None)
        loggers.append(logger)
    return loggers


def _is_subclass(target: str, base: type) -> bool:
    from genzoo.utils.checkpoint import import_class

    cls = import_class(target)
    return cls is not None and issubclass(cls, base)


def _is_model_checkpoint(target: str) -> bool:
    from lightning.pytorch.callbacks import ModelCheckpoint

    return _is_subclass(target, ModelCheckpoint)


def _is_progress_bar(target: str) -> bool:
    from lightning.pytorch.callbacks import ProgressBar

    return _is_subclass(target, ProgressBar)


def build_callbacks(
    cfg: DictConfig | None,
    model: L.LightningModule,
    has_logger: bool,
    datamodule: L.LightningDataModule | None = None,
) -> list[L.Callback]:
    """Callbacks of the `callbacks` group; ModelCheckpoint with monitor=null watches the model's metric."""
    callbacks: list[L.Callback] = []
    off_terminal = not sys.stderr.isatty()
    for name, node in (cfg or {}).items():
        if node is None:
            continue
        node = _resolved(node)
        target = str(node.get("_target_", ""))
        if off_terminal and _is_progress_bar(target):
            continue  # replaced below
        if target.endswith("LearningRateMonitor") and not has_logger:
            log.info("callbacks.%s: no logger, so the learning-rate monitor is left out", name)
            continue
        if _is_model_checkpoint(target) and "monitor" in node and node.monitor is None:
            # The model says what this run can log: a GAN without a feature network has no FID.
            monitor_metric = getattr(model, "monitor_metric", None)
            node.monitor = monitor_metric(datamodule) if monitor_metric else None
            node.mode = node.get("mode") or getattr(model, "monitor_mode", "min")
            if node.monitor is None:
                node.save_top_k = 0
                log.info("best checkpoint: none kept (the model logs no validation metric)")
            else:
                better = "lower" if node.mode == "min" else "higher"
                log.info("best checkpoint: picked by %s (%s is better)", node.monitor, better)
        callbacks.append(instantiate(node, _convert_="all"))
    if off_terminal:
        # A redrawn bar (the config's, or Lightning's default when it names none) becomes escape
        # codes and wrapped columns in a log file or pipe: plain log lines instead.
        from genzoo.callbacks.console import LogProgress

        callbacks.append(LogProgress())
    return callbacks
