"""Sample-quality metrics: FID and KID through torchmetrics, with the feature network made explicit.

`feature_network='inception'` uses torchmetrics' Inception (needs torch-fidelity and its weights
in the torch hub cache); 'digits' uses genzoo's shipped digit classifier (offline); 'auto'
takes Inception when its weights are present and the digit classifier for 1-channel data,
and otherwise says that FID/KID are skipped. Every result names its feature network.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from genzoo.metrics.digit_classifier import DigitClassifier, DigitFeatures, load_digit_classifier

log = logging.getLogger("genzoo")
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def inception_weights_present() -> bool:
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        return False
    return (Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE).is_file()


def resolve_feature_network(requested: str, channels: int) -> str | None:
    """'auto' | 'inception' | 'digits' -> the one to use, or None (FID/KID skipped, said once)."""
    if requested == "digits":
        return "digits"
    if requested in ("inception", "auto") and inception_weights_present():
        return "inception"
    if requested == "auto" and channels == 1:
        return "digits"
    log.warning(
        "FID/KID skipped: Inception weights not found (%s in %s/checkpoints; pip install torch-fidelity). "
        "For digit data set model.feature_network=digits.",
        INCEPTION_FILE,
        torch.hub.get_dir(),
    )
    return None


class SampleQuality:
    """Accumulates real and generated images; `compute()` gives FID, KID and, with the digit
    classifier, the collapse indicators: entropy of the predicted-class histogram (nats;
    log 10 = 2.30 for a uniform spread) and the fraction of confidently classified samples."""

    def __init__(self, feature_network: str, max_kid_subset: int = 100) -> None:
        # A plain object, not an nn.Module: the feature network stays out of model checkpoints.
        self.feature_network = feature_network
        self.max_kid_subset = max_kid_subset
        self.classifier: DigitClassifier | None = None
        if feature_network == "digits":
            self.classifier = load_digit_classifier()
            feature: torch.nn.Module | int = DigitFeatures(self.classifier)
        else:
            feature = 2048
        self.fid = FrechetInceptionDistance(
            feature=feature, normalize=True, reset_real_features=True
        )
        self.kid_feature = feature
        self.real: list[torch.Tensor] = []
        self.fake: list[torch.Tensor] = []

    def reset(self) -> None:
        self.fid.reset()
        self.real, self.fake = [], []

    @torch.no_grad()
    def update(self, images: torch.Tensor, real: bool) -> None:
        """images (B, C, H, W) in [0, 1]."""
        images = images.detach().float().clamp(0, 1).cpu()
        if images.shape[1] == 1 and self.feature_network == "inception":
            images = images.expand(-1, 3, -1, -1)
        self.fid.update(images, real=real)
        (self.real if real else self.fake).append(images)

    @torch.no_grad()
    def compute(self, seed: int = 0) -> dict[str, float]:
        """Metrics of what was accumulated. KID's random subsets come from `seed`, on a forked RNG,
        so evaluation neither depends on nor disturbs the training run's random state."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self._compute()

    def _compute(self) -> dict[str, float]:
        real, fake = torch.cat(self.real), torch.cat(self.fake)
        out = {"fid": float(self.fid.compute())}
        subset = min(self.max_kid_subset, len(real), len(fake))
        if subset >= 2:
            kid = KernelInceptionDistance(
                feature=self.kid_feature, subset_size=subset, subsets=20, normalize=True
            )
            kid.update(real, real=True)
            kid.update(fake, real=False)
            out["kid"] = float(kid.compute()[0])
        if self.classifier is not None:
            probs = self.classifier.to("cpu")(fake).softmax(1)
            hist = torch.bincount(probs.argmax(1), minlength=10).float() / len(fake)
            out["class_entropy"] = float(-(hist[hist > 0] * hist[hist > 0].log()).sum()) + 0.0
            out["confident"] = float((probs.max(1).values > 0.9).float().mean())
        return out
