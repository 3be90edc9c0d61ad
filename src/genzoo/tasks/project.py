"""What genzoo-project does: read the user's images (at the model's size and channel count),
project them in batches (tasks/projection.py), and write per image the projection, a target |
projection pair and the latent, and for all images the loss curves and a summary."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from genzoo.data.errors import DatasetError
from genzoo.data.folders import open_image
from genzoo.data.transforms import pil_to_tensor
from genzoo.errors import ConfigError
from genzoo.tasks.preamble import FOLDER_RULES, RUN_RULES, checked_options, loaded_model
from genzoo.tasks.projection import (
    DISTANCES,
    Projection,
    project,
    projection_space,
    psnr,
    supports_projection,
)
from genzoo.tasks.user_images import ImagesSkipped, input_files
from genzoo.utils.figures import lines
from genzoo.utils.options import (
    Rule,
    check_output_folder,
    choice,
    integer,
    number,
    optional,
)

log = logging.getLogger("genzoo")

# genzoo-project's options by type and value (utils/options.py).
OPTION_RULES: dict[str, Rule] = {
    **RUN_RULES,
    **FOLDER_RULES,
    "space": optional(choice("w", "w+", "z")),
    "steps": integer(1),
    "lr": number(0, above=True),
    "distance": choice(*DISTANCES),
    "noise_weight": number(0),
    "batch_size": integer(1),
    "seed": integer(0),
}


def project_images(cfg: DictConfig) -> dict[str, Any]:
    """Project every input image; returns the summary written to projection.json."""
    checked_options(cfg, OPTION_RULES, "genzoo-project")
    out_dir = check_output_folder(str(cfg.output), "output", inputs=str(cfg.input))
    files = input_files(str(cfg.input))
    model, _ = loaded_model(cfg)
    if not supports_projection(model):
        raise ConfigError(
            f"run={cfg.run} is a {type(model).__name__} run, which genzoo-project cannot invert: "
            "pass an unconditional model=dcgan or model=stylegan run (e.g. run=zoo:stylegan_digits)"
        )
    projection_space(model, cfg.space)  # a space the family lacks: refused before writing
    files, targets, unreadable = _read_targets(files, model)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    curves: list[torch.Tensor] = []
    batch = int(cfg.batch_size)
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        log.info("projecting images %d-%d of %d", start + 1, start + len(chunk), len(files))
        result = project(
            model,
            targets[start : start + batch],
            space=cfg.space,
            steps=int(cfg.steps),
            lr=float(cfg.lr),
            distance=str(cfg.distance),
            noise_weight=float(cfg.noise_weight),
            seed=int(cfg.seed),
        )
        rows += write_results(result, chunk, targets[start : start + batch], out_dir)
        curves.append(result.losses)
    summary = {
        "model": type(model).__name__,
        "space": result.space,
        "distance": result.distance,
        "steps": int(cfg.steps),
        "mean_psnr": sum(r["psnr"] for r in rows) / len(rows),
        "images": rows,
    }
    write_curves(torch.cat(curves, dim=1), [Path(r["image"]).stem for r in rows], out_dir)
    (out_dir / "projection.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info(
        "%d image(s) projected into %s, mean PSNR %.2f dB: %s",
        len(rows),
        result.space,
        summary["mean_psnr"],
        out_dir,
    )
    if unreadable:
        raise ImagesSkipped(
            f"{len(unreadable)} of {len(unreadable) + len(rows)} image(s) could not be read and "
            f"were skipped ({len(rows)} projected into {out_dir}):\n  " + "\n  ".join(unreadable)
        )
    return summary


def _read_targets(files: list[Path], model: Any) -> tuple[list[Path], torch.Tensor, list[str]]:
    """The readable files, their images (N, C, H, W) at the model's size and channels, and
    what could not be read (skipped and reported at the end, as genzoo-upscale does)."""
    channels, size = int(model.hparams["image_channels"]), int(model.hparams["image_size"])
    read, unreadable = [], []
    for file in files:
        try:
            read.append((file, read_target(file, channels, size)))
        except UnreadableImage as err:
            unreadable.append(str(err))
            log.warning("%s: unreadable, skipped", file)
    if not read:
        raise ImagesSkipped(
            f"none of the {len(files)} image(s) could be read, nothing was written:\n  "
            + "\n  ".join(unreadable)
        )
    return [file for file, _ in read], torch.stack([target for _, target in read]), unreadable


class UnreadableImage(ConfigError):
    """An input file that is no image (or a broken one): skipped, then reported."""


def read_target(file: Path, channels: int, size: int) -> torch.Tensor:
    """One image as (C, H, W) in [0, 1]; another size or channel count is a one-line error."""
    try:
        image = open_image(file)
    except DatasetError as err:
        raise UnreadableImage(f"{file}: {err.__cause__ or err}") from None
    if image.size != (size, size):
        raise ConfigError(
            f"input: {file} is {image.size[0]}x{image.size[1]}, the model draws {size}x{size} "
            "images: resize it first"
        )
    x = pil_to_tensor(image)
    grey = bool((x[0] == x[1]).all() and (x[1] == x[2]).all())
    if channels == 1 and not grey:
        raise ConfigError(
            f"input: {file} has colour, the model draws grey images: convert it to grey first"
        )
    if channels == 3 and image.mode in ("L", "LA", "1", "I", "I;16", "F"):
        raise ConfigError(f"input: {file} is grey, the model draws RGB images: convert it first")
    return x[:1] if channels == 1 else x


def write_results(
    result: Projection, files: list[Path], targets: torch.Tensor, out_dir: Path
) -> list[dict[str, Any]]:
    """Per image: <stem>_projected.png, <stem>_pair.png, <stem>_latent.pt; returns rows."""
    from torchvision.utils import save_image

    scores = psnr(result.images.cpu(), targets.cpu())
    rows = []
    for i, file in enumerate(files):
        stem = file.stem
        save_image(result.images[i].cpu(), out_dir / f"{stem}_projected.png")
        pair = torch.cat([targets[i].cpu(), result.images[i].cpu()], dim=-1)
        save_image(pair, out_dir / f"{stem}_pair.png")
        latent = {
            key: ([n[i : i + 1] for n in value] if isinstance(value, list) else value[i])
            for key, value in result.latents.items()
        }
        torch.save({"space": result.space, **latent}, out_dir / f"{stem}_latent.pt")
        rows.append(
            {
                "image": str(file),
                "psnr": float(scores[i]),
                "final_loss": float(result.losses[-1, i]),
                "first_loss": float(result.losses[0, i]),
            }
        )
    return rows


def write_curves(losses: torch.Tensor, names: list[str], out_dir: Path) -> None:
    """losses.csv (step, one column per image) and losses.png (each image's curve)."""
    with (out_dir / "losses.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *names])
        for step, row in enumerate(losses.tolist(), 1):
            writer.writerow([step, *(f"{v:.6g}" for v in row)])
    steps = [float(step) for step in range(1, len(losses) + 1)]
    lines(
        {name: (steps, losses[:, i].tolist()) for i, name in enumerate(names)},
        out_dir / "losses.png",
        f"GAN projection: {len(names)} image(s)",
        "step",
        "projection loss (per image)",
        log_y=True,
        legend=len(names) <= 10,  # a key for a handful of images, not for a folder of them
    )
