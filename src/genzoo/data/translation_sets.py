"""The published image-to-image datasets, downloaded from their authors' archives.

Pix2Pix sets (aligned A|B images in train/ val/ [test/]): facades, edges2shoes, maps,
cityscapes, from http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/<name>.tar.gz. Their
checksums were not published; the number of training images is checked instead.

CycleGAN sets (trainA/ trainB/ testA/ testB/): horse2zebra, apple2orange, monet2photo,
summer2winter_yosemite, from http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/<name>.zip,
checked against the SHA-256 digests TensorFlow Datasets publishes for the same archives.

Archives land in `<root>/<name>.*` (root: data.root, $GENZOO_DATA or ~/.cache/genzoo/datasets)
and are extracted to `<root>/<name>/` once. A folder already holding the images is used as it
is, so users without network access can place the files by hand.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from genzoo.data.downloads import download
from genzoo.data.errors import DatasetError
from genzoo.data.folders import IMAGE_SUFFIXES
from genzoo.data.sr_sets import extract
from genzoo.data.translation import PairedDataModule, UnpairedDataModule

log = logging.getLogger("genzoo")

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
CYCLEGAN_MIRROR = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip"

# name -> (training pairs, held-out split, direction from labels / edges / maps to photos)
PIX2PIX_SETS = {
    "facades": (400, "val", "BtoA"),
    "edges2shoes": (49825, "val", "AtoB"),
    "maps": (1096, "val", "AtoB"),
    "cityscapes": (2975, "val", "BtoA"),
}
CYCLEGAN_SETS = {  # name -> SHA-256 of the archive
    "horse2zebra": "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
    "apple2orange": "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8",
    "monet2photo": "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04",
    "summer2winter_yosemite": "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
}


def count_images(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def check_known(name: str, sets: dict) -> None:
    if name not in sets:
        raise DatasetError(f"data.name={name} is not known: use {', '.join(sets)}")


class NamedRelease:
    """A published set under the data root, in the folder of its name."""

    name: Any  # a str set by the subclass; LightningDataModule types it Optional
    root: Path

    def folder(self) -> Path:
        return self.root / self.name

    def describe(self) -> str:
        return f"{self.name} in {self.folder()}"


class Pix2PixSetDataModule(NamedRelease, PairedDataModule):
    """One of `PIX2PIX_SETS` (data.name), aligned pairs."""

    def __init__(self, name: str = "facades", download: bool = True, **kwargs) -> None:
        check_known(name, PIX2PIX_SETS)
        super().__init__(layout="aligned", **kwargs)
        self.name, self.download = name, download

    def prepare_data(self) -> None:
        expected = PIX2PIX_SETS[self.name][0]
        if count_images(self.folder() / "train"):
            return
        url = PIX2PIX_URL.format(name=self.name)
        hint = f"Or download {url} by hand and extract it into {self.root}."
        if not self.download:
            raise DatasetError(f"{self.name} images are not in {self.folder() / 'train'}. {hint}")
        log.info("downloading %s to %s", self.name, self.root)
        archive = download([url], self.root / f"{self.name}.tar.gz", None, hint)
        extract(archive, self.root)
        found = count_images(self.folder() / "train")
        if found != expected:
            raise DatasetError(
                f"{archive} gave {found} training images in {self.folder() / 'train'}, not the "
                f"{expected} of {self.name}: delete {archive} and {self.folder()} and download "
                f"again. {hint}"
            )

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        super().setup(stage)


class CycleGANSetDataModule(NamedRelease, UnpairedDataModule):
    """One of `CYCLEGAN_SETS` (data.name): trainA/ trainB/ testA/ testB/."""

    def __init__(self, name: str = "horse2zebra", download: bool = True, **kwargs) -> None:
        check_known(name, CYCLEGAN_SETS)
        super().__init__(**kwargs)
        self.name, self.download = name, download

    def prepare_data(self) -> None:
        if all(count_images(self.folder() / d) for d in ("trainA", "trainB", "testA", "testB")):
            return
        urls = [u.format(name=self.name) for u in (CYCLEGAN_URL, CYCLEGAN_MIRROR)]
        hint = f"Or download {urls[0]} by hand and extract it into {self.root}."
        if not self.download:
            raise DatasetError(
                f"{self.name} images are not in {self.folder()}/trainA, trainB, testA, testB. "
                + hint
            )
        log.info("downloading %s to %s", self.name, self.root)
        archive = download(urls, self.root / f"{self.name}.zip", CYCLEGAN_SETS[self.name], hint)
        extract(archive, self.root)

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        super().setup(stage)
