"""Training batches finished on the accelerator, in batch (`data.augment_on`).

A training set that implements `CutThenFinish` makes a batch in two steps:

- `cut(keys)`, on the host, per sample key: the uint8 material (a crop of a photo, a whole
  image file) and the random choices of that sample (crop position, flip), drawn from the
  key's own generator (data/sampling.py), so a resumed run replays them.
- `finish(batch)`, on whatever device the batch is on, for the whole batch at once: float
  conversion, resizing, bicubic low-resolution images, crops and flips by those choices.

`augment_on=host` runs both in the loader (its workers). `augment_on=device` sends the cut
material (uint8, 4x smaller than float) to the accelerator and finishes it there, in the
datamodule's `transfer_batch_to_device`: the resizing and bicubic work leaves the CPU, which
on a 2-core machine is what a GPU waits for. `auto` is `device` when training runs on CUDA.
Both paths draw the same choices from the same keys and run the same arithmetic: photo
resizes give the same bytes on every device (data/transforms.resize_uint8); SR's float bicubic
may differ by a level on a rounding boundary (tests/test_on_device.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

AUGMENT_ON = ("auto", "host", "device")
# Marks a batch that left the loader unfinished; removed when it is finished.
UNFINISHED = "unfinished"


def check_augment_on(value: str) -> str:
    if value not in AUGMENT_ON:
        from genzoo.data.errors import DatasetError

        raise DatasetError(f"data.augment_on={value} is not known: use {', '.join(AUGMENT_ON)}")
    return value


def stack_items(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def same_shapes(items: list[dict[str, torch.Tensor]]) -> bool:
    return all(item[key].shape == items[0][key].shape for item in items for key in items[0])


def unstack(batch: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    count = len(next(iter(batch.values())))
    return [{key: value[j] for key, value in batch.items()} for j in range(count)]


class CutThenFinish(ABC):
    """Mixin for a Dataset with `cut` and `finish` (module docstring)."""

    finish_on_device = False  # set by the datamodule for its training set
    # Cut entries that `finish` reads on the host (per-sample choices): never sent to the device.
    host_keys: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def cut(self, keys: list[Any]) -> list[dict[str, torch.Tensor]]:
        """Per sample key: the uint8 material and the sample's random choices (host)."""

    @abstractmethod
    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The stacked cuts -> the finished batch, on the batch's device."""

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: list[Any]) -> list[dict[str, torch.Tensor]]:
        cuts = self.cut(keys)
        # Whole files of different sizes cannot travel as one tensor: that batch is finished
        # here, sample by sample, with the same arithmetic.
        if self.finish_on_device and same_shapes(cuts):
            return [{**item, UNFINISHED: torch.tensor(True)} for item in cuts]
        if same_shapes(cuts):
            return unstack(self.finish(stack_items(cuts)))
        return [unstack(self.finish(stack_items([item])))[0] for item in cuts]


def finish_transferred(dataset: Any, batch: Any, move: Any) -> Any:
    """A batch as the loader gave it -> the documented batch on the device: `move` (the
    datamodule's own transfer) takes everything but `host_keys`; then `finish` runs there."""
    if not isinstance(batch, dict) or UNFINISHED not in batch:
        return move(batch)
    host = {key: batch[key] for key in dataset.host_keys}
    rest = {k: v for k, v in batch.items() if k not in host and k != UNFINISHED}
    return dataset.finish({**move(rest), **host})


def crop_choices(gen: torch.Generator, size: int, crop: int) -> torch.Tensor:
    """One sample's (top, left, flip) for a `crop` square of a `size` square image."""
    top = int(torch.randint(size - crop + 1, (), generator=gen))
    left = int(torch.randint(size - crop + 1, (), generator=gen))
    flip = int(torch.rand((), generator=gen) < 0.5)
    return torch.tensor([top, left, flip])


def crop_and_flip(x: torch.Tensor, choices: torch.Tensor, crop: int) -> torch.Tensor:
    """(B, C, H, W) and (B, 3) choices -> (B, C, crop, crop), each sample's own crop and
    horizontal flip. `choices` stay on the host (`host_keys`): reading them is no device sync."""
    pieces = []
    for j, (top, left, flip) in enumerate(choices.tolist()):
        piece = x[j, :, top : top + crop, left : left + crop]
        pieces.append(piece.flip(-1) if flip else piece)
    return torch.stack(pieces)


def resize_bicubic(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float (B, C, size, size) in [0, 1], antialiased bicubic (the
    resize of the Pix2Pix / CycleGAN loaders)."""
    x = x.float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    return x.clamp(0, 1)
