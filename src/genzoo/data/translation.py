"""Image-to-image translation data: batches {'A', 'B'} of float (B, C, H, W) in [0, 1].

Paired (Pix2Pix): A and B show the same scene, and training crops and flips both identically.
Two layouts on disk:
- `aligned`: one image per pair with A on the left half and B on the right (the pix2pix
  datasets' format), in `<split>/`;
- `folders`: `<split>/A/` and `<split>/B/` holding files of the same names.
`direction` (AtoB or BtoA) says which side the model translates from; batches keep the
dataset's names, the model picks its input.

Unpaired (CycleGAN): `trainA/ trainB/ testA/ testB/`, domains of any sizes; each training A
is drawn with an independently drawn B. Held-out pairs are (testA[i], testB[i mod |testB|]),
which are not aligned: only embedded tasks with a known mapping set 'aligned' (see
`models/translation.py`).

Training (the papers' recipe): resize to `load_size`, random `crop_size` crop, random
horizontal flip. Held-out images: resized to `crop_size`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from genzoo.data.base import ImageDataModule, prepare
from genzoo.data.decoded import DecodedFiles
from genzoo.data.errors import DatasetError
from genzoo.data.folders import list_images, open_image, readable_images
from genzoo.data.kinds import ALIGNED, UNPAIRED
from genzoo.data.on_device import CutThenFinish, crop_and_flip, crop_choices, resize_bicubic
from genzoo.data.sampling import SampleKey, split_key
from genzoo.data.transforms import to_channels

DIRECTIONS = ("AtoB", "BtoA")


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise DatasetError(f"data.direction={direction} is not known: use AtoB or BtoA")
    return direction


def check_image_size(image_size: int | None, crop_size: int) -> None:
    """data.image_size (what models read) is data.crop_size here: another value is a mistake."""
    if image_size is not None and image_size != crop_size:
        raise DatasetError(
            f"data.image_size={image_size} differs from data.crop_size={crop_size}: models see "
            "crop_size crops; set data.crop_size (image_size follows it)"
        )


def load_rgb(path: Path) -> torch.Tensor:
    """uint8 (3, H, W) of any image file; grey, RGBA (on white) and 16-bit converted."""
    from genzoo.data.transforms import pil_to_tensor

    img = open_image(path)
    if img.mode == "RGB":
        return torch.from_numpy(np.array(img)).permute(2, 0, 1).contiguous()
    return (pil_to_tensor(img) * 255).round().to(torch.uint8)


class ResizedCrops(CutThenFinish, Dataset):
    """What paired and unpaired files share: training images are resized to `load_size` and
    cropped to `crop_size` at each sample's choices; held-out ones resized to `crop_size`."""

    load_size: int
    crop_size: int
    channels: int
    train: bool

    def choices(self, gen: torch.Generator) -> torch.Tensor:
        """Training: a random crop position and flip; held out: the whole image, unflipped."""
        if self.train:
            return crop_choices(gen, self.load_size, self.crop_size)
        return torch.zeros(3, dtype=torch.long)

    def finish_images(self, images: torch.Tensor, choices: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, H, W) -> float (B, C, crop_size, crop_size)."""
        size = self.load_size if self.train else self.crop_size
        cropped = crop_and_flip(resize_bicubic(images, size), choices, self.crop_size)
        return to_channels(cropped, self.channels)


class PairedFiles(ResizedCrops):
    """Pairs read from disk: `files` are aligned A|B images, or (A file, B file) tuples.
    Cut: the uint8 pair and its crop choices; finish: resize, crop, flip (data/on_device.py)."""

    host_keys = ("choices",)

    def __init__(
        self,
        files: list[Path] | list[tuple[Path, Path]],
        load_size: int,
        crop_size: int,
        channels: int,
        train: bool,
        read: Callable[[Path], torch.Tensor] = load_rgb,
    ) -> None:
        self.files, self.load_size, self.crop_size = files, load_size, crop_size
        self.channels, self.train, self.read = channels, train, read

    def __len__(self) -> int:
        return len(self.files)

    def prepare(self) -> None:
        prepare(self.read)

    def read_pair(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        entry = self.files[i]
        if isinstance(entry, tuple):
            a, b = self.read(entry[0]), self.read(entry[1])
            if a.shape[-2:] != b.shape[-2:]:
                raise DatasetError(
                    f"paired images differ in size: {entry[0]} is {a.shape[-1]}x{a.shape[-2]}, "
                    f"{entry[1]} is {b.shape[-1]}x{b.shape[-2]}; resize one to match the other"
                )
            return a, b
        ab = self.read(entry)
        w = ab.shape[-1]
        if w % 2:
            raise DatasetError(
                f"{entry} is {w} pixels wide, an odd width: an aligned pair holds A on the left "
                "half and B on the right half of one image. For separate A and B files use "
                "data.layout=folders"
            )
        return ab[..., : w // 2], ab[..., w // 2 :]

    def cut(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        items = []
        for key in keys:
            i, gen = split_key(key)
            a, b = self.read_pair(i)
            items.append({"A": a, "B": b, "choices": self.choices(gen)})
        return items

    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {name: self.finish_images(batch[name], batch["choices"]) for name in ("A", "B")}


def paired_files(folder: Path, layout: str) -> list[Path] | list[tuple[Path, Path]]:
    """The pairs of one split folder; mismatched names are an error that lists them."""
    if layout == "aligned":
        return list_images(folder)
    if layout != "folders":
        raise DatasetError(f"data.layout={layout} is not known: use aligned or folders")
    a_dir, b_dir = folder / "A", folder / "B"
    for d in (a_dir, b_dir):
        if not d.is_dir():
            raise DatasetError(
                f"{d} is not a folder: data.layout=folders reads <split>/A/ and <split>/B/ with "
                "files of the same names (or use data.layout=aligned for A|B images)"
            )
    a = {p.relative_to(a_dir).with_suffix(""): p for p in list_images(a_dir)}
    b = {p.relative_to(b_dir).with_suffix(""): p for p in list_images(b_dir)}
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        listing = [f"  {a[n]} has no partner in {b_dir}" for n in only_a[:10]]
        listing += [f"  {b[n]} has no partner in {a_dir}" for n in only_b[:10]]
        raise DatasetError(
            f"{len(only_a) + len(only_b)} file(s) in {folder} have no partner of the same name:\n"
            + "\n".join(listing)
            + "\nrename or remove them"
        )
    return [(a[n], b[n]) for n in sorted(a)]


class TranslationFolders(ImageDataModule):
    """What the folder datamodules share: `path`, the training resize-and-crop sizes, what
    to do with unreadable files."""

    layout_hint = ""  # what data.path must hold, for error messages

    def __init__(
        self,
        path: str | None = None,
        load_size: int = 286,
        crop_size: int = 256,
        channels: int = 3,
        batch_size: int = 1,
        num_workers: int | str = "auto",
        on_error: str = "raise",
        image_size: int | None = None,
        in_memory: str | bool = "auto",
        memory_limit_mb: int = 4096,
        **kwargs,
    ) -> None:
        check_image_size(image_size, crop_size)
        super().__init__(
            image_size=crop_size,
            channels=channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **kwargs,
        )
        if load_size < crop_size:
            raise DatasetError(
                f"data.load_size={load_size} is below data.crop_size={crop_size}: crops are cut "
                "from images resized to load_size; set load_size >= crop_size"
            )
        self.path = Path(path).expanduser() if path else None
        self.load_size, self.crop_size, self.on_error = load_size, crop_size, on_error
        self.in_memory, self.memory_limit_mb = in_memory, memory_limit_mb

    def reader(self, files: list[Path], what: str) -> DecodedFiles:
        """load_rgb for `files`, decoded once into memory where they fit (data/decoded.py)."""
        return DecodedFiles(
            files, load_rgb, self.in_memory, self.memory_limit_mb, self.num_workers, what
        )

    def folder(self) -> Path:
        if self.path is None:
            raise DatasetError(f"data.path is not set: name the folder holding {self.layout_hint}")
        return self.path

    def describe(self) -> str:
        return f"data.path={self.path}"


class PairedDataModule(TranslationFolders):
    """Pix2Pix pairs from `path/train` and `path/val` (or `path/test`)."""

    name = "paired_folder"
    pairs = "aligned"
    yields = ALIGNED
    aligned_held_out = True
    val_split = "val"
    layout_hint = "train/ and val/"

    def __init__(self, layout: str = "aligned", direction: str = "AtoB", **kwargs) -> None:
        super().__init__(**kwargs)
        self.layout, self.direction = layout, check_direction(direction)

    def _split(self, name: str, train: bool) -> PairedFiles:
        folder = self.folder() / name
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} is not a folder: a paired dataset holds {name}/ (with "
                + ("A|B images" if self.layout == "aligned" else "A/ and B/")
                + f") under {self.folder()}"
            )
        files = paired_files(folder, self.layout)
        if self.layout == "aligned":
            files = readable_images(files, self.on_error, str(folder))  # type: ignore[arg-type]
        paths = [p for entry in files for p in (entry if isinstance(entry, tuple) else (entry,))]
        read = self.reader(paths, str(folder))
        return PairedFiles(files, self.load_size, self.crop_size, self.channels, train, read)

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        if stage in (None, "fit"):
            self.train_set = self._split("train", train=True)
        split = self.val_split
        if not (self.folder() / split).is_dir() and (self.folder() / "test").is_dir():
            split = "test"
        self.val_set = self._split(split, train=False)


class UnpairedFiles(ResizedCrops):
    """Training: A[i] with a B drawn at random (by the sample's seed); held out: A[i] with
    B[i mod |B|]. Length: the larger domain. Cut and finish as `PairedFiles`, each domain
    with its own crop choices."""

    host_keys = ("choices_A", "choices_B")

    def __init__(
        self,
        a: list[Path],
        b: list[Path],
        load_size: int,
        crop_size: int,
        channels: int,
        train: bool,
        read: Callable[[Path], torch.Tensor] = load_rgb,
    ) -> None:
        self.a, self.b, self.load_size, self.crop_size = a, b, load_size, crop_size
        self.channels, self.train, self.read = channels, train, read

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def prepare(self) -> None:
        prepare(self.read)

    def cut(self, keys: list[SampleKey]) -> list[dict[str, torch.Tensor]]:
        items = []
        for key in keys:
            i, gen = split_key(key)
            j = (
                int(torch.randint(len(self.b), (), generator=gen))
                if self.train
                else i % len(self.b)
            )
            a, choices_a = self.read(self.a[i % len(self.a)]), self.choices(gen)
            b, choices_b = self.read(self.b[j]), self.choices(gen)
            items.append({"A": a, "choices_A": choices_a, "B": b, "choices_B": choices_b})
        return items

    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {
            name: self.finish_images(batch[name], batch[f"choices_{name}"]) for name in ("A", "B")
        }


class UnpairedDataModule(TranslationFolders):
    """CycleGAN domains from `path/trainA`, `path/trainB`, `path/testA`, `path/testB`."""

    name = "unpaired_folder"
    pairs = "unpaired"
    yields = UNPAIRED
    layout_hint = "trainA/ trainB/ testA/ testB/"

    def _domain(self, name: str) -> list[Path]:
        folder = self.folder() / name
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} is not a folder: an unpaired dataset holds trainA/, trainB/, testA/ "
                f"and testB/ under {self.folder()}"
            )
        return readable_images(list_images(folder), self.on_error, str(folder))

    def setup(self, stage: str | None = None) -> None:
        if self.val_set is not None:
            return
        args = (self.load_size, self.crop_size, self.channels)
        if stage in (None, "fit"):
            a, b = self._domain("trainA"), self._domain("trainB")
            read = self.reader(a + b, f"{self.folder()}/train")
            self.train_set = UnpairedFiles(a, b, *args, train=True, read=read)
        a, b = self._domain("testA"), self._domain("testB")
        read = self.reader(a + b, f"{self.folder()}/test")
        self.val_set = UnpairedFiles(a, b, *args, False, read=read)
