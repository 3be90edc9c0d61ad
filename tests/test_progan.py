"""ProGAN: the growth schedule against the paper's formula, the fade-in arithmetic of both
networks, the optimizers' reset at each phase, and sampling at each resolution."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from PIL import Image

from genzoo.data.stacked_digits import StackedDigitsDataModule
from genzoo.metrics.digit_classifier import load_digit_classifier
from genzoo.metrics.diversity import mean_pair_ms_ssim
from genzoo.metrics.modes import mode_coverage, stacked_modes
from genzoo.models.base import CapabilityError
from genzoo.models.growth import growth_at, images_to_grow
from genzoo.models.loading import load_model
from genzoo.models.progan import ProGAN
from genzoo.networks.progan import ProDiscriminator, ProGenerator, pixel_norm
from genzoo.training.train import train
from tests.conftest import checkpoint_state, digit_quality, run_cli
from tests.presets import BY_EPOCH, NO_GRIDS, TINY_PROGAN

# Five batches of 16 an epoch, one held-out batch; validation at each epoch's end.
SHORT = [
    "trainer=cpu",
    "trainer.limit_train_batches=5",
    "trainer.limit_val_batches=1",
    "model.eval_samples=32",
    *NO_GRIDS,
    *BY_EPOCH,
]
LEARNING_BATCHES = 200


def official_lod(images: int, max_lod: int, training_kimg: float, transition_kimg: float) -> float:
    """The level of detail of tkarras/progressive_growing_of_gans (train.py, TrainingSchedule),
    written out from its formula: lod = max_lod at 4 px, 0 at full resolution."""
    kimg = images / 1000.0
    phase_dur = training_kimg + transition_kimg
    phase_idx = math.floor(kimg / phase_dur)
    phase_kimg = kimg - phase_idx * phase_dur
    lod = max_lod - phase_idx - max(phase_kimg - training_kimg, 0.0) / transition_kimg
    return max(lod, 0.0)


@pytest.mark.parametrize(("stable", "fade"), [(600_000, 600_000), (32_000, 16_000), (800, 2_400)])
def test_the_growth_schedule_is_the_papers_level_of_detail(stable: int, fade: int) -> None:
    max_level = 3
    end = images_to_grow(max_level, stable, fade)
    for images in [*range(0, end + 2 * fade, max(1, (stable + fade) // 97)), end - 1, end]:
        growth = growth_at(images, max_level, stable, fade)
        # The official lod counts down from max_lod; a level fading in sits between two lods.
        grown = growth.level - (1 - growth.alpha)
        lod = official_lod(images, max_level, stable / 1000, fade / 1000)
        assert grown == pytest.approx(max_level - lod, abs=1e-9), images
        assert 0 <= growth.alpha <= 1 and growth.resolution == 4 * 2**growth.level
    assert growth_at(end, max_level, stable, fade).level == max_level
    assert not growth_at(end, max_level, stable, fade).fading


def test_the_phases_count_a_fade_and_a_stable_phase_per_level() -> None:
    stable, fade = 100, 50
    stages = [growth_at(i, 2, stable, fade).stage for i in range(0, 400, 10)]
    assert stages == sorted(stages) and set(stages) == {0, 1, 2, 3, 4}
    assert growth_at(100, 2, stable, fade).stage == 1  # the first fade starts at 100 images
    assert growth_at(150, 2, stable, fade).stage == 2  # and is over at 150
    assert growth_at(125, 2, stable, fade).alpha == 0.5


def test_pixel_norm_gives_each_pixel_unit_mean_square() -> None:
    x = torch.randn(2, 16, 3, 3) * 5
    assert torch.allclose(pixel_norm(x).pow(2).mean(dim=1), torch.ones(2, 3, 3), atol=1e-4)


def test_the_generators_fade_blends_the_upsampled_lower_level() -> None:
    torch.manual_seed(0)
    g = ProGenerator(16, 16, 1, channel_base=128, channel_max=32)
    z = torch.randn(4, 16)
    low = F.interpolate(g(z, 1, 1.0), scale_factor=2, mode="nearest")  # 8 px, enlarged
    high = g(z, 2, 1.0)
    assert torch.allclose(g(z, 2, 0.0), low, atol=1e-6)
    assert torch.allclose(g(z, 2, 0.25), 0.75 * low + 0.25 * high, atol=1e-6)
    assert [g(z, level).shape[-1] for level in range(3)] == [4, 8, 16]


def test_the_discriminators_fade_blends_the_halved_input() -> None:
    torch.manual_seed(0)
    d = ProDiscriminator(16, 1, channel_base=128, channel_max=32)
    x = torch.randn(8, 1, 16, 16)
    # alpha 0 is the 8 px discriminator on the halved image, alpha 1 the 16 px one.
    assert torch.allclose(d(x, 2, 0.0), d(F.avg_pool2d(x, 2), 1, 1.0), atol=1e-5)
    assert not torch.allclose(d(x, 2, 1.0), d(x, 2, 0.0))
    assert d(torch.randn(8, 1, 4, 4), 0).shape == (8,)


def tiny_progan(**overrides) -> ProGAN:
    options = dict(image_size=16, latent_dim=16, channel_base=128, channel_max=32)
    return ProGAN(**{**options, "stable_images": 40, "fade_images": 160, **overrides})


def test_reals_are_averaged_down_and_faded_like_the_generators_output() -> None:
    model = tiny_progan()
    real = torch.rand(4, 1, 16, 16)
    at_start = model.reals_at(real, growth_at(0, 2, 40, 160))
    assert torch.allclose(at_start, F.avg_pool2d(real, 4))
    fading = growth_at(80, 2, 40, 160)  # alpha 0.25 into 8 px
    eight = F.avg_pool2d(real, 2)
    low = F.interpolate(F.avg_pool2d(eight, 2), scale_factor=2, mode="nearest")
    assert torch.allclose(model.reals_at(real, fading), 0.75 * low + 0.25 * eight, atol=1e-6)


def test_sampling_follows_the_growth_and_any_resolution_it_holds() -> None:
    model = tiny_progan().eval()
    assert model.sample(2).shape[-1] == 4  # nothing shown yet: 4 px
    with pytest.raises(CapabilityError, match="resolution=8 .*grown through: use one of 4 "):
        model.sample(2, resolution=8)  # built, not trained yet
    model.images_seen.fill_(model.images_to_grow())
    model._images = None
    assert model.sample(2).shape[-1] == 16
    assert model.sample(2, resolution=8).shape[-1] == 8
    assert torch.equal(model.sample(2, seed=3), model.sample(2, seed=3))
    assert model.quality_samples(3, 0).shape == (3, 1, 16, 16)
    assert model.growing_strip([0, 1]).shape == (6, 1, 16, 16)
    with pytest.raises(CapabilityError, match="resolution=12 .* 4, 8, 16"):
        model.sample(2, resolution=12)


def test_a_loss_or_phase_length_progan_cannot_train_with_is_refused() -> None:
    problems = ProGAN.check_hparams({"loss": "hinge", "stable_images": 0, "image_size": 32})
    assert set(problems) == {"loss", "stable_images"}


def test_a_run_split_inside_a_fade_resumes_into_the_uninterrupted_run(
    make_cfg, tmp_path: Path
) -> None:
    """80 images an epoch: the split at 160 images is 3/4 into the fade to 8 px; the rest of
    the run crosses into 8 px alone (200) and into the fade to 16 px (240), where both
    optimizers start afresh."""
    args = [*TINY_PROGAN, *SHORT, "trainer.deterministic=true"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    whole_metrics = train(make_cfg(*args, "trainer.max_epochs=4", run_dir=whole))
    train(make_cfg(*args, "trainer.max_epochs=2", run_dir=split))
    halfway = checkpoint_state(split / "checkpoints" / "last.ckpt")["state_dict"]
    assert int(halfway["images_seen"]) == 160 and int(halfway["stage"]) == 1  # the fade
    resumed_metrics = train(make_cfg(*args, "trainer.max_epochs=4", "resume=true", run_dir=split))
    for key in ("val/fid", "val/swd"):
        assert resumed_metrics[key] == pytest.approx(whole_metrics[key], rel=1e-6), key
    a, b = (
        checkpoint_state(whole / "checkpoints" / "last.ckpt"),
        checkpoint_state(split / "checkpoints" / "last.ckpt"),
    )
    assert int(a["state_dict"]["images_seen"]) == 320 and int(a["state_dict"]["stage"]) == 3
    for key, value in a["state_dict"].items():  # G, D, EMA, images shown, phase, step counts
        torch.testing.assert_close(b["state_dict"][key], value, msg=f"{key} differs after resume")
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        # Reset at the fade to 16 px (batch 15 of 20): five Adam steps since.
        assert {int(state["step"]) for state in opt_a["state"].values()} == {5}
        for idx, state in opt_a["state"].items():
            for name, value in state.items():
                torch.testing.assert_close(opt_b["state"][idx][name], value)
    model = ProGAN.load_from_checkpoint(whole / "checkpoints" / "last.ckpt", map_location="cpu")
    assert model.growth().level == 2 and model.growth().alpha == 0.5


def test_stacked_digits_put_three_held_apart_digits_in_the_channels() -> None:
    data = StackedDigitsDataModule(train_images=64, val_images=8)
    data.setup()
    item = data.train_set[5]
    a, b, c = data.train_set.triples[5].tolist()
    digits = data.train_set.images
    assert item["image"].shape == (3, 32, 32)
    assert torch.equal(item["image"], torch.cat([digits[a], digits[b], digits[c]]))
    labels = data.train_set.labels
    assert int(item["label"]) == 100 * int(labels[a]) + 10 * int(labels[b]) + int(labels[c])
    # Held-out triples come from the held-out digits only.
    assert len(data.val_set.images) == 297 and len(data.train_set.images) == 1500


def test_mode_coverage_counts_the_modes_the_classifier_reads() -> None:
    data = StackedDigitsDataModule(train_images=400)
    data.setup()
    batch = data.train_set.__getitems__(list(range(400)))
    images = torch.stack([item["image"] for item in batch])
    labels = torch.stack([item["label"] for item in batch])
    modes = stacked_modes(load_digit_classifier(), images)
    assert (modes == labels).float().mean() > 0.75  # ~0.94 per digit, cubed
    one_mode = mode_coverage(torch.full((500,), 7))
    assert one_mode["modes"] == 1 and one_mode["mode_kl"] == pytest.approx(math.log(1000))
    even = mode_coverage(torch.arange(1000).repeat(3))
    assert even == {"modes": 1000.0, "mode_kl": pytest.approx(0.0, abs=1e-9)}


def test_progan_learns_the_digits_while_it_grows(make_cfg, tmp_path: Path) -> None:
    """A tiny ProGAN grown 4 -> 8 -> 16 px in 200 batches (16 px alone from batch 100): FID in
    digit features at 16 px falls by a clear margin (472 -> 71 measured) and SWD falls too."""
    cfg = make_cfg(
        "experiment=progan_digits",  # its batch schedule
        *TINY_PROGAN[1:],
        "trainer=cpu",
        "data.batch_size=32",
        "model.stable_images=800",  # 25 batches a phase
        "model.fade_images=800",
        "model.ema_decay=0.99",
        f"trainer.max_steps={LEARNING_BATCHES}",
        f"trainer.val_check_interval={LEARNING_BATCHES}",
        "model.eval_samples=300",
        *NO_GRIDS,
        run_dir=tmp_path / "run",
    )
    torch.manual_seed(0)
    untrained = instantiate(cfg.model, _convert_="all").eval()
    untrained.images_seen.fill_(untrained.images_to_grow())  # measured at 16 px as well
    before = digit_quality(untrained)
    train(cfg)
    model, meta = load_model(tmp_path / "run")
    assert meta["global_step"] == 2 * LEARNING_BATCHES  # a critic and a G step per batch
    assert model.growth().resolution == 16 and not model.growth().fading
    after = digit_quality(model)
    assert after["fid"] < before["fid"] / 3, (before, after)
    assert after["swd"] < before["swd"], (before, after)


def test_genzoo_sample_draws_at_a_resolution_the_model_holds(tmp_path: Path) -> None:
    result = run_cli(
        "genzoo-sample", "run=zoo:progan_digits", "seeds=[1,2]", "resolution=8",
        "individual=true", "interpolate=false", f"out_dir={tmp_path / 'out'}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (png, *_) = sorted((tmp_path / "out").glob("samples_*/seed*.png"))
    assert Image.open(png).size == (8, 8)
    refused = run_cli("genzoo-sample", "run=zoo:progan_digits", "resolution=12", cwd=tmp_path)
    assert refused.returncode == 2
    message = refused.stderr.strip().splitlines()
    assert len(message) == 1 and "resolution=12" in message[0] and "4, 8, 16, 32" in message[0]


def test_pairs_of_one_image_score_ms_ssim_one_and_distinct_digits_less() -> None:
    data = StackedDigitsDataModule(train_images=64)
    data.setup()
    digits = data.train_set.images[:64]  # (64, 1, 32, 32) grey digits
    assert mean_pair_ms_ssim(digits[:1].repeat(8, 1, 1, 1)) == pytest.approx(1.0, abs=1e-5)
    assert mean_pair_ms_ssim(digits) < 0.6
    with pytest.raises(ValueError, match="at least two images"):
        mean_pair_ms_ssim(digits[:1])
