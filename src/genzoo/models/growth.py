"""ProGAN's growth schedule (Karras et al. 2018, sec. 2 and appendix A.1): which resolution a
run trains at, and how far the newest one has faded in, as a function of the images shown.

The run starts at 4 px for `stable_images`; each higher resolution then fades in over
`fade_images` (alpha from 0 to 1) and trains on its own for `stable_images`; the last one
trains until the run ends. Counting in images (not batches) is the paper's: a batch size or
a GPU count changes nothing but the step count. The images shown are saved with the model,
so a resumed run continues at the same level and alpha.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Growth:
    """Where a run stands: `level` 0 is 4 px, each level doubles it; `alpha` the fade-in of
    that level (1.0 once faded in); `stage` counts the phases (0: the first 4 px phase, then
    a fade and a stable phase per level), the optimizers' state is reset when it changes."""

    level: int
    alpha: float
    stage: int

    @property
    def resolution(self) -> int:
        return 4 * 2**self.level

    @property
    def fading(self) -> bool:
        return self.alpha < 1


def growth_at(images: int, max_level: int, stable_images: int, fade_images: int) -> Growth:
    """The growth after `images` images shown."""
    if images < stable_images or max_level == 0:
        return Growth(0, 1.0, 0)
    period = fade_images + stable_images
    grown = (images - stable_images) // period + 1  # levels added so far, this one included
    if grown > max_level:
        return Growth(max_level, 1.0, 2 * max_level)
    into = images - stable_images - (grown - 1) * period
    if into < fade_images:
        return Growth(grown, into / fade_images, 2 * grown - 1)
    return Growth(grown, 1.0, 2 * grown)


def images_to_grow(max_level: int, stable_images: int, fade_images: int) -> int:
    """Images shown when the last level has faded in and trained its `stable_images`."""
    return stable_images + max_level * (fade_images + stable_images)
