"""User images as a model takes them: PIL image(s), or tensors in [0, 1] or uint8, one image
or a batch -> one (B, C, H, W) float batch in [0, 1], with one clear error for anything else
(genzoo.api.Model's methods and genzoo-demo's uploads).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from genzoo.data.transforms import pil_to_tensor, to_channels
from genzoo.errors import GenzooError

ImageInput = Image.Image | Sequence[Image.Image] | torch.Tensor


class ImageInputError(GenzooError, ValueError):
    """Images given to a model are of a type, range, channel count or size it cannot take."""


def as_image_batch(images: ImageInput) -> tuple[torch.Tensor, bool]:
    """PIL image(s) or a tensor -> ((B, C, H, W) float in [0, 1], whether one image was given).
    uint8 tensors are divided by 255; float tensors must already lie in [0, 1]."""
    if isinstance(images, Image.Image):
        return _pil_image(images)[None], True
    if isinstance(images, torch.Tensor):
        x = images.detach()
        if x.dim() not in (3, 4):
            raise ImageInputError(
                f"images must be (C, H, W) or (B, C, H, W), got shape {tuple(x.shape)}"
            )
        if x.dtype == torch.uint8:
            x = x.float() / 255
        elif not x.is_floating_point():
            raise ImageInputError(f"images must be float in [0, 1] or uint8, got {x.dtype}")
        elif x.numel() and (float(x.min()) < 0 or float(x.max()) > 1):
            raise ImageInputError(
                f"float images must lie in [0, 1], these span [{float(x.min()):.3g}, "
                f"{float(x.max()):.3g}]: map [-1, 1] with (x + 1) / 2, 0-255 with x / 255"
            )
        if x.shape[-3] not in (1, 3):
            raise ImageInputError(
                f"images must have 1 or 3 channels in dim -3, got shape {tuple(x.shape)}"
            )
        return (x[None], True) if x.dim() == 3 else (x, False)
    if isinstance(images, Sequence) and not isinstance(images, str) and not images:
        raise ImageInputError("no images were given (an empty list): pass at least one")
    if isinstance(images, Sequence) and images and all(isinstance(i, Image.Image) for i in images):
        tensors = [_pil_image(image) for image in images]
        channels = max(t.shape[0] for t in tensors)  # grey beside colour: all colour
        tensors = [to_channels(t[None], channels)[0] for t in tensors]
        sizes = {tuple(t.shape[-2:]) for t in tensors}
        if len(sizes) > 1:
            raise ImageInputError(
                f"PIL images of different sizes ({sorted(sizes)}) cannot form one batch: "
                "pass them one at a time"
            )
        return torch.stack(tensors), False
    raise ImageInputError(
        f"images must be a PIL image, a list of PIL images or a tensor, got {type(images).__name__}"
    )


# PIL modes of one channel: they stay grey (1, H, W), so a grey model can project them.
GREY_PIL_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _pil_image(image: Image.Image) -> torch.Tensor:
    x = pil_to_tensor(image)
    return x[:1] if image.mode in GREY_PIL_MODES else x
