"""Deciding where a run resumes from: explicit, never a silent fresh start (docs/architecture.md, rule 6)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from genzoo.config.compose import slurm_batch_job
from genzoo.utils.checkpoint import CheckpointError, read_checkpoint

log = logging.getLogger("genzoo")


def requeued_by_slurm() -> bool:
    """Whether this is a SLURM batch job started again after a requeue (preemption, time limit
    with auto-requeue): SLURM counts the restarts of a job."""
    return slurm_batch_job() is not None and int(os.environ.get("SLURM_RESTART_COUNT") or 0) > 0


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The run's checkpoint that is furthest on: checkpoints/last.ckpt, or one that Lightning's
    SLURM auto-requeue wrote on SIGUSR1 (`hpc_ckpt_<n>.ckpt` in the run directory)."""
    found = [run_dir / "checkpoints" / "last.ckpt", *run_dir.glob("hpc_ckpt_*.ckpt")]
    found = [p for p in found if p.is_file()]
    if len(found) < 2:
        return found[0] if found else None
    # last.ckpt first, so that it wins a tie: SLURM's SIGTERM after the requeue saves it at a
    # batch boundary, while SIGUSR1's hpc checkpoint is written wherever the step was.
    return max(found, key=lambda p: int(read_checkpoint(p).get("global_step", 0)))


def resume_checkpoint(cfg: DictConfig) -> Path | None:
    """The checkpoint to continue from, or None for a fresh run.

    `ckpt_path=...` names one; `resume=true` means the run directory's own newest checkpoint
    (`newest_checkpoint`), and so does a SLURM job started again by a requeue. An explicit one
    that is not there is an error. A fresh run into a directory that already holds checkpoints
    is an error too: it would overwrite them.
    """
    run_dir = Path(cfg.paths.run_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    if cfg.get("ckpt_path"):
        path = Path(str(cfg.ckpt_path)).expanduser()
        if not path.is_file():
            raise CheckpointError(f"ckpt_path={path} does not exist; give the path of a .ckpt file")
        return path
    newest = newest_checkpoint(run_dir)
    if newest is not None and not cfg.get("resume") and requeued_by_slurm():
        log.info("SLURM requeued this job: resuming its run %s", run_dir)
        return newest
    if cfg.get("resume") and newest is None:
        others = (
            sorted(
                p.name
                for p in run_dir.parent.glob("*")
                if (p / "checkpoints" / "last.ckpt").is_file()
            )
            if run_dir.parent.is_dir()
            else []
        )
        raise CheckpointError(
            f"resume=true but {last} does not exist. Pass the name of the run to continue "
            f"(run_name=...; runs with checkpoints in {run_dir.parent}: {others or 'none'}), or drop resume=true "
            f"to start a new run."
        )
    if cfg.get("resume"):
        return newest
    if newest is not None:
        raise CheckpointError(
            f"run directory {run_dir} already holds {newest.name}: add resume=true to continue "
            f"it, or choose another run_name to start afresh"
        )
    return None


def check_same_model(meta: dict[str, Any], model_target: str, path: Path) -> None:
    """Refuse to resume a checkpoint of another model family."""
    if meta.get("model_target") != model_target:
        raise CheckpointError(
            f"{path} holds a {meta.get('model_target')} but this run builds a {model_target}: "
            f"resume with the same model=..., or start a new run"
        )


def load_resume_metadata(path: Path | None) -> dict[str, Any]:
    """The checkpoint's genzoo metadata plus where it stands (global_step, epoch); {} if fresh."""
    if not path:
        return {}
    ckpt = read_checkpoint(path)
    return dict(ckpt["genzoo"], global_step=ckpt.get("global_step", 0), epoch=ckpt.get("epoch", 0))


def nothing_left_to_do(
    meta: dict[str, Any], max_steps: int, max_epochs: int | None, max_batches: int | None = None
) -> str | None:
    """Why a resumed checkpoint is already at the run's limits (Lightning's stopping rule, in
    optimizer steps), or None; said in batches (`max_batches`) where the checkpoint counts them."""
    step, epoch = int(meta.get("global_step") or 0), int(meta.get("epoch") or 0)
    if max_steps > 0 and step >= max_steps:
        if max_batches is not None and meta.get("batches") is not None:
            return f"it has trained {meta['batches']} batches and trainer.max_steps={max_batches}"
        return f"it is at global step {step} and trainer.max_steps allows {max_steps}"
    if max_epochs is not None and max_epochs >= 0 and epoch >= max_epochs:
        return f"it has trained {epoch} epochs and trainer.max_epochs={max_epochs}"
    return None
