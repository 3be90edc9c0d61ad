"""Small datasets written in the real on-disk formats, for testing the loaders offline."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes (LeCun's MNIST format), gzipped like the originals."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, folder: str = "mnist", n_train: int = 64, n_test: int = 32) -> Path:
    rng = np.random.default_rng(0)
    out = root / folder
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(out / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(out / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    return out


def write_cifar10(root: Path, per_batch: int = 16) -> Path:
    rng = np.random.default_rng(0)
    out = root / "cifar10" / "cifar-10-batches-py"
    out.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {
            "batch_label": name,
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, per_batch).tolist(),
            "filenames": [f"{name}_{i}.png" for i in range(per_batch)],
        }
        with open(out / name, "wb") as fh:
            pickle.dump(entry, fh, protocol=2)
    return out


def write_images(
    folder: Path,
    count: int,
    size: tuple[int, int] = (178, 218),
    prefix: str = "",
    suffix: str = ".jpg",
) -> list[Path]:
    rng = np.random.default_rng(count)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i + 1:06d}{suffix}"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def write_celeba(root: Path, n: int = 12) -> Path:
    out = root / "celeba"
    files = write_images(out / "img_align_celeba", n)
    lines = [
        f"{p.name} {0 if i < n // 2 else 1 if i < 3 * n // 4 else 2}" for i, p in enumerate(files)
    ]
    (out / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return out


def write_all(root: Path) -> Path:
    write_mnist(root, "mnist")
    write_mnist(root, "fashion_mnist")
    write_cifar10(root)
    write_celeba(root)
    write_images(root / "folder", 8, size=(80, 80), suffix=".png")
    write_images(root / "DIV2K" / "DIV2K_train_HR", 4, size=(120, 100), suffix=".png")
    write_images(root / "DIV2K" / "DIV2K_valid_HR", 2, size=(120, 100), suffix=".png")
    for mirror, count in (("Set5", 5), ("Set14", 14), ("BSD100", 3), ("Urban100", 3)):
        write_images(root / mirror / f"{mirror}_HR", count, size=(64, 52), suffix=".png")
    for name in ("facades", "edges2shoes", "maps", "cityscapes"):  # aligned A|B pairs
        write_images(root / name / "train", 4, size=(64, 32))
        write_images(root / name / "val", 2, size=(64, 32))
    for name in ("horse2zebra", "apple2orange", "monet2photo", "summer2winter_yosemite"):
        for domain, count in (("trainA", 4), ("trainB", 3), ("testA", 2), ("testB", 2)):
            write_images(root / name / domain, count, size=(40, 36))
    return root
