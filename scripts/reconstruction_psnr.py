"""Held-out reconstruction PSNR of any run that can reconstruct (VAE, VQ-VAE), through the
model contract, so families compare on one scale:

    python scripts/reconstruction_psnr.py runs/vae_digits/<name> runs/vqvae_digits/<name>

Every validation image of the run's own data set; PSNR per image in [0, 1], then the mean.
A binarised data set (the VAE's digits) is scored against its grey originals, once encoding
the binarised image the model trained on and once the grey original.
"""

from __future__ import annotations

import argparse
import json

import torch
from hydra.utils import instantiate

from genzoo.metrics.reconstruction import per_image_psnr
from genzoo.models.loading import load_model


def reconstruction_psnr(run: str) -> dict[str, float]:
    model, meta = load_model(run)
    datamodule = instantiate(meta["config"]["data"], _convert_="all")
    datamodule.setup("validate")
    sums: dict[str, float] = {}
    count = 0
    for batch in datamodule.val_dataloader():
        target = batch.get("grey", batch["image"])
        inputs = {"psnr": batch["image"]}
        if "grey" in batch:
            inputs["psnr_from_grey"] = batch["grey"]
        for key, x in inputs.items():
            label = batch.get("label") if model.hparams.get("num_classes") else None
            recon = model.reconstruct(x, label).cpu()
            sums[key] = sums.get(key, 0.0) + float(per_image_psnr(recon, target).sum())
        count += len(target)
    return {key: total / count for key, total in sums.items()} | {"images": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories or .ckpt files")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    for run in args.runs:
        print(json.dumps({"run": run, **reconstruction_psnr(run)}))


if __name__ == "__main__":
    main()
