"""Datasets that ship inside installed packages, so every command works offline (docs/architecture.md, rule 7).

- `DigitsDataModule`: scikit-learn's 1,797 handwritten 8x8 digits (labels 0-9), resized.
- `PhotosDataModule`: the colour photographs bundled with scikit-image and scikit-learn,
  served as random crops; a fixed set of whole photographs is held out for evaluation.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from genzoo.data.base import ImageDataModule, TensorImageDataset, fixed_split
from genzoo.data.errors import DatasetError
from genzoo.data.on_device import CutThenFinish
from genzoo.data.sampling import SampleKey, split_key
from genzoo.data.transforms import resize, resize_uint8, to_channels


class DigitsDataModule(ImageDataModule):
    """sklearn.datasets.load_digits: values 0..16 scaled to [0, 1]; fixed 1,500 / 297 split."""

    made_in_memory = True

    name = "digits"
    val_count = 297

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        batch_size: int = 64,
        num_workers: int | str = "auto",
        **kwargs,
    ) -> None:
        super().__init__(
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            num_workers=num_workers,
            num_classes=10,
            **kwargs,
        )

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
        # Resize once: the set is small and fixed, so per-item resizing would only cost time.
        images = resize(images, self.image_size)
        labels = torch.from_numpy(digits.target.astype(np.int64))
        train_idx, val_idx = fixed_split(len(images), self.val_count)
        self.train_set = TensorImageDataset(
            images[train_idx], labels[train_idx], self.image_size, self.channels
        )
        self.val_set = TensorImageDataset(
            images[val_idx], labels[val_idx], self.image_size, self.channels
        )


def _load_bundled_photos() -> dict[str, np.ndarray]:
    """Every colour photograph that loads without a network: name -> (H, W, 3) uint8."""
    from skimage import data as skdata
    from sklearn.datasets import load_sample_images

    photos: dict[str, np.ndarray] = {}
    for name in (
        "astronaut",
        "chelsea",
        "coffee",
        "rocket",
        "immunohistochemistry",
        "hubble_deep_field",
    ):
        try:
            img = getattr(skdata, name)()
        except Exception as err:  # a photo that needs a download is skipped, not fatal
            warnings.warn(f"photos: skipping scikit-image '{name}' ({err})", stacklevel=2)
            continue
        if img.ndim == 3 and img.shape[2] >= 3:
            photos[name] = np.ascontiguousarray(img[..., :3])
    sample = load_sample_images()
    for fname, img in zip(sample.filenames, sample.images, strict=False):
        photos[fname.rsplit("/", 1)[-1].split(".")[0]] = img
    return photos


def bundled_photo_split(
    held_out: tuple[str, ...],
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[str]]:
    """(training photos, the `held_out` photos in that order, all names): uint8 (3, H, W)
    tensors, a quarter of float32's memory (crops become float when cut)."""
    photos = _load_bundled_photos()
    unknown = [n for n in held_out if n not in photos]
    if unknown:
        raise DatasetError(
            f"data.held_out names unknown photos {unknown}; available: {sorted(photos)}"
        )
    as_tensor = {n: torch.from_numpy(np.array(p)).permute(2, 0, 1) for n, p in photos.items()}
    train = [t for n, t in sorted(as_tensor.items()) if n not in held_out]
    return train, [as_tensor[n] for n in held_out], sorted(photos)


class RandomCropDataset(CutThenFinish, Dataset):
    """`length` crops of `crop_size` from a list of uint8 photos; resized to `image_size`.

    Crops come from the sampler key's generator (`split_key`): training keys carry a seed per
    (run seed, epoch, index), plain evaluation indices seed themselves, so every run sees the
    same held-out crops and a resumed run the same training crops.
    """

    def __init__(
        self,
        photos: list[torch.Tensor],
        length: int,
        crop_size: int,
        image_size: int,
        channels: int,
        fixed: bool,
    ) -> None:
        self.photos, self.length, self.crop_size = photos, length, crop_size
        self.image_size, self.channels, self.fixed = image_size, channels, fixed

    def __len__(self) -> int:
        return self.length

    def cut(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        # Crops are cut one by one (each from its own photo and position), resized together
        # in `finish`, on the host or the device (data/on_device.py).
        crops = []
        for key in keys:
            i, gen = split_key(key)
            k = (
                int(torch.randint(len(self.photos), (), generator=gen))
                if not self.fixed
                else i % len(self.photos)
            )
            photo = self.photos[k]  # (3, H, W) uint8
            _, h, w = photo.shape
            top = int(torch.randint(h - self.crop_size + 1, (), generator=gen))
            left = int(torch.randint(w - self.crop_size + 1, (), generator=gen))
            crop = photo[:, top : top + self.crop_size, left : left + self.crop_size]
            if not self.fixed and torch.rand((), generator=gen) < 0.5:
                crop = crop.flip(-1)
            crops.append({"image": crop, "label": torch.tensor(k)})
        return crops

    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"image": self.finish_images(batch["image"]), "label": batch["label"]}

    def finish_images(self, crops: torch.Tensor) -> torch.Tensor:
        """uint8 crops (B, 3, crop, crop) -> float (B, C, image_size, image_size)."""
        return to_channels(resize_uint8(crops, self.image_size), self.channels)


class PhotosDataModule(ImageDataModule):
    """Random crops of the bundled colour photographs; `held_out` photos form the val split."""

    made_in_memory = True

    name = "photos"

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 16,
        num_workers: int | str = "auto",
        crop_size: int = 128,
        held_out: tuple[str, ...] = ("coffee", "flower"),
        train_crops: int = 2048,
        val_crops: int = 128,
        **kwargs,
    ) -> None:
        super().__init__(
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        self.crop_size, self.held_out = crop_size, tuple(held_out)
        self.train_crops, self.val_crops = train_crops, val_crops

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train, val, self.photo_names = bundled_photo_split(self.held_out)
        args: dict[str, Any] = dict(
            crop_size=self.crop_size, image_size=self.image_size, channels=self.channels
        )
        self.train_set = RandomCropDataset(train, self.train_crops, fixed=False, **args)
        self.val_set = RandomCropDataset(val, self.val_crops, fixed=True, **args)
