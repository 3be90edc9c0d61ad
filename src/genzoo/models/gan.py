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
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from genzoo.models.base import GenerativeModel, OptimizerFactory
from genzoo.models.quality import SampleQualityMixin


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(-1, 1) + 1) / 2


def to_signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def grad_norm(module: nn.Module) -> torch.Tensor:
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


class GANModel(SampleQualityMixin, GenerativeModel):
    """Subclasses build `self.generator`, `self.discriminator`, then call `self._setup_ema()`,
    and implement `generate(z, labels)`, `discriminate(x, labels)`, `d_loss(...)`, `g_loss(...)`."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample", "interpolate", "evaluate"})
    monitor: ClassVar[str | None] = "val/fid"
    monitor_mode: ClassVar[str] = "min"

    generator: nn.Module
    discriminator: nn.Module
    generator_ema: nn.Module
    g_steps: torch.Tensor
    d_steps: torch.Tensor

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
        image_size: int,
        channels_last: bool = False,
    ) -> None:
        super().__init__(optimizer=None, channels_last=channels_last)
        self.automatic_optimization = False
        self.optimizer_g_factory, self.optimizer_d_factory = optimizer_g, optimizer_d
        self.latent_dim, self.num_classes, self.n_critic = latent_dim, num_classes, max(1, n_critic)
        self.ema_decay, self.clip_grad_norm = ema_decay, clip_grad_norm
        # Gradient norms of the batch being trained; None on batches whose metrics are not logged.
        self._grad_norms: dict[str, torch.Tensor] | None = {}
        self._init_quality(feature_network, eval_samples, image_size, channels)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        # Checkpoints written before D steps were counted: one D step per batch so far.
        state = checkpoint.get("state_dict", {})
        if "d_steps" not in state and "g_steps" in state:
            batches = int(checkpoint.get("global_step", 0)) * self.n_critic // (self.n_critic + 1)
            state["d_steps"] = torch.tensor(batches)

    def on_fit_start(self) -> None:
        super().on_fit_start()
        # The EMA generator is in eval mode on purpose; silence Lightning's notice for exactly it.
        ema_modules = len(list(self.generator_ema.modules()))
        warnings.filterwarnings(
            "ignore",
            message=rf"Found {ema_modules} module\(s\) in eval mode at the start of training",
        )

    def _setup_ema(self) -> None:
        self.generator_ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.register_buffer("g_steps", torch.zeros((), dtype=torch.long))  # resumes the EMA ramp
        self.register_buffer(
            "d_steps", torch.zeros((), dtype=torch.long)
        )  # n_critic phase, lazy R1

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
        self, optimizer: Any, terms: Iterable[torch.Tensor], module: nn.Module, name: str
    ) -> None:
        """One optimizer step on a loss given as terms: each is backpropagated before the next
        is computed, so only one term's graph is held at a time (lower peak memory)."""
        self.backward_loss_name = name  # read by NaNGuard to name a non-finite loss
        # A name, not the module: assigning a module would register it as a submodule.
        self._stepping = "generator" if module is self.generator else "discriminator"
        optimizer.zero_grad(set_to_none=True)
        for term in terms:
            self.manual_backward(term)
        optimizer.step()  # calls on_before_optimizer_step once the gradients are unscaled

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        # Lightning's 16-mixed plugin unscales the gradients just before this hook: norms and
        # clipping here see the true gradients, not the loss-scaled ones of manual_backward.
        if self._grad_norms is not None:  # the norm before any clipping
            self._grad_norms[self._stepping] = grad_norm(getattr(self, self._stepping))
        if self.clip_grad_norm:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.clip_grad_norm, gradient_clip_algorithm="norm"
            )

    def generator_steps_now(self) -> bool:
        """One G step after every n_critic D steps, counted over the whole run (`d_steps` is
        saved in the checkpoint), not within an epoch."""
        return int(self.d_steps) % self.n_critic == 0

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()  # type: ignore[misc, attr-defined]
        real = to_signed(batch["image"])
        labels = batch.get("label") if self.num_classes else None
        self._grad_norms = {} if self.logging_now() else None
        # The D step of this batch is the n_critic-th since the last G step: then one batch of
        # fakes serves both steps (detached for D), the way DCGAN's reference code trains, and
        # the generator runs forward once per batch instead of twice.
        g_steps_too = (int(self.d_steps) + 1) % self.n_critic == 0
        with torch.set_grad_enabled(g_steps_too):
            fake = self.training_fakes(len(real), labels)

        logs: dict[str, Any] = {}
        self.toggle_optimizer(opt_d)
        terms = self.d_loss_terms(real, labels, fake.detach(), logs)
        self._step(opt_d, terms, self.discriminator, "train/d_loss (discriminator)")
        self.untoggle_optimizer(opt_d)
        self.d_steps += 1

        if self.generator_steps_now():
            self.toggle_optimizer(opt_g)
            terms = self.g_loss_terms(fake, labels, logs)
            self._step(opt_g, terms, self.generator, "train/g_loss (generator)")
            self.untoggle_optimizer(opt_g)
            self.update_ema()
        if self._grad_norms is not None:  # metrics reach the loggers every log_every_n_steps
            # "generator" -> train/grad_norm_g, "discriminator" -> train/grad_norm_d
            logs.update({f"train/grad_norm_{k[0]}": v for k, v in self._grad_norms.items()})
            self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, batch_size=len(real))
        self.step_schedulers()

    def step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in (
            schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []
        ):
            scheduler.step()  # type: ignore[call-arg]

    def refresh_ema_statistics(self) -> None:
        """Make the EMA generator's normalisation statistics its own (DCGAN's batch norm);
        called before it is evaluated and saved. Families without such statistics do nothing."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        # The state dict was collected before this hook: store the refreshed buffers in it.
        self.refresh_ema_statistics()
        for key, buffer in self.generator_ema.named_buffers():
            checkpoint["state_dict"][f"generator_ema.{key}"] = buffer.detach().clone()

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
    def monitor_metric(self) -> str | None:
        """FID where a feature network is available, otherwise SWD, which always is."""
        return "val/fid" if "fid" in self.quality_metric_names() else "val/swd"

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
