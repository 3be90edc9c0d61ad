"""Layers shared by several families' networks."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn


def num_halvings(image_size: int, base_size: int = 4) -> int:
    """How many stride-2 steps take `image_size` down to `base_size`.

    Raises a ValueError naming the size when it is not `base_size` times a power of two.
    """
    steps = math.log2(image_size / base_size) if image_size >= base_size else -1
    if steps < 1 or steps != int(steps):
        raise ValueError(
            f"image_size={image_size} must be {base_size} times a power of two (8, 16, 32, 64, ...)"
        )
    return int(steps)


def make_norm(kind: str, channels: int) -> nn.Module:
    """A normalisation layer by name: batch, instance, group or none.

    Instance norm has no learned scale and shift (`affine=False`), as in the pix2pix / CycleGAN
    papers' code: the next convolution's bias and weights play that part."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "group":
        return nn.GroupNorm(min(32, channels // 4) or 1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm '{kind}': use batch, instance, group or none")


def make_activation(kind: str) -> nn.Module:
    """An activation by name: relu, lrelu (slope 0.2), silu or tanh.

    ReLU and LeakyReLU work in place: every block puts them after a convolution or a norm,
    whose backward needs its input, not its output, so the activation's copy is saved memory
    (about a tenth of a DCGAN step's peak at 64 px)."""
    table: dict[str, Callable[[], nn.Module]] = {
        "relu": lambda: nn.ReLU(inplace=True),
        "lrelu": lambda: nn.LeakyReLU(0.2, inplace=True),
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
    }
    if kind not in table:
        raise ValueError(f"unknown activation '{kind}': use one of {sorted(table)}")
    return table[kind]()


class DownBlock(nn.Sequential):
    """Conv(4x4, stride 2) -> norm -> activation: halves H and W."""

    def __init__(self, in_ch: int, out_ch: int, norm: str = "batch", act: str = "lrelu") -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=norm == "none"),
            make_norm(norm, out_ch),
            make_activation(act),
        )


class UpBlock(nn.Sequential):
    """ConvTranspose(4x4, stride 2) -> norm -> activation: doubles H and W."""

    def __init__(self, in_ch: int, out_ch: int, norm: str = "batch", act: str = "relu") -> None:
        super().__init__(
            nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=norm == "none"),
            make_norm(norm, out_ch),
            make_activation(act),
        )
