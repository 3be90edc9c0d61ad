"""Codebook usage of a VQ-VAE run on its held-out images, as numbers and a bar chart PNG with
labelled axes and a title (codes sorted by how often they are chosen; one chart per level):

    python scripts/codebook_usage.py runs/vqvae_digits/<name> --out usage.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from hydra.utils import instantiate

from genzoo.models.loading import load_model
from genzoo.networks.quantizer import statistics_of_counts
from genzoo.utils.figures import code_usage


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
    if args.out:  # one chart per level: usage.png, or usage_bottom.png and usage_top.png
        out = Path(args.out)
        names = [""] if len(counts) == 1 else ["_bottom", "_top"]
        for name, level_counts in zip(names, counts, strict=True):
            level = f", {name[1:]} level" if name else ""
            code_usage(
                level_counts,
                out.with_name(f"{out.stem}{name}{out.suffix}"),
                f"VQ-VAE codebook usage on held-out images{level}",
            )


if __name__ == "__main__":
    main()
