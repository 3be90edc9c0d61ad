"""Procedural labels -> facade pairs (embedded, offline): the lecture's Pix2Pix task, learnable
on a CPU in minutes, with a ground truth for every input.

A random layout (sky band, floors of windows, balconies, a door on the ground floor) is drawn
from each sample's own seed (data/sampling.py). `A` is its label map, one flat colour per class
as in the CMP facade labels; `B` is the rendered facade: brick wall with mortar lines, framed
windows with a cross bar and a glass gradient, a panelled door, railed balconies, a sky
gradient, and a lighting gradient over the whole picture.

`colour_jitter` sets the per-image randomness the label does not show (wall tint, lighting
direction and strength, both mild): 0 makes B a function of A, for comparing losses without noise.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

# Label colours (A): one per class.
LABEL_COLOURS = {
    "sky": (0.0, 0.8, 1.0),
    "wall": (0.0, 0.0, 0.67),
    "window": (1.0, 0.33, 0.0),
    "door": (0.67, 1.0, 0.33),
    "balcony": (1.0, 1.0, 0.0),
}
LABEL_RGB = {k: np.array(v, dtype=np.float32)[:, None, None] for k, v in LABEL_COLOURS.items()}
WALL = np.array([0.72, 0.42, 0.32], np.float32)  # brick


def _uniform(gen: np.random.Generator, low: float, high: float) -> float:
    return float(gen.uniform(low, high))


def _int(gen: np.random.Generator, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return int(gen.integers(low, high + 1))


@lru_cache(maxsize=8)
def _grids(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What depends on the size alone, made once per size (at 256 px the mortar pattern's float
    modulo was a third of a pair's cost): pixel rows and columns, the mortar shading, the sky."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    brick = max(2, round(4 * size / 64))
    mortar = (rows % brick == 0) | (((cols + (rows // brick % 2) * brick) % (2 * brick)) == 0)
    shade = np.where(mortar, 0.8, 1.0).astype(np.float32)
    sky = np.stack([0.55 + 0.4 * rows / size, 0.7 + 0.25 * rows / size, np.ones_like(rows)])
    for array in (rows, cols, shade, sky):
        array.flags.writeable = False  # shared by every pair of this size
    return rows, cols, shade, sky


def facade_pair(
    seed: int, size: int = 64, colour_jitter: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(label map A, facade B), each float (3, size, size) in [0, 1], from one seed."""
    # numpy, not torch: a layout is a few hundred tiny array operations, ~5x faster in numpy.
    gen = np.random.default_rng(seed)
    s = size / 64  # layouts are drawn on a 64-pixel grid and scaled
    label = np.empty((3, size, size), np.float32)
    label[:] = LABEL_RGB["wall"]
    rows, cols, shade, sky = _grids(size)

    # Wall: brick with a jittered tint, mortar every 4 rows, joints every 8 columns, staggered.
    wall = np.clip(WALL + colour_jitter * 0.08 * (gen.random(3, np.float32) - 0.5), 0, 1)
    facade = wall[:, None, None] * shade

    sky_height = round(_int(gen, 4, 14) * s)
    label[:, :sky_height] = LABEL_RGB["sky"]
    facade[:, :sky_height] = sky[:, :sky_height]

    floors, columns = _int(gen, 3, 5), _int(gen, 2, 5)
    top = sky_height + round(2 * s)
    floor_h = (size - top) / floors
    col_w = size / columns
    door_col = _int(gen, 0, columns - 1)
    for f in range(floors):
        y0 = top + round(f * floor_h)
        ground = f == floors - 1
        win_h = max(3, round(floor_h * _uniform(gen, 0.45, 0.65)))
        win_w = max(3, round(col_w * _uniform(gen, 0.35, 0.6)))
        balcony = not ground and gen.random() < 0.35
        for c in range(columns):
            x0 = round(c * col_w + (col_w - win_w) / 2)
            if ground and c == door_col:  # the door reaches the bottom edge
                dw = max(4, round(col_w * 0.6))
                _draw_door(label, facade, round(c * col_w + (col_w - dw) / 2), dw,
                           y0 + max(1, round(floor_h * 0.15)))  # fmt: skip
                continue
            wy = y0 + round((floor_h - win_h) / 3)
            _draw_window(label, facade, rows, x0, wy, win_w, win_h)
            if balcony:
                _draw_balcony(label, facade, cols, x0, wy + win_h, win_w, max(2, round(2 * s)))
    # Lighting: a linear gradient in a random direction, darker on one side.
    angle = 0.8 + colour_jitter * _uniform(gen, -0.5, 0.5)
    strength = 0.12 + colour_jitter * _uniform(gen, -0.04, 0.04)
    # A row term plus a column term: made from one row and one column of the grids.
    ramp = (
        (np.cos(angle) * (cols[:1] / size - 0.5) + np.sin(angle) * (rows[:, :1] / size - 0.5))
        * 2
        * strength
    )
    lit = facade * (1 + ramp)
    np.clip(lit, 0, 1, out=lit)
    return torch.from_numpy(label), torch.from_numpy(lit.astype(np.float32))


