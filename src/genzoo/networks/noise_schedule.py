"""The forward process of a diffusion model: the noise schedule and what a network's output
means under it (Ho et al. 2020; Nichol & Dhariwal 2021; Salimans & Ho 2022; Lin et al. 2024).

One `NoiseSchedule` serves training and every sampler, so they cannot disagree on the
schedule or on how a timestep maps to a noise level.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "v")


def linear_betas(timesteps: int) -> torch.Tensor:
    """DDPM's betas, 1e-4 to 0.02 over 1,000 steps, scaled for other step counts."""
    scale = 1000 / timesteps
    return torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)


def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Improved DDPM's cosine schedule (eq. 17): alpha_bar(t) = cos^2((t/T + s) / (1 + s) pi/2)."""

    def alpha_bar(t: float) -> float:
        return math.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar(i + 1) / alpha_bar(i), max_beta) for i in range(timesteps)]
    return torch.tensor(betas, dtype=torch.float64)


def rescale_to_zero_terminal_snr(betas: torch.Tensor) -> torch.Tensor:
    """Lin et al. 2024, algorithm 1: shift and scale sqrt(alpha_bar) so that the last step is
    pure noise (SNR 0), keeping the first step's value."""
    root = torch.cumprod(1 - betas, 0).sqrt()
    first, last = root[0].clone(), root[-1].clone()
    root = (root - last) * first / (first - last)
    alpha_bar = root**2
    alphas = torch.cat([alpha_bar[:1], alpha_bar[1:] / alpha_bar[:-1]])
    return 1 - alphas


class NoiseSchedule:
    """alpha_bar over `timesteps` steps and the conversions between x_0, eps, v and x_t."""

    def __init__(
        self,
        timesteps: int = 1000,
        schedule: str = "cosine",
        prediction: str = "v",
        zero_terminal_snr: bool = False,
    ) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"model.schedule={schedule} is not known: use {', '.join(SCHEDULES)}")
        if prediction not in PREDICTIONS:
            raise ValueError(
                f"model.prediction={prediction} is not known: use {', '.join(PREDICTIONS)}"
            )
        betas = linear_betas(timesteps) if schedule == "linear" else cosine_betas(timesteps)
        if zero_terminal_snr:
            if prediction == "eps":  # eps at SNR 0 says nothing about x_0 (Lin et al., sec. 3.2)
                raise ValueError("model.zero_terminal_snr=true needs model.prediction=v")
            betas = rescale_to_zero_terminal_snr(betas)
        self.timesteps, self.prediction = timesteps, prediction
        self.betas = betas
        self.alpha_bar = torch.cumprod(1 - betas, 0)  # float64: exact over 1,000 products

    def _at(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """alpha_bar at timesteps t (B,), shaped to broadcast over `like`; t = -1 is 1 (x_0)."""
        padded = torch.cat([self.alpha_bar.new_ones(1), self.alpha_bar])
        value = padded.to(like.device)[t.long() + 1]
        return value.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def add_noise(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps."""
        a = self._at(t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def renoise(
        self, x: torch.Tensor, t_from: torch.Tensor, t_to: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """A sample at t_from taken forward to the noisier t_to (RePaint's jump back)."""
        ratio = self._at(t_to, x) / self._at(t_from, x)
        return ratio.sqrt() * x + (1 - ratio).sqrt() * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the network learns to output: eps, or v = sqrt(a) eps - sqrt(1 - a) x_0."""
        if self.prediction == "eps":
            return noise
        a = self._at(t, x0)
        return a.sqrt() * noise - (1 - a).sqrt() * x0

    def x0_and_eps(
        self, output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, clip: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's output at x_t -> (x_0, eps). With `clip`, x_0 is clipped to [-1, 1]
        and eps derived again from the clipped x_0, so that the step that follows is the one
        of a sample that lies in the data range."""
        a = self._at(t, x_t)
        if self.prediction == "eps":
            x0 = (x_t - (1 - a).sqrt() * output) / a.sqrt()
        else:
            x0 = a.sqrt() * x_t - (1 - a).sqrt() * output
        if not clip:
            eps = output if self.prediction == "eps" else a.sqrt() * output + (1 - a).sqrt() * x_t
            return x0, eps
        x0 = x0.clamp(-1, 1)
        return x0, (x_t - a.sqrt() * x0) / (1 - a).sqrt()
