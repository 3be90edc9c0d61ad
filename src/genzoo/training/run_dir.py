"""What a run writes into its directory, and only once its start is accepted.

Hydra creates the run directory before genzoo sees the config, and would write `.hydra/` and
`train.log` there at once. genzoo's hydra config turns both off; `open_run_dir` writes them
after the checks pass, so that a refused start (bad value, a checkpoint already there) leaves an
existing run untouched, and `remove_if_empty` takes away the directory Hydra made for nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


def hydra_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def open_run_dir(cfg: DictConfig, run_dir: Path, resumed_after: int | None) -> logging.Handler:
    """Record the start; log to `train.log` from now on (appending on a resume).

    A first start writes `.hydra/config.yaml` and `overrides.yaml`. A resume of a run that has
    them leaves them as they are and appends its own new overrides to `.hydra/resumes.yaml`
    (training/resume_config.py). Returns the log file's handler, for `close_run_log`.
    """
    from genzoo.training.resume_config import record_resume, run_history

    meta = run_dir / ".hydra"
    history = run_history(run_dir) if resumed_after is not None else None
    if history is not None:
        added = [o for o in hydra_overrides() if o not in history]
        record_resume(run_dir, added, resumed_after or 0)
    else:
        meta.mkdir(parents=True, exist_ok=True)
        config = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])
        (meta / "config.yaml").write_text(OmegaConf.to_yaml(config))
        overrides = OmegaConf.to_yaml(OmegaConf.create(hydra_overrides()))
        (meta / "overrides.yaml").write_text(overrides)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    return handler


def close_run_log(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def remove_if_empty(run_dir: Path, stop_at: Path) -> None:
    """Remove `run_dir` and its parents up to (not including) `stop_at` while they are empty."""
    run_dir, stop_at = run_dir.resolve(), stop_at.resolve()
    folder = run_dir
    while folder != stop_at and stop_at in folder.parents:
        try:
            folder.rmdir()  # only ever removes an empty folder
        except OSError:
            return
        folder = folder.parent
