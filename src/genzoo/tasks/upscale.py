"""What genzoo-upscale does: read the user's images (any size, mode or bit depth), upscale
each in overlapping tiles (utils/tiling.py), write PNGs, and report unreadable files."""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from genzoo.errors import ConfigError
from genzoo.tasks.preamble import FOLDER_RULES, RUN_RULES, checked_options, loaded_model
from genzoo.tasks.user_images import convert_user_images
from genzoo.utils.options import Rule, check_output_folder
from genzoo.utils.tiling import upscale_tiled

log = logging.getLogger("genzoo")
# genzoo-upscale's options by type (utils/options.py); tile and overlap against the model below.
OPTION_RULES: dict[str, Rule] = {
    **RUN_RULES,
    **FOLDER_RULES,
}


def upscale(cfg: DictConfig) -> dict[str, str]:
    """Upscale every readable input image; return input -> output path."""
    checked_options(cfg, OPTION_RULES, "genzoo-upscale")
    check_output_folder(str(cfg.output), "output", inputs=str(cfg.input))
    model, meta = loaded_model(cfg, "upscale", "pass a model=srresnet or model=srgan run")
    device = model.device
    scale, channels = int(model.hparams["scale"]), int(model.hparams["image_channels"])
    tile, overlap = tile_and_overlap(cfg.tile, cfg.overlap, model.receptive_radius())  # type: ignore[operator]
    return convert_user_images(
        str(cfg.input),
        str(cfg.output),
        channels,
        device,
        lambda lr: upscale_tiled(model.upscale, lr, scale, tile, overlap, TileProgress()),
        f"x{scale}",
    )


class TileProgress:
    """Says how far a many-tile image has got: a line at every tenth of its tiles (a
    3000x2000 photo takes minutes on a CPU), and nothing for an image of a few tiles."""

    def __init__(self) -> None:
        self.said = 0

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // total
        if total >= 10 and tenth > self.said:
            self.said = tenth
            log.info("  tile %d of %d (%d%%)", done, total, 100 * done // total)


def tile_and_overlap(tile: object, overlap: object, reach: int) -> tuple[int, int]:
    """The tile side and overlap in LR pixels; overlap=auto is the network's receptive radius
    `reach`, with which tiled output equals untiled. Wrong values are one-line errors."""
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
        raise ConfigError(f"tile={tile} must be a positive whole number of LR pixels, e.g. 192")
    if overlap == "auto":
        overlap = reach
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise ConfigError(
            f"overlap={overlap} must be auto (this model: {reach}) or a whole number >= 0"
        )
    if tile <= 2 * overlap:
        raise ConfigError(
            f"tile={tile} must be larger than twice overlap={overlap}: set tile={2 * overlap + 1} "
            f"or more (larger tiles repeat less of the overlap; the default is 192), or lower "
            f"overlap"
        )
    if overlap < reach:
        log.warning(
            "overlap=%d is below this network's reach of %d LR pixels: tiles may show seams",
            overlap,
            reach,
        )
    return tile, overlap
