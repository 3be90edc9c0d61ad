"""Real-dataset loaders on small files in their real formats; clear errors on bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from genzoo.data.downloads import download
from genzoo.data.embedded import DigitsDataModule, PhotosDataModule
from genzoo.data.errors import DatasetError
from genzoo.data.folders import CelebADataModule, ImageFolderDataModule
from genzoo.data.torchvision_sets import CIFAR10DataModule, FashionMNISTDataModule, MNISTDataModule
from tests.fake_datasets import write_celeba, write_cifar10, write_images, write_mnist


def first_batch(dm) -> dict[str, torch.Tensor]:
    dm.prepare_data()
    dm.setup("fit")
    return next(iter(dm.train_dataloader()))


def check_batch(batch: dict[str, torch.Tensor], channels: int, size: int, batch_size: int) -> None:
    assert batch["image"].shape == (batch_size, channels, size, size)
    assert batch["image"].dtype == torch.float32
    assert batch["image"].min() >= 0.0 and batch["image"].max() <= 1.0
    assert batch["label"].dtype == torch.long and batch["label"].shape == (batch_size,)


def test_digits_split_is_fixed_and_labelled() -> None:
    dm = DigitsDataModule(image_size=16, batch_size=8)
    check_batch(first_batch(dm), 1, 16, 8)
    assert len(dm.train_set) == 1500 and len(dm.val_set) == 297
    other = DigitsDataModule(image_size=16)
    other.setup()
    assert torch.equal(dm.val_set.images, other.val_set.images)


def test_photos_hold_out_whole_photographs() -> None:
    dm = PhotosDataModule(image_size=32, crop_size=64, batch_size=4, train_crops=8, val_crops=4)
    check_batch(first_batch(dm), 3, 32, 4)
    assert torch.equal(dm.val_set[0]["image"], dm.val_set[0]["image"])  # evaluation crops are fixed
    with pytest.raises(DatasetError, match="unknown photos"):
        PhotosDataModule(held_out=("nope",)).setup()


@pytest.mark.parametrize(
    "cls,folder", [(MNISTDataModule, "mnist"), (FashionMNISTDataModule, "fashion_mnist")]
)
def test_mnist_formats(tmp_path: Path, cls, folder: str) -> None:
    write_mnist(tmp_path, folder, n_train=20, n_test=10)
    dm = cls(root=str(tmp_path), download=False, batch_size=4)
    check_batch(first_batch(dm), 1, 32, 4)
    assert len(dm.train_set) == 20 and len(dm.val_set) == 10


def test_mnist_missing_and_truncated_files(tmp_path: Path) -> None:
    dm = MNISTDataModule(root=str(tmp_path), download=False)
    with pytest.raises(DatasetError, match=r"missing dataset file .*train-images-idx3-ubyte.gz"):
        dm.setup()
    out = write_mnist(tmp_path, "mnist", n_train=10)
    path = out / "train-images-idx3-ubyte.gz"
    import gzip

    with gzip.open(path) as fh:
        data = fh.read()
    with gzip.open(path, "wb") as fh:
        fh.write(data[:-100])
    with pytest.raises(DatasetError, match="truncated"):
        MNISTDataModule(root=str(tmp_path), download=False).setup()


def test_cifar10_format_and_corruption(tmp_path: Path) -> None:
    out = write_cifar10(tmp_path, per_batch=4)
    dm = CIFAR10DataModule(root=str(tmp_path), download=False, batch_size=4, num_workers=0)
    check_batch(first_batch(dm), 3, 32, 4)
    assert len(dm.train_set) == 20 and len(dm.val_set) == 4
    (out / "data_batch_3").write_bytes(b"\x80\x02garbage")
    with pytest.raises(DatasetError, match="data_batch_3 is corrupt"):
        CIFAR10DataModule(root=str(tmp_path), download=False).setup()


def test_celeba_partition_and_crop(tmp_path: Path) -> None:
    write_celeba(tmp_path, n=8)
    dm = CelebADataModule(root=str(tmp_path), download=False, batch_size=2, num_workers=0)
    check_batch(first_batch(dm), 3, 64, 2)
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (4, 2, 2)


def test_celeba_html_instead_of_zip_gets_manual_instructions(tmp_path: Path) -> None:
    folder = tmp_path / "celeba"
    folder.mkdir()
    (folder / "img_align_celeba.zip").write_text(
        "<!DOCTYPE html><html><body>Quota exceeded</body></html>"
    )
    dm = CelebADataModule(root=str(tmp_path), download=False)
    with pytest.raises(DatasetError, match=r"img_align_celeba.zip is an HTML page.*mmlab"):
        dm.prepare_data()
    with pytest.raises(DatasetError, match="CelebA not found"):
        dm.setup()


def test_image_folder_errors_and_skip(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        ImageFolderDataModule(path=str(tmp_path / "none")).setup()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no images"):
        ImageFolderDataModule(path=str(tmp_path / "empty")).setup()
    files = write_images(tmp_path / "imgs", 6, size=(50, 40), suffix=".png")
    files[1].write_bytes(files[1].read_bytes()[:60])  # truncated PNG
    strict = ImageFolderDataModule(
        path=str(tmp_path / "imgs"), image_size=16, val_fraction=0.0, hflip=False, num_workers=0
    )
    with pytest.raises(DatasetError, match=r"1 of 6 files .* cannot be read(.|\n)*000002.png"):
        strict.setup()  # found when the datamodule is set up, before any step
    lenient = ImageFolderDataModule(
        path=str(tmp_path / "imgs"), image_size=16, on_error="skip", num_workers=0
    )
    lenient.setup()
    items = [lenient.train_set[i]["image"] for i in range(len(lenient.train_set))]
    items += [lenient.val_set[i]["image"] for i in range(len(lenient.val_set))]
    assert len(items) == 5 and all(x.shape == (3, 16, 16) for x in items)


def test_download_verifies_checksum_and_keeps_nothing_partial(tmp_path: Path) -> None:
    source = tmp_path / "remote.bin"
    source.write_bytes(b"genzoo" * 100)
    good = hashlib.md5(source.read_bytes()).hexdigest()
    dest = download([source.as_uri()], tmp_path / "cache" / "file.bin", good)
    assert dest.read_bytes() == source.read_bytes()
    with pytest.raises(DatasetError, match="fails its checksum"):
        download([source.as_uri()], tmp_path / "cache" / "other.bin", "0" * 32)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["file.bin"]
    with pytest.raises(DatasetError, match="could not download"):
        download([(tmp_path / "missing").as_uri()], tmp_path / "cache" / "x.bin", good)


def test_num_workers_auto_is_half_the_usable_cpus(monkeypatch) -> None:
    import os

    from genzoo.data.base import resolve_num_workers

    for cores, workers in ((1, 0), (2, 1), (6, 3), (16, 8), (64, 8)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)))
        assert resolve_num_workers("auto") == workers
    assert resolve_num_workers(3) == 3


def test_sets_made_in_memory_take_workers_only_where_a_gpu_waits(monkeypatch) -> None:
    import os

    import torch

    from genzoo.data.base import resolve_num_workers
    from genzoo.data.embedded import DigitsDataModule

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_num_workers("auto", made_in_memory=True) == 0
    assert DigitsDataModule(num_workers="auto").num_workers == 0
    assert resolve_num_workers("auto") == 8  # files still decode in workers
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert DigitsDataModule(num_workers="auto").num_workers == 8
