"""The parts of a trained model a user deploys, as plain modules with tensor inputs and images
in [0, 1] out: what genzoo-export writes as ONNX or TorchScript (genzoo/cli/export.py).

A model's `export_parts()` (models/) builds them from its own networks; each part says its
inputs (which axis is the batch, which are spatial and to what multiple) so that the export
can make those axes dynamic and check the exported file at other sizes than the example's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from einops import repeat
from torch import nn

from genzoo.networks.stylegan import truncate
from genzoo.networks.vae import likelihood_mean


@dataclass(frozen=True)
class InputSpec:
    """One input: its example shape (batch first), how check values are drawn (`normal`,
    `unit` images in [0, 1], `codes` / `labels` below `high`, `scalar`), and, where its last two
    axes are spatial and may change, the step they change by (`spatial_step`; 0: fixed)."""

    shape: tuple[int, ...]
    kind: str = "normal"
    high: int = 0
    spatial_step: int = 0

    def draw(self, batch: int, grow: int, gen: torch.Generator) -> torch.Tensor:
        shape = list(self.shape)
        if self.kind != "scalar":
            shape[0] = batch
        if self.spatial_step:  # `grow` steps larger, then `grow` steps taller than wide
            shape[-2] += 2 * grow * self.spatial_step
            shape[-1] += grow * self.spatial_step
        if self.kind == "unit":
            return torch.rand(shape, generator=gen)
        if self.kind in ("codes", "labels"):
            return torch.randint(0, self.high, shape, generator=gen)
        if self.kind == "scalar":
            return torch.full(shape, 0.7)
        return torch.randn(shape, generator=gen)


@dataclass
class ExportPart:
    """A deployable module and its inputs, in the order `forward` takes them."""

    name: str
    module: nn.Module
    inputs: dict[str, InputSpec]
    output: str = "image"
    notes: list[str] = field(default_factory=list)

    @property
    def spatial(self) -> bool:
        """Whether the network takes other spatial sizes than the example's."""
        return any(spec.spatial_step for spec in self.inputs.values())

    def example(self, batch: int = 2, grow: int = 0, seed: int = 0) -> tuple[torch.Tensor, ...]:
        gen = torch.Generator().manual_seed(seed)
        return tuple(spec.draw(batch, grow, gen) for spec in self.inputs.values())


def signed_to_unit(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) / 2).clamp(0, 1)


class ImageToImage(nn.Module):
    """A network on [-1, 1] images (`signed`) or [0, 1] ones, as [0, 1] -> [0, 1]."""

    def __init__(self, net: nn.Module, signed: bool) -> None:
        super().__init__()
        self.net, self.signed = net, signed

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.signed:
            return signed_to_unit(self.net(image * 2 - 1))
        return self.net(image).clamp(0, 1)


class LatentToImage(nn.Module):
    """A DCGAN generator: z (B, D) [and labels (B,)] -> images."""

    def __init__(self, generator: nn.Module, conditional: bool) -> None:
        super().__init__()
        self.generator, self.conditional = generator, conditional

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return signed_to_unit(self.generator(z, label if self.conditional else None))


class StyleLatentToImage(nn.Module):
    """A StyleGAN generator with its mapping network and truncation trick: z (B, D) and psi (1,)
    -> images, with the generator's fixed noise (noise_mode=const)."""

    def __init__(self, generator: Any) -> None:
        super().__init__()
        self.mapping, self.synthesis = generator.mapping, generator.synthesis
        self.num_ws = int(generator.num_ws)

    def forward(self, z: torch.Tensor, truncation: torch.Tensor) -> torch.Tensor:
        w = self.mapping(z)
        w = truncate(w, self.mapping.w_avg, truncation)
        ws = repeat(w, "b d -> b n d", n=self.num_ws)
        return signed_to_unit(self.synthesis(ws, "const"))


class VAEDecoderToImage(nn.Module):
    """A VAE decoder: z (B, D) [and labels (B,)] -> the likelihood's mean image."""

    def __init__(
        self, decoder: nn.Module, likelihood: str, image_channels: int, num_classes: int
    ) -> None:
        super().__init__()
        self.decoder, self.likelihood = decoder, likelihood
        self.image_channels, self.num_classes = image_channels, num_classes

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        onehot = (
            F.one_hot(label.long(), self.num_classes).to(z.dtype)
            if self.num_classes and label is not None
            else None
        )
        return likelihood_mean(self.decoder(z, onehot), self.likelihood, self.image_channels)


class CodesToImage(nn.Module):
    """A VQ-VAE decoder: integer code maps (B, H', W'), bottom level first -> images."""

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net

    def forward(self, *codes: torch.Tensor) -> torch.Tensor:
        return signed_to_unit(self.net.decode_codes(list(codes)))
