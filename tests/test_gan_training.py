"""GAN training details: unscaled gradient norms under 16-mixed, the n_critic phase across
epochs, Adam as configured with lazy R1, spectral-norm biases, minibatch-stddev groups, the
DCGAN EMA's own batch-norm statistics, and errors instead of made-up labels."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision
from torch import nn

from genzoo.data.embedded import DigitsDataModule
from genzoo.models.conditioning import ConditioningError
from genzoo.models.dcgan import DCGAN
from genzoo.models.stylegan import StyleGAN
from genzoo.models.vae import VAE
from genzoo.networks.dcgan import DCGANDiscriminator
from genzoo.networks.stylegan import StyleDiscriminator

ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


def tiny_dcgan(**kwargs) -> DCGAN:
    args = dict(
        image_size=16,
        latent_dim=8,
        g_channels=8,
        d_channels=8,
        optimizer_g=ADAM,
        optimizer_d=ADAM,
        eval_samples=16,
    )
    return DCGAN(**{**args, **kwargs})


def fit(model: L.LightningModule, batches: int, epochs: int, **trainer_args) -> L.Trainer:
    data = DigitsDataModule(image_size=16, batch_size=8)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        limit_train_batches=batches,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **trainer_args,
    )
    trainer.fit(model, datamodule=data)
    return trainer


def logged_grad_norm(plugins: list | None) -> float:
    torch.manual_seed(0)
    model = tiny_dcgan()
    trainer = fit(model, batches=1, epochs=1, plugins=plugins, log_every_n_steps=1)
    return float(trainer.callback_metrics["train/grad_norm_d"])


def test_gradient_norm_is_logged_unscaled_under_16_mixed() -> None:
    plain = logged_grad_norm(None)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    scaled = logged_grad_norm([MixedPrecision("16-mixed", device="cpu", scaler=scaler)])
    # float16 autocast changes the value a little; the loss scale of 4096 would change it 4096x.
    assert scaled == pytest.approx(plain, rel=0.05), (scaled, plain)


def test_n_critic_phase_runs_across_epochs_and_is_saved(tmp_path: Path) -> None:
    model = tiny_dcgan(n_critic=3)
    trainer = fit(model, batches=2, epochs=3)  # epochs shorter than n_critic
    assert int(model.d_steps) == 6 and int(model.g_steps) == 2
    assert trainer.global_step == model.optimizer_steps_for(6)
    trainer.save_checkpoint(tmp_path / "c.ckpt")
    state = torch.load(tmp_path / "c.ckpt", weights_only=True)["state_dict"]
    assert int(state["d_steps"]) == 6


def test_stylegan_with_lazy_r1_in_the_main_loss_keeps_adam_as_configured() -> None:
    adam = partial(torch.optim.Adam, lr=2e-3, betas=(0.0, 0.99))
    model = StyleGAN(
        image_size=16, latent_dim=8, mapping_depth=1, channel_base=64, channel_max=16,
        r1_interval=16, pl_weight=2.0, optimizer_g=adam, optimizer_d=adam,
    )  # fmt: skip
    for opt in model.configure_optimizers():
        assert opt.param_groups[0]["lr"] == 2e-3 and opt.param_groups[0]["betas"] == (0.0, 0.99)


def test_spectral_norm_without_batch_norm_keeps_conv_biases() -> None:
    d = DCGANDiscriminator(image_size=16, base_channels=8, spectral=True)
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert convs and all(c.bias is not None for c in convs)
    plain = DCGANDiscriminator(image_size=16, base_channels=8)
    assert [c.bias is None for c in plain.features if isinstance(c, nn.Conv2d)] == [False, True]


def test_minibatch_stddev_refuses_a_batch_it_cannot_group() -> None:
    d = StyleDiscriminator(image_size=16, channel_base=64, channel_max=16)
    assert d(torch.rand(8, 1, 16, 16)).shape == (8,)
    assert d(torch.rand(2, 1, 16, 16)).shape == (2,)  # smaller than a group: one group
    with pytest.raises(ValueError, match="batch of 6.*divisible by 4"):
        d(torch.rand(6, 1, 16, 16))


def test_dcgan_ema_samples_with_batch_norm_statistics_of_its_own_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = tiny_dcgan()
    trainer = fit(model, batches=6, epochs=1)
    live = [m for m in model.generator.modules() if isinstance(m, nn.BatchNorm2d)]
    rng = torch.get_rng_state()
    trainer.save_checkpoint(tmp_path / "c.ckpt")
    assert torch.equal(torch.get_rng_state(), rng)  # recomputing drew on a forked RNG
    state = torch.load(tmp_path / "c.ckpt", weights_only=True)["state_dict"]
    ema_mean = state["generator_ema.project.1.running_mean"]
    assert not torch.allclose(ema_mean, live[0].running_mean)
    # The saved statistics are those of the EMA weights: recomputing them again agrees.
    model._ema_statistics_at = None  # forget that they are fresh
    model.refresh_ema_statistics()
    torch.testing.assert_close(model.generator_ema.project[1].running_mean, ema_mean)


def test_conditional_vae_without_labels_is_an_error_not_made_up_labels() -> None:
    vae = VAE(image_size=16, latent_dim=4, hidden_channels=8, num_classes=10)
    images = torch.rand(4, 1, 16, 16)
    with pytest.raises(ConditioningError, match="needs a 'label'"):
        vae.reconstruct(images)
    with pytest.raises(ConditioningError, match="outside model.num_classes=10"):
        vae.reconstruct(images, torch.tensor([0, 1, 2, 12]))
    assert vae.sample(4, seed=0).shape == (4, 1, 16, 16)  # sampling cycles through the classes
