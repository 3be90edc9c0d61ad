"""DCGAN (Radford et al., ICLR 2016) trained as the minimax game of Goodfellow et al. 2014.

Selectable losses (ns, lsgan, hinge, wgan with gradient penalty), spectral norm in D, class
conditioning, DiffAugment on real and fake alike, and a generator EMA for sampling.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch

from genzoo.losses.adversarial import (
    LOSSES,
    discriminator_loss_fake,
    discriminator_loss_real,
    generator_loss,
)
from genzoo.losses.penalties import gradient_penalty
from genzoo.models.base import CapabilityError, OptimizerFactory, seeded_latents, slerp_latents
from genzoo.models.gan import GANModel, to_unit
from genzoo.networks.augment import diff_augment
from genzoo.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from genzoo.networks.deploy import ExportPart, InputSpec, LatentToImage
from genzoo.utils.rng import isolated_rng

EMA_STATISTICS_SEED = 2024


class DCGAN(GANModel):
    sample_options: ClassVar[frozenset[str]] = frozenset({"temperature"})

    @classmethod
    def compile_refusal(cls, hparams: dict[str, Any]) -> str | None:
        if hparams.get("loss") == "wgan":
            return "model.loss=wgan's gradient penalty differentiates twice through D, which torch.compile cannot"
        return None

    def __init__(
        self,
        image_channels: int = 1,
        image_size: int = 32,
        latent_dim: int = 100,
        g_channels: int = 64,
        d_channels: int = 64,
        loss: str = "ns",
        gp_weight: float = 10.0,
        spectral_norm: bool = False,
        num_classes: int = 0,
        augment: str = "",
        n_critic: int = 1,
        ema_decay: float = 0.999,
        clip_grad_norm: float | None = None,
        feature_network: str = "auto",
        eval_samples: int = 1000,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(
            optimizer_g=optimizer_g,
            optimizer_d=optimizer_d,
            latent_dim=latent_dim,
            channels=image_channels,
            image_size=image_size,
            num_classes=num_classes,
            n_critic=n_critic,
            ema_decay=ema_decay,
            clip_grad_norm=clip_grad_norm,
            feature_network=feature_network,
            eval_samples=eval_samples,
            channels_last=channels_last,
        )
        if loss not in LOSSES:
            raise ValueError(f"model.loss='{loss}' is not known: use one of {', '.join(LOSSES)}")
        self.save_hyperparameters(ignore=["optimizer_g", "optimizer_d"])
        self.loss_kind, self.gp_weight, self.augment = loss, gp_weight, augment
        self.generator = DCGANGenerator(
            latent_dim, image_size, image_channels, g_channels, num_classes
        )
        # Batch norm mixes examples, which breaks the per-example gradient penalty of WGAN-GP.
        self.discriminator = DCGANDiscriminator(
            image_size,
            image_channels,
            d_channels,
            num_classes,
            spectral=spectral_norm,
            batch_norm=loss != "wgan",
        )
        self._setup_ema()

    def refresh_ema_statistics(self, batches: int = 4, batch_size: int = 128) -> None:
        """Batch-norm statistics for the EMA weights, from `batches` batches of fresh latents
        (drawn on a forked RNG, so training's random numbers are untouched)."""

        def run_batches() -> None:
            with isolated_rng(EMA_STATISTICS_SEED):
                for _ in range(batches):
                    labels = self.random_labels(batch_size)
                    self.generator_ema(self.latents(batch_size), labels)

        self.recompute_ema_statistics(run_batches)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(diff_augment(x, self.augment) if self.augment else x, labels)

    def training_fakes(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        labels = labels if labels is not None else self.random_labels(n)
        return self.generator(self.latents(n), labels)

    def d_loss_terms(
        self,
        real: torch.Tensor,
        labels: torch.Tensor | None,
        fake: torch.Tensor,
        logs: dict[str, Any],
    ) -> Iterator[torch.Tensor]:
        real_logits = self.discriminate(real, labels)
        real_loss = discriminator_loss_real(self.loss_kind, real_logits)
        logs["train/d_real"] = real_logits.detach().mean()
        yield real_loss
        fake_logits = self.discriminate(fake, labels)
        fake_loss = discriminator_loss_fake(self.loss_kind, fake_logits)
        logs["train/d_fake"] = fake_logits.detach().mean()
        logs["train/d_loss"] = real_loss.detach() + fake_loss.detach()
        yield fake_loss
        if self.loss_kind == "wgan":
            with torch.autocast(device_type=self.device.type, enabled=False):
                gp = gradient_penalty(
                    lambda x: self.discriminate(x, labels), real.float(), fake.float()
                )
            logs["train/gp"] = gp.detach()
            yield self.gp_weight * gp

    def g_loss_terms(
        self, fake: torch.Tensor, labels: torch.Tensor | None, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        loss = generator_loss(self.loss_kind, self.discriminate(fake, labels))
        logs["train/g_loss"] = loss.detach()
        yield loss

    # ----- the contract ----------------------------------------------------------------
    def _labels_for(self, n: int, labels: torch.Tensor | None) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return (
            labels.to(self.device)
            if labels is not None
            else torch.arange(n, device=self.device) % self.num_classes
        )

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: int = 0,
        labels: torch.Tensor | None = None,
        temperature: float = 1.0,
        seeds: list[int] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """n images in [0, 1]; `seeds` gives one image per seed (the same image for the same seed)."""
        z = seeded_latents(self.latent_dim, n, seed, seeds, self.device)
        return to_unit(self.generator_ema(z * temperature, self._labels_for(len(z), labels)))

    def export_parts(self) -> list[ExportPart]:
        inputs = {"z": InputSpec((2, self.latent_dim))}
        if self.num_classes:
            inputs["label"] = InputSpec((2,), "labels", self.num_classes)
        module = LatentToImage(self.generator_ema, conditional=bool(self.num_classes))
        return [ExportPart("generator", module, inputs)]

    @torch.no_grad()
    def interpolate(
        self, steps: int, seed_a: int, seed_b: int, space: str = "z", **kwargs: Any
    ) -> torch.Tensor:
        if space != "z":
            raise CapabilityError(f"DCGAN interpolates in z only, not in '{space}'")
        z = slerp_latents(self.latent_dim, steps, seed_a, seed_b, self.device)
        labels = torch.full((steps,), seed_a % max(1, self.num_classes), device=self.device)
        return to_unit(self.generator_ema(z, self._labels_for(steps, labels)))
