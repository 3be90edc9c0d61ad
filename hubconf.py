"""torch.hub entry points of the models genzoo ships:

    model = torch.hub.load("path/to/genzoo", "dcgan_digits", source="local")
    images = model.sample(16, seed=0)          # (16, 1, 32, 32) floats in [0, 1]

Each returns a `genzoo.Model` (docs/api.md); its `.module` is the torch.nn.Module. The names
are genzoo.list_models()'s; each entry point's docstring is its card's line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

dependencies = ["torch", "torchvision", "lightning", "hydra", "safetensors"]

# From a checkout that is not installed, genzoo is in src/.
_SRC = Path(__file__).resolve().parent / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from genzoo import list_models, load, model_card  # noqa: E402


def _entry_point(name: str) -> Any:
    def entry(device: str = "cpu", **kwargs: Any) -> Any:
        return load(name, device=device, **kwargs)

    card = model_card(name)
    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = (
        f"{card['family']} trained with `{card['train_command']}` on {card['hardware']}; "
        f"held-out metrics in its card (genzoo.model_card({name!r})). "
        "Returns a genzoo.Model on `device`."
    )
    return entry


for _name in list_models():
    globals()[_name] = _entry_point(_name)
