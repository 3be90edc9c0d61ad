"""What every super-resolution family shares: the `upscale` contract, validation and evaluation
under the standard protocol (metrics/super_resolution.py), bicubic beside the model.

A family sets `scale` and provides `sr_network()`: the network that upscales (SRGAN's generator
EMA, SRResNet's generator). Batches are {'lr', 'hr'} in [0, 1] (data/super_resolution.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, cast

import torch
from torch import nn

from genzoo.data.kinds import LR_HR
from genzoo.metrics.super_resolution import sr_metrics
from genzoo.models.held_out import HeldOutMeans
from genzoo.models.panels import Panel, upscale_panel
from genzoo.networks.deploy import ExportPart, ImageToImage, InputSpec
from genzoo.networks.srresnet import SCALES, bicubic_upscale

# Logged per validation: the model's numbers, bicubic's, and the model's gain over bicubic.
_KEYS = ("psnr", "ssim", "hf_ratio", "bicubic_psnr", "bicubic_ssim", "bicubic_hf_ratio")


class SuperResolutionMixin:
    """For a `GenerativeModel`: call `_init_sr(scale)` in `__init__`."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"upscale", "evaluate", "export"})
    monitor: ClassVar[str | None] = "val/psnr"
    monitor_mode: ClassVar[str] = "max"
    accepts: ClassVar[tuple[str, ...]] = (LR_HR,)

    scale: int
    device: torch.device
    log_dict: Any

    def _init_sr(self, scale: int) -> None:
        self.scale = scale
        self.held_out = HeldOutMeans()

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems: dict[str, str] = super().check_hparams(hparams)  # type: ignore[misc]
        if hparams.get("scale") not in SCALES:
            problems["scale"] = f"must be one of {', '.join(map(str, SCALES))}"
        return problems

    @classmethod
    def image_size_problem(cls, size: int) -> str | None:
        return None  # fully convolutional: any crop size upscales

    def sr_network(self) -> nn.Module:
        """The network that upscales (a family's generator, or its EMA)."""
        raise TypeError(f"{type(self).__name__} must define sr_network()")

    def receptive_radius(self) -> int:
        """LR pixels an output pixel depends on, rounded up: the tile overlap at which tiled
        upscaling equals untiled (genzoo-upscale overlap=auto)."""
        return math.ceil(self.sr_network().receptive_radius())  # type: ignore[operator]

    def export_parts(self) -> list[ExportPart]:
        channels = int(cast(Any, self).hparams["image_channels"])
        spec = InputSpec((1, channels, 24, 24), "unit", spatial_step=8)
        module = ImageToImage(self.sr_network(), signed=False)
        return [ExportPart("upscaler", module, {"image": spec}, "upscaled", [f"x{self.scale}"])]

    @torch.no_grad()
    def validation_panels(self, batches: Iterator[dict[str, torch.Tensor]]) -> dict[str, Panel]:
        panel = upscale_panel(self.upscale, batches, self.device)
        return {"upscaled": panel} if panel is not None else {}

    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) in [0, 1] -> (B, C, h * scale, w * scale) in [0, 1]."""
        return self.sr_network()(x).clamp(0, 1)

    def sr_and_bicubic_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-image protocol metrics (B,) of the model and of bicubic upsampling."""
        lr, hr = batch["lr"], batch["hr"]
        sr = self.upscale(lr)
        bicubic = bicubic_upscale(lr, self.scale)
        return sr_metrics({"": sr, "bicubic_": bicubic}, hr, border=self.scale)

    # ----- validation: means over all images of all processes (torchmetrics syncs them) ----
    def on_validation_epoch_start(self) -> None:
        self.held_out.start(self.device, _KEYS)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.held_out.add(self.sr_and_bicubic_metrics(batch))

    def on_validation_epoch_end(self) -> None:
        means = self.held_out.finish()
        means["psnr_gain"] = means["psnr"] - means["bicubic_psnr"]
        self.log_dict({f"val/{k}": v for k, v in means.items()}, prog_bar=False, sync_dist=True)

    # ----- genzoo-eval ------------------------------------------------------------------
    @torch.no_grad()
    def evaluate_per_image(
        self, dataloader: Iterable[dict[str, torch.Tensor]]
    ) -> list[dict[str, float]]:
        """One row per image: the model's and bicubic's PSNR / SSIM / high-frequency ratio."""
        rows = []
        for batch in dataloader:
            batch = {k: v.to(self.device) for k, v in batch.items()}
            metrics = self.sr_and_bicubic_metrics(batch)
            for j in range(len(batch["lr"])):
                rows.append({k: float(v[j]) for k, v in metrics.items()})
        return rows

    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        return mean_of_rows(self.evaluate_per_image(dataloader))

    def metric_notes(self) -> dict[str, str]:
        return {
            "protocol": f"PSNR / SSIM on the Y channel (BT.601), 8-bit, {self.scale}-pixel border "
            "cropped, mean over images",
            "hf_ratio": "mean squared Laplacian of Y, SR / HR (1 = as much fine detail as the "
            "real image; below 1 = blurrier)",
            "lr": "antialiased bicubic downsampling of HR, rounded to 8 bits",
        }


def mean_of_rows(rows: list[dict[str, float]]) -> dict[str, float]:
    """The protocol's summary of per-image rows: each metric's mean, the gain over bicubic,
    and the number of images."""
    means = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
    return {**means, "psnr_gain": means["psnr"] - means["bicubic_psnr"], "images": len(rows)}
