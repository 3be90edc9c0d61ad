"""The denoising U-Net of DDPM (Ho et al. 2020, appendix B) with the improvements of Nichol &
Dhariwal 2021: residual blocks with GroupNorm and dropout, a sinusoidal timestep embedding
added in every block, self-attention at the low resolutions, and a class embedding whose
extra index is "no label" (classifier-free guidance, Ho & Salimans 2022).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Integer or float timesteps (B,) -> sinusoidal features (B, dim), as the Transformer's."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.cos(), angles.sin()], dim=1)


def group_norm(channels: int) -> nn.GroupNorm:
    """32 groups as the papers, fewer where a narrow CPU preset has fewer channels."""
    return nn.GroupNorm(math.gcd(32, channels), channels)


def zero_initialised(conv: nn.Conv2d) -> nn.Conv2d:
    """A convolution whose output starts at 0 (a residual branch that starts as the identity)."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class ResBlock(nn.Module):
    """norm, SiLU, conv; + the embedding; norm, SiLU, dropout, conv; + the skip."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.conv1 = group_norm(in_ch), nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2, self.dropout = group_norm(out_ch), nn.Dropout(dropout)
        self.conv2 = zero_initialised(nn.Conv2d(out_ch, out_ch, 3, padding=1))  # starts as identity
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, out, H, W)
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions, residual."""

    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = zero_initialised(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        height = x.shape[-2]
        q, k, v = rearrange(
            self.qkv(self.norm(x)), "b (three h d) y x -> three b h (y x) d", three=3, h=self.heads
        )
        attended = F.scaled_dot_product_attention(q, k, v)  # (B, heads, H*W, d)
        return x + self.out(rearrange(attended, "b h (y x) d -> b (h d) y x", y=height))


def _stage(
    in_ch: int, out_ch: int, size: int, *, emb_dim: int, dropout: float,
    attention: tuple[int, ...], heads: int,
) -> nn.ModuleList:  # fmt: skip
    """A residual block, and self-attention after it where the feature map is `attention` big."""
    layers: list[nn.Module] = [ResBlock(in_ch, out_ch, emb_dim, dropout)]
    if size in attention:
        layers.append(SelfAttention(out_ch, heads))
    return nn.ModuleList(layers)


def _upsample(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(channels, channels, 3, padding=1)
    )


class UNet(nn.Module):
    """(x_t (B, C, H, W), t (B,), labels (B,) or None) -> the model output, same shape as x_t.

    `channel_mults` gives each resolution's width as a multiple of `base_channels`; the image
    is halved between them. Attention runs at the resolutions in `attention_resolutions`.
    Labels run 0..num_classes-1; `num_classes` itself (or labels=None) means unconditional.
    """

    def __init__(
        self,
        *,
        image_channels: int,
        image_size: int,
        base_channels: int = 64,
        channel_mults: tuple[int, ...] = (1, 2, 2),
        num_res_blocks: int = 2,
        attention_resolutions: tuple[int, ...] = (8,),
        dropout: float = 0.1,
        num_classes: int = 0,
        heads: int = 4,
    ) -> None:
        super().__init__()
        self.num_classes, self.base_channels = num_classes, base_channels
        emb_dim = 4 * base_channels
        self.time_mlp = nn.Sequential(
            nn.Linear(base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.stem = nn.Conv2d(image_channels, base_channels, 3, padding=1)

        stage = functools.partial(
            _stage, emb_dim=emb_dim, dropout=dropout, attention=attention_resolutions, heads=heads
        )
        self.blocks_per_level = num_res_blocks
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, ch, size = [base_channels], base_channels, image_size
        for level, mult in enumerate(channel_mults):
            for _ in range(num_res_blocks):
                self.down.append(stage(ch, base_channels * mult, size))
                ch = base_channels * mult
                skips.append(ch)
            last = level == len(channel_mults) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(ch, ch, 3, 2, padding=1))
            if not last:
                skips.append(ch)
                size //= 2
        self.middle = nn.ModuleList(
            [
                ResBlock(ch, ch, emb_dim, dropout),
                SelfAttention(ch, heads),
                ResBlock(ch, ch, emb_dim, dropout),
            ]
        )
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mults))):
            for _ in range(num_res_blocks + 1):  # one more: it also takes the level's input
                self.up.append(stage(ch + skips.pop(), base_channels * mult, size))
                ch = base_channels * mult
            self.upsample.append(nn.Identity() if level == 0 else _upsample(ch))
            size *= 1 if level == 0 else 2
        self.head = nn.Sequential(
            group_norm(ch), nn.SiLU(), zero_initialised(nn.Conv2d(ch, image_channels, 3, padding=1))
        )

    def embedding(self, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.base_channels))
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full_like(t, self.num_classes, dtype=torch.long)
            emb = emb + self.label_emb(labels.long())
        return emb

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        emb = self.embedding(t, labels)
        h = self.stem(x)
        skips = [h]
        blocks = iter(self.down)
        for downsample in self.downsample:
            for _ in range(self.blocks_per_level):
                for layer in next(blocks):  # type: ignore[attr-defined]
                    h = layer(h, emb)
                skips.append(h)
            if not isinstance(downsample, nn.Identity):
                h = downsample(h)
                skips.append(h)
        for layer in self.middle:
            h = layer(h, emb)
        blocks = iter(self.up)
        for upsample in self.upsample:
            for _ in range(self.blocks_per_level + 1):
                h = torch.cat([h, skips.pop()], dim=1)
                for layer in next(blocks):  # type: ignore[attr-defined]
                    h = layer(h, emb)
            h = upsample(h)
        return self.head(h)
