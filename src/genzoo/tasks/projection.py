"""GAN inversion: the latent that makes a trained generator reproduce a given image.

StyleGAN follows the StyleGAN2 projector (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN", appendix D): start at the mean w, optimise w (space "w", one
vector for every layer; or "w+", one per layer, Abdal et al. 2019) and the per-layer noise
maps with Adam, learning rate ramped up over the first 5% of steps and down (cosine) over the
last 25%; Gaussian noise of 0.05 w_std added to w, decaying to 0 at 75% of the steps; the
noise maps renormalised after every step and kept from carrying the image by a multi-scale
autocorrelation penalty (weight 1e5). DCGAN has neither w nor noise: its z is optimised from
the best of 64 random starts, with the same schedule.

The distance is perceptual where genzoo has an offline feature network: the digit
classifier's three conv stages (metrics/digit_classifier.py) for grey 32 px digit models,
each stage's features unit-normalised per position as LPIPS does, plus mean squared pixel
error; elsewhere pixels alone (`distance="pixel"`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.errors import GenzooError
from genzoo.models.gan import to_unit

SPACES = {"StyleGAN": ("w", "w+"), "DCGAN": ("z",)}
DISTANCES = ("auto", "digits", "pixel")


class ProjectionError(GenzooError, ValueError):
    """A projection was asked of a model or with options it cannot take."""


def supports_projection(model: nn.Module) -> bool:
    return type(model).__name__ in SPACES and not getattr(model, "num_classes", 0)


@dataclass
class Projection:
    """The result for a batch of B target images."""

    images: torch.Tensor  # (B, C, H, W) in [0, 1]: the generator's output at the latents
    latents: dict[str, Any]  # z (B, D); or w (B, num_ws, D) and noise maps
    losses: torch.Tensor  # (steps, B): the objective per step and image
    space: str
    distance: str
    steps: int
    notes: dict[str, str] = field(default_factory=dict)


def lr_at(t: float, base: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    """The StyleGAN2 projector's learning rate at progress t in [0, 1]."""
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return base * ramp * min(1.0, t / rampup)


def noise_regularisation(noises: list[torch.Tensor]) -> torch.Tensor:
    """Per image (B,): squared autocorrelation of each of its noise maps at one-pixel shifts,
    over scales down to 8 px (Karras et al. 2020, appendix D). Each image's own maps: a mean
    over the batch would shrink one image's gradient as 1/B**2 and leave the maps unchecked."""
    total = noises[0].new_zeros(noises[0].shape[0])
    for noise in noises:  # (B, 1, H, W)
        size = noise.shape[-1]
        while True:
            total = total + (noise * torch.roll(noise, 1, dims=3)).mean(dim=(1, 2, 3)) ** 2
            total = total + (noise * torch.roll(noise, 1, dims=2)).mean(dim=(1, 2, 3)) ** 2
            if size <= 8:
                break
            noise = F.avg_pool2d(noise, 2)
            size //= 2
    return total


class DigitDistance(nn.Module):
    """Per-image perceptual distance on the digit classifier's conv stages + pixel MSE, (B,)."""

    def __init__(self, pixel_weight: float = 1.0) -> None:
        super().__init__()
        from genzoo.metrics.digit_classifier import load_digit_classifier

        body = load_digit_classifier().body
        # Stages end at each ReLU: 32x32x32, 16x16x64, 8x8x128.
        self.stages = nn.ModuleList([body[0:2], body[2:5], body[5:8]])
        self.pixel_weight = pixel_weight

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        from genzoo.metrics.digit_classifier import DigitClassifier

        h, out = DigitClassifier.prepare(x), []
        for stage in self.stages:
            h = stage(h)
            out.append(h / (h.norm(dim=1, keepdim=True) + 1e-10))
        return out

    def forward(self, x: torch.Tensor, target_features: list[torch.Tensor]) -> torch.Tensor:
        dist = sum(
            ((a - b) ** 2).sum(dim=1).mean(dim=(1, 2))
            for a, b in zip(self.features(x), target_features, strict=True)
        )
        return dist  # type: ignore[return-value]


def pick_distance(model: Any, distance: str) -> str:
    if distance not in DISTANCES:
        raise ProjectionError(f"distance={distance}: use one of {', '.join(DISTANCES)}")
    grey_digits = model.hparams.get("image_channels") == 1 and model.hparams.get("image_size") == 32
    if distance == "auto":
        return "digits" if grey_digits else "pixel"
    if distance == "digits" and not grey_digits:
        raise ProjectionError(
            "distance=digits needs a model of grey 32x32 images (the digit classifier's): "
            "use distance=pixel"
        )
    return distance


def projection_space(model: nn.Module, space: str | None) -> str:
    """The latent space to project into: `space`, or the family's first (z for DCGAN, w for
    StyleGAN); one the family has not is a ProjectionError naming the ones it has."""
    family = type(model).__name__
    chosen = space or SPACES[family][0]
    if chosen not in SPACES[family]:
        raise ProjectionError(f"space={chosen}: {family} projects into {', '.join(SPACES[family])}")
    return chosen


