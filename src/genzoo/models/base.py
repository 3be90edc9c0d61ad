"""The contract every genzoo model offers to callbacks and CLIs (docs/architecture.md, rule 3).

Images crossing the contract are float (B, C, H, W) in [0, 1]; a model that works in
[-1, 1] converts inside. A model lists what it can do in `capabilities`; callers check
`supports(name)` before calling the matching method.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import lightning as L
import numpy as np
import torch
from torch import nn

from genzoo.data.kinds import IMAGES, DataKindError, mismatch_message
from genzoo.errors import GenzooError
from genzoo.models.panels import Panel
from genzoo.models.speed import build_optimizer, compile_networks
from genzoo.networks.blocks import num_halvings
from genzoo.networks.deploy import ExportPart
from genzoo.utils.distributed import decorrelate_rng


class CapabilityError(GenzooError, RuntimeError):
    """A model was asked for something it cannot do (e.g. reconstruct with a GAN)."""


OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


class GenerativeModel(L.LightningModule):
    """Base of all families: the sampling / evaluation contract, optimizers from config, RNG state.

    Subclasses set `capabilities`, `monitor` (the validation metric that picks the best
    checkpoint) and `monitor_mode`, and implement the methods their capabilities name.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()
    # Keyword options `sample` / `interpolate` understand beyond n and seed(s), e.g. truncation;
    # genzoo-sample refuses an option the model would ignore.
    sample_options: ClassVar[frozenset[str]] = frozenset()
    interpolation_spaces: ClassVar[tuple[str, ...]] = ("z",)
    # True where `sample` draws position by position and takes a `progress(done, total)`
    # callback, which genzoo-sample shows as a progress bar.
    sequential_sampling: ClassVar[bool] = False
    monitor: ClassVar[str | None] = None
    monitor_mode: ClassVar[str] = "min"
    # The kinds of batch this family learns from (data/kinds.py), checked against the
    # datamodule's `yields` before a run starts.
    accepts: ClassVar[tuple[str, ...]] = (IMAGES,)
    # Submodules only training needs (a GAN's discriminator): left out of shipped checkpoints.
    training_only: ClassVar[tuple[str, ...]] = ()
    # Options of genzoo-eval / genzoo-translate that only some families take (the VAE's
    # iw_samples, Pix2Pix's test_mode): set through `set_evaluation_option`.
    evaluation_options: ClassVar[frozenset[str]] = frozenset()
    # The loss whose backward ran last: NaNGuard names it when it is not finite. A family
    # with several losses per batch (a GAN's players) sets it before each backward.
    backward_loss_name: str = "train/loss"

    def __init__(
        self,
        *,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        # Factories are not hyper-parameters: a functools.partial would break weights_only loading.
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.channels_last = channels_last

    # ----- the contract -------------------------------------------------------------
    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        """Config values this family cannot build with, checked before anything runs:
        parameter -> what is wrong. A family adds its own to `super().check_hparams`."""
        problems = {}
        size = hparams.get("image_size")
        if isinstance(size, int) and not isinstance(size, bool) and size > 0:
            problem = cls.image_size_problem(size)
            if problem is not None:
                problems["image_size"] = problem
        refusal = cls.compile_refusal(hparams) if hparams.get("compile") is True else None
        if refusal:
            problems["compile"] = f"is not possible here: {refusal}; train with model.compile=false"
        return problems

    @classmethod
    def image_size_problem(cls, size: int) -> str | None:
        """What is wrong with image_size=size for this family, if anything. The default:
        convolutional families halve image_size down to 4 pixels."""
        try:
            num_halvings(size)
        except ValueError:
            return f"is not 4 times a power of two (8, 16, 32, 64, ...), which {cls.__name__} needs"
        return None

    @classmethod
    def compile_refusal(cls, hparams: dict[str, Any]) -> str | None:
        """Why model.compile=true cannot train this configuration, if it cannot: torch.compile
        has no double backward, which gradient penalties take through a network."""
        return None

    def optimizer_steps_for(self, batches: int) -> int:
        """Lightning's global_step after `batches` training batches: one optimizer step per
        batch here; a family that steps several optimizers per batch says how many."""
        return batches

    def validation_panels(self, batches: Iterator[dict[str, torch.Tensor]]) -> dict[str, Panel]:
        """The family's own figures from held-out batches (models/panels.py), logged with the
        samples, reconstructions and interpolations: name -> panel. None by default."""
        return {}

    def set_evaluation_option(self, name: str, value: Any) -> None:
        """Apply one of `evaluation_options` (None: the family's evaluation default)."""
        raise self._unsupported(f"take the evaluation option {name}")

    def monitor_metric(self, datamodule: Any = None) -> str | None:
        """The validation metric that picks the best checkpoint in this run (`monitor` unless
        the run cannot log it, or its data allows a better one)."""
        return self.monitor

    @classmethod
    def supports(cls, capability: str) -> bool:
        return capability in cls.capabilities

    def _unsupported(self, capability: str) -> CapabilityError:
        return CapabilityError(
            f"{type(self).__name__} cannot {capability}; it supports: "
            f"{', '.join(sorted(self.capabilities)) or 'nothing'}"
        )

    def sample(self, n: int, seed: int = 0, **kwargs: Any) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1], the same for the same seed."""
        raise self._unsupported("sample")

    def reconstruct(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, C, H, W) -> their reconstructions, same shape, in [0, 1]."""
        raise self._unsupported("reconstruct")

    def interpolate(self, steps: int, seed_a: int, seed_b: int, **kwargs: Any) -> torch.Tensor:
        """A strip of `steps` images (steps, C, H, W) between two seeds (`space`: z, or w)."""
        raise self._unsupported("interpolate")

    def style_mix(
        self,
        row_seeds: list[int],
        col_seeds: list[int],
        layers: tuple[int, int] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """(rows * cols) images: each row seed's styles with layers [start, end) from each column seed."""
        raise self._unsupported("style_mix")

    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        """Low-resolution images (B, C, h, w) -> (B, C, h * scale, w * scale), in [0, 1]."""
        raise self._unsupported("upscale")

    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Images (B, C, H, W) of one domain -> the other's, same shape, in [0, 1]; `direction`
        is AtoB or BtoA (a family lists the ones it learned in `directions`)."""
        raise self._unsupported("translate")

    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """The family's metrics on a held-out loader, as plain floats."""
        raise self._unsupported("evaluate")

    def evaluate_per_image(
        self, dataloader: Iterable[dict[str, torch.Tensor]]
    ) -> list[dict[str, float]]:
        """Per-image metrics, where a family reports them (super-resolution: one row per image)."""
        raise self._unsupported("evaluate per image")

    def metric_notes(self) -> dict[str, str]:
        """How `evaluate` computed its numbers (e.g. which feature network), for reports."""
        return {}

    def export_parts(self) -> list[ExportPart]:
        """The modules a user deploys, with their inputs (networks/deploy.py; genzoo-export)."""
        raise self._unsupported("export")

    # ----- training plumbing shared by families --------------------------------------
    def apply_memory_format(self) -> None:
        """model.channels_last: 4-D weights and image batches in NHWC, which the CPU's and
        the GPU's convolution kernels run faster for some networks (docs/benchmarks.md)."""
        if not self.channels_last:
            return
        # 4-D tensors only: Module.to(memory_format=...) refuses the 5-D weights StyleGAN keeps.
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)

    def setup(self, stage: str) -> None:
        """A datamodule of a kind this family cannot learn from is a user error (genzoo-train
        refuses the pair before this; this covers models trained from Python)."""
        super().setup(stage)
        trainer = getattr(self, "_trainer", None)
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        kind = getattr(datamodule, "yields", None)
        if kind is not None and kind not in self.accepts:
            name = getattr(datamodule, "name", type(datamodule).__name__)
            raise DataKindError(mismatch_message(type(self).__name__, self.accepts, name, kind))

    def configure_model(self) -> None:
        # Before the DDP wrapper is built: it lays out its gradient buckets by the parameters'
        # strides, and a layout changed after that sends every gradient through a slow copy.
        self.apply_memory_format()
        trainer = self._trainer
        fitting = trainer is not None and trainer.state.fn == "fit"
        if fitting and self.hparams.get("compile", False):
            compile_networks(self.compile_targets())

    def compile_targets(self) -> dict[str, nn.Module]:
        """What model.compile=true compiles: the submodules with trainable weights, which the
        training step runs (frozen feature networks and EMA copies are left alone)."""
        return {
            name: child
            for name, child in self.named_children()
            if any(p.requires_grad for p in child.parameters())
        }

    def on_fit_start(self) -> None:
        # After a checkpoint's RNG state was restored: under DDP each process its own noise.
        decorrelate_rng(self.global_rank)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.channels_last and isinstance(batch, dict):
            return {
                key: value.contiguous(memory_format=torch.channels_last)
                if isinstance(value, torch.Tensor) and value.dim() == 4
                else value
                for key, value in batch.items()
            }
        return batch

    def logging_now(self) -> bool:
        """Whether this training batch's metrics reach the loggers (every
        trainer.log_every_n_steps batches): per-step values that cost time to compute, such as
        gradient norms, are computed only then."""
        trainer = self._trainer
        if trainer is None or getattr(trainer, "fast_dev_run", False):
            return True
        # Lightning's own test for "these logs are written now" (log_every_n_steps).
        return bool(getattr(trainer._logger_connector, "should_update_logs", True))

    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            raise RuntimeError(
                f"{type(self).__name__} has no optimizer: set model.optimizer in the config"
            )
        opt = build_optimizer(self.optimizer_factory, self.parameters())
        if self.scheduler_factory is None:
            return opt
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": self.scheduler_factory(opt), "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # RNG states as tensors and ints only, so torch.load(weights_only=True) reads them.
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        checkpoint["rng"] = {
            "torch": torch.get_rng_state(),
            "numpy": {
                "keys": torch.from_numpy(np.array(keys, dtype=np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached": float(cached),
            },
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            checkpoint["rng"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Restored before the fit loop builds the first data iterator (whose shuffling seed
        # comes from the global RNG). genzoo-train skips the sanity check on resume so that
        # no validation draws random numbers in between.
        if checkpoint.get("rng"):
            restore_rng_state(checkpoint["rng"])


def restore_rng_state(rng: dict[str, Any]) -> None:
    """Set torch, numpy, python (and CUDA) generators from a checkpoint's 'rng' entry."""
    torch.set_rng_state(rng["torch"])
    np_state = rng["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached"],
        )
    )
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent vectors a, b (1, D) at fractions t (T, 1) -> (T, D)."""
    cos = torch.nn.functional.cosine_similarity(a, b).clamp(-1 + 1e-7, 1 - 1e-7)
    omega = torch.acos(cos)
    if float(omega) < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def seeded_latents(
    dim: int, n: int, seed: int, seeds: list[int] | None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(n, dim) latents from one seed, or one latent per entry of `seeds` (same seed, same latent)."""
    if seeds is not None:
        return torch.cat([seeded_normal((1, dim), s, device) for s in seeds])
    return seeded_normal((n, dim), seed, device)


def slerp_latents(
    dim: int, steps: int, seed_a: int, seed_b: int, device: torch.device | str
) -> torch.Tensor:
    """(steps, dim) latents on the great circle between the latents of two seeds."""
    a, b = seeded_normal((1, dim), seed_a, device), seeded_normal((1, dim), seed_b, device)
    return slerp(a, b, torch.linspace(0, 1, steps, device=device)[:, None])


def seeded_normal(
    shape: tuple[int, ...], seed: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Standard normal noise from its own generator: same seed, same noise, on any device."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen).to(device)
