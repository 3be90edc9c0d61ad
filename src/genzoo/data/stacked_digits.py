"""Stacked digits (Metz et al. 2017; ProGAN sec. 5.1, table 4): three embedded digits as the
red, green and blue channels of one image, so 1,000 modes (000 to 999). A generator that
covers the data draws every mode; the digit classifier reading each channel counts them
(`metrics/modes.py`).

Triples are drawn once from a fixed seed: the training triples from the training digits and
the held-out triples from the held-out digits, so no held-out digit is seen in training.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from genzoo.data.base import TensorImageDataset
from genzoo.data.embedded import DigitsDataModule
from genzoo.data.sampling import SampleKey, key_parts

TRIPLES_SEED = 1000


class StackedDataset(Dataset):
    """Digits (N, 1, S, S) and labels (N,) -> `length` stacked images {'image' (3, S, S),
    'label' 100 a + 10 b + c} from fixed triples of them."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, length: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.images, self.labels = images, labels
        self.triples = torch.randint(len(images), (length, 3), generator=gen)

    def __len__(self) -> int:
        return len(self.triples)

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        triples = self.triples[torch.tensor([key_parts(key)[0] for key in keys])]  # (B, 3)
        images = self.images[triples].flatten(1, 2)  # (B, 3, S, S): one digit per channel
        labels = (self.labels[triples] * torch.tensor([100, 10, 1])).sum(dim=1)
        return [{"image": x, "label": y} for x, y in zip(images, labels, strict=True)]


class StackedDigitsDataModule(DigitsDataModule):
    """The embedded digits stacked three to an image: `train_images` training triples of the
    1,500 training digits, `val_images` held-out triples of the 297 held-out ones."""

    name = "stacked_digits"

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        batch_size: int = 64,
        num_workers: int | str = "auto",
        train_images: int = 60_000,
        val_images: int = 1_000,
        **kwargs,
    ) -> None:
        if channels != 3:
            raise ValueError(f"data.channels={channels}: stacked digits are 3 digits, 3 channels")
        super().__init__(image_size, 1, batch_size, num_workers, **kwargs)
        self.channels = 3
        self.num_classes = 1000
        self.train_images, self.val_images = train_images, val_images

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        super().setup(stage)
        train, val = self.train_set, self.val_set
        assert isinstance(train, TensorImageDataset) and isinstance(val, TensorImageDataset)
        self.train_set = StackedDataset(train.images, train.labels, self.train_images, TRIPLES_SEED)
        self.val_set = StackedDataset(val.images, val.labels, self.val_images, TRIPLES_SEED + 1)
