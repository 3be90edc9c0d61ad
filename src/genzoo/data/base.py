"""A LightningDataModule over in-memory tensors or file lists, yielding dict batches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from genzoo.data.binarize import MODES as BINARIZE_MODES
from genzoo.data.binarize import Binarized
from genzoo.data.errors import DatasetError
from genzoo.data.kinds import IMAGES
from genzoo.data.on_device import CutThenFinish, check_augment_on, finish_transferred
from genzoo.data.sampling import (
    ResumableDataLoader,
    ResumableSampler,
    SampleKey,
    held_out_sampler,
    key_parts,
    resume_position,
    run_seed,
)
from genzoo.data.transforms import resize, to_channels


def default_data_root() -> Path:
    """The shared dataset cache: $GENZOO_DATA, else $XDG_CACHE_HOME/genzoo/datasets."""
    if os.environ.get("GENZOO_DATA"):
        return Path(os.environ["GENZOO_DATA"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
    return cache / "genzoo" / "datasets"


class TensorImageDataset(Dataset):
    """uint8 or float images (N, C, H, W) + labels (N,) -> {'image', 'label'} at a target size."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        image_size: int,
        channels: int,
        hflip: bool = False,
    ) -> None:
        self.images, self.labels = images, labels
        self.image_size, self.channels, self.hflip = image_size, channels, hflip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        # A whole batch at once: one gather, one resize, instead of a dozen small ops per image
        # (on the embedded digits the per-image path cost ~7% of a VAE step).
        parts = [key_parts(key) for key in keys]
        index = torch.tensor([i for i, _ in parts])
        x = self.images[index]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = to_channels(resize(x, self.image_size), self.channels)
        if self.hflip:  # each image's own draw, as a sampler key seeds it
            gen = torch.Generator()
            flip = torch.tensor(
                [bool(torch.rand((), generator=gen.manual_seed(s)) < 0.5) for _, s in parts]
            )
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        labels = self.labels[index]
        return [{"image": x[j], "label": labels[j]} for j in range(len(keys))]


def prepare(obj: Any) -> None:
    """Decode what `obj` (a dataset, a reader, a sequence of images) holds to be decoded once
    into memory (data/decoded.py), if anything: called where a loader is made, in the training
    process before its workers fork."""
    fn = getattr(obj, "prepare", None)
    if callable(fn):
        fn()


