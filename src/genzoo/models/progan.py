"""ProGAN (Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and
Variation", ICLR 2018): both players grow from 4 px to `image_size`, each new resolution
fading in (models/growth.py), trained with WGAN-GP and the drift term (sec. A.1: lambda 10,
epsilon_drift 0.001) or the non-saturating loss, Adam (lr 1e-3, betas 0 / 0.99) whose state
is reset at each new phase as the official code does (`reset_opt_for_new_lod`), and a
generator EMA (0.999) for sampling and evaluation.

The images shown (`images_seen`) and the phase whose optimizer state is live (`stage`) are
buffers, so a checkpoint taken anywhere, inside a fade included, resumes at the same level
and alpha with both optimizers' state and the EMA.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from genzoo.losses.adversarial import (
    discriminator_loss_fake,
    discriminator_loss_real,
    generator_loss,
)
from genzoo.losses.penalties import gradient_penalty
from genzoo.metrics.diversity import mean_pair_ms_ssim
from genzoo.models.base import CapabilityError, OptimizerFactory, seeded_latents, slerp_latents
from genzoo.models.gan import GANModel, to_signed, to_unit
from genzoo.models.growth import Growth, growth_at, images_to_grow
from genzoo.models.panels import Panel
from genzoo.models.quality import EVALUATION_SEED, held_out_images
from genzoo.networks.deploy import ExportPart, InputSpec
from genzoo.networks.progan import GrownGenerator, ProDiscriminator, ProGenerator

PROGAN_LOSSES = ("wgan", "ns")
# Images whose pairs the diversity check draws from (500 pairs of them), samples and held out.
MS_SSIM_IMAGES = 1000


class ProGAN(GANModel):
    sample_options: ClassVar[frozenset[str]] = frozenset({"temperature", "resolution"})
    images_seen: torch.Tensor
    stage: torch.Tensor

    @classmethod
    def compile_refusal(cls, hparams: dict[str, Any]) -> str | None:
        if hparams.get("gp_weight", 10.0):
            return "the gradient penalty differentiates twice through D, which torch.compile cannot"
        return None

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        if hparams.get("loss", "wgan") not in PROGAN_LOSSES:
            problems["loss"] = f"is not one of ProGAN's losses: {', '.join(PROGAN_LOSSES)}"
        for key in ("stable_images", "fade_images"):
            value = hparams.get(key, 1)
            if not isinstance(value, int) or value < 1:
                problems[key] = "must be a whole number of images, at least 1"
        return problems

    def __init__(
        self,
        image_channels: int = 1,
        image_size: int = 32,
        latent_dim: int = 128,
        channel_base: int = 2048,
        channel_max: int = 128,
        loss: str = "wgan",
        gp_weight: float = 10.0,
        drift_weight: float = 0.001,
        stable_images: int = 600_000,
        fade_images: int = 600_000,
        reset_optimizers: bool = True,
        mbstd_group: int = 4,
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
            n_critic=n_critic,
            ema_decay=ema_decay,
            clip_grad_norm=clip_grad_norm,
            feature_network=feature_network,
            eval_samples=eval_samples,
            channels_last=channels_last,
        )
        self.save_hyperparameters(ignore=["optimizer_g", "optimizer_d"])
        self.loss_kind, self.gp_weight, self.drift_weight = loss, gp_weight, drift_weight
        self.stable_images, self.fade_images = stable_images, fade_images
        self.reset_optimizers = reset_optimizers
        widths = {"channel_base": channel_base, "channel_max": channel_max}
        self.generator = ProGenerator(latent_dim, image_size, image_channels, **widths)
        self.discriminator = ProDiscriminator(
            image_size, image_channels, **widths, mbstd_group=mbstd_group
        )
        self.max_level = self.generator.max_level
        self._setup_ema()
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("stage", torch.zeros((), dtype=torch.long))
        # Host copies of the two buffers, read once (AdversarialModel.d_count says why).
        self._images: int | None = None
        self._stage: int | None = None

    # ----- the growth ------------------------------------------------------------------
    @property
    def images_count(self) -> int:
        if self._images is None:
            self._images = int(self.images_seen)
        return self._images

    def on_train_start(self) -> None:
        super().on_train_start()
        self._images = self._stage = None  # as restored from a checkpoint

    def growth(self) -> Growth:
        """The level and alpha the next batch trains at."""
        return growth_at(self.images_count, self.max_level, self.stable_images, self.fade_images)

    def images_to_grow(self) -> int:
        return images_to_grow(self.max_level, self.stable_images, self.fade_images)

    def enter_stage(self, growth: Growth) -> None:
        """At the first batch of a new phase (a fade or a stable phase), both optimizers start
        afresh: their moment estimates belong to the networks of the last phase."""
        if self._stage is None:
            self._stage = int(self.stage)
        if growth.stage == self._stage:
            return
        if self.reset_optimizers:
            for optimizer in self.optimizers():  # type: ignore[union-attr]
                optimizer.optimizer.state.clear()
        self.stage.fill_(growth.stage)
        self._stage = growth.stage

    def reals_at(self, real: torch.Tensor, growth: Growth) -> torch.Tensor:
        """Real images as the discriminator sees them at this growth: averaged down to the
        level's resolution and, during a fade, blended with their half-resolution version as
        the generator's output is (the official `process_reals`)."""
        factor = self.image_size // growth.resolution
        real = F.avg_pool2d(real, factor) if factor > 1 else real
        if not growth.fading:
            return real
        low = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2, mode="nearest")
        return torch.lerp(low, real, growth.alpha)

    # ----- training: one batch of the paper's algorithm -----------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        growth = self.growth()
        self.enter_stage(growth)
        real = self.reals_at(to_signed(batch["image"]), growth)
        self._grad_norms = {} if self.logging_now() else None
        with torch.set_grad_enabled(self.generator_steps_on_this_batch()):
            fake = self.generator(self.latents(len(real)), growth.level, growth.alpha)
        logs: dict[str, Any] = {
            "train/resolution": float(growth.resolution),
            "train/alpha": growth.alpha,
        }
        self.discriminator_step(lambda: self.critic_terms(real, fake.detach(), growth, logs))
        if self.generator_steps_now():
            self.generator_step(lambda: self.generator_terms(fake, growth, logs))
        # Images shown by every process: the schedule is the same in a DDP run.
        shown = len(real) * (self.trainer.world_size if self._trainer else 1)
        self._images = self.images_count + shown
        self.images_seen += shown
        self.end_batch(logs, len(real))

    def critic(self, x: torch.Tensor, growth: Growth) -> torch.Tensor:
        return self.discriminator(x, growth.level, growth.alpha)

    def critic_terms(
        self, real: torch.Tensor, fake: torch.Tensor, growth: Growth, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        real_scores = self.critic(real, growth)
        real_loss = discriminator_loss_real(self.loss_kind, real_scores)
        if self.loss_kind == "wgan":  # keeps the critic's output near zero (sec. A.1)
            real_loss = real_loss + self.drift_weight * real_scores.pow(2).mean()
        logs["train/d_real"] = real_scores.detach().mean()
        yield real_loss
        fake_scores = self.critic(fake, growth)
        fake_loss = discriminator_loss_fake(self.loss_kind, fake_scores)
        logs["train/d_fake"] = fake_scores.detach().mean()
        logs["train/d_loss"] = real_loss.detach() + fake_loss.detach()
        yield fake_loss
        if self.gp_weight:
            with torch.autocast(device_type=self.device.type, enabled=False):
                gp = gradient_penalty(lambda x: self.critic(x, growth), real.float(), fake.float())
            logs["train/gp"] = gp.detach()
            yield self.gp_weight * gp

    def generator_terms(
        self, fake: torch.Tensor, growth: Growth, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        loss = generator_loss(self.loss_kind, self.critic(fake, growth))
        logs["train/g_loss"] = loss.detach()
        yield loss

    # ----- the contract ----------------------------------------------------------------
    def grown_resolutions(self) -> list[int]:
        """4, 8, ... up to the resolution the run has reached (the one fading in included):
        the levels above it hold untrained weights."""
        return [4 * 2**k for k in range(self.growth().level + 1)]

    def _level_for(self, resolution: int | None) -> tuple[int, float]:
        if resolution is None:
            growth = self.growth()
            return growth.level, growth.alpha
        sizes = self.grown_resolutions()
        if resolution not in sizes:
            raise CapabilityError(
                f"resolution={resolution} is not one this ProGAN has grown through: use one "
                f"of {', '.join(map(str, sizes))} (it is built up to {self.image_size} px)"
            )
        return sizes.index(resolution), 1.0

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: int = 0,
        temperature: float = 1.0,
        seeds: list[int] | None = None,
        resolution: int | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """n images in [0, 1] at the resolution the run has grown to (or `resolution`, one of
        `grown_resolutions()`, through that level's toRGB); one image per seed of `seeds`."""
        level, alpha = self._level_for(resolution)
        z = seeded_latents(self.latent_dim, n, seed, seeds, self.device)
        return to_unit(self.generator_ema(z * temperature, level, alpha))

    def quality_samples(self, n: int, seed: int) -> torch.Tensor:
        """Samples at image_size for the metrics: a run still growing is measured against the
        full-resolution data, its samples enlarged by nearest neighbours."""
        return self.full_size(self.sample(n, seed=seed))

    def full_size(self, images: torch.Tensor) -> torch.Tensor:
        """Images of a lower level enlarged to image_size by nearest neighbours."""
        if images.shape[-1] == self.image_size:
            return images
        return F.interpolate(images, size=self.image_size, mode="nearest")

    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """FID / KID / SWD (models/quality.py), and the paper's diversity check: the mean
        MS-SSIM of 500 random pairs of samples beside that of the held-out images' pairs."""
        kept: list[torch.Tensor] = []  # the first MS_SSIM_IMAGES held-out images, as they pass

        def keeping(batches: Iterable[dict[str, torch.Tensor]]) -> Iterator[dict[str, Any]]:
            for batch in batches:
                if sum(map(len, kept)) < MS_SSIM_IMAGES:
                    kept.append(held_out_images(batch).cpu())
                yield batch

        result = self.quality_evaluate(keeping(dataloader))
        fakes = self.quality_samples(min(self.eval_samples, MS_SSIM_IMAGES), EVALUATION_SEED)
        result["ms_ssim_samples"] = mean_pair_ms_ssim(fakes.cpu())
        result["ms_ssim_real"] = mean_pair_ms_ssim(torch.cat(kept)[:MS_SSIM_IMAGES])
        return result

    def metric_notes(self) -> dict[str, str]:
        return {
            **super().metric_notes(),
            "ms_ssim": "mean MS-SSIM of 500 random pairs (samples, held-out images); "
            "lower: more diverse (metrics/diversity.py)",
        }

    @torch.no_grad()
    def interpolate(
        self, steps: int, seed_a: int, seed_b: int, space: str = "z", **kwargs: Any
    ) -> torch.Tensor:
        if space != "z":
            raise CapabilityError(f"ProGAN interpolates in z only, not in '{space}'")
        level, alpha = self._level_for(None)
        z = slerp_latents(self.latent_dim, steps, seed_a, seed_b, self.device)
        return to_unit(self.generator_ema(z, level, alpha))

    @torch.no_grad()
    def growing_strip(self, seeds: list[int]) -> torch.Tensor:
        """(len(seeds) * levels, C, image_size, image_size): each seed's image at every grown
        resolution (each level's own toRGB, enlarged by nearest neighbours), row by row."""
        rows = []
        for seed in seeds:
            for resolution in self.grown_resolutions():
                rows.append(self.full_size(self.sample(1, seeds=[seed], resolution=resolution)))
        return torch.cat(rows)

    def validation_panels(self, batches: Any) -> dict[str, Panel]:
        from torchvision.utils import make_grid

        strip = self.growing_strip([0, 1, 2, 3])
        sizes = [f"{r} px" for r in self.grown_resolutions()]
        grid = make_grid(strip.cpu(), nrow=len(sizes), padding=2, pad_value=1.0)
        caption = "one latent per row at each resolution grown so far (generator EMA)"
        return {"growing": Panel(grid, caption, sizes)}

    def export_parts(self) -> list[ExportPart]:
        level, alpha = self._level_for(None)
        module = GrownGenerator(self.generator_ema, level, alpha)
        return [ExportPart("generator", module, {"z": InputSpec((2, self.latent_dim))})]
