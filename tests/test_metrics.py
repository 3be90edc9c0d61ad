"""Sample-quality metrics mean what they say: SWD on colour data offline, one FID over all
DDP processes, the same sample count in validation and genzoo-eval, the held-out set described
once, and metrics that never move the training run's random numbers."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from genzoo.data.embedded import DigitsDataModule
from genzoo.metrics import generation
from genzoo.metrics.generation import SampleQuality
from genzoo.metrics.swd import SlicedWassersteinDistance, laplacian_pyramid
from genzoo.models.dcgan import DCGAN
from genzoo.training.train import train
from genzoo.utils.rng import isolated_rng
from tests.conftest import free_port
from tests.presets import BY_EPOCH, NO_GRIDS, TINY_DCGAN, TINY_UNET


def digits(split: str = "val") -> torch.Tensor:
    data = DigitsDataModule()
    data.setup()
    dataset = data.val_set if split == "val" else data.train_set
    return torch.stack([dataset[i]["image"] for i in range(len(dataset))])


def swd(real: torch.Tensor, fake: torch.Tensor) -> float:
    metric = SlicedWassersteinDistance(real.shape[-1], real.shape[1])
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return float(metric.compute()["swd"])


def test_laplacian_pyramid_adds_back_up_to_the_image() -> None:
    x = torch.rand(2, 3, 32, 32)
    bands = laplacian_pyramid(x, 2)
    assert [b.shape[-1] for b in bands] == [32, 16]
    from genzoo.metrics.swd import pyramid_up

    torch.testing.assert_close(bands[0] + pyramid_up(bands[1]), x)


def test_swd_tells_real_digits_from_noise_and_an_untrained_generator() -> None:
    held_out, train_set = digits("val")[:100], digits("train")[:100]
    same = swd(held_out, train_set)
    noise = swd(held_out, torch.rand_like(held_out))
    untrained = swd(held_out, DCGAN(image_size=32).eval().sample(len(held_out), seed=1))
    assert same < noise / 5 and same < untrained / 5, (same, noise, untrained)


def test_swd_keeps_the_held_out_side_across_resets() -> None:
    metric = SlicedWassersteinDistance(16, 3)
    metric.update(torch.rand(8, 3, 16, 16), real=True)
    metric.update(torch.rand(8, 3, 16, 16), real=False)
    first = metric.compute()["swd"]
    metric.reset()
    assert metric.num_real == 8
    metric.update(torch.rand(8, 3, 16, 16), real=False)
    assert metric.compute()["swd"] != first


# ----- DDP: one FID over all processes ----------------------------------------------------
def _quality_of(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    quality = SampleQuality("digits", image_size=32, channels=1)
    quality.update(real, real=True)
    quality.update(fake, real=False)
    return quality.compute()


def _rank_worker(rank: int, port: int, real: torch.Tensor, fake: torch.Tensor, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        # Each process sees its half of the images, as DDP's samplers and sample shares give.
        result = _quality_of(real[rank::2], fake[rank::2])
        if rank == 0:
            Path(out).write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_metrics_under_ddp_equal_one_process_on_the_same_samples(tmp_path: Path) -> None:
    real = digits("val")[:120]
    fake = digits("train")[:120].flip(-1)  # plausible but different images
    out = tmp_path / "rank0.json"
    # fork: the workers need no fresh interpreter, which would re-import torch (seconds each)
    mp.start_processes(
        _rank_worker, args=(free_port(), real, fake, str(out)), nprocs=2, start_method="fork"
    )
    single = _quality_of(real, fake)
    together = json.loads(out.read_text())
    for key in ("fid", "swd", "class_entropy", "confident"):
        assert together[key] == pytest.approx(single[key], rel=1e-4, abs=1e-6), key
    # KID draws random subsets from gathered features in another order: close, not equal.
    assert together["kid"] == pytest.approx(single["kid"], rel=0.1)


# ----- random state --------------------------------------------------------------------
def test_isolated_rng_leaves_the_global_generator_as_it_was() -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with isolated_rng(0):
        torch.rand(100)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.gpu
def test_isolated_rng_forks_cuda_too() -> None:
    torch.cuda.manual_seed(7)
    expected = torch.rand(3, device="cuda")
    torch.cuda.manual_seed(7)
    with isolated_rng(0):
        torch.rand(100, device="cuda")
    torch.testing.assert_close(torch.rand(3, device="cuda"), expected)


def test_building_the_metrics_draws_no_training_random_numbers() -> None:
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    SampleQuality("digits", image_size=32, channels=1)
    torch.testing.assert_close(torch.rand(3), expected)


# ----- the protocol inside a run -------------------------------------------------------------
TINY_DCGAN_RUN = ["model=dcgan", "trainer=cpu", *TINY_DCGAN, *NO_GRIDS, *BY_EPOCH]


def test_validation_and_eval_use_eval_samples_and_describe_held_out_once(
    make_cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    updates: list[tuple[bool, int]] = []
    original = SampleQuality.update

    def counting(self: SampleQuality, images: torch.Tensor, real: bool) -> None:
        updates.append((real, len(images)))
        original(self, images, real)

    monkeypatch.setattr(SampleQuality, "update", counting)
    cfg = make_cfg(
        *TINY_DCGAN_RUN,
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=3",
        "trainer.max_epochs=3",
        "trainer.num_sanity_val_steps=1",
        "model.eval_samples=40",
        run_dir=tmp_path / "run",
    )
    train(cfg)
    real_images = sum(n for real, n in updates if real)
    fake_images = sum(n for real, n in updates if not real)
    assert real_images == 16 + 3 * 16  # the sanity check's batch, then one full pass only
    # The sanity check generates as many as it has real images; each validation eval_samples.
    assert fake_images == 16 + 3 * 40

    from genzoo.models.loading import load_model

    model, _ = load_model(tmp_path / "run")
    data = DigitsDataModule(batch_size=50)
    data.setup()
    result = model.evaluate(data.val_dataloader())
    assert result["num_fake"] == 40 and result["num_real"] == len(data.val_set)
    assert {"fid", "kid", "swd", "class_entropy"} <= set(result)


# Families whose validation is sample quality, on colour crops: (overrides, image size).
COLOUR_RUNS = {
    "dcgan": (TINY_DCGAN_RUN, 32),
    "diffusion": (
        [
            "model=diffusion",
            "trainer=cpu",
            *TINY_UNET,
            "model.sample_steps=2",
            "data.batch_size=8",
            *NO_GRIDS,
            *BY_EPOCH,
        ],
        16,
    ),  # fmt: skip
}


@pytest.mark.parametrize("family", sorted(COLOUR_RUNS))
def test_colour_model_without_inception_trains_to_the_end_and_monitors_swd(
    make_cfg,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    family: str,
) -> None:
    monkeypatch.setattr(generation, "inception_weights_present", lambda: False)
    overrides, size = COLOUR_RUNS[family]
    cfg = make_cfg(
        *overrides,
        "data=photos",
        f"data.image_size={size}",
        "data.val_crops=32",
        "trainer.limit_train_batches=3",
        "trainer.max_epochs=2",
        "model.eval_samples=32",
        run_dir=tmp_path / "run",
    )
    with caplog.at_level(logging.INFO, logger="genzoo"):
        metrics = train(cfg)
    assert "val/swd" in metrics and "val/fid" not in metrics, sorted(metrics)
    checkpoints = {p.name for p in (tmp_path / "run" / "checkpoints").iterdir()}
    assert "last.ckpt" in checkpoints and any(n.startswith("best-") for n in checkpoints)
    said = [r.getMessage() for r in caplog.records if "best checkpoint" in r.getMessage()]
    assert said == ["best checkpoint: picked by val/swd (lower is better)"]


def test_ratios_best_at_one_rank_by_distance_to_one() -> None:
    from genzoo.metrics.directions import best_value, direction_of
    from genzoo.reporting.compare import Run

    # A noisy SR run (hf_ratio 1.6) is not better than one near the real images' energy (0.95).
    assert best_value("val/hf_ratio", [1.6, 0.95, 0.7]) == 0.95
    assert best_value("val/sharpness", [0.5, 1.3, 1.1]) == 1.1
    assert best_value("val/psnr", [20.0, 25.0]) == 25.0
    assert best_value("val/fid", [20.0, 25.0]) == 20.0
    assert "distance to 1" in direction_of("val/hf_ratio")
    run = Run(Path("r"), "g", "n", {}, {"val/hf_ratio": [(1, 0.9), (2, 1.4), (3, 1.02)]})
    assert run.best("val/hf_ratio") == 1.02
