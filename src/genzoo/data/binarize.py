"""Binarised images for Bernoulli likelihoods (`data.binarize`).

A Bernoulli decoder is a likelihood of black-and-white pixels; on grey values its "bits/dim"
is no likelihood of the data. `dynamic` draws every training image's pixels anew each time it
is seen, x ~ Bernoulli(grey value), as in Burda et al. 2016 (IWAE, sec. 5.1); held-out images
are binarised once (`static`, fixed per image index), so every validation and every run
scores the same black-and-white set. `static` binarises the training images once as well.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from genzoo.data.sampling import SampleKey, fetch_items, key_parts

MODES = ("none", "dynamic", "static")
_STATIC_SEED = 1_000_003  # static draws: seeded by image index, the same in every run


class Binarized(Dataset):
    """Wraps a dataset of {'image': (C, H, W) in [0, 1], ...}: 'image' becomes 0/1 and 'grey'
    keeps the grey image it was drawn from (what sample-quality metrics compare a model's
    Bernoulli means with)."""

    def __init__(self, dataset: Dataset, dynamic: bool) -> None:
        self.dataset, self.dynamic = dataset, dynamic

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: SampleKey) -> dict[str, Any]:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: list[SampleKey]) -> list[dict[str, Any]]:
        items = [dict(item) for item in fetch_items(self.dataset, keys)]
        gen = torch.Generator()
        for key, item in zip(keys, items, strict=True):
            index, sample_seed = key_parts(key)
            if self.dynamic:  # a fresh draw per (run seed, epoch, index), replayed on resume
                seed = int(torch.randint(2**62, (), generator=gen.manual_seed(sample_seed)))
            else:
                seed = _STATIC_SEED + index
            image = item["image"]
            item["grey"] = image
            draws = torch.rand(image.shape, generator=gen.manual_seed(seed))
            item["image"] = (draws < image).to(image.dtype)
        return items
