"""Content losses for super-resolution (Ledig et al. 2017, sec. 2.2.1).

- `vgg19`: the paper's VGG loss: squared distance between VGG19 feature maps phi_i,j (after the
  j-th convolution's activation, before the i-th max-pooling; default phi_5,4, `relu5_4`) of the SR and HR
  images, features rescaled by 1/12.75 as in the paper. Needs torchvision's ImageNet weights.
- `vgg19_random`: the same network with fixed random weights (He initialisation, seed 0), the
  distance divided by the HR features' energy: an offline stand-in that still compares local
  structure rather than pixels.
- `mse`: pixel MSE (SRGAN-MSE in the paper's table 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.errors import GenzooError
from genzoo.utils.rng import isolated_rng

CONTENT_LOSSES = ("vgg19", "vgg19_random", "mse")
VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's IMAGENET1K_V1 weights
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_PAPER_RESCALE = 12.75


class MissingWeightsError(GenzooError, FileNotFoundError):
    """Pretrained weights a configured loss needs are not on this machine."""


def vgg19_weights_file(path: str | None = None) -> Path | None:
    """The VGG19 ImageNet weights: `path` when given, else torch hub's cache; None if absent."""
    if path:
        return Path(path).expanduser() if Path(path).expanduser().is_file() else None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
    return cached if cached.is_file() else None


def vgg_layer_index(layer: str) -> int:
    """'relu<i>_<j>' (phi_i,j) -> how many modules of torchvision's vgg19().features reach it."""
    match = re.fullmatch(r"relu(\d)_(\d)", str(layer))
    if match is None:
        raise ValueError(
            f"VGG layer '{layer}' is not of the form relu<i>_<j>, e.g. relu5_4 or relu2_2"
        )
    block, conv = int(match.group(1)), int(match.group(2))
    convs_per_block = (2, 2, 4, 4, 4)
    if not (1 <= block <= 5 and 1 <= conv <= convs_per_block[block - 1]):
        raise ValueError(
            f"VGG19 has no layer phi_{layer}: blocks 1-5 with 2, 2, 4, 4, 4 convolutions"
        )
    # Each conv is followed by its ReLU; each finished block by a max-pool.
    return sum(2 * n + 1 for n in convs_per_block[: block - 1]) + 2 * conv


class VGGFeatures(nn.Module):
    """Frozen VGG19 features up to phi_i,j of images in [0, 1] (ImageNet normalisation inside)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, layer: str = "5_4", pretrained: bool = True, weights_path: str | None = None
    ) -> None:
        super().__init__()
        from torchvision.models import vgg19

        if pretrained:
            file = vgg19_weights_file(weights_path)
            if file is None:
                where = weights_path or Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
                raise MissingWeightsError(
                    f"model.content_loss=vgg19 needs VGG19 ImageNet weights, and {where} does not "
                    f"exist: download {VGG19_URL} there (or set model.vgg_weights=<file>), or "
                    "choose an offline content loss explicitly: model.content_loss=vgg19_random or mse"
                )
            net = vgg19()
            net.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
        else:
            with isolated_rng(0):  # the same fixed network in every run, training noise untouched
                net = vgg19()
        self.features = net.features[: vgg_layer_index(layer)].eval().requires_grad_(False)
        self.register_buffer(
            "mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.features((x - self.mean) / self.std)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always in eval mode (no dropout / batch norm here anyway)


def content_loss(
    kind: str, sr: torch.Tensor, hr: torch.Tensor, features: VGGFeatures | None
) -> torch.Tensor:
    """The content loss between SR and HR images (B, C, H, W) in [0, 1]."""
    if kind == "mse":
        return F.mse_loss(sr, hr)
    if features is None:
        raise ValueError(f"content loss {kind} needs the VGG feature network")
    phi_sr = features(sr)
    with torch.no_grad():
        phi_hr = features(hr)
    if kind == "vgg19":
        return F.mse_loss(phi_sr / _PAPER_RESCALE, phi_hr / _PAPER_RESCALE)
    if kind == "vgg19_random":
        return F.mse_loss(phi_sr, phi_hr) / phi_hr.pow(2).mean().clamp_min(1e-12)
    raise ValueError(
        f"model.content_loss={kind} is not known: use one of {', '.join(CONTENT_LOSSES)}"
    )
