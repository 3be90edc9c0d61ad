"""Where genzoo's files are: the config tree and the shipped checkpoints (package data, found by
path, so that every layer can resolve `zoo:<name>` without importing the zoo package)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from genzoo.errors import GenzooError


def config_dir() -> Path:
    """The config tree: inside the installed package (wheel), else the checkout's configs/."""
    packaged = Path(__file__).resolve().parents[1] / "configs"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "configs"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"genzoo's configs were found neither in {packaged} nor in {checkout}: reinstall genzoo"
    )


ZOO_DIR = Path(__file__).resolve().parents[1] / "zoo"
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


def output_home(name: str) -> Path:
    """Where commands write for a shipped model when not told (runs/zoo/<name>, under
    $GENZOO_RUNS when set): never inside the installed package."""
    return Path(os.environ.get("GENZOO_RUNS", "runs")) / "zoo" / name.removeprefix(PREFIX)
