"""genzoo-report's super-resolution section: the lecture's table beside genzoo's numbers, a
sentence saying what those numbers were measured on (generated from the runs, not fixed text),
and zoomed crops of each held-out image where the methods can be told apart.

At thumbnail size bicubic, SRResNet and SRGAN look alike; the lecture's slide shows a crop
enlarged pixel for pixel, which is what `zoom_panel` draws, each method's PSNR / SSIM on that
whole image under its crop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genzoo.metrics.super_resolution import high_frequency_energy, y_psnr, y_ssim
from genzoo.networks.srresnet import bicubic_upscale
from genzoo.utils import figures

# The lecture's x4 super-resolution figures (PSNR dB / SSIM on the Y channel): the SRGAN
# paper's (Ledig et al. 2017), on its own test images.
LECTURE_SR = {"bicubic": (21.59, 0.6423), "SRResNet": (23.53, 0.7832), "SRGAN": (21.15, 0.6868)}
# The paper's generator: 16 residual blocks of 64 channels.
PAPER_BLOCKS, PAPER_WIDTH = 16, 64
ZOOM_PIXELS = 48  # HR pixels on a side of each zoomed crop
ENLARGE = 4  # each crop pixel drawn as a 4x4 block


def detailed_crop(hr: torch.Tensor, size: int, scale: int) -> tuple[int, int, int]:
    """(top, left, side) of the size x size HR window with the most fine detail (Laplacian
    energy), on the LR grid (multiples of `scale`) so LR and HR crops cover the same area."""
    side = min(size, hr.shape[-2], hr.shape[-1]) // scale * scale
    best, where = -1.0, (0, 0)
    step = max(scale, side // 2 // scale * scale)
    for top in range(0, hr.shape[-2] - side + 1, step):
        for left in range(0, hr.shape[-1] - side + 1, step):
            energy = float(high_frequency_energy(hr[None, :, top : top + side, left : left + side]))
            if energy > best:
                best, where = energy, (top, left)
    return where[0], where[1], side


def zoom_panel(
    models: dict[str, Any], items: list[dict[str, torch.Tensor]], scale: int, path: Path
) -> list[str]:
    """LR | bicubic | each model | HR on a zoomed crop of each held-out image, with each
    method's PSNR / SSIM (dB, Y channel, border `scale` cropped) on the whole image under it.
    Returns the column titles."""
    titles = ["LR", "bicubic", *models, "HR"]
    crops: list[list[torch.Tensor]] = [[] for _ in titles]
    captions: list[list[str]] = [[] for _ in titles]
    for item in items:
        lr, hr = item["lr"][None], item["hr"][None]  # (1, C, h, w), (1, C, H, W)
        outputs = {"bicubic": bicubic_upscale(lr, scale)}
        outputs.update({family: m.upscale(lr).cpu() for family, m in models.items()})
        top, left, side = detailed_crop(hr[0], ZOOM_PIXELS, scale)
        window = (slice(None), slice(None), slice(top, top + side), slice(left, left + side))
        lr_window = (
            slice(None), slice(None),
            slice(top // scale, (top + side) // scale), slice(left // scale, (left + side) // scale),
        )  # fmt: skip
        shown = [F.interpolate(lr[lr_window], scale_factor=scale, mode="nearest")]
        shown += [outputs[name][window] for name in titles[1:-1]] + [hr[window]]
        for col, image in enumerate(shown):
            crops[col].append(F.interpolate(image, scale_factor=ENLARGE, mode="nearest")[0])
        captions[0].append(f"{lr.shape[-1]}x{lr.shape[-2]} px in")
        for col, name in enumerate(titles[1:-1], start=1):
            psnr, ssim = y_psnr(outputs[name], hr, scale), y_ssim(outputs[name], hr, scale)
            captions[col].append(f"{float(psnr):.2f} dB / {float(ssim):.3f}")
        captions[-1].append(f"{hr.shape[-1]}x{hr.shape[-2]} px")
    columns = [(title, torch.stack(images)) for title, images in zip(titles, crops, strict=True)]
    figures.panel(
        columns,
        path,
        f"x{scale} super-resolution: the most detailed {ZOOM_PIXELS} px of each held-out image, "
        f"enlarged {ENLARGE}x pixel for pixel",
        "PSNR / SSIM of each method on the whole image (Y channel) under its crop",
        cell=1.7,
        captions=captions,
        nearest=True,
    )
    return titles


def evaluated_on(datamodule: Any, items: list[dict[str, torch.Tensor]]) -> str:
    """'the 2 whole held-out images of data=sr_photos (coffee, flower; 400x600 and ...)'."""
    names = list(getattr(datamodule, "val_names", []) or [])
    sizes = ", ".join(f"{item['hr'].shape[-1]}x{item['hr'].shape[-2]}" for item in items)
    count = len(names) or len(items)
    listed = f" ({', '.join(names)})" if names else ""
    shown = "its first ones" if count > len(items) else "them"
    return (
        f"the {count} whole held-out image{'s' if count != 1 else ''} of {datamodule.describe()}"
        f"{listed}, {sizes} px for {shown}"
    )


def _content_loss(notes: dict[str, str]) -> str:
    kind = str(notes.get("content_loss", ""))
    if kind.startswith("vgg19_random"):
        return f"a randomly initialised VGG19 ({kind.split(' at ')[-1]}) where the paper's has ImageNet weights"
    if kind.startswith("vgg19"):
        return f"an ImageNet VGG19 ({kind.split(' at ')[-1]}), as the paper's"
    return "pixel MSE, where the paper's is a VGG19 feature loss" if kind == "mse" else kind


def sr_sentence(
    ours: dict[str, tuple[float, float]],
    where: str,
    models: dict[str, Any],
    notes: dict[str, dict[str, str]],
) -> str:
    """What genzoo's SR numbers were measured on and with, and whether the lecture's
    ordering of the methods holds; every part read from the runs given."""

    def order(values: dict[str, tuple[float, float]], index: int) -> list[str]:
        return sorted(values, key=lambda k: -values[k][index])

    lecture = {k: v for k, v in LECTURE_SR.items() if k in ours}
    same = order(lecture, 0) == order(ours, 0) and order(lecture, 1) == order(ours, 1)
    verdict = (
        "The lecture's ordering holds for both PSNR and SSIM."
        if same
        else f"PSNR orders the methods {' > '.join(order(ours, 0))} here against "
        f"{' > '.join(order(lecture, 0))} in the lecture; SSIM {' > '.join(order(ours, 1))} "
        f"against {' > '.join(order(lecture, 1))}."
    )
    sizes = []
    for family, m in models.items():
        blocks, width = m.hparams.get("blocks"), m.hparams.get("width")
        if blocks is not None and (blocks, width) != (PAPER_BLOCKS, PAPER_WIDTH):
            sizes.append(f"{family} has {blocks} residual blocks of {width} channels")
    size_text = (
        f"; {', '.join(sizes)} (the paper's: {PAPER_BLOCKS} of {PAPER_WIDTH})" if sizes else ""
    )
    losses = [f"{family}'s content loss is {_content_loss(n)}" for family, n in notes.items()
              if "content_loss" in n]  # fmt: skip
    loss_text = f"; {'; '.join(losses)}" if losses else ""
    return (
        f"genzoo's values are measured on {where}, not on the SRGAN paper's test images behind "
        f"the lecture's figures{size_text}{loss_text}. {verdict}"
    )
