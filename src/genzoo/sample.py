"""genzoo-sample: images from a trained run through the model contract.

genzoo-sample run=runs/vae_digits/<name> n=64 seed=0
genzoo-sample run=<ckpt> reconstruct=val          # reconstructions of validation images
genzoo-sample run=<ckpt> reconstruct=my_digits/   # ... or of your own image files
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid, save_image

from genzoo.data.folders import IMAGE_SUFFIXES, open_image
from genzoo.data.transforms import center_crop_resize, pil_to_tensor, to_channels
from genzoo.errors import exit_on_user_error
from genzoo.models.base import CapabilityError, GenerativeModel
from genzoo.utils.checkpoint import load_model
from genzoo.utils.config import config_dir
from genzoo.utils.device import pick_device

log = logging.getLogger("genzoo")


def _images_to_reconstruct(spec: str, meta: dict, model: GenerativeModel, n: int) -> torch.Tensor:
    """'val' -> the first n validation images of the run's dataset; else files or a folder."""
    data_cfg = meta["config"]["data"]
    size, channels = int(data_cfg["image_size"]), int(data_cfg["channels"])
    if spec == "val":
        from hydra.utils import instantiate

        datamodule = instantiate(data_cfg, _convert_="all")
        datamodule.setup("validate")
        images = torch.cat(
            [
                b["image"]
                for _, b in zip(
                    range(math.ceil(n / datamodule.batch_size)),
                    datamodule.val_dataloader(),
                    strict=False,
                )
            ]
        )
        return images[:n]
    paths = [Path(p).expanduser() for p in spec.split(",")]
    files = [
        f
        for p in paths
        for f in (
            sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES)
            if p.is_dir()
            else [p]
        )
    ]
    if not files:
        raise FileNotFoundError(f"reconstruct={spec}: no image files found")
    return torch.stack(
        [
            to_channels(pil_to_tensor(center_crop_resize(open_image(f), size)), channels)
            for f in files[:n]
        ]
    )


def _style_options(cfg: DictConfig) -> dict[str, Any]:
    """Options only style-based models understand, passed when the user set them."""
    options: dict[str, Any] = {}
    if cfg.truncation is not None:
        options["truncation"] = float(cfg.truncation)
    if cfg.noise_mode is not None:
        options["noise_mode"] = str(cfg.noise_mode)
    return options


def _write_gif(frames: torch.Tensor, path: Path, duration_ms: int = 80) -> None:
    """frames (T, C, H, W) in [0, 1] -> an animated GIF that plays forth and back."""
    pil = [to_pil_image(f) for f in frames]
    pil = pil + pil[-2:0:-1]
    pil[0].save(path, save_all=True, append_images=pil[1:], duration=duration_ms, loop=0)


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


def sample(cfg: DictConfig) -> dict[str, str]:
    """Write the requested images; return a map of what was written where."""
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    run_dir = Path(meta["checkpoint_path"]).resolve().parent
    run_dir = run_dir.parent if run_dir.name == "checkpoints" else run_dir
    out_dir = Path(cfg.out_dir) if cfg.out_dir else run_dir / "samples"
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in cfg.seeds] if cfg.seeds else None
    stem = f"step{meta.get('global_step') or 0:07d}_" + (
        f"seeds{seeds[0]}-{seeds[-1]}" if seeds else f"seed{cfg.seed}"
    )
    written: dict[str, str] = {}
    n = len(seeds) if seeds else int(cfg.n)
    nrow = cfg.nrow or max(1, int(math.sqrt(n)))
    options = _style_options(cfg)

    if model.supports("sample"):
        images = model.sample(
            n, seed=int(cfg.seed), seeds=seeds, temperature=float(cfg.temperature), **options
        )
        images = images.cpu()
        if cfg.grid:
            written["samples"] = str(out_dir / f"samples_{stem}.png")
            save_image(make_grid(images, nrow=nrow), written["samples"])
        if cfg.individual:
            folder = out_dir / f"samples_{stem}"
            folder.mkdir(exist_ok=True)
            names = seeds or list(range(len(images)))
            for name, image in zip(names, images, strict=True):
                save_image(image, folder / (f"seed{name:05d}.png" if seeds else f"{name:05d}.png"))
            written["individual"] = str(folder)
    if cfg.reconstruct and model.supports("reconstruct"):
        x = _images_to_reconstruct(str(cfg.reconstruct), meta, model, int(cfg.n)).to(device)
        recon = model.reconstruct(x).cpu()
        written["reconstructions"] = str(out_dir / f"reconstructions_{stem}.png")
        save_image(make_grid(torch.cat([x.cpu(), recon]), nrow=len(x)), written["reconstructions"])
    elif cfg.reconstruct:
        log.warning(
            "%s cannot reconstruct; reconstruct=%s ignored", type(model).__name__, cfg.reconstruct
        )
    if cfg.interpolate and model.supports("interpolate"):
        steps, space = int(cfg.interpolation_steps), str(cfg.interpolation_space)
        base = seeds[0] if seeds else int(cfg.seed)
        rows = [
            model.interpolate(steps, base + 2 * r, base + 2 * r + 1, space=space, **options).cpu()
            for r in range(int(cfg.interpolation_rows))
        ]
        written["interpolations"] = str(out_dir / f"interpolations_{space}_{stem}.png")
        save_image(make_grid(torch.cat(rows), nrow=steps), written["interpolations"])
        if cfg.gif:
            written["gif"] = str(out_dir / f"interpolation_{space}_{stem}.gif")
            _write_gif(rows[0], Path(written["gif"]))
    if cfg.style_mix_rows and cfg.style_mix_cols:
        if not model.supports("style_mix"):
            raise CapabilityError(
                f"{type(model).__name__} has no styles to mix; drop style_mix_rows/cols"
            )
        written["style_mix"] = str(out_dir / f"style_mix_{stem}.png")
        save_image(_style_mix_grid(model, cfg, options), written["style_mix"])
    for kind, path in written.items():
        log.info("%s: %s", kind, path)
    print(json.dumps(written))
    return written


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="sample")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        sample(cfg)


if __name__ == "__main__":
    sys.exit(main())
