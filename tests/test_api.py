"""The Python API (genzoo.load) on the shipped checkpoints: the contract with a user's inputs,
and one clear error for what a family cannot do."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import genzoo
from genzoo.api import ImageInputError
from genzoo.models.base import CapabilityError
from genzoo.utils.checkpoint import CheckpointError
from genzoo.zoo import UnknownModelError


@pytest.fixture(scope="module")
def dcgan() -> genzoo.api.Model:
    return genzoo.load("dcgan_digits", device="cpu")


def test_list_models_names_every_shipped_recipe() -> None:
    from genzoo.zoo.build import ZOO_RECIPES

    assert genzoo.list_models() == sorted(recipe.name for recipe in ZOO_RECIPES)


def test_sample_is_in_unit_range_and_the_same_for_the_same_seed(dcgan) -> None:
    a, b, c = dcgan.sample(6, seed=3), dcgan.sample(6, seed=3), dcgan.sample(6, seed=4)
    assert a.shape == (6, 1, 32, 32) and a.dtype == torch.float32
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert dcgan.interpolate(5, seed_a=0, seed_b=1).shape == (5, 1, 32, 32)
    assert not dcgan.module.training and dcgan.card["name"] == "dcgan_digits"


def test_a_request_the_family_cannot_serve_names_what_it_can(dcgan) -> None:
    with pytest.raises(CapabilityError) as refused:
        dcgan.upscale(torch.rand(1, 3, 8, 8))
    message = str(refused.value)
    assert "DCGAN (dcgan_digits) cannot upscale: it can" in message
    assert "sample" in message and "genzoo.load('srresnet_photos') can" in message
    for call in (lambda: dcgan.translate(torch.rand(1, 1, 32, 32)), lambda: dcgan.encode(None)):
        with pytest.raises(CapabilityError):
            call()


def test_unknown_names_and_paths_list_the_shipped_models(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="did you mean dcgan_digits"):
        genzoo.load("zoo:dcgan_digit")
    with pytest.raises(CheckpointError, match="neither a run directory.*shipped: cyclegan_photos"):
        genzoo.load(str(tmp_path / "no_such_run"))


def test_vae_encode_decode_and_reconstruct_take_pil_images_and_tensors() -> None:
    vae = genzoo.load("vae_digits", device="cpu")
    digits = vae.sample(4, seed=0)
    z = vae.encode(digits)
    assert z.shape == (4, 16)
    assert torch.allclose(vae.decode(z), vae.reconstruct(digits))
    pil = Image.fromarray((digits[0, 0] * 255).byte().numpy(), mode="L")
    one = vae.reconstruct(pil)  # one image in, one image out
    assert one.shape == (1, 32, 32)
    as_uint8 = vae.reconstruct((digits * 255).round().byte())
    assert torch.allclose(as_uint8, vae.reconstruct(digits), atol=0.02)
    with pytest.raises(ImageInputError, match="takes 32x32 images, got 20x20"):
        vae.reconstruct(torch.rand(1, 1, 20, 20))
    with pytest.raises(ImageInputError, match=r"must lie in \[0, 1\].*\(x \+ 1\) / 2"):
        vae.reconstruct(digits * 2 - 1)


def test_vq_codes_round_trip_and_translate_upscale_take_any_size() -> None:
    vq = genzoo.load("vqvae_digits", device="cpu")
    digits = genzoo.load("vae_digits", device="cpu").sample(2, seed=1)
    codes = vq.encode(digits)
    assert len(codes) == 1 and codes[0].dtype == torch.int64 and codes[0].shape == (2, 8, 8)
    assert torch.allclose(vq.decode(codes), vq.reconstruct(digits))

    sr = genzoo.load("srresnet_photos", device="cpu")
    photo = Image.new("RGB", (13, 9), (200, 120, 40))
    assert sr.upscale(photo).shape == (3, 36, 52)
    cyc = genzoo.load("cyclegan_photos", device="cpu")
    assert cyc.translate([photo, photo], direction="BtoA").shape == (2, 3, 9, 13)
    with pytest.raises(CapabilityError, match="translates AtoB and BtoA"):
        cyc.translate(photo, direction="AtoC")
    p2p = genzoo.load("pix2pix_facades_synth", device="cpu")
    with pytest.raises(CapabilityError, match="translates AtoB"):
        p2p.translate(photo, direction="BtoA")


# ----- the API checks what the command lines check: one GenzooError saying what to pass ------

_DIGIT = torch.rand(1, 1, 32, 32)
API_MISTAKES = [
    ("dcgan_digits", lambda m: m.sample(0), "n=0 must be an integer of at least 1"),
    ("dcgan_digits", lambda m: m.sample(-1), "n=-1 must be an integer"),
    ("dcgan_digits", lambda m: m.sample(2.5), "n=2.5 must be an integer"),
    ("dcgan_digits", lambda m: m.sample("4"), "n='4' must be an integer"),
    ("dcgan_digits", lambda m: m.sample(4, seed=None), "seed=None must be an integer"),
    ("vae_digits", lambda m: m.sample(4, truncation=0.7), r"truncation= \(it understands: temperature\)"),
    ("stylegan_digits", lambda m: m.sample(4, bogus=1), r"bogus= \(it understands: noise_mode, truncation\)"),
    ("vae_digits", lambda m: m.sample(4, temperature=0), "temperature=0 must be"),
    ("vqvae_prior_digits", lambda m: m.sample(2, top_p=2.0), "top_p=2.0 must be"),
    ("vae_digits", lambda m: m.interpolate(steps=0), "steps=0 must be an integer of at least 2"),
    ("stylegan_digits", lambda m: m.style_mix([], []), r"row_seeds=\[\] names no seed"),
    ("stylegan_digits", lambda m: m.style_mix([0], [1], layers=(3, 99)), "layers=.* must be"),
    ("vae_digits", lambda m: m.encode(torch.zeros(0, 1, 32, 32)), "holds no images"),
    ("vae_digits", lambda m: m.encode([]), "no images were given"),
    ("vae_digits", lambda m: m.encode(torch.full((1, 1, 32, 32), float("nan"))), "NaN or infinite"),
    ("vae_digits", lambda m: m.decode(torch.zeros(2, 5)), r"latents \(B, 16\) .* got shape \(2, 5\)"),
    ("vae_digits", lambda m: m.decode([[0.0] * 16]), "takes a tensor"),
    ("vqvae_digits", lambda m: m.decode(torch.zeros(1, 8, 8, dtype=torch.long)), r"wrap one level's map in a list"),
    ("vqvae_digits", lambda m: m.decode([torch.full((1, 8, 8), 9999)]), r"codes lie in \[0, "),
    ("vqvae_digits", lambda m: m.decode([torch.zeros(1, 4, 4, dtype=torch.long)]), r"shape \(B, 8, 8\)"),
    ("stylegan_digits", lambda m: m.project(torch.rand(1, 3, 32, 32), steps=1), "are colour, .* draws grey"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call", "message"), API_MISTAKES)
def test_api_mistakes_are_one_clear_error(name: str, call, message: str) -> None:
    from genzoo.errors import GenzooError

    with pytest.raises(GenzooError, match=message):
        call(genzoo.load(name, device="cpu"))


def test_api_takes_half_and_double_precision_images() -> None:
    vae = genzoo.load("vae_digits", device="cpu")
    single = vae.encode(_DIGIT)
    torch.testing.assert_close(vae.encode(_DIGIT.double()), single)
    torch.testing.assert_close(vae.encode(_DIGIT.half()), vae.encode(_DIGIT.half().float()))
    style = genzoo.load("stylegan_digits", device="cpu")
    result = style.project(_DIGIT, steps=2, space="w")
    assert result.latents["w"].shape == (1, style.module.generator_ema.mapping.w_avg.shape[-1])


@pytest.mark.parametrize("device", ["cuda", "cuda:7", "tpu"])
def test_a_device_that_is_not_there_is_one_line(device: str) -> None:
    from genzoo.utils.device import DeviceError

    if device.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has the GPU asked for")
    with pytest.raises(DeviceError, match=f"device={device} "):
        genzoo.load("dcgan_digits", device=device)


def test_grey_pil_images_stay_grey() -> None:
    """A grey PIL image is one channel: a grey model projects it, a colour one gets it as RGB."""
    digit = Image.fromarray((_DIGIT[0, 0].numpy() * 255).astype("uint8"), mode="L")
    result = genzoo.load("dcgan_digits", device="cpu").project(digit, steps=1)
    assert result.images.shape == (1, 1, 32, 32)
    batch, single = genzoo.api.as_image_batch([digit, digit.convert("RGB")])
    assert batch.shape == (2, 3, 32, 32) and not single
    torch.testing.assert_close(batch[0], batch[1], atol=1 / 255, rtol=0)
