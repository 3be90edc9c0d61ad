"""What genzoo-translate does: read the user's images (any size, mode or bit depth), translate
each in the chosen direction, write PNGs, and report unreadable files."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torchvision.utils import save_image

from genzoo.data.errors import DatasetError
from genzoo.data.folders import open_image
from genzoo.data.transforms import pil_to_tensor, to_channels
from genzoo.errors import ConfigError
from genzoo.upscale_images import input_files
from genzoo.utils.checkpoint import load_model
from genzoo.utils.console import quiet_console
from genzoo.utils.device import pick_device
from genzoo.utils.user_images import ImagesSkipped

log = logging.getLogger("genzoo")
SIZES = ("native", "train")


def translate(cfg: DictConfig) -> dict[str, str]:
    """Translate every readable input image; return input -> output path."""
    quiet_console()
    if str(cfg.size) not in SIZES:
        raise ConfigError(f"size={cfg.size} is not known: use native or train")
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    if not model.supports("translate"):
        raise ConfigError(
            f"run={cfg.run} is a {type(model).__name__} run, which cannot translate: "
            "pass a model=pix2pix or model=cyclegan run"
        )
    directions = tuple(getattr(model, "directions", ()))
    direction = str(cfg.direction) if cfg.direction is not None else directions[0]
    if direction not in directions:
        learned = " and ".join(directions)
        raise ConfigError(
            f"direction={direction}: this {type(model).__name__} run translates {learned} only"
            + (" (it learned data.direction=" + directions[0] + ")" if len(directions) == 1 else "")
        )
    channels, train_size = int(model.hparams["image_channels"]), int(model.hparams["image_size"])
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
        x = to_channels(pil_to_tensor(image), channels)[None].to(device)  # (1, C, H, W)
        y = translate_one(model, x, direction, train_size if cfg.size == "train" else None)
        relative = file.relative_to(root) if root.is_dir() else Path(file.name)
        target = out_dir / relative.parent / f"{relative.stem}_{direction}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(y.cpu(), target)
        written[str(file)] = str(target)
        log.info(
            "[%d/%d] %s (%dx%d) -> %s, %.1f s",
            number,
            len(files),
            file,
            x.shape[-1],
            x.shape[-2],
            target,
            time.perf_counter() - started,
        )
    print(json.dumps(written))
    if unreadable:
        raise ImagesSkipped(
            f"{len(unreadable)} of {len(files)} image(s) could not be read and were skipped "
            f"({len(written)} written to {out_dir}):\n  " + "\n  ".join(unreadable)
        )
    return written


@torch.no_grad()
def translate_one(
    model: torch.nn.Module, x: torch.Tensor, direction: str, size: int | None
) -> torch.Tensor:
    """(1, C, H, W) -> its translation at the same size: at its own size (the model pads to
    what its network takes), or resized to `size` and the result resized back."""
    if size is None:
        return model.translate(x, direction).clamp(0, 1)  # type: ignore[operator]
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True).clamp(0, 1)
    y = model.translate(small, direction)  # type: ignore[operator]
    return F.interpolate(y, size=(h, w), mode="bicubic", antialias=True).clamp(0, 1)
