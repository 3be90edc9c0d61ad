"""Folders decoded once into memory give the file path's batches, key for key, and a resumed
run on them ends where an uninterrupted one does."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from genzoo.data.base import TensorImageDataset
from genzoo.data.folders import ImageFileDataset, ImageFolderDataModule
from genzoo.training.train import train
from tests.fake_datasets import write_images
from tests.test_user_folders import _module as user_folders_module
from tests.test_user_folders import readable_user_folder


def _module(folder: Path, **kwargs) -> ImageFolderDataModule:
    """test_user_folders' small datamodule, on the in-memory path by default (data.in_memory=auto)."""
    return user_folders_module(folder, **({"in_memory": "auto"} | kwargs))


@pytest.mark.parametrize("channels", [1, 3])
def test_decoded_images_equal_the_files_for_the_same_keys(tmp_path: Path, channels: int) -> None:
    folder = readable_user_folder(tmp_path / "imgs")
    (folder / "grey16.png").unlink()  # 16-bit images stay on the file path (below)
    memory, files = (_module(folder, channels=channels, in_memory=mode) for mode in (True, False))
    memory.setup("fit")
    files.setup("fit")
    memory.train_dataloader(), files.train_dataloader()  # where a set is decoded
    memory.val_dataloader()
    assert isinstance(memory.train_set.decoded, TensorImageDataset)
    assert isinstance(files.train_set, ImageFileDataset)
    keys = [(i, seed) for seed in (0, 1, 7, 123) for i in range(len(files.train_set))]
    got = memory.train_set.__getitems__(keys)
    for key, item in zip(keys, got, strict=True):
        expected = files.train_set[key]
        assert torch.equal(item["image"], expected["image"]), key
        assert int(item["label"]) == int(expected["label"])
    flipped = [k for k, item in zip(keys, got, strict=True) if k[1] == 7]
    assert flipped  # some keys flip and some do not: both paths drew alike
    for i in range(len(files.val_set)):
        assert torch.equal(memory.val_set[i]["image"], files.val_set[i]["image"])


def test_deep_images_and_sets_over_the_bound_stay_on_the_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = readable_user_folder(tmp_path / "imgs")
    with caplog.at_level(logging.INFO, logger="genzoo"):
        deep = _module(folder)
        deep.setup("fit")
        deep.train_dataloader()
    assert deep.train_set.decoded is None
    assert "deeper than 8 bits" in caplog.text
    (folder / "grey16.png").unlink()
    over = _module(folder, memory_limit_mb=0)
    over.setup("fit")
    over.train_dataloader()
    assert isinstance(over.train_set, ImageFileDataset)
    fits = _module(folder)
    fits.setup("fit")
    fits.val_dataloader()  # genzoo-eval reads the held-out images only ...
    assert fits.train_set.decoded is None and fits.val_set.decoded is not None
    fits.train_dataloader()  # ... training decodes its own once its loader is made
    assert isinstance(fits.train_set.decoded, TensorImageDataset)
    with pytest.raises(Exception, match="data.in_memory=sometimes is not known"):
        _module(folder, in_memory="sometimes").setup("fit")


def test_resume_on_decoded_images_is_exact(make_cfg, tmp_path: Path) -> None:
    folder = tmp_path / "faces"
    write_images(folder, 40, size=(24, 20), suffix=".jpg")
    args = [
        "data=image_folder",
        f"data.path={folder}",
        "data.image_size=16",
        "data.batch_size=4",
        "data.num_workers=0",
        "model.hidden_channels=8",
        "model.latent_dim=4",
        "model.iw_samples=2",
        "trainer=cpu",
        "trainer.max_epochs=-1",
        "trainer.limit_val_batches=1",
        "callbacks.image_grid.every_n_steps=0",
        "trainer.deterministic=true",
    ]
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(make_cfg(*args, "trainer.max_steps=14", run_dir=whole))
    train(make_cfg(*args, "trainer.max_steps=6", run_dir=split))  # mid-epoch (9 an epoch)
    train(make_cfg(*args, "trainer.max_steps=14", "resume=true", run_dir=split))
    a, b = (torch.load(r / "checkpoints" / "last.ckpt", weights_only=False) for r in (whole, split))
    assert a["global_step"] == b["global_step"] == 14
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=key)


def _same_items(one, other, keys) -> None:
    for key in keys:
        a, b = one[key], other[key]
        assert a.keys() == b.keys()
        for name in a:
            assert torch.equal(a[name], b[name]), (key, name)


def test_translation_and_sr_folders_decoded_once_give_the_same_items(tmp_path: Path) -> None:
    from genzoo.data.decoded import DecodedFiles
    from genzoo.data.super_resolution import SRFolderDataModule
    from genzoo.data.translation import PairedDataModule, UnpairedDataModule
    from tests.test_translation import write_aligned

    for split in ("train", "val"):
        write_aligned(tmp_path / "pairs" / split, 3)
    for domain in ("trainA", "trainB", "testA", "testB"):
        write_images(tmp_path / "unpaired" / domain, 3, size=(30, 26), prefix=domain)
    write_images(tmp_path / "hr", 4, size=(50, 40))
    keys = [(i, seed) for seed in (0, 5, 9) for i in range(3)]
    builders = {
        "paired": lambda mode: PairedDataModule(
            path=str(tmp_path / "pairs"), load_size=40, crop_size=32, num_workers=0,
            in_memory=mode,
        ),
        "unpaired": lambda mode: UnpairedDataModule(
            path=str(tmp_path / "unpaired"), load_size=28, crop_size=24, num_workers=0,
            in_memory=mode,
        ),
        "sr": lambda mode: SRFolderDataModule(
            train_dir=str(tmp_path / "hr"), val_dir=str(tmp_path / "hr"), hr_size=16,
            train_crops=8, batch_size=4, num_workers=0, in_memory=mode,
        ),
    }  # fmt: skip
    for name, build in builders.items():
        memory, files = build(True), build(False)
        memory.setup("fit")
        files.setup("fit")
        for module in (memory, files):
            module.train_dataloader(), module.val_dataloader()
        reads = [getattr(memory.train_set, "read", None), getattr(files.train_set, "read", None)]
        if name == "sr":
            reads = [memory.train_set.images.read_file, files.train_set.images.read_file]
        assert isinstance(reads[0], DecodedFiles) and reads[0].cache is not None, name
        assert getattr(reads[1], "cache", None) is None, name
        _same_items(memory.train_set, files.train_set, keys)
        _same_items(memory.val_set, files.val_set, range(len(files.val_set)))
