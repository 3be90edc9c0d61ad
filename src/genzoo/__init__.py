"""genzoo: a PyTorch Lightning + Hydra model zoo of deep generative image models.

The Python API (docs/api.md):

    import genzoo
    genzoo.list_models()                      # the shipped trained models
    m = genzoo.load("dcgan_digits")           # ... or a run directory, or a .ckpt file
    m.sample(16, seed=0)                      # (16, 1, 32, 32) floats in [0, 1]

Imports stay lazy: the command-line tools import this package and answer --help without torch.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genzoo.api import Model

__version__ = "0.1.0"
__all__ = ["load", "list_models", "model_card"]


def load(run: str | Path, device: str = "auto", checkpoint: str = "last") -> Model:
    """A trained model in eval mode on `device` (auto: cuda when present): `run` is a shipped
    name (see list_models()), a run directory or a .ckpt file."""
    from genzoo.api import load as _load

    return _load(run, device=device, checkpoint=checkpoint)


def list_models(pattern: str = "*", capability: str | None = None) -> list[str]:
    """The names of the trained models genzoo ships (docs/zoo.md) that match `pattern` (a
    shell pattern: "vae*", "*_digits") and, given one, can `capability` ("sample",
    "translate", "upscale", "style_mix", ...)."""
    from genzoo.zoo import shipped_names

    names = [n for n in shipped_names() if fnmatch.fnmatchcase(n, pattern)]
    if capability is None:
        return names
    from genzoo.api import SHIPPED_FOR, shipped_capabilities

    if capability not in SHIPPED_FOR:
        raise ValueError(f"capability={capability!r}: one of {', '.join(sorted(SHIPPED_FOR))}")
    return [n for n in names if capability in shipped_capabilities(n)]


def model_card(name: str) -> dict[str, Any]:
    """A shipped model's card: recipe, training time and hardware, held-out metrics."""
    from genzoo.zoo import model_card as _card

    return _card(name)
