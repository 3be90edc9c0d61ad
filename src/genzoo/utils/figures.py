"""Figures that say what they show: panels with column titles, charts with axes and a title,
and the subject, metric and step in each PNG's metadata (its `Title` / `Description` text
chunks), for genzoo-compare, genzoo-report and the scripts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, title: str, description: str = "") -> Path:
    """Write `fig` as PNG with its title and description in the file's metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Title": title, "Description": description or title})
    _pyplot().close(fig)
    return path


def panel(
    columns: Sequence[tuple[str, torch.Tensor]],
    path: Path,
    title: str,
    description: str = "",
    cell: float = 1.1,
    captions: Sequence[Sequence[str]] | None = None,
    nearest: bool = False,
) -> Path:
    """Images side by side: one column per (title, (B, C, H, W) in [0, 1]) entry, B rows.

    `captions[col][row]` goes under each image; `nearest` shows pixels as blocks (a zoom)."""
    plt = _pyplot()
    rows = max(len(images) for _, images in columns)
    fig, axes = plt.subplots(
        rows,
        len(columns),
        figsize=(max(3.6, cell * len(columns) + 0.4), cell * rows + 0.7),
        squeeze=False,
    )
    for col, (name, images) in enumerate(columns):
        for row in range(rows):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if row < len(images):
                image = images[row].detach().float().cpu().clamp(0, 1)
                interpolation = "nearest" if nearest else "antialiased"
                if image.shape[0] == 1:
                    ax.imshow(image[0], cmap="gray", vmin=0, vmax=1, interpolation=interpolation)
                else:
                    ax.imshow(image.permute(1, 2, 0).numpy(), interpolation=interpolation)
                if captions is not None and row < len(captions[col]):
                    ax.set_xlabel(captions[col][row], fontsize=7)
            else:
                ax.axis("off")
            if row == 0:
                ax.set_title(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, path, title, description)


def grid(images: torch.Tensor, path: Path, title: str, nrow: int, description: str = "") -> Path:
    """A grid of images (B, C, H, W) under one title (samples, an interpolation strip)."""
    from torchvision.utils import make_grid

    picture = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=1)
    return picture_figure(picture, path, title, nrow, description)


def picture_figure(
    picture: torch.Tensor, path: Path, title: str, columns: int, description: str = ""
) -> Path:
    """A ready (3, H, W) grid of `columns` columns in [0, 1] under one title (a family's
    panel, models/panels.py), sized as `grid` sizes one."""
    plt = _pyplot()
    picture = picture.detach().float().cpu().clamp(0, 1)
    height, width = picture.shape[-2:]
    inches = min(8.0, max(3.0, 0.7 * columns))
    fig, ax = plt.subplots(figsize=(inches, inches * height / width + 0.5), dpi=100)
    ax.imshow(picture.permute(1, 2, 0).numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save(fig, path, title, description)


def lines(
    series: dict[str, tuple[list[float], list[float]]],
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    log_y: bool = False,
    legend: bool = True,
) -> Path:
    """One line per label: (x values, y values); a legend where there are several."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 12 else None, markersize=3, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if legend and len(series) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path, title, f"{ylabel} against {xlabel}")


def code_usage(counts: torch.Tensor, path: Path, title: str) -> Path:
    """A codebook's codes sorted by how often they are chosen, as bars with labelled axes."""
    plt = _pyplot()
    ordered = counts.sort(descending=True).values
    share = (ordered / ordered.sum().clamp_min(1)).numpy() * 100
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.bar(range(1, len(share) + 1), share, width=1.0, color="#4477aa")
    ax.set(xlabel="code rank (most used first)", ylabel="share of positions (%)", title=title)
    fig.tight_layout()
    used = int((counts > 0).sum())
    return save(fig, path, title, f"{used} of {len(counts)} codes used")


def label_columns(grid: torch.Tensor, titles: Sequence[str], header: int = 14) -> torch.Tensor:
    """A (3, H, W) panel grid of len(titles) equal columns with a white title row above it."""
    from PIL import Image, ImageDraw
    from torchvision.transforms.functional import pil_to_tensor

    body = to_pil(grid)
    canvas = Image.new("RGB", (body.width, body.height + header), "white")
    canvas.paste(body, (0, header))
    draw = ImageDraw.Draw(canvas)
    width = body.width / len(titles)
    for i, title in enumerate(titles):
        left, _, right, _ = draw.textbbox((0, 0), title)
        draw.text((i * width + (width - (right - left)) / 2, 1), title, fill="black")
    return pil_to_tensor(canvas).float() / 255


def to_pil(image: torch.Tensor) -> Any:
    """A (C, H, W) image in [0, 1] -> a PIL image, each value rounded to the nearest of the 256
    levels (torchvision's to_pil_image truncates: 8/255 that came back as 7.99999/255 is 7)."""
    from torchvision.transforms.functional import to_pil_image

    levels = (image.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    return to_pil_image(levels)


def save_png(image: torch.Tensor, path: Path, title: str, description: str) -> Path:
    """A (C, H, W) image in [0, 1] as PNG with its title and description as text chunks."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Title", title)
    info.add_text("Description", description)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # a stopped write leaves no broken PNG
    to_pil(image).save(partial, format="PNG", pnginfo=info)
    partial.replace(path)
    return path
