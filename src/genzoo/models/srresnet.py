"""SRResNet (Ledig et al., CVPR 2017, sec. 3.2): the generator trained on pixel MSE alone, the
PSNR-oriented model and the first stage of SRGAN (models/srgan.py loads its weights)."""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.models.base import GenerativeModel, OptimizerFactory, SchedulerFactory
from genzoo.models.super_resolution import SuperResolutionMixin
from genzoo.networks.srresnet import SRResNet

# The generator's hyper-parameters: SRGAN's must equal its SRResNet's to load the weights.
GENERATOR_KEYS = ("scale", "image_channels", "width", "blocks", "batch_norm", "bicubic_skip")


class SRResNetModel(SuperResolutionMixin, GenerativeModel):
    def __init__(
        self,
        scale: int = 4,
        image_channels: int = 3,
        width: int = 64,
        blocks: int = 16,
        batch_norm: bool = True,
        bicubic_skip: bool = False,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, channels_last=channels_last)
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        self._init_sr(scale)
        self.generator = SRResNet(scale, image_channels, width, blocks, batch_norm, bicubic_skip)

    def sr_network(self) -> nn.Module:
        return self.generator

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        sr = self.generator(batch["lr"])  # (B, C, H, W)
        loss = F.mse_loss(sr, batch["hr"])
        if self.logging_now():
            self.log("train/mse", loss, on_step=True, on_epoch=False, batch_size=len(sr))
        return loss


def generator_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """The generator's part of a model's hyper-parameters, SRResNetModel's defaults filled in."""
    defaults = inspect.signature(SRResNetModel.__init__).parameters
    return {k: hparams.get(k, defaults[k].default) for k in GENERATOR_KEYS}
