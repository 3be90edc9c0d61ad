"""Diversity as ProGAN measures it (Karras et al. 2018, sec. 5 and table 1, after Odena et al.
2017): the mean MS-SSIM between random pairs of images. Samples of a generator that
collapses look alike (a high value); the real images' own pairs say what the data's
diversity scores.

MS-SSIM (Wang et al. 2003) through torchmetrics. Its five scales need images over 160 px;
at 32 px this uses three scales with a 7-px Gaussian window, the first three of Wang et al.'s
exponents normalised to sum to 1.
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

WANG_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _scales_for(size: int, kernel: int) -> int:
    """The most of Wang et al.'s five scales an image of `size` px holds (torchmetrics' rule)."""
    scales = 5
    while scales > 1 and size <= (kernel - 1) * 2 ** (scales - 1):
        scales -= 1
    return scales


@torch.no_grad()
def mean_pair_ms_ssim(images: torch.Tensor, pairs: int = 500, seed: int = 0) -> float:
    """The mean MS-SSIM of `pairs` random pairs of distinct images (B, C, H, W) in [0, 1]."""
    if len(images) < 2:
        raise ValueError("MS-SSIM between pairs needs at least two images")
    size = min(images.shape[-2:])
    kernel = 11 if size > 160 else 7
    betas = WANG_BETAS[: _scales_for(size, kernel)]
    betas = tuple(b / sum(betas) for b in betas)
    gen = torch.Generator().manual_seed(seed)
    first = torch.randint(len(images), (pairs,), generator=gen)
    second = (first + torch.randint(1, len(images), (pairs,), generator=gen)) % len(images)
    images = images.float().clamp(0, 1)
    values = multiscale_structural_similarity_index_measure(
        images[first], images[second], kernel_size=kernel, betas=betas, data_range=1.0,
        reduction="none",
    )  # fmt: skip
    return float(values.mean())
