"""What genzoo-sample does with a trained model: option checks, sampling, reconstructions,
interpolations and style mixes, written as PNG files whose names say what made them."""

from __future__ import annotations

import hashlib
import logging
import math
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid, save_image

from genzoo.errors import GenzooError
from genzoo.figures import save_png
from genzoo.models.base import GenerativeModel
from genzoo.utils.checkpoint import checkpoint_batches, load_model
from genzoo.utils.console import quiet_console
from genzoo.utils.device import pick_device
from genzoo.utils.options import (
    Rule,
    boolean,
    check_options,
    check_output_folder,
    choice,
    device_name,
    int_list,
    integer,
    number,
    optional,
    text,
)
from genzoo.utils.user_images import (
    ImagesSkipped,
    images_from_files,
    reconstruction_grid,
    source_tag,
    validation_images,
)

log = logging.getLogger("genzoo")
NOISE_MODES = ("const", "random", "none")


class SampleRequestError(GenzooError, ValueError):
    """An option the loaded model cannot honour; nothing has been written."""


# genzoo-sample's options by type and value (utils/options.py), checked before loading.
OPTION_RULES: dict[str, Rule] = {
    "run": text,
    "checkpoint": text,
    "n": integer(1),
    "seed": integer(),
    "seeds": optional(int_list()),
    "truncation": optional(number(0)),
    "noise_mode": optional(choice(*NOISE_MODES)),
    "nrow": optional(integer(1)),
    "out_dir": optional(text),
    "grid": boolean,
    "individual": boolean,
    "temperature": number(0, above=True),
    "top_k": optional(integer(1)),
    "top_p": optional(number(0, 1, above=True)),
    "reconstruct": optional(text),
    "interpolate": boolean,
    "interpolation_steps": integer(2),
    "interpolation_rows": integer(1),
    "interpolation_space": text,
    "gif": boolean,
    "style_mix_rows": optional(int_list()),
    "style_mix_cols": optional(int_list()),
    "style_mix_layers": optional(int_list(2, low=0)),
    "device": device_name,
}


def check_request(cfg: DictConfig, model: GenerativeModel) -> None:
    """Every option against what the model can do, before anything is written."""
    name = type(model).__name__
    if not {"sample", "reconstruct"} & model.capabilities:
        other = "genzoo-upscale" if model.supports("upscale") else "genzoo-translate"
        raise SampleRequestError(
            f"{name} neither samples nor reconstructs, so nothing was written: "
            f"use {other} run={cfg.run} input=<images> output=<folder>"
        )
    if not model.supports("sample") and not cfg.reconstruct:
        raise SampleRequestError(
            f"{name} does not sample by itself, so nothing was written: it reconstructs "
            f"(reconstruct=val, or reconstruct=<your images>); sampling needs a prior trained "
            f"on its codes (genzoo-train experiment=vqvae_prior_digits "
            f"model.first_stage=<this run's checkpoint>)"
        )
    problems = []
    for option in _given_options(cfg):
        if option not in model.sample_options:
            problems.append(f"{option}= (it understands: {_listed(model.sample_options)})")
    if cfg.reconstruct and not model.supports("reconstruct"):
        problems.append("reconstruct= (it has no encoder)")
    if cfg.style_mix_rows or cfg.style_mix_cols:
        if not model.supports("style_mix"):
            problems.append("style_mix_rows / style_mix_cols (it has no styles to mix)")
        elif not (cfg.style_mix_rows and cfg.style_mix_cols):
            problems.append("style mixing needs both style_mix_rows and style_mix_cols")
        elif cfg.style_mix_layers:
            start, end = (int(v) for v in cfg.style_mix_layers)
            layers = int(getattr(model, "style_layers", 0))
            if not 0 <= start < end <= layers:
                problems.append(
                    f"style_mix_layers=[{start},{end}] (a range [start, end) within its "
                    f"{layers} w layers: 0 <= start < end <= {layers})"
                )
    space = str(cfg.interpolation_space)
    if (
        cfg.interpolate
        and model.supports("interpolate")
        and space not in model.interpolation_spaces
    ):
        problems.append(
            f"interpolation_space={cfg.interpolation_space} (it interpolates in: "
            f"{_listed(model.interpolation_spaces)})"
        )
    if cfg.gif and not (cfg.interpolate and model.supports("interpolate")):
        problems.append("gif=true (it animates the interpolation: set interpolate=true)")
    if problems:
        raise SampleRequestError(
            f"{name} cannot do what was asked, so nothing was written: " + "; ".join(problems)
        )


