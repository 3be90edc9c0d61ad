"""Inpainting of half-masked held-out digits by a trained diffusion run, with no label given:
how often the digit classifier reads the true class in the result, and the PSNR inside the
mask against the true digit, beside the PSNR of filling the mask with the mean digit.

    python scripts/diffusion_inpainting.py runs/diffusion_digits/<name> [--n 297] [--steps 50]

Prints one JSON object. The mask is the bottom half of each 32 px digit; guidance 0 (the
unconditional model) with RePaint's resampling (--resample) and reconstruction guidance
(--harmonize, 0 for none).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from genzoo.data.embedded import DigitsDataModule
from genzoo.metrics.digit_classifier import load_digit_classifier
from genzoo.models.loading import load_model


def psnr_inside(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    """The mean over images of the PSNR (peak 1) of x against y on the mask's pixels."""
    err = ((x - y) ** 2 * mask).flatten(1).sum(1) / mask.flatten(1).sum(1)
    return float((-10 * torch.log10(err.clamp(min=1e-10))).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--n", type=int, default=297, help="held-out digits (all: 297)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--resample", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--harmonize", type=float, default=20.0, help="reconstruction guidance")
    parser.add_argument("--eta", type=float, default=None, help="DDIM eta (default: the model's)")
    parser.add_argument("--sampler", default=None, help="ddim or ddpm (default: the model's)")
    args = parser.parse_args()
    model, _ = load_model(args.run, "last", device="cpu")
    data = DigitsDataModule(image_size=int(model.hparams.image_size), batch_size=args.batch)
    data.setup()
    train_mean = torch.stack([data.train_set[i]["image"] for i in range(len(data.train_set))]).mean(
        0
    )
    classifier = load_digit_classifier().eval()
    hits, count, psnr, fill_psnr = 0, 0, 0.0, 0.0
    started = time.perf_counter()
    for batch in data.val_dataloader():
        if count >= args.n:
            break
        images, labels = batch["image"][: args.n - count], batch["label"][: args.n - count]
        mask = torch.zeros_like(images[:, :1])
        mask[..., images.shape[-2] // 2 :, :] = 1
        out = model.inpaint(
            images,
            mask,
            seed=count,
            resample=args.resample,
            harmonize=args.harmonize,
            steps=args.steps,
            guidance=0.0,
            eta=args.eta,
            sampler=args.sampler,
        )
        with torch.no_grad():
            hits += int((classifier(out).argmax(1) == labels).sum())
        fill = images * (1 - mask) + train_mean * mask
        psnr += psnr_inside(out, images, mask) * len(images)
        fill_psnr += psnr_inside(fill, images, mask) * len(images)
        count += len(images)
    result = {
        "images": count,
        "class_recovered": hits / count,
        "psnr_in_mask": psnr / count,
        "mean_digit_fill_psnr_in_mask": fill_psnr / count,
        "steps": args.steps,
        "resample": args.resample,
        "harmonize": args.harmonize,
        "eta": args.eta,
        "sampler": args.sampler,
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["psnr_gain_db"] = result["psnr_in_mask"] - result["mean_digit_fill_psnr_in_mask"]
    assert all(math.isfinite(v) for v in result.values() if isinstance(v, float))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
