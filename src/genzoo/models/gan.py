"""Shared machinery of the GAN families (docs/architecture.md, rule 4).

Manual optimization: each batch is one discriminator step and, every `n_critic` batches, one
generator step. Lightning counts both in `global_step`; genzoo-train translates the user's
`trainer.max_steps` (batches) with `optimizer_steps_for`. A generator EMA lives in the module
(and so in the checkpoint) and is what sampling and evaluation use. Images are in [-1, 1]
inside; the contract's [0, 1] is converted at the boundary.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from genzoo.metrics.generation import SampleQuality, resolve_feature_network
from genzoo.models.base import GenerativeModel, OptimizerFactory


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(-1, 1) + 1) / 2


def to_signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def grad_norm(module: nn.Module) -> torch.Tensor:
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


class GANModel(GenerativeModel):
    """Subclasses build `self.generator`, `self.discriminator`, then call `self._setup_ema()`,
    and implement `generate(z, labels)`, `discriminate(x, labels)`, `d_loss(...)`, `g_loss(...)`."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample", "interpolate", "evaluate"})
    monitor: ClassVar[str | None] = "val/fid"
    monitor_mode: ClassVar[str] = "min"

    generator: nn.Module
    discriminator: nn.Module
    generator_ema: nn.Module
    g_steps: torch.Tensor

    def __init__(
        self,
        optimizer_g: OptimizerFactory | None,
        optimizer_d: OptimizerFactory | None,
        latent_dim: int,
        num_classes: int,
        n_critic: int,
        ema_decay: float,
        clip_grad_norm: float | None,
        feature_network: str,
        eval_samples: int,
        channels: int,
    ) -> None:
        super().__init__(optimizer=None)
        self.automatic_optimization = False
        self.optimizer_g_factory, self.optimizer_d_factory = optimizer_g, optimizer_d
        self.latent_dim, self.num_classes, self.n_critic = latent_dim, num_classes, max(1, n_critic)
        self.ema_decay, self.clip_grad_norm = ema_decay, clip_grad_norm
        self.feature_network, self.eval_samples, self.channels = (
            feature_network,
            eval_samples,
            channels,
        )
        self._quality: SampleQuality | None = None
        self._quality_resolved = False

    def on_fit_start(self) -> None:
        # The EMA generator is in eval mode on purpose; silence Lightning's notice for exactly it.
        ema_modules = len(list(self.generator_ema.modules()))
        warnings.filterwarnings(
            "ignore",
            message=rf"Found {ema_modules} module\(s\) in eval mode at the start of training",
        )

    def _setup_ema(self) -> None:
        self.generator_ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.register_buffer("g_steps", torch.zeros((), dtype=torch.long))  # resumes the EMA ramp

    # ----- steps ---------------------------------------------------------------------
    @classmethod
    def optimizer_steps_per(cls, batches: int, n_critic: int) -> int:
        return batches + batches // max(1, n_critic)

    def optimizer_steps_for(self, batches: int) -> int:
        """Lightning's global_step after `batches` training batches (D and G steps both count)."""
        return self.optimizer_steps_per(batches, self.n_critic)

    def configure_optimizers(self) -> Any:
        if self.optimizer_g_factory is None or self.optimizer_d_factory is None:
            raise RuntimeError(
                f"{type(self).__name__} needs model.optimizer_g and model.optimizer_d in its config"
            )
        return [
            self.optimizer_g_factory(self.generator_parameters()),
            self.optimizer_d_factory(self.discriminator.parameters()),
        ]

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def random_labels(self, n: int) -> torch.Tensor | None:
        return (
            torch.randint(0, self.num_classes, (n,), device=self.device)
            if self.num_classes
            else None
        )

    def _step(
        self, optimizer: Any, loss: torch.Tensor, module: nn.Module, name: str
    ) -> torch.Tensor:
        self.backward_loss_name = name  # read by NaNGuard to name a non-finite loss
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        norm = grad_norm(module)
        if self.clip_grad_norm:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.clip_grad_norm, gradient_clip_algorithm="norm"
            )
        optimizer.step()
        return norm

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()  # type: ignore[misc, attr-defined]
        real = to_signed(batch["image"])
        labels = batch.get("label") if self.num_classes else None

        self.toggle_optimizer(opt_d)
        d_loss, logs = self.d_loss(real, labels)
        logs["train/grad_norm_d"] = self._step(
            opt_d, d_loss, self.discriminator, "train/d_loss (discriminator)"
        )
        self.untoggle_optimizer(opt_d)

        if (batch_idx + 1) % self.n_critic == 0:
            self.toggle_optimizer(opt_g)
            g_loss, g_logs = self.g_loss(len(real), labels)
            g_logs["train/grad_norm_g"] = self._step(
                opt_g, g_loss, self.generator, "train/g_loss (generator)"
            )
            self.untoggle_optimizer(opt_g)
            self.update_ema()
            logs.update(g_logs)
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, batch_size=len(real))
        self.step_schedulers()

    def step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in (
            schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []
        ):
            scheduler.step()  # type: ignore[call-arg]

    @torch.no_grad()
    def update_ema(self) -> None:
        # Ramp the decay up from 0.1 so the average does not keep the random init for ~1/(1-decay) steps.
        self.g_steps += 1
        steps = float(self.g_steps)
        decay = min(self.ema_decay, (1 + steps) / (10 + steps))
        for ema, live in zip(
            self.generator_ema.parameters(), self.generator.parameters(), strict=True
        ):
            ema.lerp_(live.detach(), 1.0 - decay)
        for ema_buf, live_buf in zip(
            self.generator_ema.buffers(), self.generator.buffers(), strict=True
        ):
            ema_buf.copy_(live_buf)

    # ----- to be provided by a family -------------------------------------------------
    def d_loss(
        self, real: torch.Tensor, labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        raise self._unsupported("train (d_loss)")

    def g_loss(self, n: int, labels: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
        raise self._unsupported("train (g_loss)")

    # ----- validation: sample quality -------------------------------------------------
    def quality(self) -> SampleQuality | None:
        if not self._quality_resolved:
            network = resolve_feature_network(self.feature_network, self.channels)
            self._quality = SampleQuality(network) if network else None
            self._quality_resolved = True
        return self._quality

    def on_validation_epoch_start(self) -> None:
        if (quality := self.quality()) is not None:
            quality.reset()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        if (quality := self.quality()) is not None:
            quality.update(batch["image"], real=True)

    def on_validation_epoch_end(self) -> None:
        quality = self.quality()
        if quality is None or not quality.real:
            return
        n_real = sum(len(r) for r in quality.real)
        self._add_fakes(quality, min(self.eval_samples, max(n_real, 2)), seed=12345)
        metrics = quality.compute()
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, prog_bar=True, sync_dist=True)

    @torch.no_grad()
    def _add_fakes(self, quality: SampleQuality, n: int, seed: int, batch: int = 256) -> None:
        for start in range(0, n, batch):
            quality.update(self.sample(min(batch, n - start), seed=seed + start), real=False)

    def metric_notes(self) -> dict[str, str]:
        quality = self.quality()
        network = quality.feature_network if quality else "none: FID/KID skipped"
        if network == "digits":
            network = "digits: genzoo's digit classifier (128-d features), not Inception"
        return {"feature_network": network, "sampler": "generator EMA"}

    @torch.no_grad()
    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        quality = self.quality()
        if quality is None:
            return {"skipped": 1.0}
        quality.reset()
        for batch in dataloader:
            quality.update(batch["image"], real=True)
        n_real = sum(len(r) for r in quality.real)
        self._add_fakes(quality, max(self.eval_samples, n_real), seed=0)
        result = quality.compute()
        result.update(num_real=float(n_real), num_fake=float(max(self.eval_samples, n_real)))
        return result
