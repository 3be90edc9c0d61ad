"""Multi-scale sliced Wasserstein distance (SWD) on Laplacian-pyramid patches.

Karras et al., "Progressive Growing of GANs", ICLR 2018, sec. 5.1 and appendix D: each image
is split into a Laplacian pyramid; from every level, 7x7 neighbourhoods are drawn at random
places; each set of descriptors is normalised per colour channel (its own mean and std);
the distance of two sets is the sliced Wasserstein distance, averaged over 4 repeats of 128
random unit directions, reported x 1e3. Small levels describe colour and coarse layout, fine
levels edges and texture. No pretrained network: it measures colour data offline.

Scaled to small images: the paper uses 16384 images x 128 descriptors per level, levels from
full resolution down to 16x16. genzoo keeps the 7x7 patches, the 16x16 floor (a 16-pixel
image has one level), the directions and repeats, and draws 64 descriptors per image from
the images it is given (genzoo evaluates a few hundred to a few thousand).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric

PATCH = 7
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
GAUSSIAN_5X5 = torch.outer(_BINOMIAL, _BINOMIAL) / 256.0


def _blur(x: Tensor, gain: float = 1.0) -> Tensor:
    channels = x.shape[1]
    kernel = (GAUSSIAN_5X5 * gain).to(x).expand(channels, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=channels)


def pyramid_down(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C, H/2, W/2): Gaussian blur, keep every second pixel."""
    return _blur(x)[:, :, ::2, ::2]


