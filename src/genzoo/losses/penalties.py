"""Gradient penalties. Compute them in float32 outside autocast: torch.autograd.grad bypasses
Lightning's loss scaling under 16-mixed precision.

- r1: Mescheder et al. 2018, eq. 9: gamma/2 * E ||grad_x D(x)||^2 on real data.
- gradient_penalty: Gulrajani et al. 2017, eq. 3: (||grad D(x_hat)|| - 1)^2 on interpolates.
- path_length: Karras et al. 2020 (StyleGAN2), eq. 4: (||J_w^T y|| - a)^2 with a a running mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """E ||d D(x) / d x||^2 over a batch of reals (which must require grad)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)||_2 - 1)^2 at random points between real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def path_length_penalty(
    images: torch.Tensor,
    w: torch.Tensor,
    mean_path_length: torch.Tensor,
    decay: float = 0.01,
    batch_mean: Callable[[torch.Tensor], torch.Tensor] = lambda lengths: lengths,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Returns (penalty, path lengths (B,), updated running mean). `w` (B, L, D) must be in the
    graph. `batch_mean` turns this batch's mean length into the global batch's (DDP)."""
    noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * noise).sum(), w, create_graph=True)
    lengths = grad.pow(2).sum(2).mean(1).sqrt()  # (B,)
    new_mean = mean_path_length + decay * (batch_mean(lengths.detach().mean()) - mean_path_length)
    return (lengths - new_mean).pow(2).mean(), lengths, new_mean.detach()
