"""What genzoo-translate does: read the user's images (any size, mode or bit depth), translate
each in the chosen direction, write PNGs, and report unreadable files."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from genzoo.errors import ConfigError
from genzoo.tasks.preamble import (
    FOLDER_RULES,
    RUN_RULES,
    apply_family_options,
    checked_options,
    loaded_model,
)
from genzoo.tasks.user_images import convert_user_images
from genzoo.utils.options import (
    Rule,
    check_output_folder,
    choice,
    optional,
)

SIZES = ("native", "train")
# genzoo-translate's options by type and value (utils/options.py).
OPTION_RULES: dict[str, Rule] = {
    **RUN_RULES,
    **FOLDER_RULES,
    "direction": optional(choice("AtoB", "BtoA")),
    "size": choice(*SIZES),
    "test_mode": optional(choice("paper", "eval")),
}


def translate(cfg: DictConfig) -> dict[str, str]:
    """Translate every readable input image; return input -> output path."""
    checked_options(cfg, OPTION_RULES, "genzoo-translate")
    check_output_folder(str(cfg.output), "output", inputs=str(cfg.input))
    model, meta = loaded_model(cfg, "translate", "pass a model=pix2pix or model=cyclegan run")
    device = model.device
    apply_family_options(model, cfg, ("test_mode",))
    directions = tuple(getattr(model, "directions", ()))
    direction = str(cfg.direction) if cfg.direction is not None else directions[0]
    if direction not in directions:
        learned = " and ".join(directions)
        raise ConfigError(
            f"direction={direction}: this {type(model).__name__} run translates {learned} only"
            + (" (it learned data.direction=" + directions[0] + ")" if len(directions) == 1 else "")
        )
    channels, train_size = int(model.hparams["image_channels"]), int(model.hparams["image_size"])
    size = train_size if cfg.size == "train" else None
    return convert_user_images(
        str(cfg.input),
        str(cfg.output),
        channels,
        device,
        lambda x: translate_one(model, x, direction, size),
        direction,
    )


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
