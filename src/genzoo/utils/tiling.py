"""Upscaling images of any size in overlapping tiles, so memory stays bounded.

Each tile is upscaled with `overlap` LR pixels of context on every inner side; only its core is
kept, and neighbouring cores meet in the middle of their overlap. With the overlap wider than
the network's effective receptive field the result equals the untiled one (no seams).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of side `tile` covering [0, length), consecutive tiles sharing at
    least 2 * overlap pixels; the last tile ends at `length`."""
    if length <= tile:
        return [0]
    step = max(1, tile - 2 * overlap)
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _cores(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """The part [begin, end) each tile contributes: boundaries in the middle of overlaps."""
    bounds = [0]
    for here, after in zip(starts, starts[1:], strict=False):
        bounds.append((here + tile + after) // 2)
    bounds.append(length)
    return list(zip(bounds, bounds[1:], strict=False))


def upscale_tiled(
    upscale: Callable[[torch.Tensor], torch.Tensor],
    lr: torch.Tensor,
    scale: int,
    tile: int = 192,
    overlap: int = 24,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h * scale, w * scale) through `upscale`, tile by tile;
    `progress(done, total)` after each tile of an image that needs several."""
    if tile <= 2 * overlap:
        raise ValueError(f"tile={tile} must be larger than twice overlap={overlap}")
    _, _, h, w = lr.shape
    rows, cols = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    if len(rows) == 1 and len(cols) == 1:
        return upscale(lr)
    out = lr.new_empty(lr.shape[0], lr.shape[1], h * scale, w * scale)
    done, total = 0, len(rows) * len(cols)
    for top, (r0, r1) in zip(rows, _cores(rows, tile, h), strict=True):
        for left, (c0, c1) in zip(cols, _cores(cols, tile, w), strict=True):
            sr = upscale(lr[..., top : top + tile, left : left + tile])
            done += 1
            if progress is not None:
                progress(done, total)
            out[..., r0 * scale : r1 * scale, c0 * scale : c1 * scale] = sr[
                ...,
                (r0 - top) * scale : (r1 - top) * scale,
                (c0 - left) * scale : (c1 - left) * scale,
            ]
    return out
