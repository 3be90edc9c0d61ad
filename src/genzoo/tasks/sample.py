"""What genzoo-sample does with a trained model: option checks, sampling, reconstructions,
interpolations and style mixes, written as PNG files whose names say what made them."""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torchvision.utils import make_grid, save_image

from genzoo.models.base import GenerativeModel
from genzoo.tasks.preamble import checked_options, loaded_model

# The request's checks live in sample_request.py; its names are this module's too.
from genzoo.tasks.sample_request import (
    OPTION_RULES,
    OPTION_TAGS,
    SampleRequestError,
    check_request,
    given_options,
    option_tag,
    seed_tag,
)
from genzoo.tasks.user_images import (
    ImagesSkipped,
    images_from_files,
    reconstruction_grid,
    source_tag,
    validation_images,
)
from genzoo.utils.checkpoint import checkpoint_batches
from genzoo.utils.figures import save_png, to_pil
from genzoo.utils.options import check_output_folder

__all__ = ["OPTION_RULES", "OPTION_TAGS", "SampleRequestError", "check_request", "sample"]

log = logging.getLogger("genzoo")


def _write_gif(frames: torch.Tensor, path: Path, duration_ms: int = 80) -> None:
    """frames (T, C, H, W) in [0, 1] -> an animated GIF that plays forth and back."""
    pil = [to_pil(f) for f in frames]
    pil = pil + pil[-2:0:-1]
    pil[0].save(path, save_all=True, append_images=pil[1:], duration=duration_ms, loop=0)


@contextmanager
def _progress(model: GenerativeModel, n: int) -> Iterator[dict[str, Any]]:
    """For a model that samples position by position (an autoregressive prior), a progress bar
    on stderr fed by its `progress` callback; nothing for the others."""
    if not model.sequential_sampling:
        yield {}
        return
    from tqdm import tqdm

    with tqdm(total=None, desc=f"sampling {n} images", unit="code", file=sys.stderr) as bar:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        yield {"progress": update}


def _style_mix_grid(
    model: GenerativeModel, cfg: DictConfig, options: dict[str, Any]
) -> torch.Tensor:
    """The paper's figure layout: column seeds on top, row seeds on the left, mixes inside."""
    rows, cols = [int(s) for s in cfg.style_mix_rows], [int(s) for s in cfg.style_mix_cols]
    layers = (
        (int(cfg.style_mix_layers[0]), int(cfg.style_mix_layers[1]))
        if cfg.style_mix_layers
        else None
    )
    mixed = model.style_mix(rows, cols, layers, **options).cpu()
    top = model.sample(len(cols), seeds=cols, **options).cpu()
    left = model.sample(len(rows), seeds=rows, **options).cpu()
    blank = torch.ones_like(top[0])
    tiles = [blank, *top]
    for r in range(len(rows)):
        tiles += [left[r], *mixed[r * len(cols) : (r + 1) * len(cols)]]
    return make_grid(torch.stack(tiles), nrow=len(cols) + 1)


@dataclass
class Request:
    """One genzoo-sample call: the model, where its files go and what their names carry."""

    cfg: DictConfig
    model: GenerativeModel
    out_dir: Path
    step: str  # step<batches>: how far the checkpoint trained
    run_label: str  # said in each PNG's metadata: what it shows, of which run
    seeds: list[int] | None
    options: dict[str, Any]  # check_request made sure the model takes each of them
    written: dict[str, str] = field(default_factory=dict)


def sample(cfg: DictConfig) -> dict[str, str]:
    """Write the requested images; return a map of what was written where."""
    checked_options(cfg, OPTION_RULES, "genzoo-sample")
    if cfg.out_dir:
        check_output_folder(str(cfg.out_dir), "out_dir")
    model, meta = loaded_model(cfg)
    check_request(cfg, model)
    out_dir = Path(cfg.out_dir) if cfg.out_dir else Path(meta["run_dir"]) / "samples"
    seeds = [int(s) for s in cfg.seeds] if cfg.seeds else None
    step = f"step{checkpoint_batches(meta):07d}"
    request = Request(cfg, model, out_dir, step, str(cfg.run), seeds, given_options(cfg))
    if cfg.reconstruct:  # read the user's images first: a bad folder fails before any output
        x, sources, unreadable = _images_to_reconstruct(cfg, meta)
    out_dir.mkdir(parents=True, exist_ok=True)
    if model.supports("sample"):
        _write_samples(request)
    if cfg.reconstruct:
        _write_reconstructions(request, x, sources)
    if cfg.interpolate and model.supports("interpolate"):
        _write_interpolations(request)
    if cfg.style_mix_rows and cfg.style_mix_cols:
        _write_style_mix(request)
    for kind, path in request.written.items():
        log.info("%s: %s", kind, path)
    if cfg.reconstruct and unreadable:
        raise ImagesSkipped(
            f"{len(unreadable)} image(s) could not be read and were left out of the "
            f"reconstructions:\n  " + "\n  ".join(unreadable)
        )
    return request.written


