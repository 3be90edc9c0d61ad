"""genzoo-eval's results in W&B: a run of the evaluated run's group with job_type=eval, named
`<run name>/eval-<split>`, whose summary holds `eval/<split>/<metric>` and whose config names
the checkpoint and the training run's W&B id.

A run of its own rather than the training run resumed: the training run's history and step
counter stay as training left them, and W&B's group view shows the two side by side.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from genzoo.training.loggers import is_wandb_target, wandb_has_api_key

log = logging.getLogger("genzoo")


def wandb_settings_of(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluated run's W&B logger config, or None where it did not log to W&B."""
    logger = (meta.get("config") or {}).get("logger") or {}
    node = logger.get("wandb") if isinstance(logger, dict) else None
    if not isinstance(node, dict) or not is_wandb_target(str(node.get("_target_", ""))):
        return None
    return node


def log_evaluation(meta: dict[str, Any], result: dict[str, Any], choice: str | bool) -> str | None:
    """Write `result`'s metrics to W&B as `choice` says (auto: where the evaluated run logged
    to W&B; true; false). Offline without an API key, as training is. The run's folder, or None."""
    settings = wandb_settings_of(meta)
    if choice is False or (choice == "auto" and settings is None):
        return None
    settings = settings or {}
    import wandb

    offline = bool(settings.get("offline")) or os.environ.get("WANDB_MODE") in (
        "offline",
        "dryrun",
    )
    if not offline and not wandb_has_api_key():
        offline = True
        log.warning("W&B: no API key found, so the evaluation logs offline (wandb sync uploads it)")
    split = result["split"]
    name = str(settings.get("name") or meta.get("run_name") or "run")
    run = wandb.init(
        project=settings.get("project") or "genzoo",
        entity=settings.get("entity"),
        group=settings.get("group"),
        tags=list(settings.get("tags") or []),
        name=f"{name}/eval-{split}",
        job_type="eval",
        dir=str(meta["run_dir"]),
        mode="offline" if offline else "online",
        config={
            "checkpoint": result["checkpoint"],
            "global_step": result["global_step"],
            "dataset": result["dataset"],
            "split": split,
            "seed": result["seed"],
            "evaluated_run_id": meta.get("wandb_run_id"),
            "model": result["hyper_parameters"],
        },
        reinit="create_new",
        settings=wandb.Settings(silent=True),  # genzoo's own line below says where it went
    )
    try:
        metrics = {f"eval/{split}/{k}": v for k, v in result["metrics"].items()}
        run.log(metrics)
        run.summary.update(metrics)
    finally:
        run.finish()
    log.info("evaluation logged to W&B run %s (%s)", run.id, "offline" if offline else "online")
    return str(Path(run.dir).parent)  # offline-run-<time>-<id>/ (run.dir is its files/)
