"""Likelihoods in real units: a discretised likelihood over 8-bit values, Bernoulli only over
binarised pixels, and bits/dim only where the number is a probability of the pixels."""

from __future__ import annotations

import pytest
import torch

from genzoo.data.embedded import DigitsDataModule
from genzoo.data.errors import DatasetError
from genzoo.losses.likelihood import discretized_logistic_log_likelihood
from genzoo.models.vae import VAE


@pytest.mark.parametrize(("mean", "log_scale"), [(0.3, -2.0), (-0.95, -5.0), (0.99, -7.0), (0, 1)])
def test_discretized_logistic_is_a_distribution_over_the_256_pixel_values(
    mean: float, log_scale: float
) -> None:
    values = torch.arange(256).float().div(255).view(256, 1, 1, 1)
    log_p = discretized_logistic_log_likelihood(
        torch.full_like(values, mean), torch.full_like(values, log_scale), values
    )
    assert float(log_p.exp().sum()) == pytest.approx(1.0, abs=1e-4)
    assert torch.isfinite(log_p).all()


def images_of(loader) -> torch.Tensor:
    return torch.cat([batch["image"] for batch in loader])


def test_dynamic_binarisation_draws_training_pixels_anew_and_holds_the_val_set_fixed() -> None:
    data = DigitsDataModule(batch_size=100, binarize="dynamic")
    data.setup()
    loader = data.train_dataloader()
    first = images_of(loader)
    loader.sampler.set_epoch(1)
    second = images_of(loader)
    assert set(first.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(first, second)
    val_a, val_b = images_of(data.val_dataloader()), images_of(data.val_dataloader())
    assert torch.equal(val_a, val_b) and set(val_a.unique().tolist()) == {0.0, 1.0}
    grey_data = DigitsDataModule(batch_size=100)
    grey_data.setup()
    grey = images_of(grey_data.val_dataloader())
    # Black-and-white draws keep the grey level on average.
    assert float(val_a.mean()) == pytest.approx(float(grey.mean()), abs=0.01)
    # The grey originals travel along: sample-quality metrics compare samples with them.
    batch = next(iter(data.val_dataloader()))
    torch.testing.assert_close(batch["grey"], grey[: len(batch["grey"])])


def test_unknown_binarisation_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="data.binarize=sometimes is not known"):
        DigitsDataModule(binarize="sometimes")


@pytest.mark.parametrize(
    ("likelihood", "binarize", "has_bpd"),
    [
        ("gaussian", "none", False),
        ("bernoulli", "none", False),
        ("bernoulli", "dynamic", True),
        ("discretized_logistic", "none", True),
    ],
)
def test_bits_per_dim_only_where_the_likelihood_is_over_pixel_values(
    likelihood: str, binarize: str, has_bpd: bool
) -> None:
    vae = VAE(
        image_size=16,
        latent_dim=4,
        hidden_channels=8,
        likelihood=likelihood,
        data_binarize=binarize,
        iw_samples=2,
        eval_samples=16,
    )
    data = DigitsDataModule(image_size=16, batch_size=32, binarize=binarize)
    data.setup()
    batch = next(iter(data.val_dataloader()))
    result = vae.evaluate([batch])
    assert ("bpd" in result) is has_bpd
    assert "nll" in result and "swd" in result
    if has_bpd:
        assert 0 < result["bpd"] < 20  # an untrained model, but a probability
    assert ("no bits/dim" in vae.metric_notes()["likelihood"]) is not has_bpd
