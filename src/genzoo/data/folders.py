"""Datasets read image by image from disk: a generic image folder and CelebA (64x64 faces)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

from genzoo.data.base import ImageDataModule
from genzoo.data.decoded import decode_once
from genzoo.data.downloads import check_file, download
from genzoo.data.errors import DatasetError
from genzoo.data.sampling import SampleKey, split_key
from genzoo.data.transforms import center_crop_resize, pil_to_tensor, to_channels

log = logging.getLogger("genzoo")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


UNREADABLE_HINT = (
    "delete or replace the file(s), or set data.on_error=skip to leave them out with one warning"
)


def open_image(path: Path) -> Image.Image:
    """Open and fully decode an image, upright (EXIF orientation applied), or raise a
    DatasetError naming the file."""
    try:
        with Image.open(path) as img:
            img.load()  # decode now so a truncated file fails here, not later
            return ImageOps.exif_transpose(img)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise DatasetError(f"cannot read image {path} ({err})") from err


def unreadable_images(files: list[Path]) -> dict[Path, str]:
    """A cheap check of every file's header (and a PNG's chunks): file -> why it is unreadable."""
    bad = {}
    for path in files:
        try:
            with Image.open(path) as img:
                img.verify()
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
            bad[path] = str(err) or type(err).__name__
    return bad


def _listing(bad: dict[Path, str], limit: int = 20) -> str:
    lines = [f"  {path}: {why}" for path, why in list(bad.items())[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)


def readable_images(files: list[Path], on_error: str, where: str) -> list[Path]:
    """`files` less the unreadable ones: listed in one error (on_error=raise) or one warning."""
    bad = unreadable_images(files)
    if not bad:
        return files
    if on_error == "raise":
        raise DatasetError(
            f"{len(bad)} of {len(files)} files in {where} cannot be read as images:\n"
            f"{_listing(bad)}\n{UNREADABLE_HINT[0].upper()}{UNREADABLE_HINT[1:]}."
        )
    log.warning(
        "data.on_error=skip: leaving out %d unreadable file(s) of %d in %s:\n%s",
        len(bad),
        len(files),
        where,
        _listing(bad),
    )
    return [f for f in files if f not in bad]


def list_images(folder: Path) -> list[Path]:
    """All image files under `folder`, sorted; a DatasetError if there is none."""
    if folder.is_file():
        raise DatasetError(
            f"image folder {folder} is a file: set data.path to the folder that holds the images"
        )
    if not folder.is_dir():
        raise DatasetError(
            f"image folder {folder} does not exist: set data.path to a folder of images"
        )
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not files:
        raise DatasetError(
            f"image folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return files


class ImageFileDataset(Dataset):
    """Files -> {'image', 'label'}: center crop, resize, optional flip. `on_error`: raise or skip."""

    def __init__(
        self,
        files: list[Path],
        image_size: int,
        channels: int,
        crop: int | None = None,
        hflip: bool = False,
        on_error: str = "raise",
        labels: list[int] | None = None,
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"data.on_error='{on_error}' is not known: use raise or skip")
        self.files, self.image_size, self.channels, self.crop = files, image_size, channels, crop
        self.hflip, self.on_error = hflip, on_error
        self.labels = labels or [0] * len(files)
        self._reported: set[Path] = set()

    def __len__(self) -> int:
        return len(self.files)

    def without_flips_in_rgb(self) -> ImageFileDataset:
        """The same files, cropped and resized alike, in RGB and never flipped: what
        `decoded.decode_once` stores, converting and flipping per key afterwards."""
        return ImageFileDataset(
            self.files, self.image_size, 3, self.crop, False, self.on_error, self.labels
        )

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        i, gen = split_key(key)
        for offset in range(len(self.files)):
            j = (i + offset) % len(self.files)
            try:
                img = open_image(self.files[j])
            except DatasetError as err:  # passed the header check but does not decode
                if self.on_error == "raise":
                    raise DatasetError(f"{err}: {UNREADABLE_HINT}") from err
                if self.files[j] not in self._reported:  # once per file, not every epoch
                    self._reported.add(self.files[j])
                    log.warning("data.on_error=skip: leaving out %s", err)
                continue
            x = to_channels(
                pil_to_tensor(center_crop_resize(img, self.image_size, self.crop)), self.channels
            )
            if self.hflip and torch.rand((), generator=gen) < 0.5:
                x = x.flip(-1)
            return {"image": x, "label": torch.tensor(self.labels[j])}
        raise DatasetError(
            f"no readable image among {len(self.files)} files (first: {self.files[0]})"
        )


class ImageFolderDataModule(ImageDataModule):
    """Any folder of images (searched recursively); a fixed fraction is held out for validation."""

    name = "image_folder"

    def __init__(
        self,
        path: str,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 32,
        num_workers: int | str = "auto",
        val_fraction: float = 0.05,
        hflip: bool = True,
        on_error: str = "raise",
        in_memory: str | bool = "auto",
        memory_limit_mb: int = 4096,
        **kwargs,
    ) -> None:
        super().__init__(
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        self.path, self.val_fraction, self.hflip, self.on_error = (
            Path(path).expanduser(),
            val_fraction,
            hflip,
            on_error,
        )
        self.in_memory, self.memory_limit_mb = in_memory, memory_limit_mb

    def describe(self) -> str:
        return f"data.path={self.path}"

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        files = readable_images(list_images(self.path), self.on_error, f"data.path={self.path}")
        # Every k-th file is held out: stable under the run seed and under added files' order.
        k = max(2, round(1 / self.val_fraction)) if self.val_fraction > 0 else 0
        val = files[::k] if k else files[:1]
        train = [f for i, f in enumerate(files) if not (k and i % k == 0)] or files
        args: dict[str, Any] = dict(
            image_size=self.image_size, channels=self.channels, on_error=self.on_error
        )
        memory = (self.in_memory, self.memory_limit_mb, self.num_workers)
        where = f"data.path={self.path}"
        self.train_set = decode_once(
            ImageFileDataset(train, hflip=self.hflip, **args), *memory, f"{where} (train)"
        )
        self.val_set = decode_once(ImageFileDataset(val, **args), *memory, f"{where} (val)")


CELEBA_FILES = {  # Google Drive ids and md5 sums of the aligned-and-cropped release
    "img_align_celeba.zip": ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb"),
    "list_eval_partition.txt": ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668"),
}
CELEBA_MANUAL = (
    "Google Drive often refuses scripted downloads. Fetch img_align_celeba.zip and "
    "list_eval_partition.txt from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
    "(Align&Cropped Images) into {folder}, then run again."
)


class CelebADataModule(ImageDataModule):
    """CelebA aligned faces, center crop (default 140 px) resized to 64x64; official partition."""

    name = "celeba"
    held_out_splits: ClassVar[dict[str, str]] = {
        "val": "CelebA's validation partition",
        "test": "CelebA's test partition",
    }

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 64,
        num_workers: int | str = "auto",
        crop: int = 140,
        download: bool = True,
        hflip: bool = True,
        on_error: str = "raise",
        in_memory: str | bool = "auto",
        memory_limit_mb: int = 4096,
        **kwargs,
    ) -> None:
        super().__init__(
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        self.crop, self.download, self.hflip, self.on_error = crop, download, hflip, on_error
        self.in_memory, self.memory_limit_mb = in_memory, memory_limit_mb

    @property
    def folder(self) -> Path:
        return self.root / "celeba"

    def prepare_data(self) -> None:
        if (self.folder / "img_align_celeba").is_dir() and (
            self.folder / "list_eval_partition.txt"
        ).is_file():
            return
        hint = CELEBA_MANUAL.format(folder=self.folder)
        for fname, (file_id, md5) in CELEBA_FILES.items():
            dest = self.folder / fname
            if self.download:
                url = f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"
                download([url], dest, md5, hint=hint)
            else:
                check_file(dest, md5, hint)
        with zipfile.ZipFile(self.folder / "img_align_celeba.zip") as zf:
            zf.extractall(self.folder)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        hint = CELEBA_MANUAL.format(folder=self.folder)
        partition = self.folder / "list_eval_partition.txt"
        images = self.folder / "img_align_celeba"
        if not partition.is_file() or not images.is_dir():
            raise DatasetError(f"CelebA not found: need {partition} and {images}/. {hint}")
        splits: dict[int, list[Path]] = {0: [], 1: [], 2: []}
        for lineno, line in enumerate(partition.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DatasetError(f"{partition}:{lineno}: expected '<file> <0|1|2>', got {line!r}")
            splits[int(parts[1])].append(images / parts[0])
        args: dict[str, Any] = dict(
            image_size=self.image_size,
            channels=self.channels,
            crop=self.crop,
            on_error=self.on_error,
        )
        memory = (self.in_memory, self.memory_limit_mb, self.num_workers)
        self.train_set = decode_once(
            ImageFileDataset(splits[0], hflip=self.hflip, **args), *memory, "CelebA train"
        )
        self.val_set = decode_once(ImageFileDataset(splits[1], **args), *memory, "CelebA val")
        self.test_set = decode_once(ImageFileDataset(splits[2], **args), *memory, "CelebA test")

    def test_dataloader(self) -> DataLoader:  # CelebA has its own test split
        return self._loader(self.test_set, shuffle=False)
