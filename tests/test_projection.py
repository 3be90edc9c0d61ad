"""GAN inversion on held-out digits: the projection beats its own starting point and the mean
digit, and genzoo-project writes latents that redraw what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchvision.utils import save_image

import genzoo
from genzoo.tasks.projection import DigitDistance, noise_regularisation, project, psnr
from genzoo.tasks.user_images import validation_images
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def held_out() -> torch.Tensor:
    """Six held-out digits (the validation split the shipped models never trained on)."""
    return validation_images(genzoo.load("stylegan_digits", device="cpu").meta, 6)


def _distance(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    measure = DigitDistance()
    with torch.no_grad():
        return measure(images, measure.features(targets))


@pytest.mark.parametrize("space", ["w", "w+"])
def test_stylegan_projection_beats_its_start_and_the_mean_digit(space: str, held_out) -> None:
    model = genzoo.load("stylegan_digits", device="cpu").module
    result = project(model, held_out, space=space, steps=80)
    g = model.generator_ema
    with torch.no_grad():  # the projector's starting point: the mean w
        start = (g.synthesis(g.broadcast(g.mapping.w_avg[None]), "const") + 1) / 2
    start = start.clamp(0, 1).expand_as(held_out)
    mean_digit = held_out.mean(0, keepdim=True).expand_as(held_out)
    gained = psnr(result.images, held_out).mean()
    assert gained > psnr(start, held_out).mean() + 2
    assert gained > psnr(mean_digit, held_out).mean() + 1
    assert _distance(result.images, held_out).mean() < 0.5 * _distance(start, held_out).mean()
    assert result.losses.shape == (80, 6) and (result.losses[-1] < result.losses[0]).all()
    assert result.latents["w"].shape == ((6, 64) if space == "w" else (6, g.num_ws, 64))
    # Each image's noise maps are kept near white noise (the penalty is per image, not a
    # batch mean whose gradient on one image falls as 1/B**2).
    assert float(noise_regularisation(result.latents["noise"]).max()) < 1e-3


def test_dcgan_projection_improves_on_the_best_random_start(held_out) -> None:
    model = genzoo.load("dcgan_digits", device="cpu").module
    result = project(model, held_out, steps=60)
    assert result.space == "z" and result.latents["z"].shape == (6, 64)
    assert (result.losses[-1] < 0.8 * result.losses[0]).all()
    with torch.no_grad():
        redrawn = (model.generator_ema(result.latents["z"], None) + 1) / 2
    assert torch.allclose(redrawn.clamp(0, 1), result.images, atol=1e-5)


def test_noise_penalty_is_low_for_white_noise_and_high_for_smooth_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    white = [torch.randn(2, 1, 32, 32, generator=gen)]
    smooth = [torch.nn.functional.avg_pool2d(white[0], 5, 1, 2) * 5]
    assert (noise_regularisation(white) < 0.01).all() and (
        noise_regularisation(smooth) > 0.01
    ).all()
    # One image's penalty, and its gradient, do not depend on the images beside it.
    one = smooth[0][:1].clone().requires_grad_(True)
    noise_regularisation([one]).sum().backward()
    alone = one.grad.clone()
    many = torch.cat([smooth[0][:1]] * 16).requires_grad_(True)
    penalty = noise_regularisation([many])
    penalty.sum().backward()
    torch.testing.assert_close(penalty, noise_regularisation([smooth[0][:1]]).expand(16))
    torch.testing.assert_close(many.grad[:1], alone)


def test_genzoo_project_writes_latents_that_redraw_its_images(tmp_path: Path, held_out) -> None:
    images = tmp_path / "digits"
    images.mkdir()
    for i in range(2):
        save_image(held_out[i], images / f"digit{i}.png")
    result = run_cli(
        "genzoo-project",
        "run=zoo:stylegan_digits",
        f"input={images}",
        "output=out",
        "steps=30",
        "space=w+",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path / "out"
    summary = json.loads((out / "projection.json").read_text())
    assert summary["space"] == "w+" and len(summary["images"]) == 2
    assert (out / "losses.png").is_file() and (out / "digit1_pair.png").is_file()
    assert len((out / "losses.csv").read_text().splitlines()) == 31
    latent = torch.load(out / "digit0_latent.pt", weights_only=True)
    g = genzoo.load("stylegan_digits", device="cpu").module.generator_ema
    with torch.no_grad():
        redrawn = ((g.synthesis(latent["w"][None], noises=latent["noise"]) + 1) / 2).clamp(0, 1)
    from PIL import Image

    from genzoo.data.transforms import pil_to_tensor

    written = pil_to_tensor(Image.open(out / "digit0_projected.png"))[:1]
    assert (redrawn[0] - written).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize(
    "run, image, expected",
    [
        ("zoo:dcgan_digits", (20, 20, "L"), "is 20x20, the model draws 32x32 images"),
        ("zoo:dcgan_digits", (32, 32, "RGB"), "has colour, the model draws grey images"),
        ("zoo:vae_digits", (32, 32, "L"), "is a VAE run, which genzoo-project cannot invert"),
    ],
)
def test_project_refuses_what_it_cannot_invert_in_one_line(
    run: str, image: tuple, expected: str, tmp_path: Path
) -> None:
    from PIL import Image

    width, height, mode = image
    colour = (200, 30, 60) if mode == "RGB" else 128
    Image.new(mode, (width, height), colour).save(tmp_path / "x.png")
    result = run_cli(
        "genzoo-project", f"run={run}", f"input={tmp_path / 'x.png'}", "output=out", cwd=tmp_path
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr
    assert not (tmp_path / "out").exists()


def test_project_checks_the_space_first_and_skips_unreadable_files(
    tmp_path: Path, held_out
) -> None:
    from genzoo.errors import GenzooError
    from genzoo.tasks.project import project_images
    from genzoo.tasks.user_images import ImagesSkipped
    from tests.conftest import cli_cfg

    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(2):
        save_image(held_out[i], folder / f"digit{i}.png")
    with pytest.raises(GenzooError, match="space=w: DCGAN projects into z"):
        project_images(cli_cfg("project", "run=zoo:dcgan_digits", f"input={folder}",
                               f"output={tmp_path / 'out'}", "space=w"))  # fmt: skip
    assert not (tmp_path / "out").exists(), "refused before any folder was made"
    (folder / "broken.png").write_bytes(b"not a png")
    with pytest.raises(
        ImagesSkipped, match=r"(?s)1 of 3 image\(s\) could not be read .*broken.png"
    ):
        project_images(cli_cfg("project", "run=zoo:dcgan_digits", f"input={folder}",
                               f"output={tmp_path / 'out'}", "steps=2"))  # fmt: skip
    summary = json.loads((tmp_path / "out" / "projection.json").read_text())
    assert len(summary["images"]) == 2, "the readable images were projected"
