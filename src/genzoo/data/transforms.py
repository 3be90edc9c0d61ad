"""Tensor transforms shared by datamodules. Images are float (C, H, W) or (B, C, H, W) in [0, 1]."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from PIL import Image


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert grey <-> RGB along dim -3 (luma weights of ITU-R BT.601)."""
    have = x.shape[-3]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return x.expand(*x.shape[:-3], 3, *x.shape[-2:]).clone()
    if have == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(3, 1, 1)
        return (x * weights).sum(dim=-3, keepdim=True)
    raise ValueError(f"cannot convert {have} channels to {channels}: use channels=1 or 3")


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize square images to size x size (bilinear, antialiased when shrinking)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    batched = x.dim() == 4
    out = F.interpolate(
        x if batched else x[None],
        size=(size, size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    ).clamp(0, 1)
    return out if batched else out[0]


def resize_uint8(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images (B, C, H, W) -> float in [0, 1] at size x size, resized like `resize` but
    in 8 bits: the result stays on the 8-bit grid (what discretised likelihoods assume).

    On the CPU this is PyTorch's uint8 kernel (several times faster than the float one). It
    computes in fixed point: int16 weights, a horizontal then a vertical pass, each rounded
    to 8 bits. No other device has that kernel, so there the same integer arithmetic runs as
    float64 matrix products (`_fixed_point_resize`), which are exact: every partial sum is an
    integer below 2**31. Both paths give the same bytes (tests/test_on_device.py).
    """
    if x.shape[-1] == size and x.shape[-2] == size:
        return x.float() / 255.0
    if x.device.type != "cpu":
        return _fixed_point_resize(x, size).float() / 255.0
    out = F.interpolate(
        x.contiguous(memory_format=torch.channels_last),  # the fast uint8 path wants NHWC
        size=(size, size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return out.float() / 255.0  # still NHWC: the loader's collate stacks a fresh batch anyway


@functools.lru_cache(maxsize=64)
def _fixed_point_weights(in_size: int, out_size: int) -> tuple[torch.Tensor, int]:
    """The (out, in) integer weights of PyTorch's uint8 antialiased bilinear kernel along one
    axis, and their precision in bits (aten/src/ATen/native/cpu/UpSampleKernel.cpp: the
    triangle filter widened by the scale when shrinking, normalised per output pixel, then
    scaled to the most bits that keep the largest weight within int16)."""
    scale = in_size / out_size
    support, inverse = (scale, 1.0 / scale) if scale >= 1.0 else (1.0, 1.0)
    rows: list[tuple[int, list[float]]] = []
    for i in range(out_size):
        center = scale * (i + 0.5)
        first = max(int(center - support + 0.5), 0)
        count = min(int(center + support + 0.5), in_size) - first
        taps = [max(1.0 - abs((j + first - center + 0.5) * inverse), 0.0) for j in range(count)]
        total = sum(taps)
        rows.append((first, [t / total if total else 0.0 for t in taps]))
    largest = max(max(taps) for _, taps in rows)
    bits = 0
    while bits < 22 and int(0.5 + largest * (1 << (bits + 1))) < (1 << 15):
        bits += 1
    weights = torch.zeros(out_size, in_size, dtype=torch.float64)
    for i, (first, taps) in enumerate(rows):
        for j, tap in enumerate(taps):
            weights[i, first + j] = math.floor(tap * (1 << bits) + 0.5)  # taps are >= 0
    return weights, bits


def _fixed_point_pass(
    x: torch.Tensor, weights: torch.Tensor, bits: int, rows: bool
) -> torch.Tensor:
    """One axis of `_fixed_point_resize`, rounded to 8 bits as the kernel's buffer is."""
    weights = weights.to(x.device)
    x = weights @ x if rows else x @ weights.T
    return torch.floor((x + (1 << (bits - 1))) / (1 << bits)).clamp(0, 255)


def _fixed_point_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, C, H, W) -> uint8 (B, C, size, size), PyTorch's CPU uint8 kernel's bytes."""
    height, width = x.shape[-2:]
    out = x.to(torch.float64)
    if width != size:  # the kernel's order: horizontal first, then vertical
        out = _fixed_point_pass(out, *_fixed_point_weights(width, size), rows=False)
    if height != size:
        out = _fixed_point_pass(out, *_fixed_point_weights(height, size), rows=True)
    return out.to(torch.uint8)


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL image (any mode) -> float (3, H, W) in [0, 1].

    16- and 32-bit grey keep their full range (PIL's own conversion to RGB clips them), and
    transparent pixels (RGBA, LA, palettes with transparency) are laid on white.
    """
    import numpy as np

    if img.mode.startswith("I;16") or img.mode == "I":
        grey = np.asarray(img, dtype=np.float32) / 65535.0
        return torch.from_numpy(grey.clip(0, 1)).expand(3, -1, -1).clone()
    if img.mode == "F":
        grey = np.asarray(img, dtype=np.float32)
        return torch.from_numpy(grey.clip(0, 1)).expand(3, -1, -1).clone()
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0


def center_crop_resize(img: Image.Image, size: int, crop: int | None = None) -> Image.Image:
    """Center-crop a `crop` square (default: the shorter side), then resize to `size`."""
    w, h = img.size
    c = min(crop or min(w, h), w, h)
    left, top = (w - c) // 2, (h - c) // 2
    return img.crop((left, top, left + c, top + c)).resize((size, size), Image.Resampling.BICUBIC)
