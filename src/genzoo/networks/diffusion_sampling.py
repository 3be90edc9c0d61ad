"""The reverse process: ancestral DDPM (Ho et al. 2020, eq. 6-7) and DDIM with eta (Song et
al. 2021, eq. 12), on one `NoiseSchedule` and one timestep spacing, and the loop that runs
them, with RePaint's resampling for inpainting (Lugmayr et al. 2022) and SDEdit's start from
a noised image (Meng et al. 2022).

Images here are in [-1, 1]. `noise(shape)` draws the sampler's randomness, so that the same
seed gives the same images on any device.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from genzoo.networks.noise_schedule import NoiseSchedule

SAMPLERS = ("ddim", "ddpm")
# (x_t, t) -> the network's output there, guidance applied
Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Noise = Callable[[tuple[int, ...]], torch.Tensor]


def seeded_noise(seeds: list[int], device: torch.device | str = "cpu") -> Noise:
    """Noise for a batch, image i from its own generator: an image depends on its seed only,
    not on the batch it is drawn in or the device."""
    generators = [torch.Generator().manual_seed(s) for s in seeds]

    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        rows = [torch.randn(shape[1:], generator=g) for g in generators]
        return torch.stack(rows).to(device)

    return draw


def sampling_timesteps(timesteps: int, steps: int) -> list[int]:
    """`steps` timesteps from the last down, evenly spaced and ending near 0 ("trailing", Lin
    et al. 2024, table 2): the first step starts at the schedule's noisiest level."""
    if not 1 <= steps <= timesteps:
        raise ValueError(f"steps={steps} must be from 1 to the model's {timesteps} timesteps")
    return [int(t) for t in np.round(np.arange(timesteps, 0, -timesteps / steps)) - 1]


def ddim_step(
    schedule: NoiseSchedule,
    x0: torch.Tensor,
    eps: torch.Tensor,
    t: torch.Tensor,
    t_prev: torch.Tensor,
    eta: float,
    noise: Noise,
) -> torch.Tensor:
    """x_{t_prev} from the predicted x_0 and eps; eta=0 is deterministic, eta=1 is DDPM-like."""
    a, a_prev = schedule._at(t, x0), schedule._at(t_prev, x0)
    sigma = eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).sqrt()
    x_prev = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
    return x_prev + sigma * noise(tuple(x0.shape)) if eta > 0 else x_prev


def ddpm_step(
    schedule: NoiseSchedule,
    x0: torch.Tensor,
    x_t: torch.Tensor,
    t: torch.Tensor,
    t_prev: torch.Tensor,
    noise: Noise,
) -> torch.Tensor:
    """A draw from the posterior q(x_{t_prev} | x_t, x_0) with its own variance ("fixed small")."""
    a, a_prev = schedule._at(t, x0), schedule._at(t_prev, x0)
    beta = 1 - a / a_prev  # the one-step beta between the two levels
    mean = (a_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - a_prev) * x_t) / (1 - a)
    variance = (1 - a_prev) / (1 - a) * beta
    return mean + variance.clamp(min=1e-20).sqrt() * noise(tuple(x0.shape))


def harmonized_x0_and_eps(
    denoise: Denoise,
    schedule: NoiseSchedule,
    x: torch.Tensor,
    t: torch.Tensor,
    known: torch.Tensor,
    mask: torch.Tensor,
    weight: float,
    clip: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_0, eps) at x_t with reconstruction guidance (Ho et al. 2022, Video Diffusion Models,
    eq. 7): the predicted x_0 moved by `weight` sqrt(alpha_bar) / 2 down the gradient, taken
    through the network, of its squared error on the kept pixels. Replacement alone tells the
    painted region nothing about the kept one until the network looks at both; the gradient
    does, at the cost of a backward pass a step."""
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        x0, _ = schedule.x0_and_eps(denoise(x_in, t), x_in, t, clip=False)
        error = ((1 - mask) * (x0 - known) ** 2).sum()
        (gradient,) = torch.autograd.grad(error, x_in)
    a = schedule._at(t, x)
    x0 = x0.detach() - weight * a.sqrt() / 2 * gradient
    if clip:
        x0 = x0.clamp(-1, 1)
    return x0, (x - a.sqrt() * x0) / (1 - a).sqrt()


def run_sampler(
    denoise: Denoise,
    schedule: NoiseSchedule,
    x: torch.Tensor,
    *,
    noise: Noise,
    steps: int = 50,
    sampler: str = "ddim",
    eta: float = 0.0,
    clip: bool = True,
    start: int | None = None,
    known: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    resample: int = 1,
    harmonize: float = 0.0,
    trajectory: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """From x at the first timestep (at or below `start`, SDEdit) down to x_0.

    With `known` and `mask` (1 where to generate, 0 where the image is kept), the kept region
    is put back, noised to each step's level, before every step, and each step is repeated
    `resample` times by noising its result back up (RePaint); the kept pixels of the result
    are `known`'s exactly; `harmonize` > 0 adds reconstruction guidance of that weight
    (`harmonized_x0_and_eps`). `trajectory` collects the predicted x_0 at each step.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler={sampler} is not known: use {', '.join(SAMPLERS)}")
    times = sampling_timesteps(schedule.timesteps, steps)
    if start is not None:
        times = [t for t in times if t <= start]
    batch = len(x)
    for i, step_t in enumerate(times):
        t = torch.full((batch,), step_t, device=x.device, dtype=torch.long)
        t_prev = torch.full_like(t, times[i + 1] if i + 1 < len(times) else -1)
        for repeat in range(resample):
            if known is not None and mask is not None:
                kept = schedule.add_noise(known, t, noise(tuple(known.shape)))
                x = mask * x + (1 - mask) * kept
            if known is not None and mask is not None and harmonize > 0:
                x0, eps = harmonized_x0_and_eps(
                    denoise, schedule, x, t, known, mask, harmonize, clip
                )
            else:
                x0, eps = schedule.x0_and_eps(denoise(x, t), x, t, clip)
            if sampler == "ddim":
                x_prev = ddim_step(schedule, x0, eps, t, t_prev, eta, noise)
            else:
                x_prev = ddpm_step(schedule, x0, x, t, t_prev, noise)
            if repeat < resample - 1:
                x = schedule.renoise(x_prev, t_prev, t, noise(tuple(x.shape)))
        x = x_prev
        if trajectory is not None:
            trajectory.append(x0)
    if known is not None and mask is not None:
        x = mask * x + (1 - mask) * known
    return x
