"""Per-image fidelity of reconstructions and restorations, in [0, 1] images (torchmetrics)."""

from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio


def per_image_psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each image pair, (B, C, H, W) x2 -> (B,); data range 1."""
    return peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3))