def resolve_num_workers(value: int | str, made_in_memory: bool = False) -> int:
    """data.num_workers: a count, or `auto`: half the CPUs this process may use (at most 8),
    so decoding overlaps the step while the other half runs its math; 1 on a 2-core machine.

    Sets made in memory (the embedded ones: a batch in a few milliseconds) take 0 on a machine
    without a GPU, where workers would only take cores from the step; with a GPU the step is
    short enough that making batches in the training process would keep it waiting."""
    if value != "auto":
        return int(value)
    if made_in_memory and not torch.cuda.is_available():
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(8, (cores or 1) // 2)


class ImageDataModule(L.LightningDataModule):
    """Shared loader logic: subclasses build `self.train_set` / `self.val_set` in `setup`.

    Attributes models read through config interpolation: `channels`, `image_size`, `num_classes`.
    """

    name: str = "images"
    yields: ClassVar[str] = IMAGES  # data/kinds.py: what a model learns from
    # Batches made from memory in milliseconds (embedded sets): num_workers=auto is 0 without
    # a GPU (resolve_num_workers).
    made_in_memory: ClassVar[bool] = False
    # Whether held-out A / B pairs are aligned (each B the true translation of its A), so a
    # translation can be scored against the truth.
    aligned_held_out: ClassVar[bool] = False
    # The held-out splits genzoo-eval may read (split=...), each with what it is.
    held_out_splits: ClassVar[dict[str, str]] = {"val": "the validation split"}

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        batch_size: int = 64,
        num_workers: int | str = 0,
        root: str | None = None,
        num_classes: int = 0,
        pin_memory: bool | str = "auto",
        binarize: str = "none",
        augment_on: str = "auto",
    ) -> None:
        super().__init__()
        self.augment_on = check_augment_on(augment_on)
        if binarize not in BINARIZE_MODES:
            raise DatasetError(
                f"data.binarize={binarize} is not known: use {', '.join(BINARIZE_MODES)}"
            )
        self.binarize = binarize
        self.image_size, self.channels, self.batch_size = image_size, channels, batch_size
        self.num_workers = resolve_num_workers(num_workers, self.made_in_memory)
        # auto: page-locked batches where a GPU takes them, so the copy overlaps the step.
        self.num_classes = num_classes
        self.pin_memory = torch.cuda.is_available() if pin_memory == "auto" else bool(pin_memory)
        self.root = Path(root).expanduser() if root else default_data_root()
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    def _loader(self, dataset: Dataset | None, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(
                f"{type(self).__name__}.setup() has not run: call dm.setup('fit') first"
            )
        prepare(dataset)  # a folder decoded once into memory: here, before workers fork
        common: dict[str, Any] = dict(
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )
        if self.binarize != "none":  # data/binarize.py: held-out images are binarised once
            dataset = Binarized(dataset, dynamic=shuffle and self.binarize == "dynamic")
        elif shuffle and isinstance(dataset, CutThenFinish):
            dataset.finish_on_device = self.finishes_on_device()
        if not shuffle:
            return DataLoader(dataset, sampler=held_out_sampler(dataset), shuffle=False, **common)
        # Training: an order and augmentation that a resumed run replays exactly.
        sampler = ResumableSampler(dataset, run_seed())
        return ResumableDataLoader(
            dataset, sampler=sampler, drop_last=True, generator=sampler.loader_generator, **common
        )

    def train_dataloader(self) -> DataLoader:
        loader = self._loader(self.train_set, shuffle=True)
        # A resumed run continues the checkpoint's epoch at the next batch (mid-epoch included).
        epoch, batches_done = resume_position(self.trainer)
        assert isinstance(loader.sampler, ResumableSampler)
        loader.sampler.resume_at(epoch, batches_done * self.batch_size)
        self._check_one_batch(len(loader.sampler), loader.sampler.num_replicas)
        return loader

    def check_one_batch(self) -> None:
        """After setup: refuse a training set smaller than one batch before a run starts (the
        loader checks again per process once DDP has split the set)."""
        if self.train_set is not None:
            self._check_one_batch(len(self.train_set), 1)  # type: ignore[arg-type]

    def _check_one_batch(self, per_process: int, processes: int) -> None:
        if per_process >= self.batch_size:
            return
        # drop_last would leave no batch: say so, not "0 steps"
        raise DatasetError(
            f"{self.describe()} has {len(self.train_set)} training images"  # type: ignore[arg-type]
            + (f" ({per_process} per process of {processes})" if processes > 1 else "")
            + f", fewer than data.batch_size={self.batch_size}, and incomplete batches are "
            f"dropped: set data.batch_size={max(1, per_process)} or lower, or add images"
        )

    def finishes_on_device(self) -> bool:
        """data.augment_on: whether training batches are finished where the model trains
        (data/on_device.py); auto: when that is a CUDA device."""
        if self.augment_on != "auto":
            return self.augment_on == "device"
        # Without a trainer nobody calls transfer_batch_to_device, which finishes the batches:
        # a loader read by a script (bench.py --sampling) gets them finished on the host.
        trainer = self.trainer
        return trainer is not None and trainer.strategy.root_device.type == "cuda"

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Lightning's copy to the device; then a training batch cut on the host is finished
        there (data/on_device.py). The models' `on_after_batch_transfer` sees finished batches."""

        def move(part: Any) -> Any:
            return super(ImageDataModule, self).transfer_batch_to_device(
                part, device, dataloader_idx
            )

        return finish_transferred(self.train_set, batch, move)

    def describe(self) -> str:
        """How error messages name this dataset."""
        return f"data={self.name}"

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def eval_dataloader(self, split: str) -> DataLoader:
        """The loader `genzoo-eval` reads: one of `held_out_splits`; another is refused."""
        if split not in self.held_out_splits:
            names = " or ".join(f"split={name}" for name in self.held_out_splits)
            raise DatasetError(
                f"{self.describe()} has no {split} split: use {names} "
                f"({'; '.join(f'{k}: {v}' for k, v in self.held_out_splits.items())})"
            )
        self.setup("validate")
        return self.test_dataloader() if split == "test" else self.val_dataloader()


def fixed_split(n: int, val_count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic train/val index split that does not depend on the run seed."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_count:], perm[:val_count]
