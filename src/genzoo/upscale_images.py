"""What genzoo-upscale does: read the user's images (any size, mode or bit depth), upscale
each in overlapping tiles (utils/tiling.py), write PNGs, and report unreadable files."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from omegaconf import DictConfig
from torchvision.utils import save_image

from genzoo.data.errors import DatasetError
from genzoo.data.folders import list_images, open_image
from genzoo.data.transforms import pil_to_tensor, to_channels
from genzoo.errors import ConfigError
from genzoo.utils.checkpoint import load_model
from genzoo.utils.console import quiet_console
from genzoo.utils.device import pick_device
from genzoo.utils.tiling import upscale_tiled
from genzoo.utils.user_images import ImagesSkipped

log = logging.getLogger("genzoo")


def input_files(spec: str) -> list[Path]:
    """The image files `spec` names: one file, or every image in a folder (recursively)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        try:
            return list_images(path)
        except DatasetError:
            raise ConfigError(f"input={spec}: the folder holds no image files") from None
    if path.is_file():
        return [path]
    raise ConfigError(f"input={spec}: no such file or folder")


def upscale(cfg: DictConfig) -> dict[str, str]:
    """Upscale every readable input image; return input -> output path."""
    quiet_console()
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    if not model.supports("upscale"):
        raise ConfigError(
            f"run={cfg.run} is a {type(model).__name__} run, which cannot upscale: "
            "pass a model=srresnet or model=srgan run"
        )
    scale, channels = int(model.hparams["scale"]), int(model.hparams["image_channels"])
    files = input_files(str(cfg.input))
    out_dir = Path(cfg.output).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(str(cfg.input)).expanduser()
    written: dict[str, str] = {}
    unreadable: list[str] = []
    for number, file in enumerate(files, 1):
        try:
            image = open_image(file)
        except DatasetError as err:
            unreadable.append(f"{file}: {err.__cause__ or err}")
            log.warning("[%d/%d] %s: unreadable, skipped", number, len(files), file)
            continue
        started = time.perf_counter()
        lr = to_channels(pil_to_tensor(image), channels)[None].to(device)  # (1, C, h, w)
        with torch.no_grad():
            sr = upscale_tiled(model.upscale, lr, scale, int(cfg.tile), int(cfg.overlap))
        relative = file.relative_to(root) if root.is_dir() else Path(file.name)
        target = out_dir / relative.parent / f"{relative.stem}_x{scale}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(sr.cpu(), target)
        written[str(file)] = str(target)
        log.info(
            "[%d/%d] %s (%dx%d) -> %s (%dx%d), %.1f s",
            number,
            len(files),
            file,
            lr.shape[-1],
            lr.shape[-2],
            target,
            sr.shape[-1],
            sr.shape[-2],
            time.perf_counter() - started,
        )
    print(json.dumps(written))
    if unreadable:
        raise ImagesSkipped(
            f"{len(unreadable)} of {len(files)} image(s) could not be read and were skipped "
            f"({len(written)} written to {out_dir}):\n  " + "\n  ".join(unreadable)
        )
    return written
