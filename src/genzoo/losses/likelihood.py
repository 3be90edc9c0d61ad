"""Per-example log-likelihoods log p(x | decoder output) in nats.

Images are in [0, 1]. The Bernoulli likelihood is one of black-and-white pixels (use it with
`data.binarize`); the Gaussian one is a density with a learned scalar log-scale, so its
values are not probabilities of 8-bit pixels; the discretised logistic is a probability of
8-bit pixel values, the unit of bits/dim in the papers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sum over pixels of log Bernoulli(x | sigmoid(logits)); (B, C, H, W) -> (B,)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_log_likelihood(
    mean: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor
) -> torch.Tensor:
    """sum over pixels of log N(x | mean, exp(log_scale)^2); (B, C, H, W) -> (B,)."""
    var = torch.exp(2 * log_scale)
    log_prob = -0.5 * ((x - mean) ** 2 / var + 2 * log_scale + math.log(2 * math.pi))
    return log_prob.flatten(1).sum(1)


def discretized_logistic_log_likelihood(
    mean: torch.Tensor, log_scale: torch.Tensor, x: torch.Tensor, bins: int = 256
) -> torch.Tensor:
    """sum over pixels of log P(x) under a logistic discretised into `bins` values (PixelCNN++,
    Salimans et al. 2017, sec. 2.1, with one component); (B, C, H, W) -> (B,).

    x in [0, 1] is read as the 8-bit image round(255 x) (a discrete likelihood scores discrete
    data); mean and log_scale live on [-1, 1], where a bin is 2 / 255 wide. The end bins take
    the tails, so the probabilities of the 256 values sum to one.
    """
    levels = bins - 1
    x = torch.round(x.clamp(0, 1) * levels) / levels * 2 - 1
    log_scale = log_scale.clamp(min=-7.0)
    inv_scale = torch.exp(-log_scale)
    centered = x - mean
    plus, minus = inv_scale * (centered + 1 / levels), inv_scale * (centered - 1 / levels)
    log_cdf_plus = plus - F.softplus(plus)  # log sigmoid(plus): the lowest bin
    log_survival_minus = -F.softplus(minus)  # log (1 - sigmoid(minus)): the highest bin
    cdf_delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    # Far in a tail the difference of two sigmoids underflows: use the density at the bin's
    # centre times the bin width instead.
    mid = inv_scale * centered
    log_pdf_mid = mid - log_scale - 2 * F.softplus(mid)
    log_inner = torch.where(
        cdf_delta > 1e-5,
        torch.log(cdf_delta.clamp(min=1e-12)),
        log_pdf_mid + math.log(2 / levels),
    )
    log_prob = torch.where(
        x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_survival_minus, log_inner)
    )
    return log_prob.flatten(1).sum(1)
