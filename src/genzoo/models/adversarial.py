"""Two players trained against each other with manual optimization (docs/architecture.md,
rule 4): the machinery every adversarial family shares (DCGAN, StyleGAN, SRGAN, ...).

Each training batch is one discriminator step and, every `n_critic` batches, one generator
step. Lightning counts both in `global_step`; genzoo-train translates the user's
`trainer.max_steps` (batches) with `optimizer_steps_for`. A generator EMA lives in the module
(and so in the checkpoint); `d_steps` / `g_steps` buffers keep the phases across resumes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genzoo.models.base import GenerativeModel, OptimizerFactory, SchedulerFactory
from genzoo.models.ema import ema_copy, ema_decay_at, ema_update, recompute_batch_norm
from genzoo.models.speed import build_optimizer
from genzoo.utils.distributed import average_buffers, average_gradients

LossTerms = Callable[[], Iterator[torch.Tensor]]


def grad_norm(module: nn.Module) -> torch.Tensor:
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


class AdversarialModel(GenerativeModel):
    """Subclasses build `self.generator` and `self.discriminator`, then call `_setup_ema()`;
    their `training_step` makes the batch's fakes, calls `discriminator_step` and
    `generator_step` in the paper's order, then `end_batch`."""

    training_only: ClassVar[tuple[str, ...]] = ("discriminator",)
    generator: nn.Module
    discriminator: nn.Module
    generator_ema: nn.Module
    g_steps: torch.Tensor
    d_steps: torch.Tensor

    def __init__(
        self,
        *,
        optimizer_g: OptimizerFactory | None,
        optimizer_d: OptimizerFactory | None,
        n_critic: int = 1,
        ema_decay: float | None = None,
        clip_grad_norm: float | None = None,
        channels_last: bool = False,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        # `scheduler`: one learning-rate schedule per player, stepped once per batch
        # (step_schedulers), e.g. SRGAN's second phase at a tenth of the rate.
        super().__init__(optimizer=None, scheduler=scheduler, channels_last=channels_last)
        self.automatic_optimization = False
        self.optimizer_g_factory, self.optimizer_d_factory = optimizer_g, optimizer_d
        self.n_critic = max(1, n_critic)
        self.ema_decay, self.clip_grad_norm = ema_decay, clip_grad_norm
        # Gradient norms of the batch being trained; None on batches whose metrics are not logged.
        self._grad_norms: dict[str, torch.Tensor] | None = {}
        # The G step whose EMA weights the EMA's batch-norm statistics were last computed for.
        self._ema_statistics_at = -1
        # DistributedDataParallel.no_sync of the DDP wrapper when this model averages its own
        # gradients (set at fit start); None otherwise.
        self._ddp_no_sync: Callable[[], AbstractContextManager[None]] | None = None
        # Host copies of the d_steps / g_steps buffers (None: read them at next use).
        self._d_count: int | None = None
        self._g_count: int | None = None

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        # Checkpoints written before D steps were counted: one D step per batch so far.
        state = checkpoint.get("state_dict", {})
        if "d_steps" not in state and "g_steps" in state:
            batches = int(checkpoint.get("global_step", 0)) * self.n_critic // (self.n_critic + 1)
            state["d_steps"] = torch.tensor(batches)

    def on_train_start(self) -> None:
        super().on_train_start()
        # The buffers as restored from a checkpoint; from here on they are counted on the host.
        self._d_count = self._g_count = None

    @property
    def d_count(self) -> int:
        """D steps so far: the `d_steps` buffer (saved, so the n_critic and lazy-R1 phases
        survive a resume), read once and then counted on the host, because reading a GPU
        tensor with int() waits for every queued kernel: a stall on every batch."""
        if self._d_count is None:
            self._d_count = int(self.d_steps)
        return self._d_count

    @property
    def g_count(self) -> int:
        """G steps so far, from the `g_steps` buffer like `d_count`."""
        if self._g_count is None:
            self._g_count = int(self.g_steps)
        return self._g_count

    def on_fit_start(self) -> None:
        super().on_fit_start()
        self._take_over_gradient_sync()
        if self.ema_decay is None:
            return
        # The EMA generator is in eval mode on purpose; silence Lightning's notice for exactly it.
        ema_modules = len(list(self.generator_ema.modules()))
        warnings.filterwarnings(
            "ignore",
            message=rf"Found {ema_modules} module\(s\) in eval mode at the start of training",
        )

    def _take_over_gradient_sync(self) -> None:
        """Under DDP, average each player's gradients just before its optimizer step
        (`average_gradients`) instead of in DDP's reducer, which expects one backward pass over
        all parameters per step, not several over one player's. With
        `trainer.strategy.find_unused_parameters=true` the reducer is kept (docs/cli.md, "DDP")."""
        wrapper = self.trainer.strategy.model
        if isinstance(wrapper, DistributedDataParallel) and not wrapper.find_unused_parameters:
            self._ddp_no_sync = wrapper.no_sync

    def on_validation_model_eval(self) -> None:
        super().on_validation_model_eval()
        # Batch-norm running statistics of the live players follow each process's own batches;
        # validation and the checkpoints after it see their mean over processes (DDP).
        average_buffers([self.generator, self.discriminator])

    def _setup_ema(self) -> None:
        """The generator EMA (none when `ema_decay` is None: the image-to-image families, whose
        papers use the live generator) and the step counters."""
        if self.ema_decay is not None:
            self.generator_ema = ema_copy(self.generator)
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
        optimizers = [
            build_optimizer(self.optimizer_g_factory, self.generator_parameters()),
            build_optimizer(self.optimizer_d_factory, self.discriminator.parameters()),
        ]
        if self.scheduler_factory is None:
            return optimizers
        # Stepped by hand once per batch; Lightning saves and restores their state.
        return optimizers, [self.scheduler_factory(opt) for opt in optimizers]

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def _step(
        self, optimizer: Any, terms: Iterable[torch.Tensor], module: nn.Module, name: str
    ) -> None:
        """One optimizer step on a loss given as terms: each is backpropagated before the next
        is computed, so only one term's graph is held at a time (lower peak memory)."""
        self.backward_loss_name = name  # read by NaNGuard to name a non-finite loss
        # A name, not the module: assigning a module would register it as a submodule.
        self._stepping = "generator" if module is self.generator else "discriminator"
        optimizer.zero_grad(set_to_none=True)
        # Under DDP the reducer stays idle; one all-reduce of this player's gradients follows.
        with self._ddp_no_sync() if self._ddp_no_sync else nullcontext():
            for term in terms:
                self.manual_backward(term)
        if self._ddp_no_sync:
            average_gradients(p for group in optimizer.param_groups for p in group["params"])
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
        return self.d_count % self.n_critic == 0

    def generator_steps_on_this_batch(self) -> bool:
        """Whether this batch's D step is the n_critic-th since the last G step, so that G
        steps too: then one batch of fakes, made with gradients, serves both steps (detached
        for D) and the generator runs forward once per batch instead of twice."""
        return (self.d_count + 1) % self.n_critic == 0

    # ----- one player's step, as a family's training_step calls them ----------------------
    def discriminator_step(self, d_terms: LossTerms) -> None:
        """D's step: toggle its optimizer, zero_grad, backward each term of `d_terms()`, step."""
        opt_d = self.optimizers()[1]  # type: ignore[index]
        self.toggle_optimizer(opt_d)
        self._step(opt_d, d_terms(), self.discriminator, "train/d_loss (discriminator)")
        self.untoggle_optimizer(opt_d)
        self._d_count = self.d_count + 1
        self.d_steps += 1  # on the device, without waiting for it

    def generator_step(self, g_terms: LossTerms) -> None:
        """G's step likewise, then the EMA's update."""
        opt_g = self.optimizers()[0]  # type: ignore[index]
        self.toggle_optimizer(opt_g)
        self._step(opt_g, g_terms(), self.generator, "train/g_loss (generator)")
        self.untoggle_optimizer(opt_g)
        self.update_ema()

    def end_batch(self, logs: dict[str, Any], batch_size: int) -> None:
        """After the players' steps: the batch's logs (with the gradient norms, on logged
        batches) and the schedulers' step."""
        if self._grad_norms is not None:  # metrics reach the loggers every log_every_n_steps
            # "generator" -> train/grad_norm_g, "discriminator" -> train/grad_norm_d
            logs.update({f"train/grad_norm_{k[0]}": v for k, v in self._grad_norms.items()})
            self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, batch_size=batch_size)
        self.step_schedulers()

    def step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in (
            schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []
        ):
            scheduler.step()  # type: ignore[call-arg]

    def refresh_ema_statistics(self) -> None:
        """Make the EMA generator's normalisation statistics its own (DCGAN's and SRGAN's batch
        norm, through `recompute_ema_statistics`); called before it is evaluated and saved.
        Families without such statistics do nothing."""

    @torch.no_grad()
    def recompute_ema_statistics(self, run_batches: Callable[[], None]) -> bool:
        """Reset the EMA generator's batch-norm statistics and average them anew (a plain
        cumulative average) over the forward passes `run_batches` makes through it in training
        mode. Copied from the live generator they would not match the averaged weights.
        update_ema overwrites them at every G step, so until the next one they are still fresh
        (a validation and its two checkpoint saves need one recomputation, not three). True if
        it recomputed them."""
        if self._ema_statistics_at == self.g_count:
            return False
        if not recompute_batch_norm(self.generator_ema, run_batches):
            return False
        self._ema_statistics_at = self.g_count
        return True

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        # The state dict was collected before this hook: store the refreshed buffers in it.
        if self.ema_decay is None:
            return
        self.refresh_ema_statistics()
        for key, buffer in self.generator_ema.named_buffers():
            checkpoint["state_dict"][f"generator_ema.{key}"] = buffer.detach().clone()

    @torch.no_grad()
    def update_ema(self) -> None:
        # Ramp the decay up from 0.1 so the average does not keep the random init for ~1/(1-decay) steps.
        self._g_count = self.g_count + 1
        self.g_steps += 1
        if self.ema_decay is None:
            return
        ema_update(self.generator_ema, self.generator, ema_decay_at(self.ema_decay, self._g_count))
