"""What the image-to-image families (Pix2Pix, CycleGAN) share: the `translate` contract, the
papers' learning-rate schedule, the history pool of generated images, the losses' scaling,
and held-out means.

Batches are {'A', 'B'} in [0, 1] (data/translation.py); the networks work in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.data.kinds import ALIGNED, UNPAIRED
from genzoo.errors import GenzooError
from genzoo.losses.adversarial import LOSSES, generator_loss
from genzoo.models.adversarial import AdversarialModel
from genzoo.models.base import OptimizerFactory
from genzoo.models.gan import to_signed, to_unit
from genzoo.models.held_out import HeldOutMeans
from genzoo.models.panels import Panel, translation_panels
from genzoo.networks.deploy import ExportPart, ImageToImage, InputSpec
from genzoo.networks.translation import UNetGenerator, unet_levels

DIRECTIONS = ("AtoB", "BtoA")


class ConstantThenLinearDecay:
    """LR factor per batch: 1 for `constant` batches, then linearly down to 0 over `decay`
    batches (the papers' 100 + 100 epochs, counted in batches). A class, not a lambda, so that
    LambdaLR's state in the checkpoint is complete."""

    def __init__(self, constant: int, decay: int) -> None:
        self.constant, self.decay = constant, decay

    def __call__(self, batch: int) -> float:
        if self.decay <= 0:
            return 1.0
        return max(0.0, 1.0 - max(0, batch - self.constant + 1) / (self.decay + 1))


class ImagePool:
    """The history of generated images a discriminator also sees (Shrivastava et al. 2017;
    CycleGAN sec. 4): until full, every image is stored and passed on; then each image is, with
    probability 1/2, swapped for a random stored one (which is returned) or passed on. Draws
    use the global RNG, which checkpoints restore; the contents travel in the checkpoint."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size <= 0:
            return images
        if self.images and self.images[0].device != images.device:  # restored before .to(device)
            self.images = [image.to(images.device) for image in self.images]
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The stored images (n, C, H, W) on `device`; (0,) when empty."""
        return torch.stack(self.images).to(device) if self.images else torch.zeros(0, device=device)

    def load(self, images: torch.Tensor) -> None:
        self.images = list(images) if images.numel() else []


def paper_adversarial(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial term as the papers weigh it against their L1 terms:
    genzoo's lsgan carries Mao et al.'s 1/2 (losses/adversarial.py); CycleGAN's E[(D(G(x))-1)^2]
    does not."""
    loss = generator_loss(kind, logits)
    return 2 * loss if kind == "lsgan" else loss


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (B, C, H, W) at the bottom and right up to multiples of `multiple` (replicate
    where an image is too small to reflect); returns the padded batch and the original size."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


class TranslationModel(AdversarialModel):
    """Base of Pix2Pix and CycleGAN: subclasses build `generator` (one network, or one per
    direction in a ModuleDict), `discriminator`, set `directions`, and implement
    `generator_for(direction)` and the validation means."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"translate", "evaluate", "export"})
    directions: tuple[str, ...]
    accepts: ClassVar[tuple[str, ...]] = (ALIGNED, UNPAIRED)

    def __init__(
        self,
        *,
        lr_constant_steps: int,
        lr_decay_steps: int,
        optimizer_g: OptimizerFactory | None,
        optimizer_d: OptimizerFactory | None,
        channels_last: bool,
    ) -> None:
        # One D step per G step, no EMA and no clipping: the translation papers' recipe.
        super().__init__(
            optimizer_g=optimizer_g, optimizer_d=optimizer_d, channels_last=channels_last
        )
        self.lr_constant_steps, self.lr_decay_steps = lr_constant_steps, lr_decay_steps
        self.held_out = HeldOutMeans()

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        if hparams.get("loss") not in LOSSES:
            problems["loss"] = f"must be one of {', '.join(LOSSES)}"
        if hparams.get("generator") == "unet":
            try:
                unet_levels(int(hparams.get("image_size", 256)))
            except ValueError as err:
                problems["image_size"] = str(err)
        return problems

    @classmethod
    def image_size_problem(cls, size: int) -> str | None:
        return None  # the U-Net's own rule is above; a ResNet generator takes any size

    # ----- the contract -------------------------------------------------------------
    def generator_for(self, direction: str) -> nn.Module:
        """The network that translates in `direction`."""
        raise TypeError(f"{type(self).__name__} must define generator_for()")

    def size_multiple(self) -> int:
        """Image sides the generator takes are multiples of this (translate pads to it):
        2^levels for the U-Net, 4 for the ResNet's two stride-2 levels."""
        g = self.generator_for(self.directions[0])
        return 2**g.levels if isinstance(g, UNetGenerator) else 4

    def export_parts(self) -> list[ExportPart]:
        channels, size = int(self.hparams["image_channels"]), int(self.hparams["image_size"])
        spec = InputSpec((1, channels, size, size), "unit", spatial_step=self.size_multiple())
        note = f"sides must be multiples of {self.size_multiple()} (genzoo-translate pads to them)"
        return [
            ExportPart(
                d,
                ImageToImage(self.generator_for(d), signed=True),
                {"image": spec},
                output="translated",
                notes=[note],
            )
            for d in self.directions
        ]

    @torch.no_grad()
    def validation_panels(self, batches: Iterator[dict[str, torch.Tensor]]) -> dict[str, Panel]:
        return translation_panels(self.translate, tuple(self.directions), batches, self.device)

    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] of any size -> their translations, same shape. Sides
        that are not multiples of `size_multiple()` are reflect-padded, and the padding is
        cropped off the result."""
        if direction not in self.directions:
            raise CapabilityErrorForDirection(type(self).__name__, direction, self.directions)
        padded, (h, w) = pad_to_multiple(x, self.size_multiple())
        out = to_unit(self.generator_for(direction)(to_signed(padded)))
        return out[..., :h, :w]

    # ----- optimizers and the schedule ---------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizers = super().configure_optimizers()
        schedule = ConstantThenLinearDecay(self.lr_constant_steps, self.lr_decay_steps)
        # Stepped by hand once per batch (AdversarialModel.step_schedulers); Lightning saves
        # and restores their state with the optimizers'.
        schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in optimizers]
        return optimizers, schedulers

    # ----- held-out means (torchmetrics syncs them over processes) ------------------------
    def on_validation_epoch_start(self) -> None:
        self.held_out.start(self.device)

    def on_validation_epoch_end(self) -> None:
        means = self.finish_means(self.held_out.finish())
        self.log_dict({f"val/{k}": v for k, v in means.items()}, sync_dist=True)

    def finish_means(self, means: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Derived numbers (gains over baselines) from the means."""
        return means

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.held_out.add(self.val_metrics(batch))

    def val_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-image held-out metrics of one batch: name -> (B,)."""
        raise TypeError(f"{type(self).__name__} must define val_metrics()")

    @torch.no_grad()
    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        self.eval()
        self.on_validation_epoch_start()
        for batch in dataloader:
            self.held_out.add(self.val_metrics({k: v.to(self.device) for k, v in batch.items()}))
        means = self.finish_means(self.held_out.finish())
        return {k: float(v) for k, v in means.items()}


class CapabilityErrorForDirection(GenzooError, ValueError):
    """A translation was asked in a direction the run did not learn."""

    def __init__(self, model: str, direction: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"direction={direction}: this {model} run translates {' and '.join(known)} only"
            + (" (it was trained with data.direction=" + known[0] + ")" if len(known) == 1 else "")
        )
