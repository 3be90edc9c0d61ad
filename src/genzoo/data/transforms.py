"""Tensor transforms shared by datamodules. Images are float (C, H, W) or (B, C, H, W) in [0, 1]."""

from __future__ import annotations

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
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(3, 1, 1)
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
    in 8 bits: the result stays on the 8-bit grid (what discretised likelihoods assume), and
    PyTorch's uint8 kernel is several times faster than the float one. Off the CPU, where
    that kernel is missing, the float resize is rounded to the same grid."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x.float() / 255.0
    if x.device.type != "cpu":
        out = F.interpolate(
            x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        return out.round().clamp(0, 255) / 255.0
    out = F.interpolate(
        x.contiguous(memory_format=torch.channels_last),  # the fast uint8 path wants NHWC
        size=(size, size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return out.float() / 255.0  # still NHWC: the loader's collate stacks a fresh batch anyway


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
