"""data.augment_on=device: training batches cut on the host and finished where the model
trains give the host path's batches, key for key; a run trained that way resumes exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from genzoo.data.base import ImageDataModule
from genzoo.data.on_device import UNFINISHED
from genzoo.training.train import train
from tests.fake_datasets import write_images
from tests.test_translation import write_aligned


def _folders(root: Path) -> Path:
    if not root.exists():
        for split in ("train", "val"):
            write_aligned(root / "pairs" / split, 4)
        for domain in ("trainA", "trainB", "testA", "testB"):
            write_images(root / "unpaired" / domain, 4, size=(30, 26), prefix=domain)
        write_images(root / "hr", 4, size=(50, 40))
    return root


def _builders(root: Path) -> dict[str, Callable[[str], ImageDataModule]]:
    from genzoo.data.embedded import PhotosDataModule
    from genzoo.data.super_resolution import SRFolderDataModule, SRPhotosDataModule
    from genzoo.data.translation import PairedDataModule, UnpairedDataModule
    from genzoo.data.translation_embedded import TransformedPhotosDataModule

    common = dict(num_workers=0, batch_size=2)
    return {
        "paired_folder": lambda on: PairedDataModule(
            path=str(root / "pairs"), load_size=40, crop_size=32, augment_on=on, **common
        ),
        "unpaired_folder": lambda on: UnpairedDataModule(
            path=str(root / "unpaired"), load_size=28, crop_size=24, augment_on=on, **common
        ),
        "sr_folder": lambda on: SRFolderDataModule(
            train_dir=str(root / "hr"), val_dir=str(root / "hr"), hr_size=16, train_crops=8,
            augment_on=on, **common,
        ),
        "sr_photos": lambda on: SRPhotosDataModule(train_crops=8, augment_on=on, **common),
        "photos": lambda on: PhotosDataModule(train_crops=8, augment_on=on, **common),
        "photos_warm": lambda on: TransformedPhotosDataModule(
            train_crops=8, augment_on=on, **common
        ),
    }  # fmt: skip


def _first_batches(module: ImageDataModule, device: torch.device, count: int = 2) -> list[dict]:
    module.setup("fit")
    loader = iter(module.train_dataloader())
    return [module.transfer_batch_to_device(next(loader), device, 0) for _ in range(count)]


def _assert_same_batches(
    device_path: list[dict], host_path: list[dict], float_keys: tuple[str, ...] = ()
) -> None:
    """Byte for byte, except `float_keys`: made by a float kernel on another device (SR's
    bicubic LR, rounded to 8 bits), where a value on a rounding boundary may land a level off."""
    for got, expected in zip(device_path, host_path, strict=True):
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            if name not in float_keys:
                assert torch.equal(got[name].cpu(), value), name
                continue
            torch.testing.assert_close(
                got[name].cpu().float(), value.float(), atol=1.01 / 255, rtol=0
            )
            assert (got[name].cpu().float() - value.float()).abs().float().mean() < 1e-4, name


@pytest.mark.parametrize(
    ("height", "width", "size", "channels"),
    [(128, 128, 64, 3), (64, 64, 32, 3), (256, 256, 64, 1), (40, 40, 32, 3), (33, 33, 64, 3),
     (100, 100, 37, 1), (45, 70, 32, 3), (70, 45, 64, 3), (16, 16, 8, 3)],
)  # fmt: skip
def test_fixed_point_resize_gives_the_cpu_uint8_kernels_bytes(
    height: int, width: int, size: int, channels: int
) -> None:
    """The resize that runs off the CPU (`_fixed_point_resize`) equals PyTorch's CPU uint8
    kernel byte for byte, shrinking and enlarging: the device path resizes photos as the host."""
    import torch.nn.functional as F

    from genzoo.data.transforms import _fixed_point_resize

    x = torch.randint(0, 256, (3, channels, height, width), generator=torch.Generator().manual_seed(0),
                      dtype=torch.uint8)  # fmt: skip
    kernel = F.interpolate(
        x.contiguous(memory_format=torch.channels_last), size=(size, size), mode="bilinear",
        antialias=True, align_corners=False,
    )  # fmt: skip
    assert torch.equal(_fixed_point_resize(x, size), kernel)


def test_grey_conversion_follows_the_images_device() -> None:
    from genzoo.data.transforms import to_channels

    grey = to_channels(torch.zeros(2, 3, 4, 4, device="meta"), 1)  # data.channels=1 off the CPU
    assert grey.device.type == "meta" and grey.shape == (2, 1, 4, 4)


def test_a_datamodule_read_without_a_trainer_yields_finished_batches(monkeypatch) -> None:
    """augment_on=auto on a CUDA machine, read by a script (no trainer to finish batches)."""
    from genzoo.data.embedded import PhotosDataModule

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    module = PhotosDataModule(train_crops=4, batch_size=2, num_workers=0, pin_memory=False)
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert UNFINISHED not in batch and batch["image"].dtype == torch.float32


@pytest.mark.parametrize(
    "name",
    ["paired_folder", "unpaired_folder", "sr_folder", "sr_photos", "photos", "photos_warm"],
)
def test_batches_finished_on_the_device_equal_the_host_path(tmp_path_factory, name: str) -> None:
    root = _folders(tmp_path_factory.getbasetemp() / "on_device_folders")
    build = _builders(root)[name]
    cpu = torch.device("cpu")
    device_module, host_module = build("device"), build("host")
    device_batches = _first_batches(device_module, cpu)
    host_batches = _first_batches(host_module, cpu)
    # The device path really left the loader unfinished, and the host path did not.
    raw = next(iter(device_module.train_dataloader()))
    assert UNFINISHED in raw and raw[next(k for k in raw if k != UNFINISHED)].dtype == torch.uint8
    assert UNFINISHED not in next(iter(host_module.train_dataloader()))
    _assert_same_batches(device_batches, host_batches)


def test_files_of_different_sizes_are_finished_on_the_host_batch_by_batch(tmp_path: Path) -> None:
    from genzoo.data.translation import UnpairedDataModule

    root = _folders(tmp_path / "data")
    write_images(root / "unpaired" / "trainA", 1, size=(40, 22), prefix="wide")
    module = UnpairedDataModule(
        path=str(root / "unpaired"), load_size=28, crop_size=24, augment_on="device",
        num_workers=0, batch_size=5,
    )  # fmt: skip
    module.setup("fit")
    keys = [(i, seed) for i in range(5) for seed in (1, 2, 3)]
    finished = module.train_set.__getitems__(keys)
    sizes = {tuple(item["A"].shape) for item in module.train_set.cut(keys)}
    assert len(sizes) > 1 and all(UNFINISHED not in item for item in finished)
    assert all(
        item["B"].shape == (3, 24, 24) and item["B"].dtype == torch.float32 for item in finished
    )


def test_augment_on_auto_follows_the_training_device_and_a_wrong_value_is_refused() -> None:
    from genzoo.data.errors import DatasetError
    from genzoo.data.super_resolution import SRPhotosDataModule

    # Without a trainer (a script reading the loader) auto finishes on the host, GPU or not.
    assert not SRPhotosDataModule(augment_on="auto").finishes_on_device()
    assert SRPhotosDataModule(augment_on="device").finishes_on_device()
    assert not SRPhotosDataModule(augment_on="host").finishes_on_device()
    with pytest.raises(
        DatasetError, match="data.augment_on=gpu is not known: use auto, host, device"
    ):
        SRPhotosDataModule(augment_on="gpu")


def test_resume_with_batches_finished_on_the_device_is_exact(make_cfg, tmp_path: Path) -> None:
    args = [
        "experiment=srresnet_photos",
        "data.augment_on=device",
        "data.hr_size=16",
        "data.batch_size=4",
        "data.train_crops=24",
        "data.num_workers=0",
        "model.width=8",
        "model.blocks=1",
        "trainer=cpu",
        "trainer.max_epochs=-1",
        "trainer.limit_val_batches=1",
        "callbacks.image_grid.every_n_steps=0",
        "trainer.deterministic=true",
    ]
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(make_cfg(*args, "trainer.max_steps=10", run_dir=whole))
    train(make_cfg(*args, "trainer.max_steps=4", run_dir=split))  # mid-epoch (6 an epoch)
    train(make_cfg(*args, "trainer.max_steps=10", "resume=true", run_dir=split))
    a, b = (torch.load(r / "checkpoints" / "last.ckpt", weights_only=False) for r in (whole, split))
    assert a["global_step"] == b["global_step"] == 10
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=key)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["paired_folder", "sr_photos", "photos", "photos_warm"])
def test_batches_finished_on_a_gpu_equal_the_host_path(tmp_path_factory, name: str) -> None:
    root = _folders(tmp_path_factory.getbasetemp() / "on_device_folders")
    build = _builders(root)[name]
    on_gpu = _first_batches(build("device"), torch.device("cuda"))
    assert all(value.is_cuda for batch in on_gpu for value in batch.values())
    host = _first_batches(build("host"), torch.device("cpu"))
    _assert_same_batches(on_gpu, host, float_keys=("lr",) if name == "sr_photos" else ())
