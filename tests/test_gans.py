"""DCGAN and StyleGAN-lite: they learn on the embedded digits, resume exactly, stop on NaN,
count max_steps in batches, and sample deterministically from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from genzoo.callbacks.nan_guard import NonFiniteLossError
from genzoo.models.dcgan import DCGAN
from genzoo.models.loading import load_model
from genzoo.tasks.sample import sample as run_sample
from genzoo.training.train import train
from tests.conftest import checkpoint_state, digit_quality, sample_cfg
from tests.presets import BY_EPOCH, NO_GRIDS, TINY_DCGAN, TINY_STYLEGAN

SHORT = [
    "trainer=cpu",
    "trainer.limit_train_batches=5",
    "trainer.limit_val_batches=1",
    "model.eval_samples=32",
    *NO_GRIDS,
    *BY_EPOCH,
]


@pytest.mark.parametrize(
    ("experiment", "overrides", "batches", "fid_factor", "min_entropy"),
    [
        ("dcgan_digits", ["model.g_channels=16", "model.d_channels=16"], 400, 4, 1.8),
        # WGAN-GP's recipe: 5 critic steps per generator step, lr 1e-4 (300 G steps here). It
        # learns slowly: FID 345 -> 114 and SWD 237 -> 110 measured, samples still on few
        # classes (entropy 0.4), so no entropy bound. About 2 minutes: make test-all.
        pytest.param(
            "wgangp_digits",
            ["model.g_channels=16", "model.d_channels=16"],
            1500,
            2.5,
            None,
            marks=pytest.mark.slow,
        ),
        # CPU-sized: 16x16, no style-mixing regulariser (it slows early learning). At this budget
        # StyleGAN covers the classes less evenly than DCGAN (entropy ~1.5-1.7 measured). About
        # a minute: make test-all (DCGAN keeps a learning GAN in the default suite).
        pytest.param(
            "stylegan_digits",
            [
                "data.image_size=16",
                "model.channel_base=256",
                "model.channel_max=64",
                "model.mapping_depth=2",
                "model.style_mixing_prob=0",
                "model.augment=''",
            ],
            500,
            4,
            1.2,
            marks=pytest.mark.slow,
        ),
    ],
)
def test_gan_learns_on_digits(
    make_cfg,
    tmp_path: Path,
    experiment: str,
    overrides: list[str],
    batches: int,
    fid_factor: float,
    min_entropy: float | None,
) -> None:
    """Offline FID (digit-classifier features) falls by a clear margin; samples cover the classes.

    References on this scale: real train vs held-out digits ~1.3, uniform noise ~715, the
    untrained networks ~350-370. Class-histogram entropy of real digits: 2.30 (log 10).
    """
    cfg = make_cfg(
        f"experiment={experiment}",
        "trainer=cpu",
        *overrides,
        f"trainer.max_steps={batches}",
        f"trainer.val_check_interval={batches}",
        "model.eval_samples=300",
        "callbacks.image_grid.every_n_steps=0",
        run_dir=tmp_path / "run",
    )
    torch.manual_seed(0)
    before = digit_quality(instantiate(cfg.model, _convert_="all").eval())
    train(cfg)
    model, meta = load_model(tmp_path / "run")
    after = digit_quality(model)
    # One D step per batch, one G step per n_critic batches: both count in global_step.
    n_critic = int(cfg.model.n_critic) if "n_critic" in cfg.model else 1
    assert meta["global_step"] == batches + batches // n_critic
    assert after["fid"] < before["fid"] / fid_factor, (before, after)
    assert after["swd"] < before["swd"], (before, after)
    if min_entropy is not None:
        assert after["class_entropy"] > min_entropy, f"samples collapse onto few digits: {after}"


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        (
            "stylegan",
            [*TINY_STYLEGAN, "model.r1_interval=3", "model.pl_weight=2", "model.pl_interval=2"],
        ),
        ("dcgan", [*TINY_DCGAN, "model.augment='color,translation,cutout'"]),
    ],
)
def test_gan_resume_matches_uninterrupted_run(
    make_cfg, tmp_path: Path, model: str, extra: list[str]
) -> None:
    args = [f"model={model}", *SHORT, *extra, "trainer.deterministic=true"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    whole_metrics = train(make_cfg(*args, "trainer.max_epochs=4", run_dir=whole))
    train(make_cfg(*args, "trainer.max_epochs=2", run_dir=split))
    resumed_metrics = train(make_cfg(*args, "trainer.max_epochs=4", "resume=true", run_dir=split))
    # The resumed run validates twice more: its metrics, built after the resume, draw the same.
    for key in ("val/fid", "val/kid", "val/swd"):
        assert resumed_metrics[key] == pytest.approx(whole_metrics[key], rel=1e-6), key
    a, b = (
        checkpoint_state(whole / "checkpoints" / "last.ckpt"),
        checkpoint_state(split / "checkpoints" / "last.ckpt"),
    )
    assert a["global_step"] == b["global_step"] == 40
    for key, value in a["state_dict"].items():  # G, D, EMA, w_avg, R1 phase, path-length mean
        torch.testing.assert_close(b["state_dict"][key], value, msg=f"{key} differs after resume")
    assert {"generator_ema.mapping.w_avg", "d_steps", "g_steps"} <= set(
        a["state_dict"]
    ) or model == "dcgan"
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for idx, state in opt_a["state"].items():
            for name, value in state.items():
                torch.testing.assert_close(opt_b["state"][idx][name], value)


@pytest.mark.parametrize("fused", [False, True], ids=["checked", "deferred"])
def test_nan_in_discriminator_loss_is_caught(
    make_cfg, tmp_path: Path, monkeypatch, fused: bool
) -> None:
    original = DCGAN.d_loss_terms

    def poisoned(self, real, labels, fake, logs):
        for term in original(self, real, labels, fake, logs):
            yield term * float("nan") if self.global_step >= 14 else term

    monkeypatch.setattr(DCGAN, "d_loss_terms", poisoned)
    run = tmp_path / "nan"
    with pytest.raises(
        NonFiniteLossError,
        match=r"train/d_loss \(discriminator\) is nan in training batch 8 .*"
        + ("skipped on the device" if fused else "before that batch changed any weight"),
    ):
        fuse = [f"+model.optimizer_{p}.fused={fused}" for p in "gd"]
        train(
            make_cfg("model=dcgan", *SHORT, *TINY_DCGAN, "trainer.max_epochs=3", *fuse, run_dir=run)
        )
    for path in (run / "checkpoints").glob("*.ckpt"):
        state = checkpoint_state(path)
        assert state["global_step"] == 10
        assert all(
            torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point()
        )


def test_max_steps_counts_batches(make_cfg, tmp_path: Path) -> None:
    train(
        make_cfg(
            "model=dcgan",
            *SHORT,
            *TINY_DCGAN,
            "trainer.max_epochs=-1",
            "trainer.max_steps=7",
            "model.n_critic=1",
            run_dir=tmp_path / "a",
        )
    )
    assert json.loads((tmp_path / "a" / "final_metrics.json").read_text())["global_step"] == 14
    train(
        make_cfg(
            "model=dcgan",
            *SHORT,
            *TINY_DCGAN,
            "trainer.max_epochs=-1",
            "trainer.max_steps=6",
            "model.n_critic=3",
            run_dir=tmp_path / "b",
        )
    )
    assert (
        json.loads((tmp_path / "b" / "final_metrics.json").read_text())["global_step"] == 8
    )  # 6 D + 2 G


def test_sampling_cli_is_deterministic_and_mixes_styles(make_cfg, tmp_path: Path) -> None:
    run = tmp_path / "sg"
    train(make_cfg("model=stylegan", *SHORT, *TINY_STYLEGAN, "trainer.max_epochs=1", run_dir=run))
    outputs = []
    for name in ("a", "b"):
        written = run_sample(
            sample_cfg(
                f"run={run}",
                "seeds=[3,1,4]",
                "truncation=0.7",
                f"out_dir={tmp_path / name}",
                "interpolation_space=w",
                "gif=true",
                "style_mix_rows=[1,2]",
                "style_mix_cols=[3,4,5]",
                "style_mix_layers=[0,2]",
                "individual=true",
            )
        )
        assert {"samples", "individual", "interpolations", "gif", "style_mix"} <= set(written)
        # The animation and the strip it animates share a name: interpolations_<space>_...
        assert Path(written["gif"]).stem == Path(written["interpolations"]).stem
        outputs.append({k: Path(v).read_bytes() for k, v in written.items() if k != "individual"})
    assert outputs[0] == outputs[1]
    assert sorted(p.name for p in (tmp_path / "a").glob("samples_*/*.png")) == [
        "seed00001.png",
        "seed00003.png",
        "seed00004.png",
    ]
    other = run_sample(sample_cfg(f"run={run}", "seeds=[5,6,7]", f"out_dir={tmp_path / 'c'}"))
    assert Path(other["samples"]).read_bytes() != outputs[0]["samples"]


def test_style_mixing_on_a_dcgan_is_a_clear_error(make_cfg, tmp_path: Path) -> None:
    from genzoo.tasks.sample import SampleRequestError

    run = tmp_path / "dc"
    train(make_cfg("model=dcgan", *SHORT, *TINY_DCGAN, "trainer.max_epochs=1", run_dir=run))
    with pytest.raises(SampleRequestError, match="no styles to mix"):
        run_sample(
            sample_cfg(
                f"run={run}", "style_mix_rows=[1]", "style_mix_cols=[2]", f"out_dir={tmp_path}"
            )
        )


def test_step_counts_are_read_once_then_kept_on_the_host() -> None:
    """The n_critic / lazy-R1 phase reads the saved counters once (after a restore), not on
    every batch: reading a device tensor from Python waits for the GPU."""
    from genzoo.models.dcgan import DCGAN

    model = DCGAN(image_size=8, latent_dim=4, g_channels=4, d_channels=4)
    model.d_steps.fill_(7)
    model.g_steps.fill_(3)
    assert (model.d_count, model.g_count) == (7, 3)
    model.d_steps.fill_(9)  # as a checkpoint restore would
    assert model.d_count == 7
    model.on_train_start()
    assert model.d_count == 9
    model.update_ema()
    assert model.g_count == 4 == int(model.g_steps)
