"""SRGAN (Ledig et al., CVPR 2017, sec. 2.2): the SRResNet generator, started from a trained
SRResNet run (`init_from`), trained against the paper's discriminator with the perceptual loss
l_SR = content loss + 1e-3 * adversarial loss (eq. 3), manual optimization (models/adversarial.py).

The paper evaluates the generator itself (`ema_decay=None`, the default). With a generator EMA
(`ema_decay=0.999`) the EMA upscales and is evaluated; its batch-norm statistics are then
recomputed for the averaged weights from the last training batches' LR images before each
validation and save (averaged over DDP processes), not copied from the live generator. The
paper's schedule, 1e5 updates at 1e-4 and 1e5 at 1e-5 (sec. 3.2), is `scheduler` (a MultiStepLR
stepped per batch, experiment=srgan_div2k).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from genzoo.errors import GenzooError
from genzoo.losses.adversarial import (
    LOSSES,
    discriminator_loss_fake,
    discriminator_loss_real,
    generator_loss,
)
from genzoo.losses.perceptual import CONTENT_LOSSES, VGGFeatures, content_loss, vgg_layer_index
from genzoo.models.adversarial import AdversarialModel
from genzoo.models.base import OptimizerFactory, SchedulerFactory
from genzoo.models.gan import to_signed
from genzoo.models.srresnet import GENERATOR_KEYS, SRResNetModel, generator_hparams
from genzoo.models.super_resolution import SuperResolutionMixin
from genzoo.networks.srresnet import SRDiscriminator, SRResNet
from genzoo.utils.checkpoint import CheckpointError, find_checkpoint, read_checkpoint
from genzoo.utils.distributed import average_buffers

EMA_STATISTICS_BATCHES = 4  # recent training batches whose LR images refresh the EMA's statistics

log = logging.getLogger("genzoo")


class InitFromError(GenzooError, ValueError):
    """model.init_from does not name a usable SRResNet run."""


def read_init_from(path: str, generator: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The generator weights of the SRResNet run or checkpoint `path`, checked to fit a generator
    of hyper-parameters `generator`; errors say what to change."""
    weights, problem = _stage_one(path, generator)
    if problem is not None:
        raise InitFromError(f"model.init_from={path} {problem}")
    return weights


def _stage_one(path: str, generator: dict[str, Any]) -> tuple[dict[str, torch.Tensor], str | None]:
    """(generator weights, None), or ({}, what is wrong with `path` as SRGAN's first stage)."""
    try:
        ckpt = read_checkpoint(find_checkpoint(path))
    except CheckpointError as err:
        return {}, f"is not a usable SRResNet run: {err}"
    target = ckpt["genzoo"].get("model_target", "")
    expected = f"{SRResNetModel.__module__}.{SRResNetModel.__qualname__}"
    if target != expected:
        return {}, (
            f"is a {target.rsplit('.', 1)[-1]} run, not an SRResNet one: train stage 1 with "
            "model=srresnet (e.g. experiment=srresnet_photos) and pass its run directory"
        )
    theirs = generator_hparams(ckpt.get("hyper_parameters", {}))
    differ = {k: (theirs[k], generator[k]) for k in GENERATOR_KEYS if theirs[k] != generator[k]}
    if differ:
        fixes = " ".join(f"model.{k}={theirs_v}" for k, (theirs_v, _) in differ.items())
        return {}, (
            "has a different generator ("
            + ", ".join(f"{k}: {a} there, {b} here" for k, (a, b) in differ.items())
            + f"): set {fixes}"
        )
    prefix = "generator."
    weights = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    return weights, None


