"""The reference points of the SWD table in docs/metrics.md: the held-out split of each embedded set
against training images, other held-out crops, uniform noise and an untrained DCGAN.

    python scripts/swd_reference.py
"""

from __future__ import annotations

import torch

from genzoo.data.embedded import DigitsDataModule, PhotosDataModule, RandomCropDataset
from genzoo.metrics.generation import SampleQuality
from genzoo.models.dcgan import DCGAN


def swd(real: torch.Tensor, other: torch.Tensor) -> float:
    quality = SampleQuality(None, real.shape[-1], real.shape[1])
    quality.update(real, real=True)
    quality.update(other, real=False)
    return quality.compute()["swd"]


def main() -> None:
    torch.manual_seed(0)  # the untrained generators' weights
    for name, data in (("photos", PhotosDataModule()), ("digits", DigitsDataModule())):
        data.setup()
        held_out = torch.cat([b["image"] for b in data.val_dataloader()])
        n = len(held_out)
        rows = {
            "training images": torch.stack([data.train_set[i]["image"] for i in range(n)]),
            "uniform noise": torch.rand(held_out.shape, generator=torch.Generator().manual_seed(0)),
            "untrained DCGAN": DCGAN(
                image_channels=held_out.shape[1], image_size=held_out.shape[-1]
            ).eval().sample(n, seed=1),
        }  # fmt: skip
        if isinstance(data, PhotosDataModule):
            fresh = RandomCropDataset(
                data.val_set.photos, n, data.crop_size, data.image_size, 3, fixed=False
            )
            rows["other held-out crops"] = torch.stack(
                [fresh[(i, 777 + i)]["image"] for i in range(n)]
            )
        for label, images in rows.items():
            print(f"{name:7s} {n:4d} held-out vs {label:22s} SWD {swd(held_out, images):7.1f}")


if __name__ == "__main__":
    main()
