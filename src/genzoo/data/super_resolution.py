"""Super-resolution data: batches {'lr', 'hr'} made from high-resolution images alone.

Training: random HR crops (`hr_size`, default 96 as in Ledig et al. 2017), random flips and
90-degree rotations, and the LR image made on the fly by antialiased bicubic downsampling,
rounded to 8 bits like a saved LR file. Validation: whole images, cropped to a multiple of the
scale, one per batch (their sizes differ).

- `SRPhotosDataModule`: the photographs bundled with scikit-image / scikit-learn (embedded).
- `SRFolderDataModule`: any folder of HR images for training and/or one for evaluation.
- `data/sr_sets.py`: DIV2K and the Set5 / Set14 / BSD100 / Urban100 benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from genzoo.data.base import ImageDataModule, prepare
from genzoo.data.decoded import DecodedFiles
from genzoo.data.errors import DatasetError
from genzoo.data.folders import list_images, open_image, readable_images
from genzoo.data.kinds import LR_HR
from genzoo.data.on_device import CutThenFinish
from genzoo.data.sampling import SampleKey, held_out_sampler, key_parts, split_key


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> (B, C, H / scale, W / scale): antialiased bicubic, rounded to
    the 8-bit grid (the LR image a user would have as a file)."""
    h, w = hr.shape[-2] // scale, hr.shape[-1] // scale
    lr = F.interpolate(hr, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
    return torch.round(lr.clamp(0, 1) * 255.0) / 255.0


def crop_to_multiple(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop (..., H, W) at the bottom-right so that H and W are multiples of `scale`."""
    h, w = x.shape[-2] - x.shape[-2] % scale, x.shape[-1] - x.shape[-1] % scale
    return x[..., :h, :w]


class ImageFiles(Sequence[torch.Tensor]):
    """Image files as uint8 (3, H, W), through `read` (`ImageFiles.read`, or a DecodedFiles
    holding them decoded in memory)."""

    def __init__(
        self, files: list[Path], read: Callable[[Path], torch.Tensor] | None = None
    ) -> None:
        self.files, self.read_file = files, read or ImageFiles.read

    @staticmethod
    def read(path: Path) -> torch.Tensor:
        img = open_image(path).convert("RGB")
        return torch.from_numpy(np.array(img)).permute(2, 0, 1)

    def __len__(self) -> int:
        return len(self.files)

    def prepare(self) -> None:
        prepare(self.read_file)

    def __getitem__(self, i: int) -> torch.Tensor:  # type: ignore[override]
        return self.read_file(self.files[i])

    def name(self, i: int) -> str:
        return self.files[i].stem


class SRCropDataset(CutThenFinish, Dataset):
    """`length` random (lr, hr) crop pairs per epoch from `images` (uint8 (3, H, W) each).
    Cut: the uint8 HR crop, flipped and transposed (host); finish: floats and the bicubic LR
    image (on the device with `data.augment_on=device`, data/on_device.py)."""

    def __init__(
        self, images: Sequence[torch.Tensor], length: int, hr_size: int, scale: int, augment: bool
    ) -> None:
        self.images, self.length, self.hr_size = images, length, hr_size
        self.scale, self.augment = scale, augment

    def __len__(self) -> int:
        return self.length

    def prepare(self) -> None:
        prepare(self.images)

    def cut(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        crops = []
        for key in keys:  # each crop and flip from its own key (data/sampling.py)
            _, gen = split_key(key)
            image = self.images[int(torch.randint(len(self.images), (), generator=gen))]
            _, h, w = image.shape
            if h < self.hr_size or w < self.hr_size:
                raise DatasetError(
                    f"a training image of {w}x{h} is smaller than data.hr_size={self.hr_size}: "
                    "lower data.hr_size or leave such images out"
                )
            top = int(torch.randint(h - self.hr_size + 1, (), generator=gen))
            left = int(torch.randint(w - self.hr_size + 1, (), generator=gen))
            crop = image[:, top : top + self.hr_size, left : left + self.hr_size]
            if self.augment:
                flip_h, flip_v, transpose = (torch.rand(3, generator=gen) < 0.5).tolist()
                crop = crop.flip(-1) if flip_h else crop
                crop = crop.flip(-2) if flip_v else crop
                crop = crop.transpose(-1, -2) if transpose else crop  # with flips: all 8 rotations
            crops.append({"hr": crop})
        return crops

    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hr = batch["hr"].float() / 255.0
        return {"lr": downscale(hr, self.scale), "hr": hr}


class SRWholeImageDataset(Dataset):
    """Whole images cropped to a multiple of the scale, for evaluation: {'lr', 'hr', 'index'}."""

    def __init__(self, images: Sequence[torch.Tensor], names: list[str], scale: int) -> None:
        self.images, self.names, self.scale = images, names, scale

    def prepare(self) -> None:
        prepare(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        i, _ = key_parts(key)
        hr = crop_to_multiple(self.images[i], self.scale).float()[None] / 255.0
        return {"lr": downscale(hr, self.scale)[0], "hr": hr[0], "index": torch.tensor(i)}


class SRDataModule(ImageDataModule):
    """Shared SR loaders: subclasses set `train_images`, `val_images`, `val_names` in `setup`."""

    name = "super_resolution"
    yields = LR_HR

    def __init__(
        self,
        scale: int = 4,
        hr_size: int = 96,
        batch_size: int = 16,
        num_workers: int | str = 0,
        train_crops: int = 1600,
        augment: bool = True,
        channels: int = 3,
        **kwargs,
    ) -> None:
        super().__init__(
            image_size=hr_size,
            channels=channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        if hr_size % scale:
            raise DatasetError(
                f"data.hr_size={hr_size} is not a multiple of data.scale={scale}: use e.g. "
                f"data.hr_size={hr_size - hr_size % scale or scale}"
            )
        self.scale, self.hr_size, self.train_crops, self.augment = (
            scale,
            hr_size,
            train_crops,
            augment,
        )
        self.val_names: list[str] = []

    def _build(
        self, train: Sequence[torch.Tensor] | None, val: Sequence[torch.Tensor], names: list[str]
    ) -> None:
        if train is not None:
            self.train_set = SRCropDataset(
                train, self.train_crops, self.hr_size, self.scale, self.augment
            )
        self.val_set = SRWholeImageDataset(val, names, self.scale)
        self.val_names = names

    def val_dataloader(self) -> DataLoader:
        if self.val_set is None:
            raise RuntimeError(f"{type(self).__name__}.setup() has not run")
        prepare(self.val_set)
        # One whole image per batch: held-out images differ in size.
        return DataLoader(
            self.val_set,
            batch_size=1,
            sampler=held_out_sampler(self.val_set),
            shuffle=False,
            num_workers=0,
        )


class SRPhotosDataModule(SRDataModule):
    """Crops of the bundled photographs; the `held_out` ones, whole, are the evaluation set."""

    made_in_memory = True

    name = "sr_photos"

    def __init__(self, held_out: tuple[str, ...] = ("coffee", "flower"), **kwargs) -> None:
        super().__init__(**kwargs)
        self.held_out = tuple(held_out)

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        from genzoo.data.embedded import bundled_photo_split

        train, val, _ = bundled_photo_split(self.held_out)
        self._build(train, val, list(self.held_out))


class SRFolderDataModule(SRDataModule):
    """Folders of HR images: `train_dir` for training crops, `val_dir` for evaluation (whole
    images). Evaluation alone (genzoo-eval) needs only `val_dir`."""

    name = "sr_folder"

    def __init__(
        self,
        train_dir: str | None = None,
        val_dir: str | None = None,
        on_error: str = "raise",
        in_memory: str | bool = "auto",
        memory_limit_mb: int = 4096,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.train_dir = Path(train_dir).expanduser() if train_dir else None
        self.val_dir = Path(val_dir).expanduser() if val_dir else None
        self.on_error = on_error
        self.in_memory, self.memory_limit_mb = in_memory, memory_limit_mb

    def describe(self) -> str:
        return f"data.train_dir={self.train_dir}"

    def folders(self) -> tuple[Path | None, Path]:
        """(train folder or None, evaluation folder); subclasses with downloads override."""
        if self.val_dir is None:
            raise DatasetError("data.val_dir is not set: name a folder of HR images to evaluate on")
        return self.train_dir, self.val_dir

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        train_dir, val_dir = self.folders()
        if stage in (None, "fit") and train_dir is None:
            raise DatasetError("data.train_dir is not set: name a folder of HR training images")
        val = self._images(readable_images(list_images(val_dir), self.on_error, f"{val_dir}"))
        train = (
            self._images(readable_images(list_images(train_dir), self.on_error, f"{train_dir}"))
            if train_dir is not None
            else None
        )
        self._build(train, val, [val.name(i) for i in range(len(val))])

    def _images(self, files: list[Path]) -> ImageFiles:
        """The HR images, decoded once into memory where they fit (data/decoded.py)."""
        read = DecodedFiles(
            files,
            ImageFiles.read,
            self.in_memory,
            self.memory_limit_mb,
            self.num_workers,
            str(files[0].parent),
        )
        return ImageFiles(files, read)
