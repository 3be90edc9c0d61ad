"""A VQ prior's first stage: the VQ-VAE run or checkpoint `model.first_stage` names, read once
per file version, with the sha256 a resume compares (models/vqvae_prior.py)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from genzoo.data.downloads import md5sum
from genzoo.errors import GenzooError
from genzoo.models.vqvae import VQVAE
from genzoo.utils.checkpoint import CheckpointError, find_checkpoint, read_checkpoint


class FirstStageError(GenzooError, ValueError):
    """model.first_stage does not name a usable VQ-VAE run, or it changed under a prior."""


@functools.lru_cache(maxsize=1)
def _read_once(path: Path, mtime_ns: int, size: int) -> tuple[dict[str, Any], str]:
    """The checkpoint and its sha256, read once per file version: the config check and the
    model's construction both ask for it at start-up."""
    return read_checkpoint(path), md5sum(path, algorithm="sha256")


def read_first_stage(path: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(description, weights) of the VQ-VAE run or checkpoint `path`; errors say what to do."""
    try:
        ckpt_path = find_checkpoint(path).resolve()
        stat = ckpt_path.stat()
        ckpt, digest = _read_once(ckpt_path, stat.st_mtime_ns, stat.st_size)
    except CheckpointError as err:
        raise FirstStageError(
            f"model.first_stage={path} is not a usable VQ-VAE run: {err}"
        ) from err
    target = ckpt["genzoo"].get("model_target", "")
    if target != f"{VQVAE.__module__}.{VQVAE.__qualname__}":
        raise FirstStageError(
            f"model.first_stage={path} is a {target.rsplit('.', 1)[-1]} run, not a VQ-VAE one: "
            "train stage 1 with model=vqvae (e.g. experiment=vqvae_digits) and pass its run "
            "directory"
        )
    info = {
        "checkpoint": str(ckpt_path),
        "sha256": digest,
        "hparams": dict(ckpt.get("hyper_parameters", {})),
    }
    return info, ckpt["state_dict"]
