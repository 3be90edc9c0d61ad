"""Networks, losses and helpers in isolation."""

from __future__ import annotations

import math

import pytest
import torch

from genzoo.data.transforms import to_channels
from genzoo.losses.kl import gaussian_kl_standard_normal
from genzoo.losses.likelihood import gaussian_log_likelihood
from genzoo.models.base import CapabilityError, GenerativeModel, slerp
from genzoo.models.vae import VAE
from genzoo.networks.blocks import num_halvings
from genzoo.networks.vae import ConvDecoder, ConvEncoder


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_encoder_decoder_shapes(size: int) -> None:
    enc, dec = ConvEncoder(3, size, 5, 8), ConvDecoder(3, size, 5, 8)
    mean, logvar = enc(torch.rand(2, 3, size, size))
    assert mean.shape == logvar.shape == (2, 5)
    assert dec(mean).shape == (2, 3, size, size)


def test_bad_image_size_is_named() -> None:
    with pytest.raises(ValueError, match="image_size=24"):
        num_halvings(24)


def test_kl_matches_monte_carlo() -> None:
    torch.manual_seed(0)
    mean, logvar = torch.randn(1, 3), torch.randn(1, 3) * 0.3
    z = mean + torch.randn(200_000, 3) * torch.exp(0.5 * logvar)
    log_q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar)).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0, 1).log_prob(z).sum(1)
    assert gaussian_kl_standard_normal(mean, logvar).item() == pytest.approx(
        (log_q - log_p).mean().item(), abs=0.02
    )


def test_gaussian_likelihood_matches_torch() -> None:
    x, mean = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    expected = torch.distributions.Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(
        gaussian_log_likelihood(mean, x, torch.tensor(math.log(0.3))), expected
    )


def test_iwae_bound_is_tighter_than_elbo() -> None:
    torch.manual_seed(0)
    model = VAE(image_size=16, latent_dim=4, hidden_channels=8).eval()
    x = (torch.rand(8, 1, 16, 16) > 0.5).float()
    neg_elbo = torch.stack(
        [-(t := model.elbo_terms(x, None))["log_px"] + t["kl"] for _ in range(200)]
    ).mean(0)
    nll = model.importance_weighted_nll(x, None, k=64)
    assert (nll <= neg_elbo + 0.5).all()


def test_conditional_vae_uses_labels() -> None:
    model = VAE(image_size=16, latent_dim=4, hidden_channels=8, num_classes=10).eval()
    a = model.sample(4, seed=0, labels=torch.tensor([1, 1, 1, 1]))
    b = model.sample(4, seed=0, labels=torch.tensor([2, 2, 2, 2]))
    assert not torch.allclose(a, b)
    assert model.reconstruct(torch.rand(3, 1, 16, 16), torch.tensor([0, 1, 2])).shape == (
        3,
        1,
        16,
        16,
    )


def test_interpolation_endpoints_are_the_seed_samples() -> None:
    model = VAE(image_size=16, latent_dim=4, hidden_channels=8).eval()
    strip = model.interpolate(5, seed_a=3, seed_b=4)
    assert strip.shape == (5, 1, 16, 16)
    torch.testing.assert_close(strip[0], model.sample(1, seed=3)[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(strip[-1], model.sample(1, seed=4)[0], atol=1e-5, rtol=1e-4)
    a, b = torch.randn(1, 4), torch.randn(1, 4)
    torch.testing.assert_close(
        slerp(a, b, torch.tensor([[0.0], [1.0]])), torch.cat([a, b]), atol=1e-5, rtol=1e-5
    )


def test_unsupported_capability_is_named() -> None:
    with pytest.raises(CapabilityError, match="cannot sample"):
        GenerativeModel().sample(1)


def test_channel_conversion() -> None:
    grey = torch.rand(1, 4, 4)
    assert to_channels(grey, 3).shape == (3, 4, 4)
    torch.testing.assert_close(to_channels(to_channels(grey, 3), 1), grey)


def test_hyperparameters_are_plain_containers() -> None:
    model = VAE(optimizer=lambda p: torch.optim.Adam(p))
    assert all(isinstance(v, (int, float, str, bool, type(None))) for v in model.hparams.values())
