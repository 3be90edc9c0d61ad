"""Progressive GAN networks (Karras et al., "Progressive Growing of GANs for Improved Quality,
Stability, and Variation", ICLR 2018).

Both networks hold every resolution from 4 px to `image_size` and run at one of them, `level`
(0 is 4 px, each level doubles it). While a new level fades in (sec. 2, fig. 2) its output is
blended with the level below by `alpha` in [0, 1]: the generator's new block with the
upsampled image of the previous toRGB, the discriminator's new fromRGB block with the
previous fromRGB on the halved image. Equalized learning rate (sec. 4.1, `EqualConv2d` /
`EqualLinear`: the He constant applied at run time, with LeakyReLU 0.2), pixel-wise feature
normalisation in the generator (sec. 4.2) and minibatch standard deviation at the end of the
discriminator (sec. 3) are the paper's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.networks.blocks import num_halvings
from genzoo.networks.stylegan import EqualConv2d, EqualLinear, minibatch_stddev


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit mean square (sec. 4.2, eq. in the text)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def resolution_channels(image_size: int, channel_base: int, channel_max: int) -> list[int]:
    """Feature maps at 4, 8, ..., image_size px: channel_base / resolution, at most channel_max
    (the official code's nf(stage) = min(fmap_base / 2**stage, fmap_max))."""
    levels = num_halvings(image_size) + 1
    return [min(channel_max, channel_base // (4 * 2**k)) for k in range(levels)]


def blend(low: torch.Tensor, high: torch.Tensor, alpha: float) -> torch.Tensor:
    """The fade-in: (1 - alpha) * low + alpha * high; alpha = 1 skips the low path's work."""
    return high if alpha >= 1 else torch.lerp(low, high, alpha)


class GeneratorBlock(nn.Module):
    """Nearest-neighbour upsampling, then two 3x3 convolutions, each followed by pixel norm."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, activate=True)
        self.conv2 = EqualConv2d(out_ch, out_ch, 3, activate=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return pixel_norm(self.conv2(pixel_norm(self.conv1(x))))


class ProGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, r, r) at r = 4 * 2**level, linear outputs."""

    def __init__(
        self,
        latent_dim: int = 128,
        image_size: int = 32,
        image_channels: int = 1,
        channel_base: int = 2048,
        channel_max: int = 128,
    ) -> None:
        super().__init__()
        ch = resolution_channels(image_size, channel_base, channel_max)
        self.max_level = len(ch) - 1
        # 4x4 from the latent: a dense layer as the paper's 4x4 "convolution" of a 1x1 input.
        self.dense = EqualLinear(latent_dim, ch[0] * 16, activate=True)
        self.conv = EqualConv2d(ch[0], ch[0], 3, activate=True)
        self.blocks = nn.ModuleList(GeneratorBlock(a, b) for a, b in zip(ch, ch[1:], strict=False))
        self.to_rgb = nn.ModuleList(EqualConv2d(c, image_channels, 1) for c in ch)

    def forward(
        self, z: torch.Tensor, level: int | None = None, alpha: float = 1.0
    ) -> torch.Tensor:
        level = self.max_level if level is None else level
        h = pixel_norm(self.dense(pixel_norm(z)).unflatten(1, (-1, 4, 4)))  # no batch size: export
        h = pixel_norm(self.conv(h))  # (B, C0, 4, 4)
        previous = h
        for block in self.blocks[:level]:
            previous, h = h, block(h)  # (B, Ck, 4 * 2**k, 4 * 2**k)
        image = self.to_rgb[level](h)
        if level == 0 or alpha >= 1:
            return image
        low = F.interpolate(self.to_rgb[level - 1](previous), scale_factor=2, mode="nearest")
        return blend(low, image, alpha)


class DiscriminatorBlock(nn.Module):
    """Two 3x3 convolutions, then 2x2 average pooling."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, in_ch, 3, activate=True)
        self.conv2 = EqualConv2d(in_ch, out_ch, 3, activate=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv2(self.conv1(x)), 2)


class ProDiscriminator(nn.Module):
    """images (B, C, r, r) at r = 4 * 2**level -> critic values (B,)."""

    def __init__(
        self,
        image_size: int = 32,
        image_channels: int = 1,
        channel_base: int = 2048,
        channel_max: int = 128,
        mbstd_group: int = 4,
    ) -> None:
        super().__init__()
        ch = resolution_channels(image_size, channel_base, channel_max)
        self.max_level, self.mbstd_group = len(ch) - 1, mbstd_group
        self.from_rgb = nn.ModuleList(EqualConv2d(image_channels, c, 1, activate=True) for c in ch)
        # blocks[k] takes 4 * 2**(k+1) px down to 4 * 2**k px.
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(b, a) for a, b in zip(ch, ch[1:], strict=False)
        )
        self.conv = EqualConv2d(ch[0] + 1, ch[0], 3, activate=True)
        self.dense = EqualLinear(ch[0] * 16, ch[0], activate=True)
        self.out = EqualLinear(ch[0], 1)

    def forward(
        self, x: torch.Tensor, level: int | None = None, alpha: float = 1.0
    ) -> torch.Tensor:
        level = self.max_level if level is None else level
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1:
                h = blend(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), h, alpha)
        for k in range(level - 2, -1, -1):
            h = self.blocks[k](h)  # (B, Ck, 4 * 2**k, 4 * 2**k)
        h = self.conv(minibatch_stddev(h, self.mbstd_group))  # (B, C0, 4, 4)
        return self.out(self.dense(h.flatten(1))).flatten()


class GrownGenerator(nn.Module):
    """The generator at one level and alpha, for export: z (B, D) -> images in [0, 1]."""

    def __init__(self, generator: nn.Module, level: int, alpha: float) -> None:
        super().__init__()
        self.generator, self.level, self.alpha = generator, level, alpha

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.generator(z, self.level, self.alpha).clamp(-1, 1) + 1) / 2
