"""Generators of the image-to-image families (Pix2Pix, CycleGAN).

- `UNetGenerator` (Isola et al. 2017, sec. 3.2.1 and appendix 6.1.1): an encoder-decoder whose
  decoder level i also receives encoder level n - i (skip connections), so low-level detail
  such as edges passes straight across. Its depth is fitted to the image: one halving per level
  down to 1x1 (8 levels at 256 px, 6 at 64 px).
- `ResnetGenerator` (Johnson et al. 2016, as in CycleGAN's appendix 7.2): two stride-2
  convolutions down, residual blocks, two up; reflection padding against border artefacts.

Both map [-1, 1] images to [-1, 1] (tanh) and keep the spatial size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genzoo.networks.blocks import make_norm


def unet_levels(image_size: int) -> int:
    """Halvings that take `image_size` to 1x1: the U-Net's depth (8 at 256 px)."""
    levels = math.log2(image_size) if image_size > 0 else 0.5
    if levels != int(levels) or levels < 3:
        raise ValueError(
            f"image_size={image_size} must be a power of two of at least 8 for the U-Net "
            "(e.g. 32, 64, 128, 256)"
        )
    return int(levels)


class UNetGenerator(nn.Module):
    """U-Net with `levels` stride-2 levels (`unet_levels(image_size)` by default).

    Encoder Ck: 4x4 stride-2 convolution, norm (not on the first level nor the bottleneck),
    LeakyReLU 0.2. Decoder: ReLU, 4x4 stride-2 transposed convolution, norm, and dropout 0.5 on
    the first `dropout_levels` decoder levels, counted from the bottleneck: the paper's
    CD512-CD1024-CD1024 (appendix 6.1.1), its noise source. Widths double from `width` up to
    8 * `width`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        levels: int,
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
        dropout_levels: int = 3,
    ) -> None:
        super().__init__()
        bias = norm != "batch"
        widths = [width * min(2**i, 8) for i in range(levels)]  # encoder level i's output
        self.encoder = nn.ModuleList()
        channels = in_channels
        for i, out in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(channels, out, 4, stride=2, padding=1, bias=bias or i == 0))
            if 0 < i < levels - 1:  # no norm on the input level nor on the 1x1 bottleneck
                layers.append(make_norm(norm, out))
            self.encoder.append(nn.Sequential(*layers))
            channels = out
        self.decoder = nn.ModuleList()
        for i in reversed(range(levels)):  # decoder level i mirrors encoder level i
            inner = widths[i] * (1 if i == levels - 1 else 2)  # below the bottleneck: + skip
            out = widths[i - 1] if i > 0 else out_channels
            layers = [nn.ReLU(), nn.ConvTranspose2d(inner, out, 4, 2, 1, bias=bias or i == 0)]
            if i > 0:
                layers.append(make_norm(norm, out))
                if levels - 1 - i < dropout_levels and dropout > 0:  # the first decoder levels
                    layers.append(nn.Dropout(dropout))
            else:
                layers.append(nn.Tanh())
            self.decoder.append(nn.Sequential(*layers))
        self.levels = levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = skips.pop()  # the bottleneck goes straight up
        for block in self.decoder:
            x = block(x)
            if skips:
                x = torch.cat([x, skips.pop()], dim=1)
        return x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str, dropout: float) -> None:
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            make_norm(norm, channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias)]
        layers.append(make_norm(norm, channels))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Sequential):
    """c7s1-w, d2w, d4w, `blocks` x R4w, u2w, uw, c7s1-out (CycleGAN's 6- and 9-block nets)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        blocks: int = 9,
        width: int = 64,
        norm: str = "instance",
        dropout: float = 0.0,
    ) -> None:
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),
            make_norm(norm, width),
            nn.ReLU(inplace=True),
        ]
        for i in range(2):  # downsampling
            c = width * 2**i
            layers += [
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias),
                make_norm(norm, 2 * c),
                nn.ReLU(inplace=True),
            ]
        layers += [ResidualBlock(4 * width, norm, dropout) for _ in range(blocks)]
        for i in reversed(range(2)):  # upsampling
            c = width * 2 ** (i + 1)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                make_norm(norm, c // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        super().__init__(*layers)


def build_generator(
    kind: str,
    in_channels: int,
    out_channels: int,
    image_size: int,
    width: int,
    norm: str,
    dropout: float,
    blocks: int = 9,
) -> nn.Module:
    """`kind`: unet (depth from image_size), unet_<levels> (e.g. unet_8, the paper's unet_256),
    or resnet (`blocks` residual blocks)."""
    if kind == "unet":
        return UNetGenerator(
            in_channels, out_channels, unet_levels(image_size), width, norm, dropout
        )
    if kind.startswith("unet_") and kind[5:].isdigit():
        return UNetGenerator(in_channels, out_channels, int(kind[5:]), width, norm, dropout)
    if kind == "resnet":
        return ResnetGenerator(in_channels, out_channels, blocks, width, norm, dropout)
    raise ValueError(f"generator '{kind}' is not known: use unet, unet_<levels> or resnet")
