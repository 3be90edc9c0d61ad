"""StyleGAN2-lite networks in pure PyTorch (Karras et al., "Analyzing and Improving the Image
Quality of StyleGAN", CVPR 2020). No custom CUDA ops: bilinear resampling via F.interpolate.

Mapping network z -> w (sec. 2 of StyleGAN, 8 layers, lr multiplier 0.01); learned constant
input; modulated convolutions with weight demodulation (StyleGAN2 sec. 2.2, eqs. 1-3);
per-layer noise with learned strength; skip-connection toRGB outputs (sec. 4.1, fig. 7b);
equalized learning rate everywhere (ProGAN sec. 4.1); residual discriminator with a
minibatch-stddev layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from genzoo.networks.blocks import num_halvings

SQRT2 = math.sqrt(2)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU(0.2) scaled by sqrt(2) to keep unit variance (the 'fused' activation)."""
    return F.leaky_relu(x, 0.2) * SQRT2


def resample(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Bilinear resampling by 2 or 1/2. Halving bilinearly (align_corners=False) samples between
    pixel centres, i.e. averages 2x2 blocks: avg_pool2d computes exactly that, faster."""
    if factor == 0.5:
        return F.avg_pool2d(x, 2)
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate: weights N(0, 1/lr_mul), scaled at run time."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activate: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(in_dim), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return lrelu(out) if self.activate else out


class EqualConv2d(nn.Module):
    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, bias: bool = True, activate: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale, self.padding, self.activate = (
            1 / math.sqrt(in_ch * kernel * kernel),
            kernel // 2,
            activate,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        return lrelu(out) if self.activate else out


class MappingNetwork(nn.Module):
    """z (B, z_dim) -> w (B, w_dim); keeps the running average of w for truncation."""

    w_avg: torch.Tensor

    def __init__(self, z_dim: int, w_dim: int, depth: int = 8, lr_mul: float = 0.01) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * depth
        self.layers = nn.Sequential(
            *[
                EqualLinear(a, b, lr_mul=lr_mul, activate=True)
                for a, b in zip(dims, dims[1:], strict=False)
            ]
        )
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        return self.layers(z)


class ModulatedConv2d(nn.Module):
    """Conv whose weights are scaled per sample by a style (eq. 1) and renormalised (eq. 3)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        w_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.affine = EqualLinear(
            w_dim, in_ch, bias_init=1.0
        )  # style starts at 1: plain conv at init
        self.scale, self.padding = 1 / math.sqrt(in_ch * kernel * kernel), kernel // 2
        self.demodulate, self.upsample, self.out_ch = demodulate, upsample, out_ch

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # Equivalent to convolving with per-sample weights w * s (eq. 1) and renormalising (eq. 3),
        # but as one shared-weight convolution: scale the input by s, the output by the demodulation
        # coefficients. Much faster than a grouped convolution on CPUs (StyleGAN2-ADA's non-fused path).
        style = self.affine(w)  # (B, C_in)
        weight = self.scale * self.weight[0]  # (C_out, C_in, k, k)
        x = x * rearrange(style, "b c -> b c 1 1")
        if self.upsample:
            x = resample(x, 2.0)
        out = F.conv2d(x, weight, padding=self.padding)  # (B, C_out, H, W)
        if self.demodulate:
            # sum over C_in, k, k of (weight * style)^2 = style^2 @ sum_k weight^2
            dcoefs = torch.rsqrt(
                style.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + 1e-8
            )  # (B, C_out)
            out = out * rearrange(dcoefs, "b o -> b o 1 1")
        return out


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learned per-layer strength (initialised at 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return x if noise is None else x + self.strength * noise


class StyledLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, w_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return lrelu(self.noise(self.conv(x, w), noise) + self.bias)


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, image_channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, image_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, image_channels, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        rgb = self.conv(x, w) + self.bias
        return rgb if skip is None else rgb + resample(skip, 2.0)


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    return max(1, min(channel_max, channel_base // resolution))


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) -> images (B, C, H, W), roughly in [-1, 1]."""

    def __init__(
        self, image_size: int, image_channels: int, w_dim: int, channel_base: int, channel_max: int
    ) -> None:
        super().__init__()
        steps = num_halvings(image_size)
        resolutions = [4 * 2**i for i in range(steps + 1)]  # 4, 8, ..., image_size
        ch = [channels_at(r, channel_base, channel_max) for r in resolutions]
        self.const = nn.Parameter(torch.randn(1, ch[0], 4, 4))
        self.layers = nn.ModuleList([StyledLayer(ch[0], ch[0], w_dim)])
        self.to_rgbs = nn.ModuleList([ToRGB(ch[0], image_channels, w_dim)])
        for a, b in zip(ch, ch[1:], strict=False):
            self.layers.extend([StyledLayer(a, b, w_dim, upsample=True), StyledLayer(b, b, w_dim)])
            self.to_rgbs.append(ToRGB(b, image_channels, w_dim))
        self.resolutions = [4] + [
            r for r in resolutions[1:] for _ in range(2)
        ]  # output size of each layer
        self.num_ws = (
            len(self.layers) + 1
        )  # layer i uses w[i]; the toRGB after layer i uses w[i + 1]
        for i, res in enumerate(self.resolutions):  # fixed noise for noise_mode="const"
            self.register_buffer(
                f"noise_const_{i}",
                torch.randn(1, 1, res, res, generator=torch.Generator().manual_seed(i)),
            )

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "random",
        noise_seed: int | None = None,
        noises: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """`noises`, one (B or 1, 1, res, res) map per layer, replaces noise_mode's (projection
        optimises them)."""
        if noise_mode not in ("random", "const", "none"):
            raise ValueError(f"noise_mode='{noise_mode}' is not known: use random, const or none")
        gen = torch.Generator().manual_seed(noise_seed) if noise_seed is not None else None
        x = repeat(self.const, "1 c h w -> b c h w", b=ws.shape[0])
        rgb = None
        for i, (layer, res) in enumerate(zip(self.layers, self.resolutions, strict=False)):
            noise: torch.Tensor | None
            if noises is not None:
                noise = noises[i]
            elif noise_mode == "random":
                noise = (
                    torch.randn(ws.shape[0], 1, res, res, generator=gen).to(x)
                    if gen
                    else torch.randn(ws.shape[0], 1, res, res, device=x.device, dtype=x.dtype)
                )
            else:
                noise = getattr(self, f"noise_const_{i}") if noise_mode == "const" else None
            x = layer(x, ws[:, i], noise)
            if i % 2 == 0:  # after the 4x4 layer and after each resolution's second layer
                rgb = self.to_rgbs[i // 2](x, ws[:, i + 1], rgb)
        assert rgb is not None
        return rgb


def truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float | torch.Tensor) -> torch.Tensor:
    """The truncation trick (StyleGAN sec. 3.3): w pulled towards the mean w by psi."""
    return w_avg + psi * (w - w_avg)


class StyleGenerator(nn.Module):
    """Mapping + synthesis. `forward(z)` is the plain path; the model adds truncation and mixing."""

    def __init__(
        self,
        image_size: int = 32,
        image_channels: int = 1,
        z_dim: int = 128,
        w_dim: int = 128,
        mapping_depth: int = 8,
        mapping_lr_mul: float = 0.01,
        channel_base: int = 4096,
        channel_max: int = 256,
    ) -> None:
        super().__init__()
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_depth, mapping_lr_mul)
        self.synthesis = SynthesisNetwork(
            image_size, image_channels, w_dim, channel_base, channel_max
        )
        self.num_ws, self.z_dim = self.synthesis.num_ws, z_dim

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        return repeat(w, "b d -> b n d", n=self.num_ws)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, noise_mode: str = "random"
    ) -> torch.Tensor:
        return self.synthesis(self.broadcast(self.mapping(z)), noise_mode)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Appends the mean over features of the stddev within groups of `group_size` samples
    (ProGAN sec. 3). The official code asserts that the batch divides into groups; here a
    batch smaller than a group is one group, and any other batch must divide."""
    b, c, h, w = x.shape
    group = min(group_size, b)
    if b % group:
        raise ValueError(
            f"the discriminator's minibatch-stddev layer compares groups of {group} images, "
            f"but got a batch of {b}: use a data.batch_size divisible by {group}"
        )
    y = x.view(group, -1, c, h, w)
    std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B / group,)
    std = std.view(1, -1, 1, 1, 1).expand(group, -1, 1, h, w).reshape(b, 1, h, w)
    return torch.cat([x, std], dim=1)


class DiscriminatorBlock(nn.Module):
    """Two 3x3 convs then downsample, plus a 1x1 skip; the sum is scaled by 1/sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, in_ch, 3, activate=True)
        self.conv2 = EqualConv2d(in_ch, out_ch, 3, activate=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = resample(self.conv2(self.conv1(x)), 0.5)
        return (y + self.skip(resample(x, 0.5))) / SQRT2


class StyleDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B,): residual blocks, minibatch stddev, dense head."""

    def __init__(
        self,
        image_size: int = 32,
        image_channels: int = 1,
        channel_base: int = 4096,
        channel_max: int = 256,
        mbstd_group: int = 4,
    ) -> None:
        super().__init__()
        steps = num_halvings(image_size)
        resolutions = [image_size // 2**i for i in range(steps + 1)]  # image_size ... 4
        ch = [channels_at(r, channel_base, channel_max) for r in resolutions]
        self.from_rgb = EqualConv2d(image_channels, ch[0], 1, activate=True)
        self.blocks = nn.Sequential(
            *[DiscriminatorBlock(a, b) for a, b in zip(ch, ch[1:], strict=False)]
        )
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(ch[-1] + 1, ch[-1], 3, activate=True)
        self.fc = EqualLinear(ch[-1] * 16, ch[-1], activate=True)
        self.out = EqualLinear(ch[-1], 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.from_rgb(x))  # (B, C, 4, 4)
        h = self.conv(minibatch_stddev(h, self.mbstd_group))
        return self.out(self.fc(h.flatten(1))).flatten()