class SRGAN(SuperResolutionMixin, AdversarialModel):
    def __init__(
        self,
        init_from: str | None = None,
        scale: int = 4,
        image_channels: int = 3,
        width: int = 64,
        blocks: int = 16,
        batch_norm: bool = True,
        bicubic_skip: bool = False,
        d_channels: int = 64,
        content_loss: str = "vgg19",
        vgg_layer: str = "relu5_4",
        vgg_weights: str | None = None,
        adversarial_weight: float = 1e-3,
        loss: str = "ns",
        n_critic: int = 1,
        ema_decay: float | None = None,
        clip_grad_norm: float | None = None,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__(
            optimizer_g=optimizer_g,
            optimizer_d=optimizer_d,
            n_critic=n_critic,
            ema_decay=ema_decay,
            clip_grad_norm=clip_grad_norm,
            channels_last=channels_last,
            scheduler=scheduler,
        )
        self.save_hyperparameters(ignore=["optimizer_g", "optimizer_d", "scheduler"])
        self._init_sr(scale)
        self.init_from, self.loss_kind = init_from, loss
        self.content_kind, self.adversarial_weight = content_loss, adversarial_weight
        self.generator = SRResNet(scale, image_channels, width, blocks, batch_norm, bicubic_skip)
        self.discriminator = SRDiscriminator(image_channels, d_channels)
        self._setup_ema()
        # Built on first use and kept out of the module's state: frozen, rebuilt identically.
        self._vgg: list[VGGFeatures] = []
        # LR images of the last training batches (EMA with batch norm only), see the docstring.
        self._keeps_recent_lr = ema_decay is not None and batch_norm
        self._recent_lr: list[torch.Tensor] = []

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        if hparams.get("content_loss") not in CONTENT_LOSSES:
            problems["content_loss"] = f"must be one of {', '.join(CONTENT_LOSSES)}"
        if hparams.get("loss") not in LOSSES:
            problems["loss"] = f"must be one of {', '.join(LOSSES)}"
        try:
            vgg_layer_index(str(hparams.get("vgg_layer", "relu5_4")))
        except ValueError as err:
            problems["vgg_layer"] = str(err)
        if hparams.get("init_from") and "scale" not in problems:  # stage 1 checked before any step
            _, problem = _stage_one(str(hparams["init_from"]), generator_hparams(hparams))
            if problem is not None:
                problems["init_from"] = problem
        return problems

    def sr_network(self) -> nn.Module:
        return self.generator if self.ema_decay is None else self.generator_ema

    def refresh_ema_statistics(self) -> None:
        """Batch-norm statistics of the EMA weights: a plain average over the last training
        batches' LR images, then over processes."""
        if not self._recent_lr:
            return

        def run_batches() -> None:
            for lr in self._recent_lr:
                self.generator_ema(lr)

        if self.recompute_ema_statistics(run_batches):
            average_buffers([self.generator_ema])

    def on_validation_model_eval(self) -> None:
        super().on_validation_model_eval()
        self.refresh_ema_statistics()

    def setup(self, stage: str) -> None:
        super().setup(stage)
        # Stage 1's weights, when this is a fresh start (a resume restores its own weights).
        if stage != "fit" or self.init_from is None or self._trainer is None:
            return
        if self.trainer.ckpt_path is not None:
            return
        weights = read_init_from(self.init_from, generator_hparams(dict(self.hparams)))
        self.generator.load_state_dict(weights)
        if self.ema_decay is not None:
            self.generator_ema.load_state_dict(weights)
        log.info("SRGAN generator initialised from %s", self.init_from)

    def feature_network(self) -> VGGFeatures | None:
        if self.content_kind == "mse":
            return None
        if not self._vgg:
            pretrained = self.content_kind == "vgg19"
            vgg = VGGFeatures(self.hparams["vgg_layer"], pretrained, self.hparams["vgg_weights"])
            self._vgg.append(vgg.to(self.device))
            log.info(
                "SRGAN content loss: %s at phi_%s", self.content_kind, self.hparams["vgg_layer"]
            )
        return self._vgg[0]

    def on_fit_start(self) -> None:
        super().on_fit_start()
        self.feature_network()  # a missing VGG file fails now, not at the first G step

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        lr, hr = batch["lr"], batch["hr"]
        if self._keeps_recent_lr:
            self._recent_lr = [*self._recent_lr[1 - EMA_STATISTICS_BATCHES :], lr.detach()]
        self._grad_norms = {} if self.logging_now() else None
        with torch.set_grad_enabled(self.generator_steps_on_this_batch()):
            sr = self.generator(lr)  # (B, C, H, W), [0, 1]
        logs: dict[str, Any] = {}
        # D on HR against SR, then G on the content and adversarial losses (eq. 3 to 6).
        self.discriminator_step(
            lambda: self.d_loss_terms(to_signed(hr), to_signed(sr.detach()), logs)
        )
        if self.generator_steps_now():
            self.generator_step(lambda: self.g_loss_terms(sr, hr, logs))
        self.end_batch(logs, len(lr))

    def d_loss_terms(
        self, real: torch.Tensor, fake: torch.Tensor, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        loss_real = discriminator_loss_real(self.loss_kind, self.discriminator(real))
        yield loss_real
        loss_fake = discriminator_loss_fake(self.loss_kind, self.discriminator(fake))
        yield loss_fake
        logs["train/d_loss"] = (loss_real + loss_fake).detach()

    def g_loss_terms(
        self, sr: torch.Tensor, hr: torch.Tensor, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        # One term: content and adversarial parts share the generator's graph.
        content = content_loss(self.content_kind, sr, hr, self.feature_network())
        adversarial = generator_loss(self.loss_kind, self.discriminator(to_signed(sr)))
        yield content + self.adversarial_weight * adversarial
        logs["train/content_loss"] = content.detach()
        logs["train/adversarial_loss"] = adversarial.detach()
        logs["train/g_loss"] = (content + self.adversarial_weight * adversarial).detach()

    def metric_notes(self) -> dict[str, str]:
        return {
            **super().metric_notes(),
            "sampler": "generator (the paper's)"
            if self.ema_decay is None
            else "generator EMA, batch-norm statistics recomputed for its weights",
            "content_loss": self.content_kind
            + ("" if self.content_kind == "mse" else f" at {self.hparams['vgg_layer']}"),
        }
