"""What genzoo-demo's page does, without the page: load a model, say what it can, and turn
the page's inputs into pictures, or into one line saying what to change (demo_page.py shows
it). Every control is offered by a capability of the model (`Model.capabilities`), so a new
family's demo is the controls of the capabilities it has.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.utils import make_grid

from genzoo.api import Model, as_image_batch, load
from genzoo.data.transforms import to_channels
from genzoo.errors import GenzooError
from genzoo.zoo import shipped_names

# What the page's errors are made of: a user's mistake, never a traceback.
USER_ERRORS = (GenzooError, ValueError, OSError)
MAX_SIDE = 1024  # an upload's largest side the demo accepts (genzoo-upscale has no limit)
# Modes PIL converts to RGB or grey without guessing at a scale (16-bit and float do not).
COLOUR_MODES = ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV")
GREY_MODES = ("L", "LA", "1")


class DemoInputError(GenzooError, ValueError):
    """An upload the demo cannot use: what it is and what to do, in one line."""


@dataclass(frozen=True)
class Controls:
    """Which of the page's controls a model is offered."""

    sample: bool
    interpolate: bool
    style_mix: bool
    translate: bool
    upscale: bool
    project: bool
    reconstruct: bool
    truncation: bool
    temperature: bool
    directions: tuple[str, ...]


def controls_of(model: Model) -> Controls:
    can, options = model.capabilities, model.module.sample_options
    return Controls(
        sample="sample" in can,
        interpolate="interpolate" in can,
        style_mix="style_mix" in can,
        translate="translate" in can,
        upscale="upscale" in can,
        project="project" in can,
        reconstruct="reconstruct" in can,
        truncation="truncation" in options,
        temperature="temperature" in options,
        directions=tuple(getattr(model.module, "directions", ("AtoB",))),
    )


class ModelShelf:
    """The models the page offers (shipped ones, then `runs`), each loaded once when first
    chosen; the `keep` most recent stay in memory."""

    def __init__(self, runs: list[str], device: str = "cpu", keep: int = 3) -> None:
        self.runs, self.device, self.keep = list(runs), device, keep
        self._loaded: OrderedDict[str, Model] = OrderedDict()

    def choices(self) -> list[str]:
        return [*shipped_names(), *self.runs]

    def get(self, name: str) -> Model:
        if name not in self.choices():
            raise DemoInputError(f"{name!r} is not offered here: pick one of the list")
        if name not in self._loaded:
            self._loaded[name] = load(name, device=self.device)
            while len(self._loaded) > self.keep:
                self._loaded.popitem(last=False)
        self._loaded.move_to_end(name)
        return self._loaded[name]


def describe(model: Model) -> str:
    """One line: the family, what it can do here, and the card's headline metrics."""
    can = ", ".join(sorted(model.capabilities - {"evaluate", "export"}))
    hparams = model.hparams
    size = (
        f"x{hparams['scale']} upscaling"
        if "scale" in hparams
        else f"{hparams.get('image_size', '?')} px"
    )
    line = f"**{model.name}**: {model.family}, {size}; can {can}"
    if model.card:
        metrics = model.card["metrics"]
        shown = [
            k
            for k in ("fid", "nll", "psnr", "psnr_gain", "gain_AtoB", "l1_to_truth")
            if k in metrics
        ]
        line += "; card: " + ", ".join(f"{k} {metrics[k]:.3g}" for k in shown[:3])
    return line