def _draw_door(label: np.ndarray, facade: np.ndarray, dx: int, dw: int, dy: int) -> None:
    """A door from row dy to the bottom edge, dw wide at column dx: frame and panel line."""
    size = label.shape[-1]
    label[:, dy:, dx : dx + dw] = LABEL_RGB["door"]
    facade[:, dy:, dx : dx + dw] = np.array([0.42, 0.26, 0.14])[:, None, None]
    facade[:, dy:, dx] = facade[:, dy:, dx + dw - 1] = 0.2  # frame
    facade[:, dy, dx : dx + dw] = 0.2
    facade[:, dy + (size - dy) // 2, dx + 1 : dx + dw - 1] = 0.3  # panel line


def _draw_window(
    label: np.ndarray, facade: np.ndarray, rows: np.ndarray, x0: int, wy: int, w: int, h: int
) -> None:
    """A window at (wy, x0), w x h: glass darker at the top, a white frame and cross bars."""
    label[:, wy : wy + h, x0 : x0 + w] = LABEL_RGB["window"]
    glass = 0.15 + 0.35 * (rows[wy : wy + h, x0 : x0 + w] - wy) / h
    facade[:, wy : wy + h, x0 : x0 + w] = np.stack([glass, glass * 1.1 + 0.03, glass * 1.3 + 0.08])
    frame = np.array([0.95, 0.95, 0.92], np.float32)[:, None]
    facade[:, wy, x0 : x0 + w] = frame
    facade[:, wy + h - 1, x0 : x0 + w] = frame
    facade[:, wy : wy + h, x0] = frame
    facade[:, wy : wy + h, x0 + w - 1] = frame
    facade[:, wy + h // 2, x0 : x0 + w] = frame  # cross bar
    facade[:, wy : wy + h, x0 + w // 2] = frame


def _draw_balcony(
    label: np.ndarray, facade: np.ndarray, cols: np.ndarray, x0: int, by: int, w: int, bh: int
) -> None:
    """A railing bh rows high under a window of width w at column x0."""
    size = label.shape[-1]
    bx0, bx1 = max(0, x0 - 1), min(size, x0 + w + 1)
    label[:, by : by + bh, bx0:bx1] = LABEL_RGB["balcony"]
    facade[:, by : by + bh, bx0:bx1] = np.where(cols[by : by + bh, bx0:bx1] % 2 == 0, 0.25, 0.55)


class SyntheticFacades(torch.utils.data.Dataset):
    """`length` pairs {'A': labels, 'B': facade}; sample i's layout comes from its key's seed,
    offset by `seed_offset` (held-out layouts use another range than training ones)."""

    def __init__(self, length: int, size: int, colour_jitter: float, seed_offset: int) -> None:
        self.length, self.size = length, size
        self.colour_jitter, self.seed_offset = colour_jitter, seed_offset

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        from genzoo.data.sampling import key_parts

        _, seed = key_parts(key)
        a, b = facade_pair(self.seed_offset + seed % 2**40, self.size, self.colour_jitter)
        return {"A": a, "B": b}
