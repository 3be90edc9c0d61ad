"""Real super-resolution sets with download code: DIV2K (Agustsson & Timofte 2017) for training
and the benchmarks Set5, Set14, BSD100 and Urban100 for evaluation.

Archives land in `<root>/<set>/` (root: data.root, $GENZOO_DATA, or ~/.cache/genzoo/datasets),
are verified, and are extracted once. A set whose folder already holds its images is used as it
is, so users without network access can place the files by hand.
"""

from __future__ import annotations

import logging
import tarfile
import zipfile
from pathlib import Path

from genzoo.data.downloads import download
from genzoo.data.errors import DatasetError
from genzoo.data.folders import IMAGE_SUFFIXES
from genzoo.data.super_resolution import SRFolderDataModule

log = logging.getLogger("genzoo")

DIV2K_URL = "http://data.vision.ee.ethz.ch/cvl/DIV2K/"
DIV2K_ARCHIVES = {  # archive -> (md5, folder inside it)
    "train": ("DIV2K_train_HR.zip", "bdc2d9338d4e574fe81bf7d158758658", "DIV2K_train_HR"),
    "valid": ("DIV2K_valid_HR.zip", "9fcdda83005c5e5997799b69f955ff88", "DIV2K_valid_HR"),
}
# The benchmarks as eugenesiow's Hugging Face mirrors publish them (HR images only). Their
# archives' checksums were not published beside them; the image count is checked instead.
_HF = "https://huggingface.co/datasets/eugenesiow/{name}/resolve/main/data/{name}_HR.tar.gz"
BENCHMARKS = {  # data.name -> (mirror name, number of HR images)
    "set5": ("Set5", 5),
    "set14": ("Set14", 14),
    "bsd100": ("BSD100", 100),
    "urban100": ("Urban100", 100),
}


def extract(archive: Path, into: Path) -> None:
    """Unpack a .zip or .tar.gz into `into`, refusing members that would land outside it."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    _inside(into, member, archive)
                zf.extractall(into)
        else:
            with tarfile.open(archive) as tf:
                for member in tf.getnames():
                    _inside(into, member, archive)
                tf.extractall(into, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise DatasetError(
            f"cannot extract {archive} ({err}): the file is damaged; delete it and run again"
        ) from err


def _inside(root: Path, member: str, archive: Path) -> None:
    if not (root / member).resolve().is_relative_to(root.resolve()):
        raise DatasetError(f"{archive} holds a path outside its folder ({member}); not extracted")


def _has_images(folder: Path) -> int:
    return (
        sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if folder.is_dir()
        else 0
    )


class DIV2KDataModule(SRFolderDataModule):
    """DIV2K: 800 training and 100 validation 2K images (HR; LR is made on the fly)."""

    name = "div2k"

    def __init__(self, download: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.download = download

    @property
    def folder(self) -> Path:
        return self.root / "DIV2K"

    def describe(self) -> str:
        return f"DIV2K in {self.folder}"

    def prepare_data(self) -> None:
        for split, (archive, md5, inner) in DIV2K_ARCHIVES.items():
            if _has_images(self.folder / inner):
                continue
            hint = (
                f"Or download {DIV2K_URL}{archive} by hand into {self.folder} "
                f"(data.root sets the parent folder)."
            )
            if not self.download:
                raise DatasetError(f"DIV2K {split} images are not in {self.folder / inner}. {hint}")
            log.info("downloading DIV2K %s (%s) to %s", split, archive, self.folder)
            path = download([DIV2K_URL + archive], self.folder / archive, md5, hint)
            extract(path, self.folder)

    def folders(self) -> tuple[Path | None, Path]:
        self.prepare_data()
        return self.folder / DIV2K_ARCHIVES["train"][2], self.folder / DIV2K_ARCHIVES["valid"][2]


class SRBenchmarkDataModule(SRFolderDataModule):
    """One evaluation benchmark (data.name: set5, set14, bsd100, urban100): whole HR images."""

    def __init__(self, name: str = "set5", download: bool = True, **kwargs) -> None:
        if name not in BENCHMARKS:
            raise DatasetError(f"data.name={name} is not known: use {', '.join(BENCHMARKS)}")
        super().__init__(**kwargs)
        self.name, self.download = name, download

    @property
    def folder(self) -> Path:
        return self.root / BENCHMARKS[self.name][0]

    def describe(self) -> str:
        return f"{BENCHMARKS[self.name][0]} in {self.folder}"

    def prepare_data(self) -> None:
        mirror, count = BENCHMARKS[self.name]
        hr = self.folder / f"{mirror}_HR"
        if _has_images(hr):
            return
        url = _HF.format(name=mirror)
        hint = f"Or download {url} by hand and extract it into {self.folder}."
        if not self.download:
            raise DatasetError(f"{mirror} images are not in {hr}. {hint}")
        log.info("downloading %s to %s", mirror, self.folder)
        path = download([url], self.folder / f"{mirror}_HR.tar.gz", None, hint)
        extract(path, self.folder)
        if (found := _has_images(hr)) != count:
            raise DatasetError(
                f"{path} gave {found} images in {hr}, not the {count} of {mirror}: delete "
                f"{self.folder} and download again. {hint}"
            )

    def folders(self) -> tuple[Path | None, Path]:
        self.prepare_data()
        return None, self.folder / f"{BENCHMARKS[self.name][0]}_HR"

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            raise DatasetError(
                f"data={self.name} is an evaluation set: train on DIV2K, a folder or the "
                f"embedded photos, and evaluate with genzoo-eval run=<run> data={self.name}"
            )
        super().setup(stage)
