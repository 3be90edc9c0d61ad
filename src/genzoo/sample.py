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

import hydra
import torch
from omegaconf import DictConfig
from torchvision.utils import make_grid, save_image

from genzoo.data.folders import IMAGE_SUFFIXES, open_image
from genzoo.data.transforms import center_crop_resize, pil_to_tensor, to_channels
from genzoo.errors import exit_on_user_error
from genzoo.models.base import GenerativeModel
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


def sample(cfg: DictConfig) -> dict[str, str]:
    """Write the requested images; return a map of what was written where."""
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    run_dir = Path(meta["checkpoint_path"]).resolve().parent
    run_dir = run_dir.parent if run_dir.name == "checkpoints" else run_dir
    out_dir = Path(cfg.out_dir) if cfg.out_dir else run_dir / "samples"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"step{meta.get('global_step') or 0:07d}_seed{cfg.seed}"
    written: dict[str, str] = {}
    nrow = cfg.nrow or max(1, int(math.sqrt(cfg.n)))

    if model.supports("sample"):
        images = model.sample(
            int(cfg.n), seed=int(cfg.seed), temperature=float(cfg.temperature)
        ).cpu()
        if cfg.grid:
            written["samples"] = str(out_dir / f"samples_{stem}.png")
            save_image(make_grid(images, nrow=nrow), written["samples"])
        if cfg.individual:
            folder = out_dir / f"samples_{stem}"
            folder.mkdir(exist_ok=True)
            for i, image in enumerate(images):
                save_image(image, folder / f"{i:05d}.png")
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
        rows = [
            model.interpolate(
                int(cfg.interpolation_steps), cfg.seed + 2 * r, cfg.seed + 2 * r + 1
            ).cpu()
            for r in range(int(cfg.interpolation_rows))
        ]
        written["interpolations"] = str(out_dir / f"interpolations_{stem}.png")
        save_image(
            make_grid(torch.cat(rows), nrow=int(cfg.interpolation_steps)), written["interpolations"]
        )
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