def to_picture(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """(B, C, H, W) or (C, H, W) in [0, 1] -> one PIL image (a grid for a batch)."""
    x = images.detach().float().cpu()
    grid = make_grid(x, nrow=nrow or max(1, int(len(x) ** 0.5)), padding=2) if x.dim() == 4 else x
    array = (grid.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def user_image(path: str | Path | None, what: str) -> Image.Image:
    """The uploaded file as an 8-bit RGB or grey image, or a DemoInputError saying why not."""
    if not path:
        raise DemoInputError(f"no image yet: upload one to {what}")
    name = Path(str(path)).name
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DemoInputError(f"{name} is not an image genzoo can read ({type(err).__name__}): "
                             "upload a PNG or JPEG") from err  # fmt: skip
    if max(image.size) > MAX_SIDE:
        raise DemoInputError(
            f"{name} is {image.width}x{image.height}; the demo takes up to {MAX_SIDE} px a side "
            "(genzoo-translate / genzoo-upscale / genzoo-project take any size)"
        )
    if image.mode in GREY_MODES:
        return image.convert("L")
    if image.mode in COLOUR_MODES:
        return image.convert("RGB")
    raise DemoInputError(
        f"{name} is a {image.mode} image (16-bit or float pixels): save it as an 8-bit PNG"
    )


def sample_picture(
    model: Model, n: int, seed: int, truncation: float, temperature: float
) -> Image.Image:
    controls, options = controls_of(model), {}
    if controls.truncation:
        options["truncation"] = float(truncation)
    if controls.temperature:
        options["temperature"] = float(temperature)
    return to_picture(model.sample(int(n), seed=int(seed), **options))


def interpolation_picture(model: Model, seed_a: int, seed_b: int, steps: int) -> Image.Image:
    strip = model.interpolate(int(steps), int(seed_a), int(seed_b))
    return to_picture(strip, nrow=int(steps))


def parse_seeds(text: str, what: str) -> list[int]:
    try:
        seeds = [int(part) for part in str(text).replace(",", " ").split()]
    except ValueError as err:
        raise DemoInputError(f"{what}: whole numbers separated by commas, e.g. 1, 2, 3") from err
    if not seeds:
        raise DemoInputError(f"{what}: give at least one seed, e.g. 1, 2, 3")
    return seeds


def style_mix_picture(model: Model, rows: str, cols: str) -> Image.Image:
    row_seeds, col_seeds = parse_seeds(rows, "row seeds"), parse_seeds(cols, "column seeds")
    return to_picture(model.style_mix(row_seeds, col_seeds), nrow=len(col_seeds))


def translation_picture(model: Model, path: str | None, direction: str) -> Image.Image:
    image = user_image(path, "translate")
    return to_picture(model.translate(image, direction=direction))


def upscale_picture(model: Model, path: str | None, tile: int = 192) -> Image.Image:
    """The upload at the model's scale, tile by tile as genzoo-upscale does (bounded memory)."""
    return to_picture(model.upscale(user_image(path, "upscale"), tile=tile))


def reconstruction_picture(model: Model, path: str | None) -> Image.Image:
    """The upload beside what the model makes of it (its encoder, then its decoder)."""
    image = user_image(path, "reconstruct")
    result = model.reconstruct(image).clamp(0, 1)
    target = to_channels(as_image_batch(image)[0], result.shape[0]).to(result.device)
    return to_picture(torch.cat([target, result[None]]), nrow=2)


def projection_picture(model: Model, path: str | None, steps: int) -> tuple[Image.Image, str]:
    """The upload beside the generator's image at the projected latents, and their PSNR."""
    image = user_image(path, "project")
    result = model.project(image, steps=int(steps))
    target = as_image_batch(image)[0].to(result.images.device)
    mse = float(((result.images - target) ** 2).mean())
    psnr = 10 * math.log10(1.0 / max(mse, 1e-10))
    picture = to_picture(torch.cat([target, result.images]), nrow=2)
    return picture, f"projected into {result.space} in {result.steps} steps: {psnr:.1f} dB"


def run_safely(action: Any, *args: Any) -> tuple[Any, str]:
    """(the action's result, "") or (None, the one-line message of a user's mistake)."""
    try:
        return action(*args), ""
    except USER_ERRORS as err:
        return None, f"⚠ {str(err).splitlines()[0] if str(err) else type(err).__name__}"
