"""What genzoo-upscale does: read the user's images (any size, mode or bit depth), upscale
each in overlapping tiles (utils/tiling.py), write PNGs, and report unreadable files."""

from __future__ import annotations

from omegaconf import DictConfig

from genzoo.errors import ConfigError
from genzoo.utils.checkpoint import load_model
from genzoo.utils.console import quiet_console
from genzoo.utils.device import pick_device
from genzoo.utils.tiling import upscale_tiled
from genzoo.utils.user_images import convert_user_images


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
    return convert_user_images(
        str(cfg.input),
        str(cfg.output),
        channels,
        device,
        lambda lr: upscale_tiled(model.upscale, lr, scale, int(cfg.tile), int(cfg.overlap)),
        f"x{scale}",
    )
