"""genzoo's noise schedules and samplers against an independent implementation: diffusers'
DDPMScheduler and DDIMScheduler, stepped on the same model outputs and the same noise."""

from __future__ import annotations

import diffusers  # a dev dependency (pyproject.toml): its absence is a failure, not a skip
import pytest
import torch

from genzoo.networks.diffusion_sampling import (
    harmonized_x0_and_eps,
    run_sampler,
    sampling_timesteps,
)
from genzoo.networks.noise_schedule import NoiseSchedule

BETA_SCHEDULES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


def _fake_network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A fixed smooth function of (x_t, t) standing in for a trained denoiser."""
    return torch.tanh(0.7 * x + 0.001 * t.float().view(-1, 1, 1, 1)) * 0.9


def _noise_source(seed: int):
    gen = torch.Generator().manual_seed(seed)
    return lambda shape: torch.randn(shape, generator=gen, dtype=torch.float64)


def _diffusers_scheduler(kind: str, schedule: str, prediction: str, zero_snr: bool):
    common = dict(
        num_train_timesteps=1000,
        beta_schedule=BETA_SCHEDULES[schedule],
        beta_start=1e-4,
        beta_end=0.02,
        prediction_type="v_prediction" if prediction == "v" else "epsilon",
        clip_sample=True,
        timestep_spacing="trailing",
        rescale_betas_zero_snr=zero_snr,
    )
    if kind == "ddim":
        return diffusers.DDIMScheduler(set_alpha_to_one=True, **common)
    return diffusers.DDPMScheduler(variance_type="fixed_small", **common)


def _diffusers_run(scheduler, x, steps, eta, noise):
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        out = _fake_network(x, t.repeat(len(x)))
        if isinstance(scheduler, diffusers.DDIMScheduler):
            # the clipped x_0's own noise (genzoo's rule); diffusers draws with variance_noise
            step = scheduler.step(
                out, t, x, eta=eta, use_clipped_model_output=True,
                variance_noise=noise(tuple(x.shape)) if eta > 0 else None,
            )  # fmt: skip
        else:
            step = scheduler.step(out, t, x, generator=None)
        x = step.prev_sample
    return x


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("zero_snr", [False, True])
def test_betas_and_timesteps_match_diffusers(schedule: str, zero_snr: bool) -> None:
    ours = NoiseSchedule(1000, schedule, "v", zero_terminal_snr=zero_snr)
    theirs = _diffusers_scheduler("ddim", schedule, "v", zero_snr)
    # alpha_bar, the noise level itself: diffusers' float32 betas differ from genzoo's float64
    # ones by float32's rounding where the zero-SNR rescale takes differences of near-equal values.
    torch.testing.assert_close(ours.alpha_bar.float(), theirs.alphas_cumprod, rtol=1e-5, atol=1e-6)
    if zero_snr:
        assert float(ours.alpha_bar[-1]) == pytest.approx(0.0, abs=1e-12)
    for steps in (50, 1000, 7):
        theirs.set_timesteps(steps)
        assert sampling_timesteps(1000, steps) == theirs.timesteps.tolist()


@pytest.mark.parametrize(
    ("sampler", "prediction", "schedule", "eta", "zero_snr", "steps"),
    [
        ("ddim", "eps", "linear", 0.0, False, 50),
        ("ddim", "v", "cosine", 0.0, False, 50),
        ("ddim", "v", "cosine", 0.5, True, 20),
        ("ddim", "v", "linear", 1.0, False, 20),
        ("ddim", "eps", "cosine", 0.5, False, 1000),
        ("ddpm", "v", "cosine", None, False, 50),
        ("ddpm", "eps", "linear", None, False, 1000),
    ],
)
def test_samplers_match_diffusers_on_the_same_outputs_and_noise(
    sampler: str, prediction: str, schedule: str, eta: float | None, zero_snr: bool, steps: int
) -> None:
    start = torch.randn((3, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    theirs_scheduler = _diffusers_scheduler(sampler, schedule, prediction, zero_snr)
    if sampler == "ddpm":
        # DDPMScheduler draws its own noise: give it ours through torch's global generator.
        noise_for_them = _noise_source(1)
        original = diffusers.schedulers.scheduling_ddpm.randn_tensor
        diffusers.schedulers.scheduling_ddpm.randn_tensor = lambda shape, **kw: noise_for_them(
            tuple(shape)
        ).to(kw.get("dtype") or torch.float64)
        try:
            theirs = _diffusers_run(theirs_scheduler, start.double(), steps, 0.0, None)
        finally:
            diffusers.schedulers.scheduling_ddpm.randn_tensor = original
    else:
        theirs = _diffusers_run(theirs_scheduler, start.double(), steps, eta, _noise_source(1))
    ours = run_sampler(
        _fake_network,
        NoiseSchedule(1000, schedule, prediction, zero_terminal_snr=zero_snr),
        start.double(),
        noise=_noise_source(1),
        steps=steps,
        sampler=sampler,
        eta=eta or 0.0,
    )
    # diffusers keeps alpha_bar in float32: over 1,000 steps its rounding adds up to ~3e-5.
    tolerance = 1e-5 if steps <= 50 else 1e-4
    torch.testing.assert_close(ours, theirs.to(ours.dtype), rtol=tolerance, atol=tolerance)


def test_the_clipped_prediction_gives_the_noise_it_implies() -> None:
    """After clipping x_0, eps is derived again from it: x_t is their exact combination."""
    schedule = NoiseSchedule(1000, "cosine", "eps")
    x_t = 3 * torch.randn(4, 1, 8, 8, dtype=torch.float64)
    t = torch.full((4,), 10)
    x0, eps = schedule.x0_and_eps(torch.randn_like(x_t), x_t, t, clip=True)
    assert x0.abs().max() <= 1
    torch.testing.assert_close(schedule.add_noise(x0, t, eps), x_t)


def test_ddim_at_eta_one_from_pure_noise_stays_finite() -> None:
    """At zero terminal SNR with eta=1 the first step's deterministic part is exactly 0 and
    rounds below it: genzoo clamps it (diffusers 0.35 returns NaN there)."""
    x = torch.randn(2, 1, 4, 4)
    schedule = NoiseSchedule(1000, "cosine", "v", zero_terminal_snr=True)
    out = run_sampler(_fake_network, schedule, x, noise=_noise_source(2), steps=10, eta=1.0)
    assert torch.isfinite(out).all()


def _blurring_network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A fake denoiser whose output at a pixel depends on its neighbours, as a U-Net's does."""
    return 0.5 * torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)