def project(
    model: nn.Module,
    targets: torch.Tensor,
    space: str | None = None,
    steps: int = 500,
    lr: float = 0.1,
    distance: str = "auto",
    noise_weight: float = 1e5,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """Project `targets` (B, C, H, W) in [0, 1] into a DCGAN's z or a StyleGAN's w / w+."""
    family = type(model).__name__
    if not supports_projection(model):
        raise ProjectionError(
            f"{family} cannot project images: projection inverts an unconditional DCGAN or "
            "StyleGAN generator"
        )
    space = projection_space(model, space)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ProjectionError(f"steps={steps} must be a whole number >= 1, e.g. 500")
    distance = pick_distance(model, distance)
    device = next(model.parameters()).device
    targets = targets.to(device)
    measure = DigitDistance().to(device) if distance == "digits" else None
    with torch.no_grad():
        target_features = measure.features(targets) if measure is not None else []

    def objective(images: torch.Tensor) -> torch.Tensor:
        pixel = ((images - targets) ** 2).mean(dim=(1, 2, 3))
        if measure is None:
            return pixel
        return measure(images, target_features) + pixel

    gen = torch.Generator().manual_seed(seed)
    if family == "StyleGAN":
        return _project_style(
            model, targets, space, steps, lr, objective, noise_weight, gen, progress, distance
        )
    return _project_z(model, targets, steps, lr, objective, gen, progress, distance)


def _project_style(
    model: Any,
    targets: torch.Tensor,
    space: str,
    steps: int,
    lr: float,
    objective: Callable[[torch.Tensor], torch.Tensor],
    noise_weight: float,
    gen: torch.Generator,
    progress: Callable[[int, int], None] | None,
    distance: str,
) -> Projection:
    g = model.generator_ema
    batch, device = len(targets), targets.device
    with torch.no_grad():  # w's spread, for the noise added to w early on
        z = torch.randn(10_000, g.z_dim, generator=gen).to(device)
        ws = g.mapping(z)
        w_avg = ws.mean(0)
        w_std = float(((ws - w_avg) ** 2).sum(1).mean().sqrt())
    layers = g.num_ws if space == "w+" else 1
    w = w_avg.repeat(batch, layers, 1).clone().requires_grad_(True)
    noises = [
        torch.randn(batch, 1, res, res, generator=gen).to(device).requires_grad_(True)
        for res in g.synthesis.resolutions
    ]
    opt = torch.optim.Adam([w, *noises], lr=lr, betas=(0.9, 0.999))
    losses = []
    for step in range(steps):
        t = step / steps
        for group in opt.param_groups:
            group["lr"] = lr_at(t, lr)
        jitter = w_std * 0.05 * max(0.0, 1.0 - t / 0.75) ** 2
        w_in = w + torch.randn(w.shape, generator=gen).to(device) * jitter
        images = to_unit(g.synthesis(_broadcast(w_in, g.num_ws), noises=noises))
        per_image = objective(images)
        loss = (per_image + noise_weight * noise_regularisation(noises)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # noise maps stay unit Gaussian per image
            for noise in noises:
                noise -= noise.mean(dim=(1, 2, 3), keepdim=True)
                noise /= noise.square().mean(dim=(1, 2, 3), keepdim=True).sqrt()
        losses.append(per_image.detach().cpu())
        if progress is not None:
            progress(step + 1, steps)
    with torch.no_grad():
        final = to_unit(g.synthesis(_broadcast(w, g.num_ws), noises=noises)).clamp(0, 1)
    latents = {
        # (B, w_dim) in w, (B, num_ws, w_dim) in w+: the space's own shape.
        "w": (w.detach()[:, 0] if space == "w" else w.detach()).cpu(),
        "noise": [n.detach().cpu() for n in noises],
    }
    return Projection(final, latents, torch.stack(losses), space, distance, steps)


def _broadcast(w: torch.Tensor, num_ws: int) -> torch.Tensor:
    return w if w.shape[1] == num_ws else w.expand(-1, num_ws, -1)


def _project_z(
    model: Any,
    targets: torch.Tensor,
    steps: int,
    lr: float,
    objective: Callable[[torch.Tensor], torch.Tensor],
    gen: torch.Generator,
    progress: Callable[[int, int], None] | None,
    distance: str,
) -> Projection:
    g, dim, device = model.generator_ema, int(model.latent_dim), targets.device
    with torch.no_grad():  # the best of 64 random starts for each image
        starts = torch.randn(64, dim, generator=gen).to(device)
        candidates = to_unit(g(starts, None))
        scores = torch.stack(
            [objective(candidates[i : i + 1].expand_as(targets)) for i in range(64)]
        )
        z = starts[scores.argmin(0)].clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr, betas=(0.9, 0.999))
    losses = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step / steps, lr)
        per_image = objective(to_unit(g(z, None)))
        opt.zero_grad(set_to_none=True)
        per_image.sum().backward()
        opt.step()
        losses.append(per_image.detach().cpu())
        if progress is not None:
            progress(step + 1, steps)
    with torch.no_grad():
        final = to_unit(g(z, None)).clamp(0, 1)
    return Projection(final, {"z": z.detach().cpu()}, torch.stack(losses), "z", distance, steps)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of images in [0, 1], (B,)."""
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return -10 * torch.log10(mse)


__all__ = ["Projection", "project", "psnr", "supports_projection"]
