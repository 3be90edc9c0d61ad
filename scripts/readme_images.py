"""Copy a run's own image into docs/images, enlarged with nearest-neighbour pixels only, so that
the README shows exactly what a run writes (the same grid, rows and columns), just bigger.

    python scripts/readme_images.py runs/cyclegan_photos/long translate_AtoB cyclegan_photos 2

reads <run>/images/<image>_latest.png and writes docs/images/<name>.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"


def copy_enlarged(run: Path, image: str, name: str, scale: int) -> Path:
    source = run / "images" / f"{image}_latest.png"
    if not source.is_file():
        raise SystemExit(f"error: {source} does not exist: train the run first")
    picture = Image.open(source)
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    target = DOCS / f"{name}.png"
    picture.save(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the run directory")
    parser.add_argument("image", help="the image's name in <run>/images, without _latest.png")
    parser.add_argument("name", help="the file name in docs/images, without .png")
    parser.add_argument("scale", type=int, nargs="?", default=1, help="whole-number enlargement")
    args = parser.parse_args()
    print(copy_enlarged(args.run, args.image, args.name, args.scale))


if __name__ == "__main__":
    main()
