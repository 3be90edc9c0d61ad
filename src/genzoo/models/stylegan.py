"""StyleGAN2-lite training (Karras et al., CVPR 2020) in pure PyTorch.

Non-saturating logistic loss; lazy R1 on reals every `r1_interval` D steps, scaled by the
interval (sec. 3.1, "lazy regularization"). The paper takes the regulariser's gradient in a
separate optimizer step and so shrinks Adam's lr and betas by c = interval / (interval + 1)
(appendix B). genzoo adds the scaled penalty to that batch's main loss instead: one Adam step
per batch as without regularisation, so the configured lr and betas are used as they are.
Style-mixing regularisation (StyleGAN sec. 3.1);
optional path-length regularisation (sec. 3.2, eq. 4), also lazy; generator EMA; running
average of w for the truncation trick (StyleGAN sec. 3.3; w' = w_avg + psi (w - w_avg)).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from genzoo.losses.penalties import path_length_penalty, r1_penalty
from genzoo.models.base import OptimizerFactory, seeded_latents, slerp_latents
from genzoo.models.gan import GANModel, to_unit
from genzoo.networks.augment import diff_augment
from genzoo.networks.deploy import ExportPart, InputSpec, StyleLatentToImage
from genzoo.networks.stylegan import StyleDiscriminator, StyleGenerator, truncate
from genzoo.utils.distributed import mean_over_processes


class StyleGAN(GANModel):
    generator: StyleGenerator
    generator_ema: StyleGenerator
    mean_path_length: torch.Tensor
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"sample", "interpolate", "evaluate", "style_mix", "export"}
    )
    sample_options: ClassVar[frozenset[str]] = frozenset({"truncation", "noise_mode"})
    interpolation_spaces: ClassVar[tuple[str, ...]] = ("z", "w")

    @classmethod
    def compile_refusal(cls, hparams: dict[str, Any]) -> str | None:
        if hparams.get("r1_gamma", 10.0) or hparams.get("pl_weight", 0.0):
            return (
                "the R1 and path-length penalties differentiate twice through the networks "
                "(model.r1_gamma, model.pl_weight), which torch.compile cannot"
            )
        return None

    def __init__(
        self,
        image_channels: int = 1,
        image_size: int = 32,
        latent_dim: int = 128,
        mapping_depth: int = 8,
        mapping_lr_mul: float = 0.01,
        channel_base: int = 4096,
        channel_max: int = 256,
        r1_gamma: float = 10.0,
        r1_interval: int = 16,
        pl_weight: float = 0.0,
        pl_interval: int = 4,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        augment: str = "",
        ema_decay: float = 0.999,
        clip_grad_norm: float | None = None,
        feature_network: str = "auto",
        eval_samples: int = 1000,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(  # unconditional, one D step per G step
            optimizer_g=optimizer_g,
            optimizer_d=optimizer_d,
            latent_dim=latent_dim,
            channels=image_channels,
            image_size=image_size,
            ema_decay=ema_decay,
            clip_grad_norm=clip_grad_norm,
            feature_network=feature_network,
            eval_samples=eval_samples,
            channels_last=channels_last,
        )
        self.save_hyperparameters(ignore=["optimizer_g", "optimizer_d"])
        self.r1_gamma, self.r1_interval = r1_gamma, max(1, r1_interval)
        self.pl_weight, self.pl_interval = pl_weight, max(1, pl_interval)
        self.style_mixing_prob, self.w_avg_beta, self.augment = (
            style_mixing_prob,
            w_avg_beta,
            augment,
        )
        self.generator = StyleGenerator(
            image_size,
            image_channels,
            latent_dim,
            latent_dim,
            mapping_depth,
            mapping_lr_mul,
            channel_base,
            channel_max,
        )
        self.discriminator = StyleDiscriminator(
            image_size, image_channels, channel_base, channel_max
        )
        self._setup_ema()
        self.register_buffer("mean_path_length", torch.zeros(()))

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(diff_augment(x, self.augment) if self.augment else x)

    # ----- generator paths ---------------------------------------------------------------
    def mixed_ws(self, n: int) -> torch.Tensor:
        """ws (n, num_ws, w_dim) with style mixing: after a random layer, w of a second z takes over."""
        g = self.generator
        ws = g.broadcast(g.mapping(self.latents(n)))
        if self.training:  # track the average w for truncation
            # float: under bf16 autocast the mapping network computes w in bfloat16. The mean
            # over every process's batch, so that w_avg agrees across DDP processes.
            batch_mean = mean_over_processes(ws[:, 0].detach().float().mean(0))
            g.mapping.w_avg.lerp_(batch_mean, 1 - self.w_avg_beta)
        if self.style_mixing_prob > 0 and random.random() < self.style_mixing_prob:
            cutoff = random.randint(1, g.num_ws - 1)
            ws = torch.cat(
                [ws[:, :cutoff], g.broadcast(g.mapping(self.latents(n)))[:, cutoff:]], dim=1
            )
        return ws

    def training_fakes(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        return self.generator.synthesis(self.mixed_ws(n))

    def d_loss_terms(
        self,
        real: torch.Tensor,
        labels: torch.Tensor | None,
        fake: torch.Tensor,
        logs: dict[str, Any],
    ) -> Iterator[torch.Tensor]:
        real_logits = self.discriminate(real)
        real_loss = F.softplus(-real_logits).mean()
        logs["train/d_real"] = real_logits.detach().mean()
        yield real_loss
        fake_logits = self.discriminate(fake)
        fake_loss = F.softplus(fake_logits).mean()
        logs["train/d_fake"] = fake_logits.detach().mean()
        logs["train/d_loss"] = real_loss.detach() + fake_loss.detach()
        yield fake_loss
        if self.r1_gamma > 0 and self.d_count % self.r1_interval == 0:
            with torch.autocast(device_type=self.device.type, enabled=False):  # float32 penalty
                real_req = real.detach().float().requires_grad_(True)
                r1 = r1_penalty(self.discriminate(real_req), real_req)
            logs["train/r1"] = r1.detach()
            yield self.r1_gamma / 2 * r1 * self.r1_interval

    def g_loss_terms(
        self, fake: torch.Tensor, labels: torch.Tensor | None, logs: dict[str, Any]
    ) -> Iterator[torch.Tensor]:
        n = len(fake)
        loss = F.softplus(-self.discriminate(fake)).mean()
        logs["train/g_loss"] = loss.detach()
        yield loss
        if self.pl_weight > 0 and self.g_count % self.pl_interval == 0:
            with torch.autocast(device_type=self.device.type, enabled=False):
                ws = self.generator.broadcast(self.generator.mapping(self.latents(max(1, n // 2))))
                ws.requires_grad_(True)
                images = self.generator.synthesis(ws)
                pl, lengths, self.mean_path_length = path_length_penalty(
                    images, ws, self.mean_path_length, batch_mean=mean_over_processes
                )
            logs.update({"train/pl": pl.detach(), "train/path_length": lengths.mean().detach()})
            yield self.pl_weight * self.pl_interval * pl

    # ----- the contract ----------------------------------------------------------------
    def _ws_for_seeds(self, seeds: list[int], truncation: float) -> torch.Tensor:
        g = self.generator_ema
        z = seeded_latents(self.latent_dim, len(seeds), 0, seeds, self.device)
        w = g.mapping(z)
        w = truncate(w, g.mapping.w_avg, truncation)
        return g.broadcast(w)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: int = 0,
        truncation: float = 1.0,
        noise_mode: str = "const",
        seeds: list[int] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Images in [0, 1]: one per seed in `seeds`, else n from consecutive seeds seed, seed+1, ..."""
        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        ws = self._ws_for_seeds(seeds, truncation)
        if noise_mode != "random":  # noise shared by all images: one batched pass
            return to_unit(self.generator_ema.synthesis(ws, noise_mode))
        images = [
            self.generator_ema.synthesis(ws[i : i + 1], noise_mode, noise_seed=s)
            for i, s in enumerate(seeds)
        ]
        return to_unit(torch.cat(images))

    @torch.no_grad()
    def interpolate(
        self,
        steps: int,
        seed_a: int,
        seed_b: int,
        space: str = "w",
        truncation: float = 1.0,
        noise_mode: str = "const",
        **kwargs: Any,
    ) -> torch.Tensor:
        """A strip between two seeds, linear in w (default) or spherical in z."""
        g = self.generator_ema
        t = torch.linspace(0, 1, steps, device=self.device)[:, None]
        if space == "z":
            w = g.mapping(slerp_latents(self.latent_dim, steps, seed_a, seed_b, self.device))
            w = truncate(w, g.mapping.w_avg, truncation)
        elif space == "w":
            w_a, w_b = self._ws_for_seeds([seed_a, seed_b], truncation)[:, 0]
            w = torch.lerp(w_a[None], w_b[None], t)
        else:
            raise ValueError(f"interpolation space '{space}' is not known: use z or w")
        return to_unit(
            g.synthesis(g.broadcast(w), noise_mode if noise_mode != "random" else "const")
        )

    def export_parts(self) -> list[ExportPart]:
        inputs = {"z": InputSpec((2, self.latent_dim)), "truncation": InputSpec((1,), "scalar")}
        note = "the EMA generator with its fixed noise (noise_mode=const); truncation 1.0: none"
        return [
            ExportPart("generator", StyleLatentToImage(self.generator_ema), inputs, notes=[note])
        ]

    @property
    def style_layers(self) -> int:
        """How many w vectors the synthesis network takes: style mixing picks [start, end)."""
        return int(self.generator_ema.num_ws)

    @torch.no_grad()
    def style_mix(
        self,
        row_seeds: list[int],
        col_seeds: list[int],
        layers: tuple[int, int] | None = None,
        truncation: float = 1.0,
        noise_mode: str = "const",
        **kwargs: Any,
    ) -> torch.Tensor:
        """(rows * cols) images: row seed's styles, with layers [start, end) taken from the column seed."""
        g = self.generator_ema
        start, end = layers if layers is not None else (0, g.num_ws // 2)
        if not 0 <= start < end <= g.num_ws:
            raise ValueError(
                f"style-mixing layers [{start}, {end}) must lie within [0, {g.num_ws})"
            )
        rows, cols = (
            self._ws_for_seeds(row_seeds, truncation),
            self._ws_for_seeds(col_seeds, truncation),
        )
        out = []
        for r in range(len(row_seeds)):
            for c in range(len(col_seeds)):
                ws = rows[r : r + 1].clone()
                ws[:, start:end] = cols[c : c + 1, start:end]
                out.append(g.synthesis(ws, noise_mode, noise_seed=row_seeds[r]))
        return to_unit(torch.cat(out))
