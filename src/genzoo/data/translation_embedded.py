"""Embedded translation tasks with a ground truth (offline defaults, docs/architecture.md rule 7).

- `SyntheticFacadesDataModule` (Pix2Pix): procedural label maps -> facades
  (data/synthetic_facades.py), new layouts every epoch, fixed held-out layouts.
- `TransformedPhotosDataModule` (CycleGAN): domain A is crops of the bundled photographs, domain
  B is other crops passed through a fixed, known tone transform `warm_tone` (a warm colour
  matrix, an S-shaped contrast curve, a slight blur). Training draws A and B from independent
  crops, so the sets are unpaired; held-out batches are aligned pairs (x, warm_tone(x)), so a
  model's G(A) and F(B) can be scored against the true mapping.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from genzoo.data.base import ImageDataModule
from genzoo.data.embedded import RandomCropDataset, bundled_photo_split
from genzoo.data.errors import DatasetError
from genzoo.data.kinds import ALIGNED, UNPAIRED
from genzoo.data.on_device import CutThenFinish
from genzoo.data.sampling import SampleKey, key_parts
from genzoo.data.synthetic_facades import SyntheticFacades
from genzoo.data.translation import check_direction

# Rows give output R, G, B from input R, G, B: more red, less blue. No channel permutation,
# which would invite other cycle-consistent solutions.
WARM_MATRIX = torch.tensor([[1.25, 0.15, 0.0], [0.05, 0.97, 0.03], [0.0, 0.12, 0.62]])
# Blend towards smoothstep (0 = linear, 1 = the full S-curve). Its slope at black and white is
# 1 - CONTRAST: the B -> A mapping expands those tones by 1 / (1 - CONTRAST), so a strong curve
# (0.8: 5x) makes the inverse ill-conditioned; at 0.8, B -> A gained 0.9 dB where A -> B gained 3.4.
CONTRAST = 0.4
BLUR = torch.tensor([0.25, 0.5, 0.25])  # separable 3-tap binomial blur


def warm_tone(x: torch.Tensor) -> torch.Tensor:
    """The true A -> B mapping: (B, 3, H, W) in [0, 1] -> same shape, in [0, 1]."""
    y = torch.einsum("oc,bchw->bohw", WARM_MATRIX.to(x), x).clamp(0, 1)
    y = y + CONTRAST * (y * y * (3 - 2 * y) - y)
    kernel = (BLUR[:, None] * BLUR[None, :]).to(x)[None, None].expand(3, 1, 3, 3)
    return F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kernel, groups=3).clamp(0, 1)


class SyntheticFacadesDataModule(ImageDataModule):
    """`train_pairs` fresh layouts per epoch (each sample's seed draws its layout) and
    `val_pairs` fixed held-out layouts from a separate seed range."""

    made_in_memory = True

    name = "facades_synth"
    pairs = "aligned"
    yields = ALIGNED
    aligned_held_out = True

    def __init__(
        self,
        image_size: int = 64,
        direction: str = "AtoB",
        colour_jitter: float = 1.0,
        train_pairs: int = 2048,
        val_pairs: int = 128,
        batch_size: int = 16,
        num_workers: int | str = 0,
        channels: int = 3,
        **kwargs: Any,
    ) -> None:
        if channels != 3:
            raise DatasetError("data=facades_synth is in colour: data.channels must be 3")
        super().__init__(
            image_size=image_size,
            channels=3,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        self.direction = check_direction(direction)
        self.colour_jitter, self.train_pairs, self.val_pairs = colour_jitter, train_pairs, val_pairs

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        size, jitter = self.image_size, self.colour_jitter
        self.train_set = SyntheticFacades(self.train_pairs, size, jitter, seed_offset=0)
        # Plain integer keys seed themselves: held-out layouts are 2**40 + i, never trained on.
        self.val_set = SyntheticFacades(self.val_pairs, size, jitter, seed_offset=2**40)


class TransformedPhotos(CutThenFinish, Dataset):
    """Training: {'A': one crop, 'B': warm_tone(another crop)}; held out: an aligned pair
    {'A': x, 'B': warm_tone(x), 'aligned': True}. Cut: the uint8 crops; finish: resizing
    and the tone transform (on the device with `data.augment_on=device`)."""

    def __init__(self, crops: RandomCropDataset, train: bool) -> None:
        self.crops, self.train = crops, train

    def __len__(self) -> int:
        return len(self.crops)

    def cut(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        a = self.crops.cut(keys)
        if not self.train:
            return [{"A": item["image"]} for item in a]
        # B from other crops: the same index with an unrelated seed
        others: list[SampleKey] = [
            (i, (s * 6364136223846793005 + 1) % 2**62) for i, s in map(key_parts, keys)
        ]
        b = self.crops.cut(others)
        return [{"A": x["image"], "B": y["image"]} for x, y in zip(a, b, strict=True)]

    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        a = self.crops.finish_images(batch["A"])
        if self.train:
            return {"A": a, "B": warm_tone(self.crops.finish_images(batch["B"]))}
        aligned = torch.ones(len(a), dtype=torch.bool, device=a.device)
        return {"A": a, "B": warm_tone(a), "aligned": aligned}


class TransformedPhotosDataModule(ImageDataModule):
    """Crops of the bundled photographs (`crop_size`, resized to `image_size`); the `held_out`
    photographs give the aligned evaluation pairs."""

    made_in_memory = True

    name = "photos_warm"
    yields = UNPAIRED
    aligned_held_out = True
    pairs = "unpaired"  # held-out pairs are aligned, for scoring against the true mapping

    def __init__(
        self,
        image_size: int = 32,
        crop_size: int = 64,
        held_out: tuple[str, ...] = ("coffee", "flower"),
        train_crops: int = 2048,
        val_crops: int = 128,
        batch_size: int = 16,
        num_workers: int | str = 0,
        channels: int = 3,
        **kwargs: Any,
    ) -> None:
        if channels != 3:
            raise DatasetError("data=photos_warm transforms colour: data.channels must be 3")
        super().__init__(
            image_size=image_size,
            channels=3,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        self.crop_size, self.held_out = crop_size, tuple(held_out)
        self.train_crops, self.val_crops = train_crops, val_crops

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        train, val, _ = bundled_photo_split(self.held_out)
        args: dict[str, Any] = dict(
            crop_size=self.crop_size, image_size=self.image_size, channels=3
        )
        train_crops = RandomCropDataset(train, self.train_crops, fixed=False, **args)
        self.train_set = TransformedPhotos(train_crops, train=True)
        self.val_set = TransformedPhotos(
            RandomCropDataset(val, self.val_crops, fixed=True, **args), train=False
        )
