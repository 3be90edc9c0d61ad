"""Finding the config tree, turning configs into plain containers, and genzoo's resolvers."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genzoo.utils.paths import config_dir


def slurm_batch_job() -> str | None:
    """This SLURM batch job's id (`<array job>_<task>` in an array); None outside one and in an
    interactive allocation (`srun --pty bash`), where one job runs many commands."""
    if os.environ.get("SLURM_JOB_NAME") in ("bash", "interactive"):
        return None
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array_job:
        return f"{array_job}_{os.environ.get('SLURM_ARRAY_TASK_ID', '0')}"
    return os.environ.get("SLURM_JOB_ID")


def default_run_name() -> str:
    """`run_name` when none is given: `slurm-<job id>` in a SLURM batch job, so that every task
    of the job and the job requeued after preemption name the same run; else the start time."""
    job = slurm_batch_job()
    return f"slurm-{job}" if job else time.strftime("%Y-%m-%d_%H-%M-%S")


# Cached like Hydra's ${now:} (one name per process). Configs saved with a run may keep
# `${default_run_name:}` unresolved: every CLI imports this module.
OmegaConf.register_new_resolver("default_run_name", default_run_name, replace=True, use_cache=True)


def optuna_direction(metric: str) -> str:
    """Optuna's direction for a logged metric, from the direction genzoo ranks it in."""
    from genzoo.metrics.directions import best_at_one, higher_is_better

    if best_at_one(metric):
        raise ValueError(
            f"optimized_metric={metric} is best at 1 (ranked by distance to 1), which Optuna "
            "cannot minimise or maximise: optimise another metric, e.g. val/psnr or val/fid"
        )
    return "maximize" if higher_is_better(metric) else "minimize"


def sqlite_url(folder: str, name: str) -> str:
    """An SQLite URL for `folder`/`name`, the folder made now: Optuna opens the database
    before Hydra makes any job's folder."""
    path = Path(folder).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / name}"


OmegaConf.register_new_resolver("optuna_direction", optuna_direction, replace=True)
OmegaConf.register_new_resolver("sqlite_url", sqlite_url, replace=True)


def compose_config(name: str, overrides: list[str], hydra_config: bool = False) -> DictConfig:
    """Compose configs/<name>.yaml with `overrides` outside a Hydra run (for checks made before
    Hydra starts); `hydra_config` keeps the `hydra` node (its runtime choices, run.dir)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return compose(name, overrides=overrides, return_hydra_config=hydra_config)
    finally:
        GlobalHydra.instance().clear()


def to_plain(cfg: DictConfig) -> dict[str, Any]:
    """A resolved config as plain dicts and lists (safe for weights_only checkpoints and loggers)."""
    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}


def require_values(cfg: DictConfig) -> None:
    """One ConfigError naming every mandatory key (???) the command line left unset."""
    from genzoo.errors import ConfigError

    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(
            "no value for "
            + ", ".join(missing)
            + ": set "
            + " ".join(f"{k}=..." for k in missing)
            + " on the command line"
        )


def build(node: DictConfig, key: str) -> Any:
    """`hydra.utils.instantiate(node)`, with a constructor's refusal of a config value as one
    ConfigError naming the group (`key`), not Hydra's 'Error in call to target' wrapper."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from genzoo.errors import ConfigError, GenzooError

    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, GenzooError):
            raise cause from None
        if isinstance(cause, (ValueError, TypeError)):
            # Constructors check the values they are given; what they refuse came from here.
            where = "" if f"{key}." in str(cause) else f"{key}: "
            raise ConfigError(
                f"{where}{cause} (fix the {key}.* override on the command line)"
            ) from cause
        raise
