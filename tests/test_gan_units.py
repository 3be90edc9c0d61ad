"""StyleGAN-lite properties, DCGAN shapes, adversarial losses and penalties."""

from __future__ import annotations

import pytest
import torch

from genzoo.losses.adversarial import LOSSES, discriminator_loss, generator_loss
from genzoo.losses.penalties import gradient_penalty, r1_penalty
from genzoo.models.stylegan import StyleGAN
from genzoo.networks.augment import diff_augment
from genzoo.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from genzoo.networks.stylegan import ModulatedConv2d, StyleDiscriminator, StyleGenerator

TINY = dict(image_size=16, latent_dim=32, mapping_depth=2, channel_base=128, channel_max=32)


def tiny_stylegan() -> StyleGAN:
    torch.manual_seed(0)
    model = StyleGAN(**TINY).eval()
    # a non-trivial average w, as training would leave it
    model.generator_ema.mapping.w_avg.copy_(torch.randn(32) * 0.5)
    return model


def test_truncation_zero_gives_the_average_w_image_for_every_seed() -> None:
    model = tiny_stylegan()
    images = model.sample(4, seeds=[1, 2, 3, 4], truncation=0.0)
    for image in images[1:]:
        torch.testing.assert_close(image, images[0])
    w_avg = model.generator_ema.broadcast(model.generator_ema.mapping.w_avg[None])
    torch.testing.assert_close(
        images[0], ((model.generator_ema.synthesis(w_avg, "const")[0].clamp(-1, 1) + 1) / 2)
    )
    assert not torch.allclose(model.sample(2, seeds=[1, 2])[0], model.sample(2, seeds=[1, 2])[1])


def test_style_mixing_with_identical_seeds_is_the_unmixed_image() -> None:
    model = tiny_stylegan()
    mixed = model.style_mix([5, 6], [5, 6], layers=(0, 3))
    plain = model.sample(2, seeds=[5, 6])
    torch.testing.assert_close(mixed[0], plain[0])
    torch.testing.assert_close(mixed[3], plain[1])
    assert not torch.allclose(mixed[1], plain[0])  # row 5 with column 6's coarse styles differs


def test_same_seed_same_image_in_every_noise_mode() -> None:
    model = tiny_stylegan()
    for mode in ("const", "random", "none"):
        torch.testing.assert_close(
            model.sample(2, seeds=[7, 8], noise_mode=mode),
            model.sample(2, seeds=[7, 8], noise_mode=mode),
        )


def test_demodulated_conv_keeps_unit_variance() -> None:
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=32)
    x = torch.randn(16, 64, 16, 16)
    out = conv(x, torch.randn(16, 32) * 2)
    assert 0.8 < out[..., 1:-1, 1:-1].var().item() < 1.2
    plain = ModulatedConv2d(64, 64, 3, w_dim=32, demodulate=False)
    big_style = torch.randn(16, 32) * 10
    assert (
        plain(x, big_style).var().item() > 2.0
    )  # without demodulation the style's scale leaks through


@pytest.mark.parametrize("size", [16, 32, 64, 128, 256])
def test_stylegan_resolutions(size: int) -> None:
    g = StyleGenerator(size, 3, 16, 16, 1, 0.01, 64, 8)
    d = StyleDiscriminator(size, 3, 64, 8)
    images = g(torch.randn(2, 16))
    assert images.shape == (2, 3, size, size)
    assert d(images).shape == (2,)


def test_interpolation_in_w_and_z_ends_at_the_seed_images() -> None:
    model = tiny_stylegan()
    for space in ("w", "z"):
        strip = model.interpolate(5, 3, 4, space=space)
        torch.testing.assert_close(strip[0], model.sample(1, seeds=[3])[0], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(strip[-1], model.sample(1, seeds=[4])[0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("num_classes", [0, 10])
def test_dcgan_shapes(num_classes: int) -> None:
    g, d = (
        DCGANGenerator(16, 64, 3, 8, num_classes),
        DCGANDiscriminator(64, 3, 8, num_classes, spectral=True),
    )
    labels = torch.tensor([1, 2]) if num_classes else None
    images = g(torch.randn(2, 16), labels)
    assert images.shape == (2, 3, 64, 64) and images.abs().max() <= 1
    assert d(images, labels).shape == (2,)


@pytest.mark.parametrize("kind", LOSSES)
def test_losses_reward_the_right_player(kind: str) -> None:
    confident_real, confident_fake = torch.full((8,), 3.0), torch.full((8,), -3.0)
    assert discriminator_loss(kind, confident_real, confident_fake) < discriminator_loss(
        kind, confident_fake, confident_real
    )
    assert generator_loss(kind, confident_real) < generator_loss(kind, confident_fake)


def test_penalties_on_a_linear_critic() -> None:
    w = torch.randn(1, 3, 4, 4)

    def critic(x: torch.Tensor) -> torch.Tensor:
        return (x * w).flatten(1).sum(1)

    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    assert r1_penalty(critic(x), x).item() == pytest.approx(w.pow(2).sum().item(), rel=1e-5)
    expected = (w.norm() - 1) ** 2
    assert gradient_penalty(
        critic, torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    ).item() == pytest.approx(expected.item(), rel=1e-5)


def test_diff_augment_keeps_shapes_and_changes_images() -> None:
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    out = diff_augment(x, "color,translation,cutout")
    assert out.shape == x.shape and not torch.equal(out, x)
    with pytest.raises(ValueError, match="not known"):
        diff_augment(x, "rotate")
