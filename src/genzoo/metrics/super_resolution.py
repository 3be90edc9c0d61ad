"""The standard super-resolution protocol: PSNR and SSIM on the luma (Y) channel with a border
of `scale` pixels cropped (as in Ledig et al. 2017, sec. 3.2, and the SR literature since
Dong et al. 2014), averaged over images, plus an offline measure of high-frequency detail.

Y is ITU-R BT.601 luma of 8-bit studio range, as MATLAB's rgb2ycbcr computes it:
Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1], so Y spans [16, 235] / 255.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

from genzoo.metrics.reconstruction import per_image_psnr

_Y_WEIGHTS = (65.481, 128.553, 24.966)
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) luma in [0, 1]; grey (B, 1, H, W) passes."""
    if x.shape[1] == 1:
        return x
    weights = torch.tensor(_Y_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (16.0 + (x * weights).sum(1, keepdim=True)) / 255.0


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border > 0 else x


def protocol_y(x: torch.Tensor, border: int) -> torch.Tensor:
    """What the protocol compares of an image: its Y channel, rounded to 8 bits (what a saved
    image holds), border cropped. (B, C, H, W) -> (B, 1, H - 2b, W - 2b)."""
    return shave(torch.round(rgb_to_y(x.float().clamp(0, 1)) * 255.0) / 255.0, border)


def _check_sizes(sr: torch.Tensor, hr: torch.Tensor) -> None:
    if sr.shape != hr.shape:
        raise ValueError(f"SR {tuple(sr.shape)} and HR {tuple(hr.shape)} images differ in size")


def _ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return tm_ssim(a, b, data_range=1.0, reduction="none")  # type: ignore[return-value]


def y_psnr(sr: torch.Tensor, hr: torch.Tensor, border: int) -> torch.Tensor:
    """(B,) Y-channel PSNR in dB per image; identical images give inf."""
    _check_sizes(sr, hr)
    return per_image_psnr(protocol_y(sr, border), protocol_y(hr, border))


def y_ssim(sr: torch.Tensor, hr: torch.Tensor, border: int) -> torch.Tensor:
    """(B,) Y-channel SSIM per image (Gaussian window 11, sigma 1.5, Wang et al. 2004)."""
    _check_sizes(sr, hr)
    return _ssim(protocol_y(sr, border), protocol_y(hr, border))


def high_frequency_energy(x: torch.Tensor, border: int = 0) -> torch.Tensor:
    """(B,) mean squared Laplacian of the Y channel: how much fine detail an image holds.
    A blurry upscale has less than the real image; the ratio SR / HR says how much."""
    y = shave(rgb_to_y(x.float().clamp(0, 1)), border)
    kernel = _LAPLACIAN.to(y)[None, None]
    return F.conv2d(y, kernel).pow(2).mean(dim=(1, 2, 3))


def sr_metrics(
    candidates: dict[str, torch.Tensor], hr: torch.Tensor, border: int
) -> dict[str, torch.Tensor]:
    """Per-image PSNR, SSIM and high-frequency energy ratio (candidate / HR), each (B,), for
    each candidate upscale (prefix -> images, e.g. {"": sr, "bicubic_": bicubic}); the HR
    side is prepared once for all of them."""
    hr_y = protocol_y(hr, border)
    hr_hf = high_frequency_energy(hr, border).clamp_min(1e-12)
    metrics = {}
    for prefix, images in candidates.items():
        _check_sizes(images, hr)
        y = protocol_y(images, border)
        metrics[f"{prefix}psnr"] = per_image_psnr(y, hr_y)
        metrics[f"{prefix}ssim"] = _ssim(y, hr_y)
        metrics[f"{prefix}hf_ratio"] = high_frequency_energy(images, border) / hr_hf
    return metrics
