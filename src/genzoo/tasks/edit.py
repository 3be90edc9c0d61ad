"""What genzoo-edit does with a trained diffusion run: inpaint the region a mask (a PNG or a
box) marks, outpaint a canvas grown on any side, or edit (SDEdit) each input image, and write
PNGs. A mask that does not fit an image is one line, before that image is worked on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from genzoo.errors import ConfigError
from genzoo.models.diffusion_edits import EditInputError
from genzoo.tasks.preamble import FOLDER_RULES, RUN_RULES, checked_options, loaded_model
from genzoo.tasks.sample_request import DIFFUSION_SAMPLING_RULES, diffusion_sampling_options
from genzoo.tasks.user_images import convert_user_images
from genzoo.utils.options import (
    Rule,
    check_output_folder,
    choice,
    int_list,
    integer,
    number,
    optional,
    text,
)

OPERATIONS = ("inpaint", "outpaint", "edit")
# genzoo-edit's options by type and value (utils/options.py).
OPTION_RULES: dict[str, Rule] = {
    **RUN_RULES,
    **FOLDER_RULES,
    "op": choice(*OPERATIONS),
    "mask": optional(text),
    "box": optional(int_list(4, low=0)),
    "left": integer(0),
    "right": integer(0),
    "top": integer(0),
    "bottom": integer(0),
    "strength": number(0, 1, above=True),
    "label": optional(integer(0)),
    "seed": integer(),
    "resample": integer(1),
    "harmonize": number(0),
    **DIFFUSION_SAMPLING_RULES,
}


def mask_for(cfg: DictConfig, height: int, width: int, png: torch.Tensor | None) -> torch.Tensor:
    """The (1, 1, H, W) mask of mask=<png> (white: paint; `png` is that file as read_mask_png
    read it, None with box=) or box=[x0,y0,x1,y1] (pixels, the ends excluded), for an image of
    height x width."""
    if (cfg.mask is None) == (cfg.box is None):
        raise ConfigError(
            "op=inpaint needs one of mask=<png, white where to paint> or box=[x0,y0,x1,y1]"
        )
    if cfg.box is not None:
        x0, y0, x1, y1 = (int(v) for v in cfg.box)
        if not (x0 < x1 <= width and y0 < y1 <= height):
            raise EditInputError(
                f"box=[{x0},{y0},{x1},{y1}] does not lie inside the {width}x{height} image: "
                f"give 0 <= x0 < x1 <= {width} and 0 <= y0 < y1 <= {height}"
            )
        mask = torch.zeros(1, 1, height, width)
        mask[..., y0:y1, x0:x1] = 1
        return mask
    path = Path(str(cfg.mask)).expanduser()
    assert png is not None, "edit() reads mask= once and passes it"
    grey = png
    if grey.shape[-2:] != (height, width):
        raise EditInputError(
            f"mask={path} is {grey.shape[-1]}x{grey.shape[-2]} pixels and the image "
            f"{width}x{height}: give a mask of the image's size"
        )
    return (grey > 0.5).float()


def read_mask_png(path: Path) -> torch.Tensor:
    """A mask PNG as grey (1, 1, H, W) values in [0, 1]."""
    from torchvision.transforms.functional import pil_to_tensor

    from genzoo.data.folders import open_image

    return pil_to_tensor(open_image(path).convert("L"))[None].float() / 255


def edit(cfg: DictConfig) -> dict[str, str]:
    """Apply `op` to every readable input image; return input -> output path."""
    checked_options(cfg, OPTION_RULES, "genzoo-edit")
    check_output_folder(str(cfg.output), "output", inputs=str(cfg.input))
    if cfg.op != "inpaint" and (cfg.mask is not None or cfg.box is not None):
        raise ConfigError(f"op={cfg.op} takes no mask= or box= (op=inpaint does)")
    loaded, _ = loaded_model(
        cfg, cfg.op, "pass a diffusion run (genzoo-train experiment=diffusion_digits)"
    )
    model: Any = loaded  # a Diffusion: inpaint, outpaint and edit (models/diffusion_edits.py)
    options: dict[str, Any] = {"seed": int(cfg.seed), **diffusion_sampling_options(cfg)}
    painting = {"resample": int(cfg.resample), "harmonize": float(cfg.harmonize)}
    if cfg.label is not None:
        options["label"] = int(cfg.label)
    if "label" in options and not 0 <= int(options["label"]) < max(1, model.num_classes):
        raise ConfigError(
            f"label={options['label']}: this run knows classes 0 to {model.num_classes - 1}"
        )

    # Read once for every input image; each image is checked against it.
    png = read_mask_png(Path(str(cfg.mask)).expanduser()) if cfg.mask is not None else None

    def apply(x: torch.Tensor) -> torch.Tensor:
        if cfg.op == "inpaint":
            height, width = x.shape[-2:]
            mask = mask_for(cfg, height, width, png=png).to(x.device)
            return model.inpaint(x, mask, **painting, **options)
        if cfg.op == "outpaint":
            sides = {side: int(cfg[side]) for side in ("left", "right", "top", "bottom")}
            return model.outpaint(x, **sides, **painting, **options)
        return model.edit(x, strength=float(cfg.strength), **options)

    channels = int(model.hparams["image_channels"])
    return convert_user_images(
        str(cfg.input), str(cfg.output), channels, model.device, apply, str(cfg.op)
    )
