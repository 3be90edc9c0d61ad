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
# dynamic draws: seeded by the sampler's per-sample seed, salted apart from the augmentation
# that the wrapped dataset draws from the same seed
_DYNAMIC_SALT = 0x2545_F491_4F6C_DD1D


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
        grey = torch.stack([item["image"] for item in items])
        draws = torch.empty_like(grey)
        gen = torch.Generator()
        for j, key in enumerate(keys):  # each image's own draw: the same in any batch
            index, sample_seed = key_parts(key)
            # dynamic: a fresh draw per (run seed, epoch, index), replayed on resume
            seed = sample_seed ^ _DYNAMIC_SALT if self.dynamic else _STATIC_SEED + index
            torch.rand(grey.shape[1:], generator=gen.manual_seed(seed), out=draws[j])
        binary = (draws < grey).to(grey.dtype)
        for j, item in enumerate(items):
            item["grey"], item["image"] = grey[j], binary[j]
        return items
