"""Device choice for the inference CLIs."""

from __future__ import annotations

import torch


def pick_device(name: str) -> str:
    """'auto' -> cuda when available, else cpu; anything else is passed through."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name
