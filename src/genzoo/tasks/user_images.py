"""The images genzoo-sample reconstructs: the user's own files and folders, or the run's
validation images, and how reconstructions are laid out and named."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import make_grid

from genzoo.data.errors import DatasetError
from genzoo.data.folders import IMAGE_SUFFIXES, open_image
from genzoo.data.transforms import center_crop_resize, pil_to_tensor, to_channels
from genzoo.errors import ConfigError, GenzooError

log = logging.getLogger("genzoo")


class ImagesSkipped(GenzooError):
    """Some of the user's images could not be read; the readable ones were processed."""

    exit_code = 1


def images_from_files(
    spec: str, size: int, channels: int
) -> tuple[torch.Tensor, list[Path], list[str]]:
    """Every readable image named by `spec` (files or folders, comma-separated), their paths,
    and one line per file that could not be read."""
    paths = [Path(p).expanduser() for p in spec.split(",")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:  # a path that is not there is a mistake in the command (exit 2), as for input=
        raise ConfigError(f"reconstruct={spec}: no such file or folder: {', '.join(missing)}")
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
    images, used, unreadable, cropped = [], [], [], []
    for f in files:
        try:
            img = open_image(f)
        except DatasetError as err:
            unreadable.append(f"{f}: {err.__cause__ or err}")
            continue
        if max(img.size) > 1.5 * min(img.size):  # most of it will be cropped away: say so
            cropped.append(f"{f.name} ({img.size[0]}x{img.size[1]})")
        images.append(to_channels(pil_to_tensor(center_crop_resize(img, size)), channels))
        used.append(f)
    if cropped:
        log.warning(
            "reconstruct: %d image(s) far from square were centre-cropped to a square, then "
            "resized to the model's %d px: %s",
            len(cropped),
            size,
            ", ".join(cropped[:5]) + (", ..." if len(cropped) > 5 else ""),
        )
    if not images:
        raise ImagesSkipped(
            f"reconstruct={spec}: none of the images could be read:\n  " + "\n  ".join(unreadable)
        )
    return torch.stack(images), used, unreadable


def validation_items(meta: dict, n: int) -> tuple[list[dict[str, torch.Tensor]], Any]:
    """The first n validation items of the run's dataset, one dict of tensors each (whole SR
    images differ in size, so the loader's batch size, 1 there, is no guide), and the
    datamodule they came from."""
    from hydra.utils import instantiate

    datamodule = instantiate(meta["config"]["data"], _convert_="all")
    datamodule.setup("validate")
    items: list[dict[str, torch.Tensor]] = []
    for batch in datamodule.val_dataloader():
        keys = [k for k, v in batch.items() if isinstance(v, torch.Tensor)]
        items += [{k: batch[k][j] for k in keys} for j in range(len(batch[keys[0]]))]
        if len(items) >= n:
            break
    return items[:n], datamodule


def validation_batch(meta: dict, n: int) -> dict[str, torch.Tensor]:
    """The first n validation items of the run's dataset, as one batch (its tensor keys)."""
    items, _ = validation_items(meta, n)
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}


def validation_images(meta: dict, n: int) -> torch.Tensor:
    """The first n validation images of the run's dataset."""
    return validation_batch(meta, n)["image"]


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


def input_files(spec: str) -> list[Path]:
    """The image files `spec` names: one file, or every image in a folder (recursively)."""
    from genzoo.data.folders import list_images

    path = Path(spec).expanduser()
    if path.is_dir():
        try:
            return list_images(path)
        except DatasetError:
            raise ConfigError(f"input={spec}: the folder holds no image files") from None
    if path.is_file():
        return [path]
    raise ConfigError(f"input={spec}: no such file or folder")


def convert_user_images(
    spec: str,
    output: str,
    channels: int,
    device: torch.device | str,
    convert: Callable[[torch.Tensor], torch.Tensor],
    suffix: str,
) -> dict[str, str]:
    """What genzoo-upscale and genzoo-translate do with the user's images: each readable image
    of `spec` (any size; grey, RGBA, 16-bit converted to `channels`) as (1, C, H, W) on
    `device` through `convert`, written to `output/<relative path>/<stem>_<suffix>.png`.
    Unreadable files are skipped, then reported together (ImagesSkipped, exit code 1).
    Returns input -> output path."""
    from genzoo.utils.figures import save_png

    files = input_files(spec)
    out_dir = Path(output).expanduser()  # made with the first image written, not before
    root = Path(spec).expanduser()
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
        log.info("[%d/%d] %s (%dx%d) ...", number, len(files), file, *image.size)
        x = to_channels(pil_to_tensor(image), channels)[None].to(device)
        with torch.no_grad():
            y = convert(x)
        relative = file.relative_to(root) if root.is_dir() else Path(file.name)
        target = out_dir / relative.parent / f"{relative.stem}_{suffix}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        save_png(y[0], target, suffix, f"{suffix} of {file}")
        written[str(file)] = str(target)
        log.info(
            "[%d/%d] %s (%dx%d) -> %s (%dx%d), %.1f s",
            number, len(files), file, x.shape[-1], x.shape[-2], target, y.shape[-1],
            y.shape[-2], time.perf_counter() - started,
        )  # fmt: skip
    log.info("%d image(s) written to %s", len(written), out_dir)
    if unreadable:
        raise ImagesSkipped(
            f"{len(unreadable)} of {len(files)} image(s) could not be read and were skipped "
            f"({len(written)} written to {out_dir}):\n  " + "\n  ".join(unreadable)
        )
    return written
