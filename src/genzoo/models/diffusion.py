"""Denoising diffusion (Ho et al. 2020; Nichol & Dhariwal 2021) with classifier-free guidance
(Ho & Salimans 2022), sampled by DDPM or DDIM (Song et al. 2021), and the DALL-E 2 slides'
three edits of an image: inpainting (RePaint), outpainting and SDEdit.

Training is the simple loss of DDPM, eq. 14: a uniform timestep t, x_t = sqrt(a_t) x_0 +
sqrt(1 - a_t) eps, and the mean squared error of the U-Net's eps (or v) at x_t. Labels are
dropped with probability `label_dropout` so that one network is also the unconditional
model that guidance needs. An EMA of the weights samples and evaluates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.models.base import GenerativeModel, OptimizerFactory, SchedulerFactory
from genzoo.models.diffusion_edits import EditMixin
from genzoo.models.ema import ema_copy, ema_decay_at, ema_update
from genzoo.models.panels import Panel
from genzoo.models.quality import SampleQualityMixin
from genzoo.networks.deploy import ExportPart, InputSpec
from genzoo.networks.diffusion_sampling import SAMPLERS, run_sampler, seeded_noise
from genzoo.networks.noise_schedule import NoiseSchedule
from genzoo.networks.unet import UNet

SAMPLE_CHUNK = 64  # images denoised together
# The sampler's own noise of an image: from seed + this, apart from its starting noise (seed).
SAMPLER_SEED_OFFSET = 1_000_003
VALIDATION_LOSS_SEED = 4321  # the held-out loss uses the same t and noise at every validation


class Diffusion(EditMixin, SampleQualityMixin, GenerativeModel):
    """A U-Net denoiser on a cosine or linear schedule, eps- or v-prediction, optional labels."""

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"sample", "inpaint", "outpaint", "edit", "evaluate", "export"}
    )
    sample_options: ClassVar[frozenset[str]] = frozenset({"guidance", "steps", "sampler", "eta"})
    monitor: ClassVar[str | None] = "val/fid"
    monitor_mode: ClassVar[str] = "min"
    evaluation_options: ClassVar[frozenset[str]] = frozenset({"guidance", "steps"})
    # Sampling, editing, evaluation and export use the EMA weights: a shipped model or a
    # model folder leaves the raw training weights out.
    training_only: ClassVar[tuple[str, ...]] = ("denoiser",)

    def __init__(
        self,
        *,
        image_channels: int = 1,
        image_size: int = 32,
        base_channels: int = 32,
        channel_mults: tuple[int, ...] = (1, 2, 2),
        num_res_blocks: int = 1,
        attention_resolutions: tuple[int, ...] = (8,),
        dropout: float = 0.1,
        num_classes: int = 0,
        label_dropout: float = 0.1,
        timesteps: int = 1000,
        schedule: str = "cosine",
        prediction: str = "v",
        zero_terminal_snr: bool = False,
        ema_decay: float = 0.999,
        sampler: str = "ddim",
        sample_steps: int = 50,
        eta: float = 0.0,
        guidance: float = 1.0,
        clip_x0: bool = True,
        feature_network: str = "auto",
        eval_samples: int = 1000,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, channels_last=channels_last)
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        self.noise_schedule = NoiseSchedule(timesteps, schedule, prediction, zero_terminal_snr)
        self.num_classes, self.label_dropout = num_classes, label_dropout
        self.ema_decay, self.clip_x0 = ema_decay, clip_x0
        self.sampler, self.sample_steps, self.eta, self.guidance = (
            sampler,
            sample_steps,
            eta,
            guidance,
        )
        self._init_quality(feature_network, eval_samples, image_size, image_channels)
        self.denoiser = UNet(
            image_channels=image_channels,
            image_size=image_size,
            base_channels=base_channels,
            channel_mults=tuple(channel_mults),
            num_res_blocks=num_res_blocks,
            attention_resolutions=tuple(attention_resolutions),
            dropout=dropout,
            num_classes=num_classes,
        )
        self.denoiser_ema = ema_copy(self.denoiser)

    def monitor_metric(self, datamodule: Any = None) -> str | None:
        # Colour data without Inception weights has no FID: a run monitoring it would fail
        # at its first checkpoint after validation, with nothing saved.
        return self.quality_monitor()

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        if hparams.get("sampler", "ddim") not in SAMPLERS:
            problems["sampler"] = f"is not known: use {', '.join(SAMPLERS)}"
        steps, timesteps = hparams.get("sample_steps", 50), hparams.get("timesteps", 1000)
        if isinstance(steps, int) and isinstance(timesteps, int) and not 1 <= steps <= timesteps:
            problems["sample_steps"] = f"must be from 1 to timesteps ({timesteps})"
        if hparams.get("zero_terminal_snr") and hparams.get("prediction", "v") == "eps":
            problems["zero_terminal_snr"] = "needs model.prediction=v (eps says nothing at SNR 0)"
        if not 0 <= float(hparams.get("label_dropout", 0.1)) < 1:
            problems["label_dropout"] = "must be in [0, 1)"
        return problems

    # ----- training: DDPM's algorithm 1 --------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.denoising_loss(batch, self.denoiser, drop_labels=True)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["image"]))
        return loss

    def denoising_loss(
        self,
        batch: dict[str, torch.Tensor],
        network: nn.Module,
        drop_labels: bool,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        x0 = batch["image"] * 2 - 1
        n = len(x0)
        # Training draws on the batch's device; a seeded draw (validation) on its CPU generator.
        where = x0.device if generator is None else "cpu"
        draw: dict[str, Any] = {"generator": generator, "device": where}
        t = torch.randint(0, self.noise_schedule.timesteps, (n,), **draw).to(x0.device)
        noise = torch.randn(x0.shape, **draw).to(x0.device)
        labels = self._training_labels(batch.get("label"), drop_labels, draw)
        out = network(self.noise_schedule.add_noise(x0, t, noise), t, labels)
        return F.mse_loss(out, self.noise_schedule.target(x0, noise, t))

    def _training_labels(
        self, labels: torch.Tensor | None, drop: bool, draw: dict[str, Any]
    ) -> torch.Tensor | None:
        if not self.num_classes or labels is None:
            return None
        labels = labels.long()
        if drop and self.label_dropout > 0:
            dropped = torch.rand(len(labels), **draw).to(labels.device)
            dropped = dropped < self.label_dropout
            labels = torch.where(dropped, torch.full_like(labels, self.num_classes), labels)
        return labels

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # global_step counts the optimizer steps taken, so the ramp resumes where it was.
        ema_update(self.denoiser_ema, self.denoiser, ema_decay_at(self.ema_decay, self.global_step))

    # ----- validation ----------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        self.quality_validation_start()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.quality_validation_step(batch)
        gen = torch.Generator().manual_seed(VALIDATION_LOSS_SEED + batch_idx)
        loss = self.denoising_loss(batch, self.denoiser_ema, drop_labels=False, generator=gen)
        self.log("val/loss", loss, batch_size=len(batch["image"]), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        metrics = (
            self.quality_validation_end()
        )  # FID / KID / SWD of DDIM samples (models/quality.py)
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, sync_dist=True)

    def validation_panels(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, Panel]:
        """The denoising trajectory: the predicted x_0 of four seeds along the DDIM steps."""
        trajectory: list[torch.Tensor] = []
        self.sample(4, seed=7, trajectory=trajectory)
        picked = trajectory[:: max(1, len(trajectory) // 8)][:8] + [trajectory[-1]]
        strip = torch.stack(picked, dim=1).flatten(0, 1)  # row per seed, column per step
        from torchvision.utils import make_grid

        grid = make_grid(((strip + 1) / 2).clamp(0, 1).cpu(), nrow=len(picked), padding=1)
        caption = (
            f"predicted x_0 along {len(trajectory)} {self.sampler.upper()} steps, noisy to clean"
        )
        return {"trajectory": Panel(grid if grid.shape[0] == 3 else grid.repeat(3, 1, 1), caption)}

    # ----- sampling --------------------------------------------------------------------
    def guided_denoiser(
        self, labels: torch.Tensor | None, guidance: float
    ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """(x_t, t) -> the EMA network's output, guided: uncond + w (cond - uncond); w=1 is the
        conditional model, w=0 the unconditional one."""
        net = self.denoiser_ema
        if labels is None or guidance == 1:
            return lambda x, t: net(x, t, labels)
        null = torch.full_like(labels, self.num_classes)
        if guidance == 0:
            return lambda x, t: net(x, t, null)

        def guided(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            cond, uncond = net(
                torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null])
            ).chunk(2)
            return uncond + guidance * (cond - uncond)

        return guided

    def labels_for(self, n: int, labels: torch.Tensor | int | None) -> torch.Tensor | None:
        """The class of each of n images: given, or 0, 1, 2, ... cycling; None unconditionally."""
        if not self.num_classes:
            return None
        if labels is None:
            return torch.arange(n, device=self.device) % self.num_classes
        labels = torch.as_tensor(labels, device=self.device).long().flatten()
        if len(labels) == 1:
            labels = labels.expand(n)
        if len(labels) != n or not ((labels >= 0) & (labels < self.num_classes)).all():
            raise ValueError(f"labels must be {n} classes from 0 to {self.num_classes - 1}")
        return labels

    def denoise_from(
        self,
        x: torch.Tensor,
        seeds: list[int],
        labels: torch.Tensor | int | None = None,
        guidance: float | None = None,
        steps: int | None = None,
        sampler: str | None = None,
        eta: float | None = None,
        **loop: Any,
    ) -> torch.Tensor:
        """The reverse process from x (in [-1, 1]) to images in [0, 1], options defaulting to
        the model's (`sample_steps`, `sampler`, `eta`, `guidance`)."""
        denoise = self.guided_denoiser(
            self.labels_for(len(x), labels), self.guidance if guidance is None else guidance
        )
        out = run_sampler(
            denoise,
            self.noise_schedule,
            x,
            noise=seeded_noise([s + SAMPLER_SEED_OFFSET for s in seeds], self.device),
            steps=self.sample_steps if steps is None else int(steps),
            sampler=self.sampler if sampler is None else sampler,
            eta=self.eta if eta is None else float(eta),
            clip=self.clip_x0,
            **loop,
        )
        return ((out + 1) / 2).clamp(0, 1)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: int = 0,
        labels: torch.Tensor | None = None,
        seeds: list[int] | None = None,
        **options: Any,
    ) -> torch.Tensor:
        """n images in [0, 1]; image i from seed + i (or from seeds[i]): the same seed, the same
        image. Options: guidance, steps, sampler (ddim, ddpm), eta, trajectory (a list)."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        size, channels = int(self.hparams.image_size), int(self.hparams.image_channels)
        all_labels = self.labels_for(len(seeds), labels)
        chunks = []
        # In chunks: on the CPU a guided batch of 500 ran 1.7x slower per image than one of
        # 128 (measured). An image depends on its seed only, so chunking changes nothing.
        for start in range(0, len(seeds), SAMPLE_CHUNK):
            part = seeds[start : start + SAMPLE_CHUNK]
            x = seeded_noise(part, self.device)((len(part), channels, size, size))
            chunk_labels = None if all_labels is None else all_labels[start : start + len(part)]
            chunks.append(self.denoise_from(x, part, chunk_labels, **options))
        images = torch.cat(chunks)
        if self._recording is not None:
            self._recording.append((images, all_labels))
        return images

    _recording: list[tuple[torch.Tensor, torch.Tensor | None]] | None = None

    # ----- genzoo-eval ----------------------------------------------------------------
    def set_evaluation_option(self, name: str, value: Any) -> None:
        """guidance, steps: the samples genzoo-eval measures (None: the run's own)."""
        if value is None:
            return
        if name == "guidance":
            self.guidance = float(value)
        elif name == "steps":
            if not 1 <= int(value) <= self.noise_schedule.timesteps:
                raise ValueError(f"steps={value}: from 1 to {self.noise_schedule.timesteps}")
            self.sample_steps = int(value)

    @torch.no_grad()
    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """FID / KID / SWD of `eval_samples` samples; for a class-conditional model on digits
        sampled with guidance above 0, also the digit classifier's accuracy on them (each
        sample's intended class)."""
        self._recording = []
        try:
            result = self.quality_evaluate(dataloader)
            recorded = self._recording
        finally:
            self._recording = None
        # Guidance 0 is the unconditional model: its samples have no intended class.
        conditional = self.guidance != 0
        if conditional and self.num_classes == 10 and self.resolved_feature_network() == "digits":
            from genzoo.metrics.digit_classifier import load_digit_classifier

            classifier = load_digit_classifier().to(self.device).eval()
            hits = sum(int((classifier(x).argmax(1) == y).sum()) for x, y in recorded)
            result["class_accuracy"] = hits / sum(len(x) for x, _ in recorded)
        result.update(guidance=float(self.guidance), sample_steps=float(self.sample_steps))
        return result

    def metric_notes(self) -> dict[str, str]:
        return {
            **self.quality_notes(),
            "sampler": f"{self.sampler.upper()}, {self.sample_steps} steps, eta {self.eta}, "
            f"guidance {self.guidance} (uncond + w (cond - uncond)), EMA weights",
        }

    def export_parts(self) -> list[ExportPart]:
        size, channels = int(self.hparams.image_size), int(self.hparams.image_channels)
        inputs = {
            "x_t": InputSpec((2, channels, size, size)),
            "t": InputSpec((2,), kind="labels", high=self.noise_schedule.timesteps),
        }
        if self.num_classes:  # the extra class, num_classes, is "no label"
            inputs["labels"] = InputSpec((2,), kind="labels", high=self.num_classes + 1)
        notes = [
            f"the EMA denoiser's {self.noise_schedule.prediction} output; the sampling loop stays in Python"
        ]
        return [
            ExportPart("denoiser", self.denoiser_ema, inputs, output="model_output", notes=notes)
        ]
