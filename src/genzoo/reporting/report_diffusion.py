"""genzoo-report's diffusion section: the lecture's DALL·E 2 slides in miniature. Guided samples
of each class, then the three editing operations on held-out images through the model
contract (genzoo.api): inpainting a masked half, outpainting beyond the frame, SDEdit to another
class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genzoo.tasks.user_images import validation_batch
from genzoo.utils import figures

# The panels' sampler: fewer DDIM steps than genzoo-eval's 50 keep a report within seconds;
# RePaint's resampling at 2 jumps per step (genzoo-edit's default is 5).
PANEL_STEPS = 20
PANEL_RESAMPLE = 2
SHOWN = 8  # held-out images per panel


def diffusion_figures(m: Any, fig: Path) -> list[tuple[str, str]]:
    """Draws the section's figures into the folder `fig`; returns (file, caption) pairs."""
    steps = {"steps": PANEL_STEPS}
    conditional = bool(m.module.num_classes)
    n = 2 * m.module.num_classes if conditional else 16
    nrow = m.module.num_classes if conditional else 8
    figures.grid(m.sample(n, seed=0, **steps), fig / "diffusion_samples.png", "samples", nrow)
    shown = [
        (
            "diffusion_samples.png",
            f"samples (DDIM {PANEL_STEPS} steps"
            + (f", guidance {m.module.guidance:g}, one class per column)" if conditional else ")"),
        )
    ]
    held_out = validation_batch(m.meta, SHOWN)
    x = held_out["image"]
    size = x.shape[-1]
    mask = torch.zeros_like(x[:1, :1])
    mask[..., size // 2 :, :] = 1  # the bottom half, painted anew
    unlabelled = {"guidance": 0.0} if conditional else {}  # no class given: the data decides
    inpainted = m.inpaint(x, mask[0], resample=PANEL_RESAMPLE, **steps, **unlabelled)
    figures.panel(
        [("held out", x), ("masked", x * (1 - mask)), ("inpainted", inpainted)],
        fig / "diffusion_inpainting.png",
        "Inpainting (RePaint) of the bottom half, no class given",
    )
    outpainted = m.outpaint(x, right=size // 2, resample=PANEL_RESAMPLE, **steps, **unlabelled)
    figures.panel(
        [("held out", x), (f"canvas +{size // 2} px right", outpainted)],
        fig / "diffusion_outpainting.png",
        "Outpainting: the canvas extended beyond the frame",
    )
    shown += [
        ("diffusion_inpainting.png", "held out | bottom half masked | inpainted"),
        ("diffusion_outpainting.png", "held out | extended to the right"),
    ]
    if conditional:
        target = (held_out["label"] + 1) % m.module.num_classes
        edited = m.edit(x, strength=0.6, label=target, **steps)
        figures.panel(
            [("held out", x), ("edited to the next class", edited)],
            fig / "diffusion_edit.png",
            "SDEdit: noised to strength 0.6, denoised as the next class",
        )
        shown.append(("diffusion_edit.png", "held out | SDEdit to class + 1 (strength 0.6)"))
    return shown
