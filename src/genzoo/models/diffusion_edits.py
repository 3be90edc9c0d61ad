"""The DALL-E 2 slides' three operations on an image, for a trained diffusion model, with no
retraining: inpainting (RePaint, Lugmayr et al. 2022), outpainting (inpainting of a canvas
grown on any side) and SDEdit (Meng et al. 2022: noise the image to a level, denoise it under
another class or guidance).

Masks are 1 where the model paints and 0 where the image is kept; kept pixels come back
exactly. Images are (B, C, H, W) in [0, 1].
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.errors import GenzooError
from genzoo.networks.diffusion_sampling import seeded_noise

# Reconstruction guidance's weight: on the shipped diffusion_digits (bottom halves of 100
# held-out digits, DDIM 20 steps, 1 repeat) the class is read back 48% of the time at 0, 70% at
# 20 and 72% at 50, where the PSNR inside the mask falls again (docs/diffusion.md).
DEFAULT_HARMONIZE = 20.0


class EditInputError(GenzooError, ValueError):
    """A mask or an edit option the model cannot use; nothing was written."""


def check_mask(mask: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """A mask (H, W), (1 or B, 1, H, W) of 0 / 1 (or booleans) -> (B, 1, H, W) float, or an
    EditInputError saying what is wrong with it."""
    mask = torch.as_tensor(mask).to(image.device)
    while mask.dim() < 4:
        mask = mask[None]
    if mask.shape[-2:] != image.shape[-2:]:
        raise EditInputError(
            f"the mask is {tuple(mask.shape[-2:])} pixels (H, W) and the image "
            f"{tuple(image.shape[-2:])}: give a mask of the image's size"
        )
    if mask.shape[1] != 1 or mask.shape[0] not in (1, len(image)):
        raise EditInputError(
            f"a mask of shape {tuple(mask.shape)} does not fit images {tuple(image.shape)}"
        )
    mask = (mask > 0.5).float().expand(len(image), 1, *image.shape[-2:])
    painted = mask.flatten(1).sum(1)
    if bool((painted == 0).any()):
        raise EditInputError("the mask is empty: mark the region to paint with 1 (white)")
    if bool((painted == mask[0].numel()).any()):
        raise EditInputError(
            "the mask covers the whole image: keep some of it (0, black), or sample"
        )
    return mask


class EditMixin:
    """For the Diffusion system: needs `denoise_from`, `noise_schedule`, `device`, `hparams`."""

    device: torch.device
    hparams: Any

    def _seeds(self, n: int, seed: int) -> list[int]:
        return [seed + i for i in range(n)]

    @torch.no_grad()
    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        label: torch.Tensor | int | None = None,
        seed: int = 0,
        resample: int = 5,
        harmonize: float = DEFAULT_HARMONIZE,
        **options: Any,
    ) -> torch.Tensor:
        """The masked region painted anew, the rest kept; `resample` RePaint repeats per step,
        `harmonize` the weight of reconstruction guidance toward the kept pixels (0: none)."""
        image = image.to(self.device).float()
        mask = check_mask(mask, image)
        if resample < 1:
            raise EditInputError(f"resample={resample}: give 1 or more repeats per step")
        if harmonize < 0:
            raise EditInputError(f"harmonize={harmonize}: give a weight of 0 (none) or more")
        seeds = self._seeds(len(image), seed)
        x = seeded_noise(seeds, self.device)(tuple(image.shape))
        painted = self.denoise_from(  # type: ignore[attr-defined]
            x,
            seeds,
            label,
            known=image * 2 - 1,
            mask=mask,
            resample=resample,
            harmonize=harmonize,
            **options,
        )
        # The kept pixels as given, not through [-1, 1] and back (which rounds them).
        return mask * painted + (1 - mask) * image

    @torch.no_grad()
    def outpaint(
        self,
        image: torch.Tensor,
        left: int = 0,
        right: int = 0,
        top: int = 0,
        bottom: int = 0,
        **options: Any,
    ) -> torch.Tensor:
        """The image on a canvas grown by the given pixels on each side, the new border painted."""
        sides = {"left": left, "right": right, "top": top, "bottom": bottom}
        if any(v < 0 for v in sides.values()) or not any(sides.values()):
            raise EditInputError(
                f"outpaint by {sides}: give a positive number of pixels on at least one side"
            )
        height, width = image.shape[-2] + top + bottom, image.shape[-1] + left + right
        multiple = 2 ** (len(self.hparams.channel_mults) - 1)
        if height % multiple or width % multiple:
            raise EditInputError(
                f"the grown canvas is {height}x{width}: the U-Net needs sides that are multiples "
                f"of {multiple}; change left / right / top / bottom"
            )
        canvas = torch.zeros(*image.shape[:-2], height, width, device=image.device)
        mask = torch.ones(len(image), 1, height, width, device=image.device)
        canvas[..., top : top + image.shape[-2], left : left + image.shape[-1]] = image
        mask[..., top : top + image.shape[-2], left : left + image.shape[-1]] = 0
        return self.inpaint(canvas, mask, **options)

    @torch.no_grad()
    def edit(
        self,
        image: torch.Tensor,
        strength: float = 0.5,
        label: torch.Tensor | int | None = None,
        seed: int = 0,
        **options: Any,
    ) -> torch.Tensor:
        """SDEdit: the image noised to `strength` (0: as it is, 1: pure noise) and denoised,
        under `label` and the guidance given."""
        if not 0 < strength <= 1:
            raise EditInputError(f"strength={strength}: give a noise level in (0, 1]")
        image = image.to(self.device).float()
        schedule = self.noise_schedule  # type: ignore[attr-defined]
        start = max(0, round(strength * schedule.timesteps) - 1)
        seeds = self._seeds(len(image), seed)
        t = torch.full((len(image),), start, device=self.device)
        x = schedule.add_noise(
            image * 2 - 1, t, seeded_noise(seeds, self.device)(tuple(image.shape))
        )
        return self.denoise_from(x, seeds, label, start=start, **options)  # type: ignore[attr-defined]
