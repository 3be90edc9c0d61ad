"""Shared machinery of the unconditional GAN families (docs/architecture.md, rule 4).

Fakes come from latents (and labels); the two-player step, the generator EMA (what sampling
and evaluation use) and the step counting are `models/adversarial.py`'s. Images are in [-1, 1]
inside; the contract's [0, 1] is converted at the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import torch

from genzoo.models.adversarial import AdversarialModel
from genzoo.models.base import OptimizerFactory
from genzoo.models.quality import SampleQualityMixin


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(-1, 1) + 1) / 2


def to_signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


class GANModel(SampleQualityMixin, AdversarialModel):
    """Subclasses build `self.generator`, `self.discriminator`, then call `self._setup_ema()`,
    and implement `training_fakes`, `d_loss_terms` and `g_loss_terms`."""

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"sample", "interpolate", "evaluate", "export"}
    )
    monitor: ClassVar[str | None] = "val/fid"
    monitor_mode: ClassVar[str] = "min"

    def __init__(
        self,
        *,
        optimizer_g: OptimizerFactory | None,
        optimizer_d: OptimizerFactory | None,
        latent_dim: int,
        channels: int,
        image_size: int,
        num_classes: int = 0,
        n_critic: int = 1,
        ema_decay: float | None = None,
        clip_grad_norm: float | None = None,
        feature_network: str = "auto",
        eval_samples: int = 1000,
        channels_last: bool = False,
    ) -> None:
        super().__init__(
            optimizer_g=optimizer_g,
            optimizer_d=optimizer_d,
            n_critic=n_critic,
            ema_decay=ema_decay,
            clip_grad_norm=clip_grad_norm,
            channels_last=channels_last,
        )
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self._init_quality(feature_network, eval_samples, image_size, channels)

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def random_labels(self, n: int) -> torch.Tensor | None:
        return (
            torch.randint(0, self.num_classes, (n,), device=self.device)
            if self.num_classes
            else None
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        real = to_signed(batch["image"])
        labels = batch.get("label") if self.num_classes else None
        self._grad_norms = {} if self.logging_now() else None
        with torch.set_grad_enabled(self.generator_steps_on_this_batch()):
            fake = self.training_fakes(len(real), labels)
        logs: dict[str, Any] = {}
        # D on real and (detached) fake images; G every n_critic D steps (WGAN's critic loop).
        self.discriminator_step(lambda: self.d_loss_terms(real, labels, fake.detach(), logs))
        if self.generator_steps_now():
            self.generator_step(lambda: self.g_loss_terms(fake, labels, logs))
        self.end_batch(logs, len(real))

    # ----- to be provided by a family -------------------------------------------------
    def training_fakes(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        """n generated images in [-1, 1] for a training step (with the live generator, under
        the caller's grad mode)."""
        raise self._unsupported("train (training_fakes)")

    def d_loss_terms(
        self,
        real: torch.Tensor,
        labels: torch.Tensor | None,
        fake: torch.Tensor,
        logs: dict[str, Any],
    ) -> Iterator[torch.Tensor]:
        """The discriminator's loss on real and (detached) fake images, yielded term by term
        (real, fake, then any penalty), each computed only after the previous one was
        backpropagated; what to log goes into `logs`."""
        raise self._unsupported("train (d_loss_terms)")

    def g_loss_terms(
        self, fake: torch.Tensor, labels: torch.Tensor | None, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        """The generator's loss on fakes generated with gradients, term by term likewise."""
        raise self._unsupported("train (g_loss_terms)")

    # ----- validation: sample quality (models/quality.py) ------------------------------
    def monitor_metric(self, datamodule: Any = None) -> str | None:
        return self.quality_monitor()

    def on_validation_epoch_start(self) -> None:
        self.refresh_ema_statistics()
        self.quality_validation_start()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.quality_validation_step(batch)

    def on_validation_epoch_end(self) -> None:
        metrics = self.quality_validation_end()
        # Already over all processes (torchmetrics gathers); sync_dist averages equal values.
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, prog_bar=True, sync_dist=True)

    def metric_notes(self) -> dict[str, str]:
        return {**self.quality_notes(), "sampler": "generator EMA"}

    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        return self.quality_evaluate(dataloader)
