"""KL divergences in closed form.

For q = N(mu, diag(sigma^2)) and p = N(0, I) (Kingma & Welling 2014, appendix B):
KL(q || p) = 1/2 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1).
"""

from __future__ import annotations

import torch


def gaussian_kl_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per example, in nats. Inputs (B, D) -> (B,)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1)
