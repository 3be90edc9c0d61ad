"""How well the shipped digit GANs invert held-out digits (docs/api.md, "GAN inversion").

    python scripts/projection_quality.py [--images 64] [--steps 500]

For the first N held-out digits: PSNR and digit-feature distance (projection.DigitDistance) of
each model's projection (DCGAN in z; StyleGAN in w and w+), beside the nearest training digit
by pixel distance (what a model that memorised its data could at best return from the training
set). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import genzoo  # noqa: E402
from genzoo.tasks.projection import DigitDistance, project, psnr  # noqa: E402


def split_images(meta: dict, split: str) -> torch.Tensor:
    from hydra.utils import instantiate

    datamodule = instantiate(meta["config"]["data"], _convert_="all")
    datamodule.setup("fit")
    loader = datamodule.val_dataloader() if split == "val" else datamodule.train_dataloader()
    return torch.cat([batch["image"] for batch in loader])


def scores(
    images: torch.Tensor, targets: torch.Tensor, measure: DigitDistance
) -> tuple[float, float]:
    with torch.no_grad():
        distance = measure(images, measure.features(targets))
    return float(psnr(images, targets).mean()), float(distance.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    stylegan = genzoo.load("stylegan_digits", device="cpu")
    targets = split_images(stylegan.meta, "val")[: args.images]
    train = split_images(stylegan.meta, "train")
    measure = DigitDistance()
    nearest = train[torch.cdist(targets.flatten(1), train.flatten(1)).argmin(1)]
    rows = [("nearest training digit (pixels)", "-", *scores(nearest, targets, measure), 0.0)]
    for name, space in [("dcgan_digits", "z"), ("stylegan_digits", "w"), ("stylegan_digits", "w+")]:
        model = genzoo.load(name, device="cpu").module
        start = time.perf_counter()
        result = project(model, targets, space=space, steps=args.steps)
        seconds = time.perf_counter() - start
        rows.append(
            (f"`{name}` projection", space, *scores(result.images, targets, measure), seconds)
        )
    print(f"{len(targets)} held-out digits, {args.steps} steps, {len(train)} training digits\n")
    print("| image | space | PSNR (dB) | digit-feature distance | CPU seconds |")
    print("|---|---|---|---|---|")
    for label, space, value, distance, seconds in rows:
        print(f"| {label} | {space} | {value:.2f} | {distance:.4f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