def test_reconstruction_guidance_pulls_x0_toward_the_kept_pixels() -> None:
    """Weight 0 is the plain prediction; a small weight lowers x_0's error on the kept pixels,
    changes the painted ones through the network, and keeps x_t = add_noise(x_0, eps)."""
    schedule = NoiseSchedule(1000, "cosine", "eps")
    gen = torch.Generator().manual_seed(3)
    known = torch.rand(2, 1, 8, 8, generator=gen, dtype=torch.float64) * 2 - 1
    x_t = torch.randn(2, 1, 8, 8, generator=gen, dtype=torch.float64)
    mask = torch.zeros(2, 1, 8, 8, dtype=torch.float64)
    mask[..., 4:, :] = 1
    t = torch.full((2,), 300)
    plain = schedule.x0_and_eps(_blurring_network(x_t, t), x_t, t, clip=False)
    same = harmonized_x0_and_eps(_blurring_network, schedule, x_t, t, known, mask, 0.0, False)
    torch.testing.assert_close(same, plain)
    x0, eps = harmonized_x0_and_eps(_blurring_network, schedule, x_t, t, known, mask, 0.5, False)

    def kept_error(x: torch.Tensor) -> float:
        return float(((1 - mask) * (x - known) ** 2).sum())

    assert kept_error(x0) < 0.9 * kept_error(plain[0])
    assert not torch.allclose(mask * x0, mask * plain[0])
    torch.testing.assert_close(schedule.add_noise(x0, t, eps), x_t)
