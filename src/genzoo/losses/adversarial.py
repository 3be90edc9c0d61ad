"""Adversarial losses on discriminator logits, as pure functions. Each returns a scalar mean.

- ns: the minimax game of Goodfellow et al. 2014 with the non-saturating generator loss (sec. 3).
- lsgan: least squares, Mao et al. 2017 (eq. 2 with a=0, b=c=1).
- hinge: Lim & Ye 2017; Miyato et al. 2018.
- wgan: Arjovsky et al. 2017; use with the gradient penalty of Gulrajani et al. 2017.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("ns", "lsgan", "hinge", "wgan")


def _check(kind: str) -> None:
    if kind not in LOSSES:
        raise ValueError(f"model.loss='{kind}' is not known: use one of {', '.join(LOSSES)}")


def discriminator_loss_real(kind: str, real_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss on real images: the first half of `discriminator_loss`."""
    _check(kind)
    if kind == "ns":  # -log D(x)
        return F.softplus(-real_logits).mean()
    if kind == "lsgan":
        return 0.5 * (real_logits - 1).pow(2).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean()
    return -real_logits.mean()


def discriminator_loss_fake(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss on generated images: the second half of `discriminator_loss`."""
    _check(kind)
    if kind == "ns":  # -log(1 - D(G(z)))
        return F.softplus(fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * fake_logits.pow(2).mean()
    if kind == "hinge":
        return F.relu(1 + fake_logits).mean()
    return fake_logits.mean()


def discriminator_loss(
    kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """Every loss here is a sum of a real and a fake term, which training backpropagates one
    after the other (models/gan.py)."""
    return discriminator_loss_real(kind, real_logits) + discriminator_loss_fake(kind, fake_logits)


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    _check(kind)
    if kind == "ns":  # -log D(G(z)) instead of log(1 - D(G(z))): strong gradients early on
        return F.softplus(-fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * (fake_logits - 1).pow(2).mean()
    return -fake_logits.mean()
