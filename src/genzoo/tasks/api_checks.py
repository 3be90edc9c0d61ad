"""The Python API's argument checks: the same rules as the command lines' options
(sample_images.OPTION_RULES), said as one `OptionError` that names the argument and what to
pass, before anything reaches torch.

A model's contract (models/base.py) trusts its inputs; `genzoo.api.Model` calls these first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from genzoo.errors import GenzooError
from genzoo.utils.options import is_int


class OptionError(GenzooError, ValueError):
    """An argument of a `genzoo.Model` method with the wrong type or value."""


def count(value: Any, name: str, low: int = 1) -> int:
    """An integer of at least `low` (n=, steps=): 2.5, "4", True and None are refused."""
    if not is_int(value) or value < low:
        raise OptionError(f"{name}={value!r} must be an integer of at least {low}")
    return int(value)


def seed(value: Any, name: str = "seed") -> int:
    if not is_int(value):
        raise OptionError(f"{name}={value!r} must be an integer (the same seed, the same images)")
    return int(value)


def seeds(values: Any, name: str) -> list[int]:
    """A non-empty list of integer seeds (style_mix's rows and columns)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise OptionError(f"{name}={values!r} must be a list of integer seeds")
    listed = list(values)
    if not listed:
        raise OptionError(f"{name}=[] names no seed: pass at least one, e.g. {name}=[0, 1]")
    return [seed(v, f"{name}[{i}]") for i, v in enumerate(listed)]


def sample_options(
    family: str, understood: Iterable[str], options: dict[str, Any]
) -> dict[str, Any]:
    """Sampling options by genzoo-sample's rules; one the family does not take is refused with
    the ones it does (a VAE has no truncation; a prior's top_p lies in (0, 1])."""
    from genzoo.tasks.sample_request import OPTION_RULES

    known = sorted(understood)
    problems = []
    for key, value in options.items():
        if key not in known:
            problems.append(f"{key}= (it understands: {', '.join(known) or 'no options'})")
        elif (problem := OPTION_RULES[key](value)) is not None:
            problems.append(f"{key}={value!r} {problem}")
    if problems:
        raise OptionError(f"{family} cannot sample with " + "; ".join(problems))
    return options


def finite_images(x: torch.Tensor) -> torch.Tensor:
    """A batch of at least one image, every value finite, as float32."""
    if x.shape[0] == 0:
        raise OptionError("the batch holds no images: pass at least one")
    x = x.float()
    if not torch.isfinite(x).all():
        raise OptionError("the images hold NaN or infinite values: pass finite values in [0, 1]")
    return x


def latents(z: Any, dim: int, family: str) -> torch.Tensor:
    """A VAE's latents: a float tensor (B, latent_dim) with B >= 1, finite."""
    if not isinstance(z, torch.Tensor):
        raise OptionError(
            f"{family}.decode takes a tensor (B, {dim}) such as encode() returns, "
            f"got {type(z).__name__}: wrap it with torch.as_tensor"
        )
    if z.dim() != 2 or z.shape[1] != dim or z.shape[0] == 0:
        raise OptionError(
            f"{family}.decode takes latents (B, {dim}) with B >= 1, got shape {tuple(z.shape)}"
        )
    if not z.is_floating_point() or not torch.isfinite(z).all():
        raise OptionError(f"{family}.decode takes finite float latents, got {z.dtype}")
    return z.float()


def code_maps(codes: Any, shapes: Sequence[tuple[int, int]], num_codes: int) -> list[torch.Tensor]:
    """A VQ-VAE's codes: one integer map (B, H', W') per level, bottom first, each code in
    [0, num_codes), as encode() returns."""
    wanted = ", ".join(f"(B, {h}, {w})" for h, w in shapes)
    if isinstance(codes, torch.Tensor) or not isinstance(codes, (list, tuple)):
        raise OptionError(
            f"decode takes a list of {len(shapes)} code map(s) {wanted}, bottom first, as "
            f"encode() returns, got {type(codes).__name__}"
            + (
                ": wrap one level's map in a list, [codes]"
                if isinstance(codes, torch.Tensor)
                else ""
            )
        )
    if len(codes) != len(shapes):
        raise OptionError(f"decode takes {len(shapes)} code map(s) {wanted}, got {len(codes)}")
    checked = []
    for level, (c, (h, w)) in enumerate(zip(codes, shapes, strict=True)):
        if not isinstance(c, torch.Tensor) or c.is_floating_point() or c.dtype == torch.bool:
            raise OptionError(
                f"codes[{level}] must be an integer tensor {wanted.split(', ')[level]}"
            )
        if c.dim() != 3 or tuple(c.shape[1:]) != (h, w) or c.shape[0] == 0:
            raise OptionError(
                f"codes[{level}] must have shape (B, {h}, {w}) with B >= 1, got {tuple(c.shape)}"
            )
        if c.numel() and (int(c.min()) < 0 or int(c.max()) >= num_codes):
            raise OptionError(
                f"codes[{level}] spans [{int(c.min())}, {int(c.max())}]: codes lie in "
                f"[0, {num_codes - 1}] (the codebook has {num_codes})"
            )
        checked.append(c.long())
    if len({c.shape[0] for c in checked}) > 1:
        raise OptionError("every level's code map must hold the same number of images")
    return checked
