"""Mode coverage on stacked digits (Metz et al. 2017, sec. 3.3.1; ProGAN table 4): the digit
classifier reads each channel of a generated image, the three digits name its mode (0-999);
a generator covering the data draws every mode, each about equally often."""

from __future__ import annotations

import torch

from genzoo.metrics.digit_classifier import DigitClassifier

MODES = 1000


@torch.no_grad()
def stacked_modes(classifier: DigitClassifier, images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) images in [0, 1] -> each one's mode, 100 * red + 10 * green + blue."""
    b = len(images)
    digits = classifier(images.flatten(0, 1)[:, None]).argmax(dim=1).view(b, 3)
    return (digits * torch.tensor([100, 10, 1], device=digits.device)).sum(dim=1)


def mode_coverage(modes: torch.Tensor) -> dict[str, float]:
    """How many of the 1,000 modes the draws hit, and the KL divergence (nats) of their
    histogram from the uniform one, the paper's second figure (0 for even coverage)."""
    counts = torch.bincount(modes.flatten().long().cpu(), minlength=MODES).double()
    p = counts / counts.sum()
    seen = p > 0
    kl = float((p[seen] * (p[seen] * MODES).log()).sum())
    return {"modes": float(seen.sum()), "mode_kl": kl}
