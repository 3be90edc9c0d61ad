"""Variational autoencoder (Kingma & Welling, ICLR 2014), optionally beta-weighted and class-conditional.

Training maximises the ELBO  E_q[log p(x|z)] - beta * KL(q(z|x) || p(z))  (eq. 3 of the paper)
with the reparameterisation z = mu + sigma * eps (section 2.4). The KL weight can ramp from 0
to beta over `kl_warmup_steps` (Bowman et al. 2016). Validation also reports the importance
weighted bound of Burda et al. 2016 (IWAE, eq. 8) with k samples as the NLL estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from genzoo.losses.kl import gaussian_kl_standard_normal
from genzoo.losses.likelihood import (
    bernoulli_log_likelihood,
    discretized_logistic_log_likelihood,
    gaussian_log_likelihood,
)
from genzoo.metrics.likelihood import nats_to_bits_per_dim
from genzoo.models.base import (
    CapabilityError,
    GenerativeModel,
    OptimizerFactory,
    SchedulerFactory,
    seeded_latents,
    slerp_latents,
)
from genzoo.models.conditioning import class_onehot
from genzoo.models.quality import SampleQualityMixin
from genzoo.networks.deploy import ExportPart, InputSpec, VAEDecoderToImage
from genzoo.networks.vae import ConvDecoder, ConvEncoder, likelihood_mean
from genzoo.utils.distributed import sum_over_processes, world_size

LOG_2PI = math.log(2 * math.pi)


LIKELIHOODS = ("bernoulli", "discretized_logistic", "gaussian")


class VAE(SampleQualityMixin, GenerativeModel):
    """A convolutional VAE with a Bernoulli, discretised-logistic or Gaussian decoder.

    Bits/dim are reported only where the likelihood is a probability of the pixel values the
    papers score: a discretised logistic over 8-bit values, or a Bernoulli over binarised
    pixels (`data.binarize`). A Gaussian density (or a Bernoulli over grey values) gives nats
    on its own scale (`val/nll`) and no `val/bpd`.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"sample", "reconstruct", "interpolate", "encode", "decode", "evaluate", "export"}
    )
    sample_options: ClassVar[frozenset[str]] = frozenset({"temperature"})
    monitor: ClassVar[str | None] = "val/neg_elbo"
    monitor_mode: ClassVar[str] = "min"
    evaluation_options: ClassVar[frozenset[str]] = frozenset({"iw_samples"})
    # genzoo-eval's NLL bound when iw_samples is not given: tighter than the 32 of validation.
    eval_iw_samples: ClassVar[int] = 256

    def __init__(
        self,
        image_channels: int = 1,
        image_size: int = 32,
        latent_dim: int = 16,
        hidden_channels: int = 32,
        likelihood: str = "bernoulli",
        data_binarize: str = "none",
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        num_classes: int = 0,
        iw_samples: int = 64,
        feature_network: str = "auto",
        eval_samples: int = 1000,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, channels_last=channels_last)
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"model.likelihood='{likelihood}' is not known: use {', '.join(LIKELIHOODS)}"
            )
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        self.latent_dim, self.likelihood, self.num_classes = latent_dim, likelihood, num_classes
        self.image_channels = image_channels
        self.reports_bits_per_dim = likelihood == "discretized_logistic" or (
            likelihood == "bernoulli" and data_binarize != "none"
        )
        self.beta, self.kl_warmup_steps, self.iw_samples = beta, kl_warmup_steps, iw_samples
        self.on_train_epoch_start()  # a resumed run may start mid-epoch, without that hook
        self._init_quality(feature_network, eval_samples, image_size, image_channels)
        self.encoder = ConvEncoder(
            image_channels, image_size, latent_dim, hidden_channels, num_classes
        )
        # The discretised logistic has a mean and a log-scale per pixel: twice the channels.
        params = 2 * image_channels if likelihood == "discretized_logistic" else image_channels
        self.decoder = ConvDecoder(params, image_size, latent_dim, hidden_channels, num_classes)
        # Gaussian decoder: one learned log standard deviation shared by all pixels.
        self.log_scale = nn.Parameter(
            torch.tensor(math.log(0.1)), requires_grad=likelihood == "gaussian"
        )

    # ----- pieces ----------------------------------------------------------------
    def _onehot(
        self, label: torch.Tensor | None, n: int, cycle: bool = False
    ) -> torch.Tensor | None:
        return class_onehot(label, n, self.num_classes, self.device, cycle)

    def log_px(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per example, (B,)."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(params, x)
        if self.likelihood == "discretized_logistic":
            mean, log_scale = params.chunk(2, dim=1)
            return discretized_logistic_log_likelihood(mean, log_scale, x)
        return gaussian_log_likelihood(params, x, self.log_scale)

    def mean_image(self, params: torch.Tensor) -> torch.Tensor:
        """The decoder's mean in [0, 1]."""
        return likelihood_mean(params, self.likelihood, self.image_channels)

    def elbo_terms(self, x: torch.Tensor, label: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Single-sample reconstruction log-likelihood and KL, each (B,) in nats."""
        onehot = self._onehot(label, len(x))
        mean, logvar = self.encoder(x, onehot)  # (B, D) each
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)  # reparameterisation
        return {
            "log_px": self.log_px(self.decoder(z, onehot), x),
            "kl": gaussian_kl_standard_normal(mean, logvar),
        }

    @torch.no_grad()
    def importance_weighted_nll(
        self, x: torch.Tensor, label: torch.Tensor | None, k: int, chunk: int = 16
    ) -> torch.Tensor:
        """-log p(x) estimated with k importance samples (IWAE bound), (B,) in nats."""
        onehot = self._onehot(label, len(x))
        mean, logvar = self.encoder(x, onehot)
        std = torch.exp(0.5 * logvar)
        log_w = []
        for start in range(0, k, chunk):
            kk = min(chunk, k - start)
            eps = torch.randn(kk, *mean.shape, device=x.device)  # (k, B, D)
            z = mean + eps * std
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
            log_qz = -0.5 * (eps.pow(2) + LOG_2PI + logvar).sum(-1)
            flat = z.flatten(0, 1)
            labels = onehot.repeat(kk, 1) if onehot is not None else None
            log_px = self.log_px(self.decoder(flat, labels), x.repeat(kk, 1, 1, 1)).view(kk, -1)
            log_w.append(log_px + log_pz - log_qz)
        return -(torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k))

    def kl_weight(self) -> float:
        warmup = self.kl_warmup_steps
        ramp = min(1.0, self.global_step / warmup) if warmup > 0 else 1.0
        return self.beta * ramp

    # ----- Lightning -------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        terms = self.elbo_terms(batch["image"], batch.get("label"))
        recon, kl = -terms["log_px"].mean(), terms["kl"].mean()
        loss = recon + self.kl_weight() * kl
        # The epoch's mean -ELBO, summed here without a host sync and logged at the epoch's end.
        self._epoch_neg_elbo += (recon + kl).detach() * len(batch["image"])
        self._epoch_images += len(batch["image"])
        if self.logging_now():  # per-step values reach the loggers every log_every_n_steps only
            self.log_dict(
                {
                    "train/loss": loss,
                    "train/recon": recon,
                    "train/kl": kl,
                    "train/neg_elbo": recon + kl,
                    "train/kl_weight": self.kl_weight(),
                },
                prog_bar=False,
                on_step=True,
                on_epoch=False,
            )
        return loss

    def set_evaluation_option(self, name: str, value: Any) -> None:
        """iw_samples: the importance samples of genzoo-eval's NLL bound."""
        self.iw_samples = int(value or self.eval_iw_samples)

    def on_train_epoch_start(self) -> None:
        self._epoch_neg_elbo: torch.Tensor | float = 0.0
        self._epoch_images = 0

    def on_train_epoch_end(self) -> None:
        # An epoch cut short by max_steps (or an interruption) is no epoch: its sums travel in
        # the checkpoint and a resumed run logs the whole epoch's mean once, at its true end.
        if not self.trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return
        if self._epoch_images:
            mean = self._epoch_neg_elbo / self._epoch_images
            self.log("train/neg_elbo_epoch", mean, prog_bar=True, sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        # The open epoch's sums over all processes (every process saves, rank 0 writes).
        total = torch.as_tensor(self._epoch_neg_elbo, dtype=torch.float64, device=self.device)
        count = torch.tensor(float(self._epoch_images), dtype=torch.float64, device=self.device)
        checkpoint["epoch_sums"] = {
            "neg_elbo": float(sum_over_processes(total)),
            "images": float(sum_over_processes(count)),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        sums = checkpoint.get("epoch_sums")
        if sums:  # each process takes its share, so that the processes' sums add up again
            share = max(1, world_size())
            self._epoch_neg_elbo = torch.tensor(sums["neg_elbo"] / share, device=self.device)
            self._epoch_images = int(round(sums["images"] / share))

    def _batch_metrics(
        self, batch: dict[str, torch.Tensor], iw_samples: int
    ) -> dict[str, torch.Tensor]:
        x, label = batch["image"], batch.get("label")
        terms = self.elbo_terms(x, label)
        out = {
            "recon": -terms["log_px"],
            "kl": terms["kl"],
            "neg_elbo": terms["kl"] - terms["log_px"],
        }
        if iw_samples > 0:
            out["nll"] = self.importance_weighted_nll(x, label, iw_samples)
        return out

    def on_validation_epoch_start(self) -> None:
        self.quality_validation_start()

    def on_validation_epoch_end(self) -> None:
        metrics = self.quality_validation_end()  # of the samples: FID/KID/SWD (models/quality.py)
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, sync_dist=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.quality_validation_step(batch)
        metrics = self._batch_metrics(batch, self.iw_samples)
        dims = batch["image"][0].numel()
        logged = {f"val/{k}": v.mean() for k, v in metrics.items()}
        if "nll" in metrics and self.reports_bits_per_dim:
            logged["val/bpd"] = metrics["nll"].mean() / (dims * math.log(2))
        self.log_dict(logged, prog_bar=True, batch_size=len(batch["image"]), sync_dist=True)

    # ----- the contract ----------------------------------------------------------
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
        """n images in [0, 1] from one seed, or one image per entry of `seeds`."""
        z = seeded_latents(self.latent_dim, n, seed, seeds, self.device)
        onehot = self._onehot(labels, len(z), cycle=True)
        return self.mean_image(self.decoder(z * temperature, onehot))

    @torch.no_grad()
    def encode(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> the posterior means (B, latent_dim)."""
        mean, _ = self.encoder(x.to(self.device), self._onehot(label, len(x)))
        return mean

    @torch.no_grad()
    def decode(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """Latents (B, latent_dim) -> the decoder's mean images (B, C, H, W) in [0, 1]."""
        z = z.to(self.device)
        return self.mean_image(self.decoder(z, self._onehot(label, len(z))))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, label), label)

    def export_parts(self) -> list[ExportPart]:
        inputs = {"z": InputSpec((2, self.latent_dim))}
        if self.num_classes:
            inputs["label"] = InputSpec((2,), "labels", self.num_classes)
        module = VAEDecoderToImage(
            self.decoder, self.likelihood, self.image_channels, self.num_classes
        )
        return [ExportPart("decoder", module, inputs)]

    @torch.no_grad()
    def interpolate(
        self, steps: int, seed_a: int, seed_b: int, space: str = "z", **kwargs: Any
    ) -> torch.Tensor:
        if space != "z":
            raise CapabilityError(f"the VAE interpolates in z only, not in '{space}'")
        z = slerp_latents(self.latent_dim, steps, seed_a, seed_b, self.device)
        label = torch.full((steps,), seed_a % max(1, self.num_classes), device=self.device)
        return self.mean_image(self.decoder(z, self._onehot(label, steps)))

    @torch.no_grad()
    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        sums: dict[str, float] = {}
        count, dims = 0, 0
        for batch in dataloader:
            batch = {k: v.to(self.device) for k, v in batch.items()}
            for key, value in self._batch_metrics(batch, max(1, self.iw_samples)).items():
                sums[key] = sums.get(key, 0.0) + float(value.sum())
            count += len(batch["image"])
            dims = batch["image"][0].numel()
        result = {key: total / count for key, total in sums.items()}
        result["elbo"] = -result["neg_elbo"]
        if self.reports_bits_per_dim:
            result["bpd"] = nats_to_bits_per_dim(result["nll"], dims)
        result["num_images"] = float(count)
        result["iw_samples"] = float(max(1, self.iw_samples))
        return {**result, **self.quality_evaluate(dataloader)}

    def metric_notes(self) -> dict[str, str]:
        return {**self.quality_notes(), "likelihood": self.likelihood_note()}

    def likelihood_note(self) -> str:
        if self.likelihood == "discretized_logistic":
            return "discretised logistic over 8-bit pixel values: nll and bpd are probabilities"
        if self.reports_bits_per_dim:
            return "Bernoulli over binarised pixels: nll and bpd are probabilities"
        kind = "Gaussian density" if self.likelihood == "gaussian" else "Bernoulli over grey values"
        return (
            f"{kind}: nll in nats on its own scale, no bits/dim (not a likelihood of 8-bit pixels)"
        )
