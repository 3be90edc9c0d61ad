"""Sample-quality metrics: FID and KID through torchmetrics with an explicit feature network,
and the sliced Wasserstein distance (metrics/swd.py), which needs none.

`feature_network='inception'` uses torchmetrics' Inception (needs torch-fidelity and its weights
in the torch hub cache); 'digits' uses genzoo's shipped digit classifier (offline); 'auto'
takes Inception when its weights are present and the digit classifier for 1-channel data,
and otherwise says that FID/KID are skipped: SWD still measures the run. Every result names
its feature network.

All metrics are torchmetrics states: under DDP, `compute()` gathers every process's features
first, so the numbers are those of all samples together, never a mean of per-process values.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from genzoo.metrics.digit_classifier import DigitFeatures, load_digit_classifier
from genzoo.metrics.swd import SlicedWassersteinDistance
from genzoo.utils.rng import isolated_rng

log = logging.getLogger("genzoo")
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def inception_weights_present() -> bool:
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        return False
    return (Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE).is_file()


def resolve_feature_network(requested: str, channels: int, quiet: bool = False) -> str | None:
    """'auto' | 'inception' | 'digits' -> the one to use, or None (FID/KID skipped)."""
    if requested == "digits":
        return "digits"
    if requested in ("inception", "auto") and inception_weights_present():
        return "inception"
    if requested == "auto" and channels == 1:
        return "digits"
    if not quiet:
        log.warning(
            "FID/KID skipped: Inception weights not found (%s in %s/checkpoints; pip install "
            "torch-fidelity); SWD measures the samples instead. For digit data set "
            "model.feature_network=digits.",
            INCEPTION_FILE,
            torch.hub.get_dir(),
        )
    return None


class ClassSpread(Metric):
    """How generated digits spread over the classifier's classes: entropy of the predicted-class
    histogram (nats; log 10 = 2.30 when uniform) and the fraction classified with p > 0.9."""

    full_state_update = False
    counts: torch.Tensor
    confident: torch.Tensor

    def __init__(self, features: DigitFeatures) -> None:
        super().__init__()
        self.features = features
        self.add_state("counts", default=torch.zeros(10), dist_reduce_fx="sum")
        self.add_state("confident", default=torch.zeros(()), dist_reduce_fx="sum")

    def update(self, images: torch.Tensor) -> None:
        probs = self.features.classifier.head(self.features(images).float()).softmax(1)
        self.counts += torch.bincount(probs.argmax(1), minlength=10).to(self.counts)
        self.confident += (probs.max(1).values > 0.9).sum()

    def compute(self) -> dict[str, torch.Tensor]:
        total = self.counts.sum()
        hist = self.counts[self.counts > 0] / total
        return {
            "class_entropy": -(hist * hist.log()).sum() + 0.0,
            "confident": self.confident / total,
        }


class SampleQuality:
    """Real and generated images (B, C, H, W) in [0, 1] in, metrics out.

    The real side is described once: `reset_fakes()` keeps it, so validation adds the held-out
    set at its first pass only. Networks are built on a forked RNG: the training run's random
    numbers do not depend on when (or whether) a metric was first built.
    """

    def __init__(
        self,
        feature_network: str | None,
        image_size: int,
        channels: int,
        device: torch.device | str = "cpu",
        max_kid_subset: int = 100,
    ) -> None:
        self.feature_network, self.max_kid_subset = feature_network, max_kid_subset
        self.fid: FrechetInceptionDistance | None = None
        self.kid: KernelInceptionDistance | None = None
        self.classes: ClassSpread | None = None
        with isolated_rng(0):
            self.swd = SlicedWassersteinDistance(image_size, channels).to(device)
            if feature_network is not None:
                feature: torch.nn.Module | int = 2048
                if feature_network == "digits":
                    feature = DigitFeatures(load_digit_classifier())
                    self.classes = ClassSpread(feature).to(device)
                self.fid = FrechetInceptionDistance(
                    feature=feature, normalize=True, reset_real_features=False
                ).to(device)
                with warnings.catch_warnings():  # its note that it keeps features: it must
                    warnings.filterwarnings("ignore", message=".*will save all extracted features")
                    self.kid = KernelInceptionDistance(
                        feature=feature, normalize=True, reset_real_features=False, subsets=20
                    ).to(device)
        self.device = torch.device(device)

    def _metrics(self) -> list[Metric]:
        return [m for m in (self.fid, self.kid, self.swd, self.classes) if m is not None]

    @property
    def num_real(self) -> int:
        return self.swd.num_real

    def reset_fakes(self) -> None:
        for metric in self._metrics():
            metric.reset()

    def reset(self) -> None:
        """Forget the real side too (a new held-out set)."""
        for metric in (self.fid, self.kid, self.swd):
            if metric is not None:
                metric.reset_real_features = True
                metric.reset()
                metric.reset_real_features = False

    @torch.no_grad()
    def update(self, images: torch.Tensor, real: bool) -> None:
        images = images.detach().float().clamp(0, 1).to(self.device)
        self.swd.update(images, real=real)
        if self.fid is None or self.kid is None:
            return
        if images.shape[1] == 1 and self.feature_network == "inception":
            images = images.expand(-1, 3, -1, -1)
        self.fid.update(images, real=real)
        self.kid.update(images, real=real)
        if self.classes is not None and not real:
            self.classes.update(images)

    @torch.no_grad()
    def compute(self, seed: int = 0) -> dict[str, float]:
        """Metrics of what was accumulated (over all processes under DDP). KID's random subsets
        come from `seed` on a forked RNG: evaluation neither depends on nor disturbs training."""
        with isolated_rng(seed):
            out = {k: float(v) for k, v in self.swd.compute().items()}
            if self.fid is not None and self.kid is not None:
                out["fid"] = float(self.fid.compute())
                n_real = _total(int(self.fid.real_features_num_samples), self.device)
                n_fake = _total(int(self.fid.fake_features_num_samples), self.device)
                self.kid.subset_size = max(2, min(self.max_kid_subset, n_real, n_fake))
                out["kid"] = float(self.kid.compute()[0])
            if self.classes is not None:
                out.update({k: float(v) for k, v in self.classes.compute().items()})
        return out


def _total(count: int, device: torch.device) -> int:
    """A count summed over all processes (the count itself without DDP)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return count
    total = torch.tensor(count, device=device)
    torch.distributed.all_reduce(total)
    return int(total)
