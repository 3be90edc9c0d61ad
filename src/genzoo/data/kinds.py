"""What a datamodule yields and what a model learns from: the pairing rule of model and data.

Each datamodule class names the kind of batch it yields (`yields`), each model class the kinds
it accepts (`accepts`). genzoo-train and genzoo-eval compare the two from the config's
`_target_`s alone, before anything is built, resolved or written, so that every model / data
pair is either accepted or refused in one line (`check_model_fits_data`).

Kept free of torch imports: the check runs before Lightning is imported.
"""

from __future__ import annotations

import re
from functools import cache

from genzoo.errors import GenzooError

IMAGES = "images"  # {'image', 'label'}
ALIGNED = "aligned A / B pairs"  # {'A', 'B'} of the same scene
UNPAIRED = "unpaired A and B images"  # {'A', 'B'} drawn independently
LR_HR = "low- and high-resolution pairs"  # {'lr', 'hr'}
KINDS = (IMAGES, ALIGNED, UNPAIRED, LR_HR)

# Data configs that need no download, named first in suggestions.
EMBEDDED = ("digits", "stacked_digits", "photos", "facades_synth", "photos_warm", "sr_photos")
# Data configs that only hold held-out images (benchmarks): genzoo-eval data=..., not training.
EVAL_ONLY = ("set5", "set14", "bsd100", "urban100")


class DataKindError(GenzooError, ValueError):
    """A model asked to learn from, or be evaluated on, data of a kind it cannot use."""


def yields_of(data_target: str) -> str | None:
    """The kind of batch a datamodule class yields, or None when it does not say."""
    from genzoo.utils.checkpoint import import_class

    return getattr(import_class(data_target), "yields", None)


def accepts_of(model_target: str) -> tuple[str, ...] | None:
    """The kinds of batch a model class learns from, or None when it does not say."""
    from genzoo.utils.checkpoint import import_class

    return getattr(import_class(model_target), "accepts", None)


_TARGET = re.compile(r"^_target_:\s*(\S+)", re.MULTILINE)


@cache
def data_configs_by_kind() -> dict[str, list[str]]:
    """kind -> the data config names that yield it, embedded ones first."""
    from genzoo.utils.paths import config_dir

    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for path in sorted((config_dir() / "data").glob("*.yaml")):
        match = _TARGET.search(path.read_text())
        kind = yields_of(match.group(1)) if match else None
        if kind in found and path.stem not in EVAL_ONLY:
            found[kind].append(path.stem)
    for names in found.values():
        names.sort(key=lambda name: (name not in EMBEDDED, name))
    return found


def suggestion(accepts: tuple[str, ...]) -> str:
    """'data=facades_synth (embedded), data=facades, ...' for the kinds a model accepts."""
    names = [name for kind in accepts for name in data_configs_by_kind().get(kind, [])]
    names = sorted(dict.fromkeys(names), key=lambda name: (name not in EMBEDDED, name))
    words = [f"data={name}" + (" (embedded)" if name in EMBEDDED else "") for name in names]
    return ", ".join(words)


def mismatch_message(model: str, accepts: tuple[str, ...], data_name: str, kind: str) -> str:
    """`model` as the user named it: 'model=pix2pix' at the CLI, the class name in Python."""
    return (
        f"{model} learns from {' or '.join(accepts)}, and data={data_name} gives "
        f"{kind}: use {suggestion(accepts)}"
    )


def check_model_fits_data(
    model_target: str, data_target: str, model_name: str, data_name: str
) -> None:
    """Raise DataKindError when the model cannot learn from what the data yields."""
    accepts, kind = accepts_of(model_target), yields_of(data_target)
    if accepts is None or kind is None or kind in accepts:
        return
    raise DataKindError(mismatch_message(f"model={model_name}", accepts, data_name, kind))
