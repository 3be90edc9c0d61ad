"""Codebook usage of a VQ-VAE run on its held-out images, as numbers and a bar chart PNG
(codes sorted by how often they are chosen; one chart per level):

    python scripts/codebook_usage.py runs/vqvae_digits/<name> --out usage.png
"""

from __future__ import annotations

import argparse
import json

import torch
from hydra.utils import instantiate
from PIL import Image, ImageDraw

from genzoo.networks.quantizer import statistics_of_counts
from genzoo.utils.checkpoint import load_model


def code_counts(run: str) -> list[torch.Tensor]:
    """How often each code of each level (bottom first) is chosen on the run's held-out set."""
    model, meta = load_model(run)
    if not model.supports("encode"):
        raise SystemExit(f"{run} is not a VQ-VAE run (it cannot encode to codes)")
    datamodule = instantiate(meta["config"]["data"], _convert_="all")
    datamodule.setup("validate")
    counts = [torch.zeros(model.hparams["num_codes"]) for _ in range(model.hparams["levels"])]
    for batch in datamodule.val_dataloader():
        for total, codes in zip(counts, model.encode(batch["image"]), strict=True):
            total += torch.bincount(codes.flatten().cpu(), minlength=len(total)).float()
    return counts


def bar_chart(counts: torch.Tensor, width: int = 512, height: int = 160) -> Image.Image:
    """Codes sorted by frequency, one bar each, on a white canvas."""
    ordered = counts.sort(descending=True).values
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    bar = width / len(ordered)
    top = float(ordered[0]) or 1.0
    for i, value in enumerate(ordered.tolist()):
        y = height - 1 - (height - 10) * value / top
        draw.rectangle(
            [i * bar, y, (i + 1) * bar - (1 if bar > 3 else 0), height - 1], fill="#3465a4"
        )
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a VQ-VAE run directory or .ckpt file")
    parser.add_argument("--out", default=None, help="write the bar chart(s) to this PNG")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    counts = code_counts(args.run)
    for level, level_counts in enumerate(counts):
        stats = statistics_of_counts(level_counts)
        print(json.dumps({"level": level, **{k: round(float(v), 4) for k, v in stats.items()}}))
    if args.out:
        charts = [bar_chart(c) for c in counts]
        canvas = Image.new("RGB", (charts[0].width, sum(c.height + 8 for c in charts)), "white")
        for i, chart in enumerate(charts):
            canvas.paste(chart, (0, i * (chart.height + 8)))
        canvas.save(args.out)


if __name__ == "__main__":
    main()
