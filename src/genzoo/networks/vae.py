"""Convolutional encoder and decoder of a (conditional) VAE.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014. The encoder
outputs the mean and log-variance of a diagonal Gaussian q(z|x); the decoder
outputs the parameters of p(x|z) per pixel (logits or means).
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from genzoo.networks.blocks import DownBlock, UpBlock, num_halvings


class ConvEncoder(nn.Module):
    """(B, C, H, W) [+ label] -> mean, logvar, each (B, latent_dim)."""

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        latent_dim: int,
        hidden_channels: int = 32,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        steps = num_halvings(image_size)
        chans = [in_channels] + [hidden_channels * 2**i for i in range(steps)]
        self.features = nn.Sequential(
            *[
                DownBlock(a, b, norm="batch" if i else "none")
                for i, (a, b) in enumerate(zip(chans, chans[1:], strict=False))
            ]
        )
        self.num_classes = num_classes
        flat = chans[-1] * 4 * 4
        self.head = nn.Linear(flat + num_classes, 2 * latent_dim)

    def forward(
        self, x: torch.Tensor, label_onehot: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = rearrange(self.features(x), "b c h w -> b (c h w)")  # (B, C*4*4)
        if self.num_classes:
            h = torch.cat([h, _require(label_onehot)], dim=1)
        mean, logvar = self.head(h).chunk(2, dim=1)  # (B, D) each
        return mean, logvar


class ConvDecoder(nn.Module):
    """(B, latent_dim) [+ label] -> per-pixel parameters (B, C, H, W)."""

    def __init__(
        self,
        out_channels: int,
        image_size: int,
        latent_dim: int,
        hidden_channels: int = 32,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        steps = num_halvings(image_size)
        chans = [hidden_channels * 2**i for i in reversed(range(steps))]
        self.base_channels = chans[0]
        self.num_classes = num_classes
        self.project = nn.Linear(latent_dim + num_classes, chans[0] * 4 * 4)
        self.body = nn.Sequential(
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(),
            *[UpBlock(a, b) for a, b in zip(chans, chans[1:], strict=False)],
        )
        # The last upsampling has no norm or activation: it emits raw parameters.
        self.to_image = nn.ConvTranspose2d(chans[-1], out_channels, 4, stride=2, padding=1)

    def forward(self, z: torch.Tensor, label_onehot: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, _require(label_onehot)], dim=1)
        h = rearrange(self.project(z), "b (c h w) -> b c h w", h=4, w=4)  # (B, C, 4, 4)
        return self.to_image(self.body(h))  # (B, C_out, H, W)


def _require(label_onehot: torch.Tensor | None) -> torch.Tensor:
    if label_onehot is None:
        raise ValueError("a class-conditional network needs label_onehot of shape (B, num_classes)")
    return label_onehot


def likelihood_mean(params: torch.Tensor, likelihood: str, image_channels: int) -> torch.Tensor:
    """The decoder's output (B, C', H, W) -> the likelihood's mean image (B, C, H, W) in [0, 1]."""
    if likelihood == "bernoulli":
        return torch.sigmoid(params)
    if likelihood == "discretized_logistic":
        return (params[:, :image_channels].clamp(-1, 1) + 1) / 2
    return params.clamp(0, 1)
