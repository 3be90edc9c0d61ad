"""The trained checkpoints genzoo ships, with their model cards (docs/zoo.md).

A shipped model is named `zoo:<name>` wherever a run is asked for (genzoo-sample run=zoo:...,
genzoo.load("dcgan_digits")). Each `<name>.ckpt` here holds a run's inference weights (no
discriminator, no optimizer state) and `<name>.json` its card: recipe, training time and
hardware, held-out metrics from genzoo-eval. scripts/build_zoo.py rebuilds all of them.

Kept free of torch imports: the CLIs resolve names before loading anything heavy.
"""

from __future__ import annotations

import json
from typing import Any

# The locations are package data (utils/paths.py); the zoo's names are re-exported here.
from genzoo.utils.paths import (
    PREFIX,
    ZOO_DIR,
    UnknownModelError,
    is_shipped_reference,
    output_home,
    shipped_checkpoint,
    shipped_names,
)

__all__ = [
    "PREFIX",
    "ZOO_DIR",
    "UnknownModelError",
    "is_shipped_reference",
    "model_card",
    "output_home",
    "shipped_checkpoint",
    "shipped_names",
]


def model_card(name: str) -> dict[str, Any]:
    """The card of shipped model `name`: recipe, training, metrics (see docs/zoo.md)."""
    shipped_checkpoint(name)  # the same error for an unknown name
    card: dict[str, Any] = json.loads((ZOO_DIR / f"{name.removeprefix(PREFIX)}.json").read_text())
    return card