def _listed(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "none"


# Sampling options a user may set, with the tag each gets in file names.
OPTION_TAGS = {
    "truncation": "psi",
    "noise_mode": "noise",
    "temperature": "temp",
    "top_k": "topk",
    "top_p": "topp",
}


def _given_options(cfg: DictConfig) -> dict[str, Any]:
    """The sampling options the user set (truncation, noise_mode, temperature other than 1):
    checked against the model, passed to it, and named in file names."""
    options: dict[str, Any] = {}
    if cfg.truncation is not None:
        options["truncation"] = float(cfg.truncation)
    if cfg.noise_mode is not None:
        options["noise_mode"] = str(cfg.noise_mode)
    if float(cfg.temperature) != 1.0:
        options["temperature"] = float(cfg.temperature)
    if cfg.top_k is not None:
        options["top_k"] = int(cfg.top_k)
    if cfg.top_p is not None:
        options["top_p"] = float(cfg.top_p)
    return options


def _write_gif(frames: torch.Tensor, path: Path, duration_ms: int = 80) -> None:
    """frames (T, C, H, W) in [0, 1] -> an animated GIF that plays forth and back."""
    pil = [to_pil_image(f) for f in frames]
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


def _option_tag(cfg: DictConfig) -> str:
    """What changes the images besides the seed, for file names: '_psi0.7_noiserandom_temp0.8'."""
    return "".join(
        f"_{OPTION_TAGS[name]}{value:g}"
        if isinstance(value, float)
        else f"_{OPTION_TAGS[name]}{value}"
        for name, value in _given_options(cfg).items()
    )


def _seed_tag(cfg: DictConfig, seeds: list[int] | None) -> str:
    if not seeds:
        return f"n{int(cfg.n)}_seed{cfg.seed}"
    joined = "-".join(str(s) for s in seeds)
    if len(joined) > 40:  # many seeds: a readable start and a hash of them all
        joined = f"{seeds[0]}-{seeds[-1]}-{hashlib.sha1(joined.encode()).hexdigest()[:6]}"
    return f"seeds{joined}"


def sample(cfg: DictConfig) -> dict[str, str]:
    """Write the requested images; return a map of what was written where."""
    quiet_console()
    check_options(cfg, OPTION_RULES, "genzoo-sample")
    if cfg.out_dir:
        check_output_folder(str(cfg.out_dir), "out_dir")
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    check_request(cfg, model)
    run_dir = Path(meta["run_dir"])
    out_dir = Path(cfg.out_dir) if cfg.out_dir else run_dir / "samples"
    seeds = [int(s) for s in cfg.seeds] if cfg.seeds else None
    step = f"step{checkpoint_batches(meta):07d}"
    run_label = str(cfg.run)  # said in each PNG's metadata: what it shows, of which run
    stem = f"{step}_{_seed_tag(cfg, seeds)}{_option_tag(cfg)}"
    written: dict[str, str] = {}
    n = len(seeds) if seeds else int(cfg.n)
    # A class-conditional model cycles through its classes: one class per column.
    classes = int(model.hparams.get("num_classes") or 0)
    nrow = cfg.nrow or (classes if 1 < classes <= n else max(1, int(math.sqrt(n))))
    options = _given_options(cfg)  # check_request made sure the model takes each of them
    unreadable: list[str] = []

    if cfg.reconstruct:  # read the user's images first: a bad folder fails before any output
        data_cfg = meta["config"]["data"]
        if str(cfg.reconstruct) == "val":
            x, sources = validation_images(meta, int(cfg.n)), None
        else:
            size, channels = int(data_cfg["image_size"]), int(data_cfg["channels"])
            x, sources, unreadable = images_from_files(str(cfg.reconstruct), size, channels)
    out_dir.mkdir(parents=True, exist_ok=True)

    if model.supports("sample"):
        with _progress(model, n) as progress:
            images = model.sample(n, seed=int(cfg.seed), seeds=seeds, **options, **progress)
        images = images.cpu()
        if cfg.grid:
            written["samples"] = str(out_dir / f"samples_{stem}.png")
            what = f"{len(images)} samples of {run_label} ({step}), " + (
                f"seeds {seeds}" if seeds else f"seed {cfg.seed}"
            )
            save_png(make_grid(images, nrow=nrow), Path(written["samples"]), "samples", what)
        if cfg.individual:
            folder = out_dir / f"samples_{stem}"
            folder.mkdir(exist_ok=True)
            names = seeds or list(range(len(images)))
            for name, image in zip(names, images, strict=True):
                save_image(image, folder / (f"seed{name:05d}.png" if seeds else f"{name:05d}.png"))
            written["individual"] = str(folder)
    if cfg.reconstruct:
        recon = torch.cat([model.reconstruct(c.to(device)).cpu() for c in x.split(256)])
        rec_stem = f"{step}_{source_tag(str(cfg.reconstruct))}_n{len(x)}"
        written["reconstructions"] = str(out_dir / f"reconstructions_{rec_stem}.png")
        save_png(
            reconstruction_grid(x.cpu(), recon),
            Path(written["reconstructions"]),
            "reconstructions",
            f"{run_label} ({step}): rows of originals, each followed by its reconstructions",
        )
        if cfg.individual and sources is not None:
            folder = out_dir / f"reconstructions_{rec_stem}"
            folder.mkdir(exist_ok=True)
            for source, image in zip(sources, recon, strict=True):
                save_image(image, folder / f"{source.stem}.png")
            written["individual_reconstructions"] = str(folder)
    if cfg.interpolate and model.supports("interpolate"):
        steps, space = int(cfg.interpolation_steps), str(cfg.interpolation_space)
        base = seeds[0] if seeds else int(cfg.seed)
        rows = [
            model.interpolate(steps, base + 2 * r, base + 2 * r + 1, space=space, **options).cpu()
            for r in range(int(cfg.interpolation_rows))
        ]
        interp_stem = f"{step}_seed{base}_rows{len(rows)}x{steps}{_option_tag(cfg)}"
        written["interpolations"] = str(out_dir / f"interpolations_{space}_{interp_stem}.png")
        save_png(
            make_grid(torch.cat(rows), nrow=steps),
            Path(written["interpolations"]),
            f"interpolations in {space}",
            f"{run_label} ({step}): one row per seed pair, {steps} steps in {space}",
        )
        if cfg.gif:
            written["gif"] = str(out_dir / f"interpolations_{space}_{interp_stem}.gif")
            _write_gif(rows[0], Path(written["gif"]))
    if cfg.style_mix_rows and cfg.style_mix_cols:
        mix = "-".join(str(s) for s in [*cfg.style_mix_rows, "x", *cfg.style_mix_cols])
        layers = (
            f"_layers{cfg.style_mix_layers[0]}-{cfg.style_mix_layers[1]}"
            if cfg.style_mix_layers
            else ""
        )
        written["style_mix"] = str(
            out_dir / f"style_mix_{step}_{mix}{layers}{_option_tag(cfg)}.png"
        )
        save_png(
            _style_mix_grid(model, cfg, options),
            Path(written["style_mix"]),
            "style mixing",
            f"{run_label} ({step}): rows {list(cfg.style_mix_rows)}' styles with w layers "
            f"{list(cfg.style_mix_layers or [])} from columns {list(cfg.style_mix_cols)}",
        )
    for kind, path in written.items():
        log.info("%s: %s", kind, path)
    if unreadable:
        raise ImagesSkipped(
            f"{len(unreadable)} image(s) could not be read and were left out of the "
            f"reconstructions:\n  " + "\n  ".join(unreadable)
        )
    return written