def pyramid_up(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C, 2H, 2W): insert zeros, blur with 4x the kernel."""
    b, c, h, w = x.shape
    up = x.new_zeros(b, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return _blur(up, gain=4.0)


def laplacian_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """Band-pass levels, finest first; the last level is the low-pass residual."""
    bands = []
    for _ in range(levels - 1):
        down = pyramid_down(x)
        bands.append(x - pyramid_up(down))
        x = down
    bands.append(x)
    return bands


def num_levels(image_size: int, min_resolution: int = 16) -> int:
    levels, size = 1, image_size
    while size // 2 >= min_resolution:
        levels, size = levels + 1, size // 2
    return levels


def normalise_descriptors(desc: Tensor, channels: int) -> Tensor:
    """(N, C * 7 * 7) -> the same, each colour channel at zero mean and unit std over the set."""
    per_channel = desc.view(len(desc), channels, -1)
    mean = per_channel.mean(dim=(0, 2), keepdim=True)
    std = per_channel.std(dim=(0, 2), keepdim=True).clamp_min(1e-8)
    return ((per_channel - mean) / std).view(len(desc), -1)


def sort_rows(x: Tensor) -> Tensor:
    """Each row sorted ascending. On the CPU numpy's sort is several times faster than torch's."""
    if x.device.type != "cpu":
        return x.sort(dim=1).values
    return torch.from_numpy(np.sort(x.detach().float().numpy(), axis=1))


def sorted_at_quantiles(values: Tensor, n: int) -> Tensor:
    """Sorted rows (K, M) -> (K, n) read off at the n quantiles (i + 0.5) / n, linearly
    interpolated: two sets of different sizes compare quantile for quantile."""
    m = values.shape[1]
    if m == n:
        return values
    pos = ((torch.arange(n, device=values.device) + 0.5) * m / n - 0.5).clamp(0, m - 1)
    low = pos.floor().long()
    high = (low + 1).clamp(max=m - 1)
    frac = (pos - low).to(values)
    return values[:, low] * (1 - frac) + values[:, high] * frac


def sliced_wasserstein(
    a: Tensor, b: Tensor, generator: torch.Generator, directions: int = 128, repeats: int = 4
) -> Tensor:
    """SWD between two descriptor sets (N, D) and (M, D): the mean over random unit directions
    of the 1-D Wasserstein-1 distance of the projections, quantile against quantile."""
    n = min(len(a), len(b))
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], directions, generator=generator).to(a)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        proj_a = sorted_at_quantiles(sort_rows(dirs.t() @ a.t()), n)  # (directions, n)
        proj_b = sorted_at_quantiles(sort_rows(dirs.t() @ b.t()), n)
        results.append((proj_a - proj_b).abs().mean())
    return torch.stack(results).mean()


class SlicedWassersteinDistance(Metric):
    """Accumulates descriptors of real and generated images (B, C, H, W) in [0, 1];
    `compute()` -> {"swd": mean over levels, "swd_<res>": per level}, all x 1e3.

    Like torchmetrics' FID with `reset_real_features=False`, `reset()` keeps the real
    descriptors: a held-out set is described once per run. Under DDP the descriptor lists
    of all processes are gathered before the distance is computed.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = False
    real_descriptors: list[Tensor]
    fake_descriptors: list[Tensor]

    def __init__(
        self,
        image_size: int,
        channels: int,
        descriptors_per_image: int = 64,
        min_resolution: int = 16,
        directions: int = 128,
        repeats: int = 4,
        seed: int = 0,
        reset_real_features: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.levels = num_levels(image_size, min_resolution)
        self.resolutions = [image_size // 2**i for i in range(self.levels)]
        self.channels, self.per_image = channels, descriptors_per_image
        self.directions, self.repeats, self.seed = directions, repeats, seed
        self.reset_real_features = reset_real_features
        self.add_state("real_descriptors", default=[], dist_reduce_fx="cat")
        self.add_state("fake_descriptors", default=[], dist_reduce_fx="cat")

    def describe(self, images: Tensor) -> Tensor:
        """(B, C, H, W) -> (B * per_image, levels, C * 7 * 7): random 7x7 neighbourhoods per
        level. Each image's positions come from a generator seeded by the image itself, so a
        set's descriptors do not depend on its order or on how DDP split it."""
        bands = laplacian_pyramid(images.float() * 2 - 1, self.levels)
        patches = [F.unfold(band, PATCH) for band in bands]  # (B, C*49, positions) each
        picks = self._positions(images, [p.shape[2] for p in patches])
        per_level = []
        for level, level_patches in enumerate(patches):
            index = picks[:, level, None, :].expand(-1, level_patches.shape[1], -1)
            chosen = level_patches.gather(2, index.to(level_patches.device))
            per_level.append(chosen.transpose(1, 2).reshape(-1, level_patches.shape[1]))
        return torch.stack(per_level, dim=1)

    def _positions(self, images: Tensor, counts: list[int]) -> Tensor:
        """(B, levels, per_image) patch indices, drawn per image from a content-seeded generator."""
        pixels = (images.detach().float().clamp(0, 1) * 255).round().long().flatten(1).cpu()
        weights = torch.arange(pixels.shape[1]) % 9973 + 1  # position-sensitive checksum
        keys = (pixels * weights).sum(1) + self.seed
        generator = torch.Generator()
        picks = torch.empty(len(images), len(counts), self.per_image, dtype=torch.long)
        for i, key in enumerate(keys.tolist()):
            generator.manual_seed(key)
            for level, count in enumerate(counts):
                picks[i, level] = torch.randint(count, (self.per_image,), generator=generator)
        return picks

    def update(self, images: Tensor, real: bool) -> None:
        if images.shape[-1] < PATCH:
            raise ValueError(f"SWD needs images of at least {PATCH} pixels, got {images.shape}")
        state: list[Tensor] = self.real_descriptors if real else self.fake_descriptors
        state.append(self.describe(images))

    def compute(self) -> dict[str, Tensor]:
        real, fake = _cat(self.real_descriptors), _cat(self.fake_descriptors)
        directions = torch.Generator().manual_seed(self.seed)  # the same directions every time
        out: dict[str, Tensor] = {}
        for level, res in enumerate(self.resolutions):
            a = normalise_descriptors(real[:, level], self.channels)
            b = normalise_descriptors(fake[:, level], self.channels)
            out[f"swd_{res}"] = 1e3 * sliced_wasserstein(
                a, b, directions, self.directions, self.repeats
            )
        out["swd"] = torch.stack(list(out.values())).mean()
        return out

    def reset(self) -> None:
        kept = list(self.real_descriptors)  # torchmetrics clears list states in place
        super().reset()
        if not self.reset_real_features:
            self.real_descriptors = kept

    @property
    def num_real(self) -> int:
        return sum(len(d) for d in self.real_descriptors) // self.per_image


def _cat(states: Any) -> Tensor:
    if isinstance(states, Tensor):  # after a DDP gather torchmetrics hands back one tensor
        return states
    if not states:
        raise ValueError("SWD has no descriptors of one side: update with real and fake images")
    return torch.cat(states)
