"""Pix2Pix (Isola et al., CVPR 2017): a conditional GAN for paired translation.

G: U-Net (or ResNet) from the input image; D: PatchGAN judging (input, output) pairs.
G minimises the conditional GAN loss + `l1_weight` * |G(x) - y|_1 (eq. 4, lambda = 100; both
on [-1, 1] images as in the paper's code); D's loss is halved (sec. 3.3). Adam(2e-4, 0.5);
the learning rate is constant, then decays linearly to 0 (`lr_constant_steps`,
`lr_decay_steps`, in batches). Dropout in the U-Net's first three decoder levels is the
paper's noise.

At test time (`test_mode`) the paper (sec. 3.3) keeps dropout on and normalises with the test
batch's statistics, its test batch being one image: `test_mode=paper`, the default, translates
each image on its own with the generator in training behaviour (the running statistics are left
as they are; dropout draws from a fixed seed, so a translation is repeatable).
`test_mode=eval` is the usual inference: dropout off, batch-norm running statistics. Every
metric says which one it used (`metric_notes`).

`gan_weight=0` trains the same generator by L1 alone: the baseline the GAN term is measured
against (docs/translation.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import nn
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

from genzoo.data.kinds import ALIGNED
from genzoo.data.translation import check_direction
from genzoo.errors import ConfigError
from genzoo.losses.adversarial import discriminator_loss_fake, discriminator_loss_real
from genzoo.metrics.reconstruction import per_image_psnr
from genzoo.metrics.super_resolution import high_frequency_energy
from genzoo.metrics.swd import SlicedWassersteinDistance
from genzoo.models.base import OptimizerFactory
from genzoo.models.gan import to_signed
from genzoo.models.translation import TranslationModel, paper_adversarial
from genzoo.networks.discriminators import PatchGAN
from genzoo.networks.translation import build_generator
from genzoo.utils.distributed import sum_over_processes
from genzoo.utils.rng import isolated_rng

TEST_MODES = ("paper", "eval")
DROPOUT_SEED = 0  # the test-time dropout's seed in test_mode=paper


@contextmanager
def training_behaviour(network: nn.Module) -> Iterator[None]:
    """Run `network` as in training (dropout on, batch norm on the batch's own statistics) and
    leave every buffer (running statistics, counters) as it was."""
    saved = [buffer.detach().clone() for buffer in network.buffers()]
    was_training = network.training
    network.train()
    try:
        yield
    finally:
        network.train(was_training)
        with torch.no_grad():
            for buffer, value in zip(network.buffers(), saved, strict=True):
                buffer.copy_(value)


class Pix2Pix(TranslationModel):
    target_sum: torch.Tensor
    target_count: torch.Tensor
    monitor: ClassVar[str | None] = "val/l1"
    accepts: ClassVar[tuple[str, ...]] = (ALIGNED,)
    evaluation_options: ClassVar[frozenset[str]] = frozenset({"test_mode"})

    def __init__(
        self,
        direction: str = "AtoB",
        image_channels: int = 3,
        image_size: int = 256,
        generator: str = "unet",
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
        blocks: int = 9,
        d_width: int = 64,
        d_layers: int = 3,
        d_norm: str = "batch",
        loss: str = "ns",
        l1_weight: float = 100.0,
        gan_weight: float = 1.0,
        lr_constant_steps: int = 100_000,
        lr_decay_steps: int = 100_000,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
        test_mode: str = "paper",
    ) -> None:
        super().__init__(
            lr_constant_steps=lr_constant_steps,
            lr_decay_steps=lr_decay_steps,
            optimizer_g=optimizer_g,
            optimizer_d=optimizer_d,
            channels_last=channels_last,
        )
        self.save_hyperparameters(ignore=["optimizer_g", "optimizer_d"])
        self.test_mode = test_mode
        self.direction = check_direction(direction)
        self.directions = (direction,)
        self.loss_kind, self.l1_weight, self.gan_weight = loss, l1_weight, gan_weight
        c = image_channels
        self.generator = build_generator(generator, c, c, image_size, width, norm, dropout, blocks)
        self.discriminator = PatchGAN(2 * c, d_width, d_layers, d_norm)
        self._setup_ema()
        # Per-pixel mean of the training targets: the trivial baseline of the held-out metrics.
        self.register_buffer("target_sum", torch.zeros(c, image_size, image_size))
        self.register_buffer("target_count", torch.zeros((), dtype=torch.long))
        # In a plain dict, not an attribute: a Metric attribute would become a submodule.
        self._swd: dict[str, SlicedWassersteinDistance] = {}

    def set_evaluation_option(self, name: str, value: Any) -> None:
        """test_mode: the paper's test behaviour or eval mode (None: the run's own)."""
        if value is None:
            return
        if str(value) not in TEST_MODES:
            raise ConfigError(f"test_mode={value} is not known: use paper or eval")
        self.test_mode = str(value)

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        if hparams.get("direction") not in ("AtoB", "BtoA"):
            problems["direction"] = "must be AtoB or BtoA (set it with data.direction)"
        if hparams.get("test_mode", "paper") not in TEST_MODES:
            problems["test_mode"] = "must be paper (dropout on, per-image statistics) or eval"
        return problems

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """As `TranslationModel.translate`, under `test_mode` (module docstring)."""
        translate_batch = super().translate
        if self.test_mode == "eval":
            return translate_batch(x, direction)
        with training_behaviour(self.generator), isolated_rng(DROPOUT_SEED):
            # one image at a time: each is normalised by its own statistics (batch of 1)
            return torch.cat([translate_batch(image[None], direction) for image in x])

    def generator_for(self, direction: str) -> nn.Module:
        return self.generator

    def split(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) of a batch, in [0, 1], by the learned direction."""
        return batch[self.direction[0]], batch[self.direction[-1]]

    # ----- training -------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        source, target = self.split(batch)
        self._grad_norms = {} if self.logging_now() else None
        if target.shape[1:] == self.target_sum.shape:
            # Summed over DDP processes, so that every process keeps the same baseline.
            self.target_sum += sum_over_processes(target.detach().sum(0))
            self.target_count += sum_over_processes(torch.tensor(len(target), device=self.device))
        x, y = to_signed(source), to_signed(target)
        fake = self.generator(x)  # one G forward serves the D step (detached) and the G step
        logs: dict[str, Any] = {}
        # D on (x, y) against (x, G(x)), then G on the adversarial and L1 terms (sec. 3, 3.3).
        self.discriminator_step(lambda: self.d_loss_terms(x, y, fake.detach(), logs))
        if self.generator_steps_now():
            self.generator_step(lambda: self.g_loss_terms(x, y, fake, logs))
        self.end_batch(logs, len(x))

    def d_loss_terms(
        self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        if self.gan_weight == 0:  # L1 alone: no discriminator to train
            yield torch.zeros((), device=x.device, requires_grad=True)
            return
        real = discriminator_loss_real(self.loss_kind, self.discriminator(torch.cat([x, y], 1)))
        yield 0.5 * real
        fake_loss = discriminator_loss_fake(
            self.loss_kind, self.discriminator(torch.cat([x, fake], 1))
        )
        yield 0.5 * fake_loss
        logs["train/d_loss"] = 0.5 * (real + fake_loss).detach()

    def g_loss_terms(
        self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        l1 = (fake - y).abs().mean()
        loss = self.l1_weight * l1
        if self.gan_weight:
            adversarial = paper_adversarial(
                self.loss_kind, self.discriminator(torch.cat([x, fake], 1))
            )
            loss = loss + self.gan_weight * adversarial
            logs["train/adversarial_loss"] = adversarial.detach()
        yield loss
        logs["train/l1"] = l1.detach() / 2  # on [0, 1] images, as the held-out L1
        logs["train/g_loss"] = loss.detach()

    # ----- held-out metrics -------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        self._swd = {}

    def val_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        source, target = self.split(batch)
        output = self.translate(source, self.direction).clamp(0, 1)
        if not self._swd:  # the outputs' and the targets' patch distributions
            size, channels = target.shape[-1], target.shape[1]
            swd = SlicedWassersteinDistance(size, channels, reset_real_features=True)
            self._swd["swd"] = swd.to(self.device)
        self._swd["swd"].update(target, real=True)
        self._swd["swd"].update(output, real=False)
        ssim = tm_ssim(output, target, data_range=1.0, reduction="none")
        assert isinstance(ssim, torch.Tensor)  # not the (ssim, map) pair: no full map asked
        out = {
            "l1": (output - target).abs().flatten(1).mean(1),
            "psnr": per_image_psnr(output, target),
            "ssim": ssim,
            # Fine detail of outputs and targets: their ratio (sharpness) is taken of the means.
            "hf_output": high_frequency_energy(output),
            "hf_target": high_frequency_energy(target),
        }
        if int(self.target_count) and target.shape[1:] == self.target_sum.shape:
            mean = (self.target_sum / self.target_count).expand_as(target)
            out["mean_target_psnr"] = per_image_psnr(mean, target)
            out["mean_target_l1"] = (mean - target).abs().flatten(1).mean(1)
        return out

    def finish_means(self, means: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self._swd:
            means["swd"] = torch.as_tensor(self._swd.pop("swd").compute()["swd"])
        means["sharpness"] = means.pop("hf_output") / means.pop("hf_target").clamp_min(1e-12)
        if "mean_target_psnr" in means:
            means["psnr_gain_over_mean"] = means["psnr"] - means["mean_target_psnr"]
        return means

    def metric_notes(self) -> dict[str, str]:
        return {
            "direction": self.direction,
            "test_mode": "paper: dropout on, each image normalised by its own statistics (sec. 3.3)"
            if self.test_mode == "paper"
            else "eval: dropout off, batch-norm running statistics",
            "l1, psnr, ssim": "output against target, [0, 1] images, mean over held-out pairs "
            "(SSIM: torchmetrics, Gaussian window 11)",
            "sharpness": "mean squared Laplacian of the outputs' luma / the targets' (1 = as "
            "much fine detail as the targets; below 1 = blurrier)",
            "swd": "sliced Wasserstein distance x1e3 between the Laplacian-pyramid patches of "
            "outputs and targets (metrics/swd.py): how far the outputs' local statistics are "
            "from real ones, whichever output a pixel loss prefers",
            "mean_target_*": "the per-pixel mean of the training targets as the output: the "
            "trivial baseline",
        }
