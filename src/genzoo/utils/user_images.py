"""The images genzoo-sample reconstructs: the user's own files and folders, or the run's
validation images, and how reconstructions are laid out and named."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import torch
from torchvision.utils import make_grid

from genzoo.data.errors import DatasetError
from genzoo.data.folders import IMAGE_SUFFIXES, open_image
from genzoo.data.transforms import center_crop_resize, pil_to_tensor, to_channels
from genzoo.errors import GenzooError


class ImagesSkipped(GenzooError):
    """Some of the user's images could not be read; the readable ones were processed."""

    exit_code = 1


def images_from_files(
    spec: str, size: int, channels: int
) -> tuple[torch.Tensor, list[Path], list[str]]:
    """Every readable image named by `spec` (files or folders, comma-separated), their paths,
    and one line per file that could not be read."""
    paths = [Path(p).expanduser() for p in spec.split(",")]
    files = [
        f
        for p in paths
        for f in (
            sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if p.is_dir()
            else [p]
        )
    ]
    if not files:
        raise FileNotFoundError(f"reconstruct={spec}: no image files found")
    images, used, unreadable = [], [], []
    for f in files:
        try:
            img = open_image(f)
        except DatasetError as err:
            unreadable.append(f"{f}: {err.__cause__ or err}")
            continue
        images.append(to_channels(pil_to_tensor(center_crop_resize(img, size)), channels))
        used.append(f)
    if not images:
        raise ImagesSkipped(
            f"reconstruct={spec}: none of the images could be read:\n  " + "\n  ".join(unreadable)
        )
    return torch.stack(images), used, unreadable


def validation_images(meta: dict, n: int) -> torch.Tensor:
    """The first n validation images of the run's dataset."""
    from hydra.utils import instantiate

    datamodule = instantiate(meta["config"]["data"], _convert_="all")
    datamodule.setup("validate")
    batches = math.ceil(n / datamodule.batch_size)
    loader = datamodule.val_dataloader()
    images = torch.cat([b["image"] for _, b in zip(range(batches), loader, strict=False)])
    return images[:n]


def reconstruction_grid(x: torch.Tensor, recon: torch.Tensor, per_row: int = 8) -> torch.Tensor:
    """Rows of up to `per_row` originals, each followed by a row of their reconstructions."""
    tiles = []
    for start in range(0, len(x), per_row):
        chunk = slice(start, start + per_row)
        tiles += [x[chunk], recon[chunk]]
        pad = per_row - len(x[chunk])
        if pad and len(x) > per_row:  # keep every row the same width
            blank = torch.ones(pad, *x.shape[1:])
            tiles[-2], tiles[-1] = torch.cat([tiles[-2], blank]), torch.cat([tiles[-1], blank])
    return make_grid(torch.cat(tiles), nrow=min(per_row, len(x)))


def source_tag(spec: str) -> str:
    """A file-name-safe tag for where reconstructions came from: 'val', or name + short hash."""
    if spec == "val":
        return "val"
    first = Path(spec.split(",")[0]).expanduser()
    digest = hashlib.sha1(spec.encode()).hexdigest()[:6]
    return f"{re.sub(r'[^A-Za-z0-9_-]+', '-', first.stem or first.name)}-{digest}"