def _images_to_reconstruct(
    cfg: DictConfig, meta: dict[str, Any]
) -> tuple[torch.Tensor, list[Path] | None, list[str]]:
    """reconstruct=val: held-out images; reconstruct=<folder or file>: the user's, at the
    run's size and channels (with the files that could not be read)."""
    if str(cfg.reconstruct) == "val":
        return validation_images(meta, int(cfg.n)), None, []
    data_cfg = meta["config"]["data"]
    size, channels = int(data_cfg["image_size"]), int(data_cfg["channels"])
    return images_from_files(str(cfg.reconstruct), size, channels)


def _write_samples(r: Request) -> None:
    cfg, seeds = r.cfg, r.seeds
    n = len(seeds) if seeds else int(cfg.n)
    with _progress(r.model, n) as progress:
        images = r.model.sample(n, seed=int(cfg.seed), seeds=seeds, **r.options, **progress)
    images = images.cpu()
    stem = f"{r.step}_{seed_tag(cfg, seeds)}{option_tag(cfg)}"
    if cfg.grid:
        # A class-conditional model cycles through its classes: one class per column.
        classes = int(r.model.hparams.get("num_classes") or 0)
        nrow = cfg.nrow or (classes if 1 < classes <= n else max(1, int(math.sqrt(n))))
        r.written["samples"] = str(r.out_dir / f"samples_{stem}.png")
        what = f"{len(images)} samples of {r.run_label} ({r.step}), " + (
            f"seeds {seeds}" if seeds else f"seed {cfg.seed}"
        )
        save_png(make_grid(images, nrow=nrow), Path(r.written["samples"]), "samples", what)
    if cfg.individual:
        folder = r.out_dir / f"samples_{stem}"
        folder.mkdir(exist_ok=True)
        names = seeds or list(range(len(images)))
        for name, image in zip(names, images, strict=True):
            save_image(image, folder / (f"seed{name:05d}.png" if seeds else f"{name:05d}.png"))
        r.written["individual"] = str(folder)


def _write_reconstructions(r: Request, x: torch.Tensor, sources: list[Path] | None) -> None:
    device = r.model.device
    recon = torch.cat([r.model.reconstruct(c.to(device)).cpu() for c in x.split(256)])
    rec_stem = f"{r.step}_{source_tag(str(r.cfg.reconstruct))}_n{len(x)}"
    r.written["reconstructions"] = str(r.out_dir / f"reconstructions_{rec_stem}.png")
    save_png(
        reconstruction_grid(x.cpu(), recon),
        Path(r.written["reconstructions"]),
        "reconstructions",
        f"{r.run_label} ({r.step}): rows of originals, each followed by its reconstructions",
    )
    if r.cfg.individual and sources is not None:
        folder = r.out_dir / f"reconstructions_{rec_stem}"
        folder.mkdir(exist_ok=True)
        for source, image in zip(sources, recon, strict=True):
            save_image(image, folder / f"{source.stem}.png")
        r.written["individual_reconstructions"] = str(folder)


def _write_interpolations(r: Request) -> None:
    cfg = r.cfg
    steps, space = int(cfg.interpolation_steps), str(cfg.interpolation_space)
    base = r.seeds[0] if r.seeds else int(cfg.seed)
    rows = [
        r.model.interpolate(steps, base + 2 * i, base + 2 * i + 1, space=space, **r.options).cpu()
        for i in range(int(cfg.interpolation_rows))
    ]
    stem = f"{r.step}_seed{base}_rows{len(rows)}x{steps}{option_tag(cfg)}"
    r.written["interpolations"] = str(r.out_dir / f"interpolations_{space}_{stem}.png")
    save_png(
        make_grid(torch.cat(rows), nrow=steps),
        Path(r.written["interpolations"]),
        f"interpolations in {space}",
        f"{r.run_label} ({r.step}): one row per seed pair, {steps} steps in {space}",
    )
    if cfg.gif:
        r.written["gif"] = str(r.out_dir / f"interpolations_{space}_{stem}.gif")
        _write_gif(rows[0], Path(r.written["gif"]))


def _write_style_mix(r: Request) -> None:
    cfg = r.cfg
    mix = "-".join(str(s) for s in [*cfg.style_mix_rows, "x", *cfg.style_mix_cols])
    layers = (
        f"_layers{cfg.style_mix_layers[0]}-{cfg.style_mix_layers[1]}"
        if cfg.style_mix_layers
        else ""
    )
    r.written["style_mix"] = str(
        r.out_dir / f"style_mix_{r.step}_{mix}{layers}{option_tag(cfg)}.png"
    )
    save_png(
        _style_mix_grid(r.model, cfg, r.options),
        Path(r.written["style_mix"]),
        "style mixing",
        f"{r.run_label} ({r.step}): rows {list(cfg.style_mix_rows)}' styles with w layers "
        f"{list(cfg.style_mix_layers or [])} from columns {list(cfg.style_mix_cols)}",
    )
