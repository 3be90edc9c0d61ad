"""Per-example log-likelihoods log p(x | decoder output) in nats.

Images are in [0, 1]. The Bernoulli likelihood treats grey values as
probabilities (the usual choice for digits); the Gaussian one has a fixed or
learned scalar log-scale shared by all pixels.
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
