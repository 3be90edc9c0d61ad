"""Sample quality during validation and in `genzoo-eval`, shared by every family that samples.

One protocol everywhere (docs/architecture.md, "Metrics"): `eval_samples` generated images
against every image of the held-out split, FID / KID when a feature network is available and
SWD always. The held-out side is described at the first validation and kept for the run;
under DDP each process generates its share of the samples and the metrics gather them all.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import torch

from genzoo.metrics.generation import SampleQuality, resolve_feature_network

log = logging.getLogger("genzoo")

VALIDATION_SEED = 12345  # generated images at validation: the same latents at every validation
EVALUATION_SEED = 0


def held_out_images(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The images samples are compared with: the grey originals of binarised data (a model's
    samples are its Bernoulli means), else the images themselves."""
    return batch.get("grey", batch["image"])


class SampleQualityMixin:
    """For a LightningModule with `sample(n, seed)`; call `_init_quality` in `__init__`."""

    device: torch.device
    feature_network: str
    eval_samples: int
    image_size: int
    channels: int

    def _init_quality(
        self, feature_network: str, eval_samples: int, image_size: int, channels: int
    ) -> None:
        self.feature_network, self.eval_samples = feature_network, eval_samples
        self.image_size, self.channels = image_size, channels
        self._quality: SampleQuality | None = None
        self._held_out_described = False  # by a full validation pass, kept for the run
        self._describing_held_out = False  # in the validation pass under way

    def resolved_feature_network(self, quiet: bool = True) -> str | None:
        return resolve_feature_network(self.feature_network, self.channels, quiet=quiet)

    def quality(self) -> SampleQuality:
        if self._quality is None:
            network = self.resolved_feature_network(quiet=False)
            self._quality = SampleQuality(network, self.image_size, self.channels, self.device)
        return self._quality

    def quality_metric_names(self) -> tuple[str, ...]:
        with_features = self.resolved_feature_network() is not None
        return ("fid", "kid", "swd") if with_features else ("swd",)

    def quality_monitor(self) -> str:
        """FID where a feature network is available, otherwise SWD, which always is: the
        best checkpoint's metric of a family whose validation is sample quality."""
        return "val/fid" if "fid" in self.quality_metric_names() else "val/swd"

    # ----- validation ----------------------------------------------------------------
    def quality_validation_start(self) -> None:
        """The held-out side is described in the first full validation pass and then kept; the
        sanity check's two batches are described only for that pass."""
        quality = self.quality()
        trainer = getattr(self, "_trainer", None)
        sanity = bool(trainer and trainer.sanity_checking)
        self._describing_held_out = sanity or not self._held_out_described
        if self._describing_held_out:
            quality.reset()
        else:
            quality.reset_fakes()

    def quality_validation_step(self, batch: dict[str, torch.Tensor]) -> None:
        if self._describing_held_out:
            self.quality().update(held_out_images(batch), real=True)

    def quality_validation_end(self) -> dict[str, float]:
        quality = self.quality()
        trainer = getattr(self, "_trainer", None)
        if not (trainer and trainer.sanity_checking):
            self._held_out_described = True
        if quality.num_real == 0:
            return {}
        samples = self.eval_samples
        if trainer and (trainer.sanity_checking or trainer.fast_dev_run):
            # A check that the metrics run, not a measurement: as many samples as real images.
            samples = min(samples, max(2, quality.num_real))
        self._add_fakes(quality, samples, VALIDATION_SEED)
        return quality.compute()

    @torch.no_grad()
    def _add_fakes(self, quality: SampleQuality, n: int, seed: int, batch: int = 250) -> None:
        """This process's share of `n` images: under DDP rank r makes images [r*k, (r+1)*k)."""
        trainer = getattr(self, "_trainer", None)
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        share = math.ceil(n / world)
        first, last = rank * share, min(n, (rank + 1) * share)
        for start in range(first, last, batch):
            count = min(batch, last - start)
            quality.update(self.quality_samples(count, seed + start), real=False)

    def quality_samples(self, n: int, seed: int) -> torch.Tensor:
        """The generated images the metrics compare with the held-out ones."""
        return self.sample(n, seed=seed)  # type: ignore[attr-defined]

    # ----- genzoo-eval ----------------------------------------------------------------
    @torch.no_grad()
    def quality_evaluate(self, dataloader: Iterable[dict[str, Any]]) -> dict[str, float]:
        quality = self.quality()
        quality.reset()
        for batch in dataloader:
            quality.update(held_out_images(batch), real=True)
        self._add_fakes(quality, self.eval_samples, EVALUATION_SEED)
        result = quality.compute()
        result.update(num_real=float(quality.num_real), num_fake=float(self.eval_samples))
        return result

    def quality_notes(self) -> dict[str, str]:
        network = self.resolved_feature_network()
        if network == "digits":
            features = "digits: genzoo's digit classifier (128-d features), not Inception"
        else:
            features = network or "none: FID/KID skipped (no Inception weights)"
        return {
            "feature_network": features,
            "samples": f"{self.eval_samples} generated vs every held-out image",
            "swd": "multi-scale sliced Wasserstein distance x1e3 (ProGAN, appendix D)",
        }
