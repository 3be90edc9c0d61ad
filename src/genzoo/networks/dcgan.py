"""DCGAN generator and discriminator (Radford et al., ICLR 2016, section 3 and figure 1).

Strided (transposed) convolutions instead of pooling, batch norm in both networks (not on
G's output or D's input), ReLU in G with tanh output, LeakyReLU(0.2) in D, weights drawn
from N(0, 0.02). Optional spectral norm in D (Miyato et al. 2018) and class conditioning
(one-hot label concatenated to z in G; projection discriminator, Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.nn.utils import spectral_norm

from genzoo.networks.blocks import UpBlock, num_halvings


def dcgan_init(module: nn.Module) -> None:
    """The paper's initialisation: conv weights N(0, 0.02); batch-norm scale N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) [+ labels (B,)] -> images (B, C, H, W) in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 32,
        channels: int = 1,
        base_channels: int = 64,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        steps = num_halvings(image_size)
        chans = [
            base_channels * 2 ** (steps - 1 - i) for i in range(steps)
        ]  # e.g. 256, 128, 64 for 32x32
        self.latent_dim, self.num_classes = latent_dim, num_classes
        # z is a 1x1 "image": the first transposed conv projects it to 4x4 (figure 1 of the paper).
        self.project = nn.Sequential(
            nn.ConvTranspose2d(latent_dim + num_classes, chans[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(inplace=True),
        )
        self.body = nn.Sequential(
            *[
                UpBlock(a, b, norm="batch", act="relu")
                for a, b in zip(chans, chans[1:], strict=False)
            ]
        )
        self.to_image = nn.Sequential(nn.ConvTranspose2d(chans[-1], channels, 4, 2, 1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("this conditional generator needs labels (B,)")
            z = torch.cat([z, F.one_hot(labels.long(), self.num_classes).to(z.dtype)], dim=1)
        h = self.project(rearrange(z, "b d -> b d 1 1"))  # (B, C, 4, 4)
        return self.to_image(self.body(h))  # (B, channels, H, W)


class DCGANDiscriminator(nn.Module):
    """images (B, C, H, W) in [-1, 1] [+ labels] -> logits (B,)."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        base_channels: int = 64,
        num_classes: int = 0,
        spectral: bool = False,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        steps = num_halvings(image_size)
        chans = [channels] + [base_channels * 2**i for i in range(steps)]
        wrap = spectral_norm if spectral else (lambda m: m)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans, chans[1:], strict=False)):
            # No norm on the input layer (paper); none with spectral norm or a gradient penalty either.
            normed = batch_norm and i > 0 and not spectral
            # A conv followed by batch norm needs no bias (the norm's shift replaces it); any other keeps it.
            layers.append(wrap(nn.Conv2d(a, b, 4, 2, 1, bias=not normed)))
            if normed:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.LeakyReLU(0.2, inplace=True))  # after a conv or norm: see blocks.py
        self.features = nn.Sequential(*layers)
        self.to_logit = wrap(nn.Conv2d(chans[-1], 1, 4, 1, 0))  # 4x4 -> 1x1
        self.num_classes = num_classes
        if num_classes:
            self.embed = wrap(nn.Embedding(num_classes, chans[-1]))
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)  # (B, C, 4, 4)
        logits = self.to_logit(h).flatten()  # (B,)
        if self.num_classes:
            if labels is None:
                raise ValueError("this conditional discriminator needs labels (B,)")
            pooled = h.sum(dim=(2, 3))  # (B, C)
            logits = logits + (self.embed(labels.long()) * pooled).sum(1)  # projection term
        return logits
