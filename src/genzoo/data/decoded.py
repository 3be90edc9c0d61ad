"""Image files decoded once into memory, for the folder datamodules.

Decoding a JPEG costs more than a small model's step: a loader that decodes every image every
epoch keeps the accelerator waiting. When the decoded set fits `data.memory_limit_mb`, a split
is decoded once when its first loader is made (`prepare`, in parallel with the loader's
workers) and then served from memory: `DecodeOnce` holds an image folder's cropped and resized
images as a TensorImageDataset, `DecodedFiles` whole decoded files for the datasets that crop
and resize each sample themselves. Above the bound they read the files per batch as before.

The items are exactly those of the file path for the same sampler keys (the same crop and
resize, the same per-key flip), so a run resumes and reproduces the same whichever path it
took (tests/test_data_path.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from genzoo.data.base import TensorImageDataset
from genzoo.data.errors import DatasetError
from genzoo.data.sampling import SampleKey, fetch_items

log = logging.getLogger("genzoo")
IN_MEMORY = ("auto", True, False)


def decoded_bytes(count: int, image_size: int) -> int:
    """Memory the decoded set takes: uint8 RGB at the training size."""
    return count * 3 * image_size * image_size


def _decode_images(files_dataset: Any, num_workers: int, what: str) -> TensorImageDataset | None:
    """Every image of an ImageFileDataset, decoded in parallel into a TensorImageDataset at
    the same size (so it only gathers, converts channels and flips by each key's draw, as the
    file dataset does); None for images deeper than 8 bits, which uint8 would round."""
    started = time.perf_counter()
    plain = files_dataset.without_flips_in_rgb()
    # A generator of its own: decoding must not draw from the run's random numbers (it may
    # happen after a resume restored them).
    loader = DataLoader(
        plain, batch_size=64, num_workers=num_workers, shuffle=False, generator=torch.Generator()
    )
    images, labels = [], []
    for batch in loader:
        scaled = batch["image"] * 255.0
        if not torch.allclose(scaled, scaled.round(), atol=1e-3):
            log.info("%s: images deeper than 8 bits: reading the files per batch", what)
            return None
        images.append(scaled.round().to(torch.uint8))
        labels.append(batch["label"])
    decoded = TensorImageDataset(
        torch.cat(images),
        torch.cat(labels),
        files_dataset.image_size,
        files_dataset.channels,
        files_dataset.hflip,
    )
    log.info(
        "%s: %d images decoded once into memory (%.0f MB, %.1f s; data.in_memory=false reads "
        "the files per batch instead)",
        what, len(decoded), decoded.images.numel() / 2**20, time.perf_counter() - started,
    )  # fmt: skip
    return decoded


def _fits(in_memory: str | bool, size: int, memory_limit_mb: int, count: int, what: str) -> bool:
    if in_memory not in IN_MEMORY:
        raise DatasetError(f"data.in_memory={in_memory} is not known: use auto, true or false")
    if in_memory is False:
        return False
    if in_memory == "auto" and size > memory_limit_mb * 2**20:
        log.info(
            "%s: %d images would take %.0f MB decoded, above data.memory_limit_mb=%d: "
            "reading the files per batch",
            what, count, size / 2**20, memory_limit_mb,
        )  # fmt: skip
        return False
    return True


class DecodeOnce(Dataset):
    """An ImageFileDataset that decodes itself into memory when its loader is made
    (`prepare`, called by ImageDataModule._loader in the training process, before any worker
    starts): a split that is never read (the training images, for genzoo-eval) is never
    decoded. Until then, and when the set does not fit, items come from the files."""

    def __init__(self, files_dataset: Any, num_workers: int, what: str) -> None:
        self.source, self.what, self.num_workers = files_dataset, what, num_workers
        self.wanted = True
        self.decoded: TensorImageDataset | None = None

    def prepare(self) -> None:
        if self.wanted and self.decoded is None:
            self.decoded = _decode_images(self.source, self.num_workers, self.what)
            self.wanted = self.decoded is not None

    def _source(self) -> Any:
        return self.decoded if self.decoded is not None else self.source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        return self._source()[key]

    def __getitems__(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        return fetch_items(self._source(), keys)


def decode_once(
    files_dataset: Any,
    in_memory: str | bool,
    memory_limit_mb: int,
    num_workers: int,
    what: str,
) -> Dataset:
    """`files_dataset` (an ImageFileDataset) to be decoded into memory when its loader is made
    (a DecodeOnce), if `in_memory` is true, or `auto` and the decoded set fits
    `memory_limit_mb`; else `files_dataset` itself."""
    size = decoded_bytes(len(files_dataset), files_dataset.image_size)
    if not _fits(in_memory, size, memory_limit_mb, len(files_dataset), what):
        return files_dataset
    return DecodeOnce(files_dataset, num_workers, what)


class _Reader(Dataset):
    """Decodes files[i] with `read`: lets a DataLoader's workers decode in parallel."""

    def __init__(self, files: list[Any], read: Any) -> None:
        self.files, self.read = files, read

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.read(self.files[i])


def _header_bytes(path: Any) -> int:
    from PIL import Image

    try:
        with Image.open(path) as img:  # reads the header only
            return 3 * img.size[0] * img.size[1]
    except Exception:  # unreadable files are reported where they are read
        return 0


class DecodedFiles:
    """path -> uint8 (3, H, W) exactly as `read(path)` gives it, decoded once (in parallel)
    into memory by `prepare` when the decoded files fit `memory_limit_mb`; read per call
    otherwise. For datasets that crop and resize each sample from the whole image
    (translation pairs, SR); their loaders call `prepare` (ImageDataModule._loader)."""

    def __init__(
        self,
        files: list[Any],
        read: Any,
        in_memory: str | bool,
        memory_limit_mb: int,
        num_workers: int,
        what: str,
    ) -> None:
        if in_memory not in IN_MEMORY:
            raise DatasetError(f"data.in_memory={in_memory} is not known: use auto, true or false")
        self.files, self.read, self.num_workers, self.what = files, read, num_workers, what
        self.in_memory, self.memory_limit_mb = in_memory, memory_limit_mb
        self.cache: dict[Any, torch.Tensor] | None = None

    def prepare(self) -> None:
        if self.in_memory is False or self.cache is not None:
            return
        # The headers are read here, not at setup: a split nobody reads costs nothing.
        size = 0 if self.in_memory is True else sum(_header_bytes(f) for f in self.files)
        if not _fits(self.in_memory, size, self.memory_limit_mb, len(self.files), self.what):
            self.in_memory = False  # decided once
            return
        started = time.perf_counter()
        loader = DataLoader(
            _Reader(self.files, self.read),
            batch_size=16,
            num_workers=self.num_workers,
            collate_fn=list,
            generator=torch.Generator(),  # not the run's random numbers
        )
        decoded = [image for batch in loader for image in batch]
        self.cache = dict(zip(self.files, decoded, strict=True))
        log.info(
            "%s: %d images decoded once into memory (%.0f MB, %.1f s; data.in_memory=false "
            "reads the files per batch instead)",
            self.what, len(decoded), sum(x.numel() for x in decoded) / 2**20,
            time.perf_counter() - started,
        )  # fmt: skip

    def __call__(self, path: Any) -> torch.Tensor:
        return self.cache[path] if self.cache is not None else self.read(path)
