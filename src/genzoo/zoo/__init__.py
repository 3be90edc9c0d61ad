"""The trained checkpoints genzoo ships, with their model cards (docs/zoo.md).

A shipped model is named `zoo:<name>` wherever a run is asked for (genzoo-sample run=zoo:...,
genzoo.load("dcgan_digits")). Each `<name>.ckpt` here holds a run's inference weights (no
discriminator, no optimizer state) and `<name>.json` its card: recipe, training time and
hardware, held-out metrics from genzoo-eval. scripts/build_zoo.py rebuilds all of them.

Kept free of torch imports: the CLIs resolve names before loading anything heavy.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from genzoo.errors import GenzooError

ZOO_DIR = Path(__file__).resolve().parent
PREFIX = "zoo:"


class UnknownModelError(GenzooError, LookupError):
    """A shipped model name that genzoo does not ship."""


def shipped_names() -> list[str]:
    """The names of the shipped models, sorted."""
    return sorted(p.stem for p in ZOO_DIR.glob("*.ckpt"))


def is_shipped_reference(run: str | Path) -> bool:
    return isinstance(run, str) and run.startswith(PREFIX)


def shipped_checkpoint(name: str) -> Path:
    """`name` (with or without `zoo:`) -> its checkpoint; an unknown name lists the known ones."""
    name = name.removeprefix(PREFIX)
    path = ZOO_DIR / f"{name}.ckpt"
    if path.is_file():
        return path
    known = shipped_names()
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UnknownModelError(
        f"genzoo ships no model named {name!r}; {hint}shipped: {', '.join(known) or 'none'}"
    )


def model_card(name: str) -> dict[str, Any]:
    """The card of shipped model `name`: recipe, training, metrics (see docs/zoo.md)."""
    shipped_checkpoint(name)  # the same error for an unknown name
    card: dict[str, Any] = json.loads((ZOO_DIR / f"{name.removeprefix(PREFIX)}.json").read_text())
    return card


def output_home(name: str) -> Path:
    """Where commands write for a shipped model when not told (runs/zoo/<name>, under
    $GENZOO_RUNS when set): never inside the installed package."""
    return Path(os.environ.get("GENZOO_RUNS", "runs")) / "zoo" / name.removeprefix(PREFIX)
