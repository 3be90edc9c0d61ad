"""Encoders and decoders of VQ-VAE (van den Oord et al. 2017, sec. 4.1) and VQ-VAE-2
(Razavi et al. 2019, sec. 3.1, fig. 2a): strided convolutions and residual blocks around
vector quantisers (networks/quantizer.py).

One level: x -> encoder (downsampling by `downsample`) -> quantiser -> decoder -> x.
Two levels: the bottom encoder's features are encoded once more (x2 down) and quantised into
the top codes; the top codes, decoded back up, join the bottom features to choose the bottom
codes; the decoder sees both code maps.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genzoo.networks.quantizer import VectorQuantizer


class ResBlock(nn.Module):
    """x + conv1x1(relu(conv3x3(relu(x)))) (sec. 4.1: ReLU, 3x3 conv, ReLU, 1x1 conv)."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _halvings(factor: int) -> int:
    steps = math.log2(factor) if factor >= 2 else 0.5
    if steps != int(steps):
        raise ValueError(f"downsample={factor} must be a power of two (2, 4, 8)")
    return int(steps)


class Encoder(nn.Module):
    """(B, C_in, H, W) -> (B, channels, H / factor, W / factor)."""

    def __init__(
        self, in_channels: int, channels: int, res_blocks: int, res_channels: int, factor: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for i in range(_halvings(factor)):
            out = channels // 2 if i < _halvings(factor) - 1 else channels
            layers += [nn.Conv2d(width, out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
            width = out
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        layers += [ResBlock(channels, res_channels) for _ in range(res_blocks)]
        layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Decoder(nn.Module):
    """(B, C_in, h, w) -> (B, C_out, h * factor, w * factor)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        channels: int,
        res_blocks: int,
        res_channels: int,
        factor: int,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1)]
        layers += [ResBlock(channels, res_channels) for _ in range(res_blocks)]
        layers.append(nn.ReLU(inplace=True))
        width, steps = channels, _halvings(factor)
        for i in range(steps):
            last = i == steps - 1
            out = out_channels if last else channels // 2
            layers.append(nn.ConvTranspose2d(width, out, 4, stride=2, padding=1))
            if not last:
                layers.append(nn.ReLU(inplace=True))
            width = out
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class VQVAENet(nn.Module):
    """The autoencoder of one or two levels. `encode` gives code maps (bottom first),
    `decode_codes` images; `forward` the training terms."""

    def __init__(
        self,
        image_channels: int,
        levels: int = 1,
        channels: int = 64,
        res_blocks: int = 2,
        res_channels: int = 32,
        downsample: int = 4,
        num_codes: int = 64,
        code_dim: int = 32,
        codebook: str = "ema",
        decay: float = 0.99,
        restart_after: int = 100,
        kmeans_init: bool = False,
    ) -> None:
        super().__init__()
        if levels not in (1, 2):
            raise ValueError(f"model.levels={levels}: VQ-VAE has 1 level, VQ-VAE-2 has 2")
        self.levels = levels

        def quantizer() -> VectorQuantizer:
            return VectorQuantizer(num_codes, code_dim, codebook, decay, restart_after, kmeans_init)

        self.encoder_bottom = Encoder(
            image_channels, channels, res_blocks, res_channels, downsample
        )
        self.quantizers = nn.ModuleList([quantizer() for _ in range(levels)])
        if levels == 2:
            self.encoder_top = Encoder(channels, channels, res_blocks, res_channels, 2)
            self.pre_quant_top = nn.Conv2d(channels, code_dim, 1)
            self.decoder_top = Decoder(code_dim, code_dim, channels, res_blocks, res_channels, 2)
            self.pre_quant_bottom = nn.Conv2d(channels + code_dim, code_dim, 1)
            self.upsample_top = nn.ConvTranspose2d(code_dim, code_dim, 4, stride=2, padding=1)
        else:
            self.pre_quant_bottom = nn.Conv2d(channels, code_dim, 1)
        self.decoder = Decoder(
            code_dim * levels, image_channels, channels, res_blocks, res_channels, downsample
        )

    def quantize(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Images in [-1, 1] -> each level's quantiser output, bottom first."""
        h_bottom = self.encoder_bottom(x)  # (B, C, H/f, W/f)
        if self.levels == 1:
            return [self.quantizers[0](self.pre_quant_bottom(h_bottom))]
        top = self.quantizers[1](self.pre_quant_top(self.encoder_top(h_bottom)))  # (B, D, H/2f, .)
        guide = self.decoder_top(top["quantized"])  # (B, D, H/f, W/f)
        bottom = self.quantizers[0](self.pre_quant_bottom(torch.cat([guide, h_bottom], 1)))
        return [bottom, top]

    def decode_quantized(self, quantized: list[torch.Tensor]) -> torch.Tensor:
        """Code vectors of each level (bottom first) -> images in [-1, 1] (unclamped)."""
        if self.levels == 2:
            quantized = [quantized[0], self.upsample_top(quantized[1])]
        return self.decoder(torch.cat(quantized, 1))

    def decode_codes(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """Integer code maps (B, H', W') per level, bottom first -> images in [-1, 1]."""
        quantizers: list[VectorQuantizer] = list(self.quantizers)  # type: ignore[arg-type]
        vectors = [q.lookup(c) for q, c in zip(quantizers, codes, strict=True)]
        return self.decode_quantized(vectors)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
        levels = self.quantize(x)
        return self.decode_quantized([lvl["quantized"] for lvl in levels]), levels
