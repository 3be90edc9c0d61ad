"""SRResNet generator and SRGAN discriminator (Ledig et al., CVPR 2017, fig. 4).

The generator works in [0, 1]: a 9x9 head, B residual blocks (conv-BN-PReLU-conv-BN + skip), a
conv-BN whose output joins the head's (the global skip), one sub-pixel step (conv, PixelShuffle,
PReLU) per factor of 2 (Shi et al. 2016), and a 9x9 tail. With `bicubic_skip` the network
predicts the residual over bicubic upsampling, which a small network learns much sooner.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SCALES = (2, 4, 8)


def symmetric_pad(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Mirror (B, C, h, w) by `rows` / `cols` pixels on each side, the edge pixel repeated (MATLAB's
    'symmetric' padding, which imresize uses)."""
    x = torch.cat([x[..., :rows, :].flip(-2), x, x[..., x.shape[-2] - rows :, :].flip(-2)], -2)
    return torch.cat([x[..., :cols].flip(-1), x, x[..., x.shape[-1] - cols :].flip(-1)], -1)


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h * scale, w * scale), clamped to [0, 1]: MATLAB's
    `imresize(lr, scale, 'bicubic')`, the SR literature's baseline. Its cubic kernel has
    a = -0.5 (Keys 1981), which torch's antialiased bicubic uses; the plain
    `F.interpolate(mode='bicubic')` has a = -0.75 and scores 0.1 dB higher PSNR. The borders are
    mirrored as MATLAB does, so every pixel matches it, not only the interior."""
    rows, cols = min(2, lr.shape[-2]), min(2, lr.shape[-1])  # the kernel reaches 2 LR pixels
    padded = symmetric_pad(lr, rows, cols)
    up = F.interpolate(
        padded, scale_factor=scale, mode="bicubic", align_corners=False, antialias=True
    )
    return up[
        ..., rows * scale : up.shape[-2] - rows * scale, cols * scale : up.shape[-1] - cols * scale
    ].clamp(0, 1)


class ResidualBlock(nn.Module):
    """conv3x3 - BN - PReLU - conv3x3 - BN, plus the input (fig. 4, 'B residual blocks')."""

    def __init__(self, channels: int, batch_norm: bool = True) -> None:
        super().__init__()

        def norm() -> nn.Module:
            return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()

        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm),
            norm(),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm),
            norm(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SubPixelUpsample(nn.Sequential):
    """conv3x3 to 4C channels, PixelShuffle(2), PReLU: doubles H and W."""

    def __init__(self, channels: int) -> None:
        super().__init__(
            nn.Conv2d(channels, channels * 4, 3, padding=1),
            nn.PixelShuffle(2),
            nn.PReLU(channels),
        )


class SRResNet(nn.Module):
    """(B, C, h, w) low-resolution images in [0, 1] -> (B, C, h * scale, w * scale)."""

    def __init__(
        self,
        scale: int = 4,
        image_channels: int = 3,
        width: int = 64,
        blocks: int = 16,
        batch_norm: bool = True,
        bicubic_skip: bool = False,
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"scale={scale} is not supported: use one of {SCALES}")
        self.scale, self.bicubic_skip = scale, bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(image_channels, width, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(
            *[ResidualBlock(width, batch_norm) for _ in range(blocks)],
            nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(width) if batch_norm else nn.Identity(),
        )
        self.upsample = nn.Sequential(
            *[SubPixelUpsample(width) for _ in range(int(math.log2(scale)))]
        )
        self.tail = nn.Conv2d(width, image_channels, 9, padding=4)

    def receptive_radius(self) -> float:
        """How far, in LR pixels, an output pixel sees: the sum of every convolution's half
        width, each at its own resolution (after k sub-pixel steps, 2^k HR pixels are one LR
        pixel). About 39.5 for the paper's 16 blocks at x4. Tiles whose cores keep this far
        from their edges give exactly the untiled result (utils/tiling.py)."""
        radius, resolution = 0.0, 1  # resolution: pixels per LR pixel so far
        for module in self.modules():  # registration order is the forward order here
            if isinstance(module, nn.Conv2d):
                radius += module.dilation[0] * (module.kernel_size[0] - 1) / 2 / resolution
            elif isinstance(module, nn.PixelShuffle):
                resolution *= module.upscale_factor
        return max(radius, 2.0 if self.bicubic_skip else 0.0)  # bicubic reaches 2 LR pixels

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        features = self.head(lr)  # (B, C', h, w)
        features = features + self.body(features)  # the global skip
        out = self.tail(self.upsample(features))  # (B, C, h * s, w * s)
        if self.bicubic_skip:
            out = out + bicubic_upscale(lr, self.scale)
        return out


class SRDiscriminator(nn.Module):
    """The paper's discriminator: eight 3x3 convolutions (64 to 512 channels, stride 2 every
    other one), LeakyReLU(0.2), BN after the first; then Dense(1024), LeakyReLU, Dense(1).

    The dense layers see a fixed `pool_size` grid (6x6 for the paper's 96x96 crops, where the
    pooling is the identity), so validation images of any size can be scored too."""

    def __init__(
        self, image_channels: int = 3, channels: int = 64, pool_size: int = 6, hidden: int = 1024
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = image_channels
        for i in range(8):
            out_ch = channels * 2 ** (i // 2)
            stride = 2 if i % 2 else 1
            layers.append(nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_ch * pool_size * pool_size, hidden),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [-1, 1] -> (B,) logits."""
        return self.head(self.pool(self.features(x))).squeeze(1)
