"""The figures a family draws of itself from held-out batches (`GenerativeModel.validation_panels`):
the image-grid callback logs them beside the contract's samples, reconstructions and
interpolations, without knowing what a family does."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import torch
import torch.nn.functional as F
from torchvision.utils import make_grid

from genzoo.networks.srresnet import bicubic_upscale


@dataclass
class Panel:
    """A (3, H, W) grid in [0, 1], what it shows, and the titles of its columns (if any)."""

    grid: torch.Tensor
    caption: str
    column_titles: list[str] | None = None


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central (at most) size x size region of (B, C, H, W) images."""
    h, w = x.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return x[..., top : top + size, left : left + size]


def upscale_panel(
    upscale: Callable[[torch.Tensor], torch.Tensor],
    batches: Iterable[dict[str, torch.Tensor]],
    device: torch.device,
) -> Panel | None:
    """Rows of LR (nearest-upscaled) | bicubic | SR | HR for the centres of the first four
    held-out images (crops of up to 48 LR pixels, so the panels stay readable)."""
    rows = []
    for batch in islice(batches, 4):
        lr = center_crop(batch["lr"], 48).to(device)
        scale = batch["hr"].shape[-1] // batch["lr"].shape[-1]
        big = (lr.shape[-2] * scale, lr.shape[-1] * scale)
        hr = center_crop(batch["hr"], max(big)).to(device)[..., : big[0], : big[1]]
        nearest = F.interpolate(lr, size=big, mode="nearest")
        rows += [nearest, bicubic_upscale(lr, scale), upscale(lr), hr]
    if not rows:
        return None
    grid = make_grid(torch.cat([r.cpu() for r in rows]), nrow=4, padding=4, pad_value=1.0)
    return Panel(grid, "held-out crops, one per row", ["LR", "bicubic", "SR", "HR"])


def translation_panels(
    translate: Callable[[torch.Tensor, str], torch.Tensor],
    directions: tuple[str, ...],
    batches: Iterator[dict[str, torch.Tensor]],
    device: torch.device,
) -> dict[str, Panel]:
    """One panel per direction the model learned, a row per held-out image of the first batch:
    input | output | target for paired models (Pix2Pix), input | output | back again (| true
    output, where the held-out pairs are aligned) for both-way ones (CycleGAN)."""
    batch = next(iter(batches), None)
    if batch is None:
        return {}
    both_ways = len(directions) == 2
    aligned = not both_ways or ("aligned" in batch and bool(batch["aligned"].all()))
    panels = {}
    for direction in directions:
        source, target = direction[0], direction[-1]
        x = batch[source][:8].to(device)
        # One image at a time: at 256 px a batch of eight would set the run's peak memory.
        y = torch.cat([translate(image[None], direction) for image in x])
        columns = [x, y]
        titles = [source, f"G({source})"] if both_ways else ["input", "output"]
        if both_ways:
            back = f"{target}to{source}"
            columns.append(torch.cat([translate(image[None], back) for image in y]))
            titles.append(f"F(G({source}))")
        if aligned:
            columns.append(batch[target][:8].to(device))
            titles.append(f"true {target}" if both_ways else "target")
        rows = torch.stack(columns, 1).flatten(0, 1)  # image by image, column by column
        grid = make_grid(rows.cpu(), nrow=len(columns), padding=2, pad_value=1.0)
        panels[f"translate_{direction}"] = Panel(
            grid, f"held-out images, {direction}, one per row", titles
        )
    return panels
