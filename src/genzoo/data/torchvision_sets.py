"""MNIST, Fashion-MNIST and CIFAR-10 in their original on-disk formats.

The files and checksums are those torchvision uses; the readers are ours so that a
missing or corrupt file gets an error naming it. Layout under the data root:
`mnist/*.gz`, `fashion_mnist/*.gz`, `cifar10/cifar-10-batches-py/*`.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from genzoo.data.base import ImageDataModule, TensorImageDataset
from genzoo.data.downloads import download
from genzoo.data.errors import DatasetError

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
FASHION_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not): the format of LeCun's MNIST distribution."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"cannot read {path} ({err}): delete it and download again") from err
    if len(data) < 8 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError(
            f"{path} is not an IDX file of unsigned bytes: delete it and download again"
        )
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DatasetError(f"{path} is truncated: header says {shape}, found {body.size} bytes")
    return body.reshape(shape)


class MNISTDataModule(ImageDataModule):
    """MNIST (train 60k / test 10k), padded by resizing 28 -> image_size."""

    name = "mnist"
    # There is no separate validation set: training validates on the official test images.
    held_out_splits: ClassVar[dict[str, str]] = {
        "val": "the official test set (training's validation images)",
        "test": "the official test set (training's validation images)",
    }
    files = MNIST_FILES
    mirrors: tuple[str, ...] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        batch_size: int = 128,
        num_workers: int | str = 0,
        download: bool = True,
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
        self.download = download

    @property
    def folder(self) -> Path:
        return self.root / self.name

    def prepare_data(self) -> None:
        if not self.download:
            return
        for fname, md5 in self.files.values():
            download(
                [m + fname for m in self.mirrors],
                self.folder / fname,
                md5,
                hint=f"Place {fname} from {self.mirrors[0]} in {self.folder}.",
            )

    def _split(self, split: str) -> TensorImageDataset:
        images = read_idx(self._path(f"{split}_images"))
        labels = read_idx(self._path(f"{split}_labels"))
        if len(images) != len(labels):
            raise DatasetError(
                f"{self.folder}: {len(images)} {split} images but {len(labels)} labels"
            )
        return TensorImageDataset(
            torch.from_numpy(images.copy())[:, None],
            torch.from_numpy(labels.astype(np.int64)),
            self.image_size,
            self.channels,
        )

    def _path(self, key: str) -> Path:
        path = self.folder / self.files[key][0]
        if not path.is_file():
            raise DatasetError(
                f"missing dataset file {path}: run with data.download=true, or place "
                f"the files from {self.mirrors[0]} in {self.folder}"
            )
        return path

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set, self.val_set = self._split("train"), self._split("test")


class FashionMNISTDataModule(MNISTDataModule):
    name = "fashion_mnist"
    files = FASHION_FILES
    mirrors: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 from the python pickles (train 50k / test 10k), random horizontal flips."""

    name = "cifar10"
    # There is no separate validation set: training validates on the official test images.
    held_out_splits: ClassVar[dict[str, str]] = {
        "val": "the official test set (training's validation images)",
        "test": "the official test set (training's validation images)",
    }

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        batch_size: int = 128,
        num_workers: int | str = "auto",
        download: bool = True,
        hflip: bool = True,
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
        self.download, self.hflip = download, hflip

    @property
    def folder(self) -> Path:
        return self.root / "cifar10" / "cifar-10-batches-py"

    def prepare_data(self) -> None:
        if not self.download or (self.folder / "test_batch").is_file():
            return
        archive = download(
            [CIFAR10_URL],
            self.root / "cifar10" / "cifar-10-python.tar.gz",
            CIFAR10_MD5,
            hint=f"Download {CIFAR10_URL} by hand into {self.root / 'cifar10'}.",
        )
        with tarfile.open(archive) as tar:
            tar.extractall(self.root / "cifar10", filter="data")

    def _read_batches(self, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = [], []
        for name in names:
            path = self.folder / name
            if not path.is_file():
                raise DatasetError(
                    f"missing dataset file {path}: run with data.download=true or "
                    f"extract {CIFAR10_URL} into {self.folder.parent}"
                )
            try:
                with open(path, "rb") as fh:
                    entry = pickle.load(fh, encoding="latin1")
                images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                labels.extend(entry["labels"])
            except (pickle.UnpicklingError, EOFError, KeyError, ValueError) as err:
                raise DatasetError(
                    f"{path} is corrupt ({err!r}): delete the folder and download again"
                ) from err
        return torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train_x, train_y = self._read_batches([f"data_batch_{i}" for i in range(1, 6)])
        test_x, test_y = self._read_batches(["test_batch"])
        self.train_set = TensorImageDataset(
            train_x, train_y, self.image_size, self.channels, hflip=self.hflip
        )
        self.val_set = TensorImageDataset(test_x, test_y, self.image_size, self.channels)
