"""Folders of images as users have them: odd modes, EXIF rotation, broken and non-image files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo.data.errors import DatasetError
from genzoo.data.folders import ImageFolderDataModule, open_image
from genzoo.data.transforms import center_crop_resize, pil_to_tensor

BAD = ("empty.png", "truncated.png", "notes.png")


def write_user_folder(folder: Path) -> Path:
    """Every kind of file a real folder holds: 9 readable images and 3 unreadable files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "photo.png")
    Image.fromarray(rgb[..., 0]).save(folder / "grey.png")
    ramp = np.linspace(0, 65535, 48 * 48).reshape(48, 48).astype(np.uint16)
    Image.fromarray(ramp).save(folder / "grey16.png")  # 16-bit grey: mode I;16
    rgba = np.dstack([rgb, np.full((48, 64), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.gif")
    Image.fromarray(rgb).convert("CMYK").save(folder / "print.jpg")
    Image.fromarray(rgb).save(folder / "UPPER.JPG")
    Image.fromarray(rgb[:6, :6]).save(folder / "tiny.png")
    Image.fromarray(np.tile(rgb, (20, 20, 1))).save(folder / "large.jpg")
    # EXIF orientation 6 (rotate 90 degrees clockwise to view): stored 64 wide, 48 high.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(folder / "rotated.jpg", exif=exif)
    (folder / "empty.png").write_bytes(b"")
    png = (folder / "photo.png").read_bytes()
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "notes.png").write_text("not an image")
    return folder


def test_every_readable_mode_loads_as_rgb_in_range(tmp_path: Path) -> None:
    folder = write_user_folder(tmp_path / "imgs")
    for path in sorted(folder.iterdir()):
        if path.name in BAD:
            continue
        x = pil_to_tensor(center_crop_resize(open_image(path), 16))
        assert x.shape == (3, 16, 16) and x.min() >= 0 and x.max() <= 1, path.name
    grey16 = pil_to_tensor(open_image(folder / "grey16.png"))
    assert grey16.min() < 0.01 and grey16.max() > 0.99  # full range, not clipped to white
    assert 0.4 < grey16.mean() < 0.6
    assert open_image(folder / "rotated.jpg").size == (48, 64)  # EXIF rotation applied
    alpha = pil_to_tensor(open_image(folder / "alpha.png"))
    assert alpha.mean() > pil_to_tensor(open_image(folder / "photo.png")).mean()  # on white


def readable_user_folder(folder: Path) -> Path:
    """`write_user_folder` without its unreadable files."""
    write_user_folder(folder)
    for name in BAD:
        (folder / name).unlink()
    return folder


def _module(folder: Path, **kwargs) -> ImageFolderDataModule:
    """The file path (decoding per batch), which these tests are about; test_data_path.py
    covers the decoded-once path."""
    args = dict(
        path=str(folder), image_size=16, batch_size=2, num_workers=0, val_fraction=0.2,
        in_memory=False,
    )  # fmt: skip
    return ImageFolderDataModule(**(args | kwargs))


def test_unreadable_files_are_listed_at_setup(tmp_path: Path) -> None:
    folder = write_user_folder(tmp_path / "imgs")
    with pytest.raises(DatasetError) as err:
        _module(folder).setup("fit")
    message = str(err.value)
    assert "3 of 13 files" in message and "data.on_error=skip" in message
    for name in BAD:
        assert name in message


def test_skip_warns_once_at_setup_and_trains_on_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_user_folder(tmp_path / "imgs")
    dm = _module(folder, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="genzoo"):
        dm.setup("fit")
        for _ in range(2):  # two epochs: nothing more is said
            for batch in dm.train_dataloader():
                assert batch["image"].shape[1:] == (3, 16, 16)
    warnings = [r.getMessage() for r in caplog.records if "on_error=skip" in r.getMessage()]
    assert len(warnings) == 1 and "leaving out 3 unreadable" in warnings[0]
    assert "set data.on_error=skip" not in warnings[0]
    assert len(dm.train_set) + len(dm.val_set) == 10


def test_fewer_images_than_a_batch_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    dm = _module(folder, batch_size=8, val_fraction=0.0)
    dm.setup("fit")
    with pytest.raises(DatasetError, match=r"3 training images, fewer than data.batch_size=8"):
        dm.train_dataloader()
    dm = _module(folder, batch_size=3, val_fraction=0.0)
    dm.setup("fit")
    assert len(next(iter(dm.train_dataloader()))["image"]) == 3


def test_decode_failure_after_setup_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file whose header is fine but whose data is not: skipped once, not every epoch."""
    folder = readable_user_folder(tmp_path / "imgs")
    dm = _module(folder, on_error="skip", val_fraction=0.0)
    dm.setup("fit")
    target = dm.train_set.files[0]
    data = target.read_bytes()
    dm.train_set.files[0].write_bytes(data[:200])  # cut inside the image data
    with caplog.at_level(logging.WARNING, logger="genzoo"):
        for _ in range(3):
            images = [dm.train_set[i]["image"] for i in range(len(dm.train_set))]
    assert all(torch.isfinite(x).all() for x in images)
    assert sum(str(target) in r.getMessage() for r in caplog.records) == 1
