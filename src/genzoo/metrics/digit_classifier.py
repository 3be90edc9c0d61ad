"""A small digit classifier whose features stand in for Inception offline.

FID and KID need a feature network; Inception's weights are a download. On the embedded
digits genzoo uses this classifier instead: trained by scripts/train_digit_classifier.py
(recipe and accuracy in weights/digit_classifier.json), its weights ship in the package.
Numbers computed with it are on their own scale: compare them with each other and with the
reference values (real held-out digits, Gaussian noise), never with Inception FIDs.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.utils.rng import isolated_rng

WEIGHTS = Path(__file__).parent / "weights" / "digit_classifier.pt"
RECIPE = WEIGHTS.with_suffix(".json")


class DigitClassifier(nn.Module):
    """(B, C, H, W) images in [0, 1] (or uint8) -> logits (B, 10); `features` gives (B, 128)."""

    num_features = 128

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 16x16
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(128, 10)

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        """Any digit-like batch -> grey float 32x32 in [0, 1]."""
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        if x.shape[-1] != 32:
            x = F.interpolate(
                x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False
            )
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class DigitFeatures(nn.Module):
    """The classifier's 128-d penultimate features, as torchmetrics' FID/KID `feature=` module."""

    num_features = DigitClassifier.num_features

    def __init__(self, classifier: DigitClassifier) -> None:
        super().__init__()
        self.classifier = classifier
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # FID, KID and the class histogram all see the same batch: compute its features once.
        if self._last is not None and self._last[0] is x:
            return self._last[1]
        features = self.classifier.features(x).double()
        self._last = (x, features)
        return features


def load_digit_classifier() -> DigitClassifier:
    """The shipped classifier in eval mode; a clear error if the package lacks its weights."""
    if not WEIGHTS.is_file():
        raise FileNotFoundError(
            f"{WEIGHTS} is missing: run scripts/train_digit_classifier.py or reinstall genzoo"
        )
    with isolated_rng():  # building layers draws init weights: keep training's RNG as is
        model = DigitClassifier()
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return model.eval().requires_grad_(False)


def recipe() -> dict:
    return json.loads(RECIPE.read_text()) if RECIPE.is_file() else {}
