"""A model folder as the ecosystem reads one: `config.json` (the family, its constructor's
arguments, the run's config) and `model.safetensors` (the inference weights), beside the
`README.md` card that zoo/folder_card.py writes. Every command and `genzoo.load` read it
where they read a run directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from genzoo.models.base import GenerativeModel
from genzoo.utils.checkpoint import CheckpointError, import_target

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def is_model_folder(path: str | Path) -> bool:
    folder = Path(path).expanduser()
    return (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file()


def _json_safe(value: Any) -> Any:
    """Hyper-parameters as JSON: tuples become lists, anything else not JSON a string."""
    return json.loads(json.dumps(value, default=str))


def write_model_folder(
    module: GenerativeModel, meta: dict[str, Any], folder: Path, dtype: str | None = None
) -> list[Path]:
    """config.json and model.safetensors of `module` in `folder` (made if absent): the
    inference weights (no `training_only` part), floating ones stored as `dtype` (float32,
    float16, bfloat16; None: as they are)."""
    from safetensors.torch import save_file

    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: one of {', '.join(DTYPES)}, or None")
    folder.mkdir(parents=True, exist_ok=True)
    weights = {}
    training_only = tuple(f"{name}." for name in module.training_only)
    for key, tensor in module.state_dict().items():
        if training_only and key.startswith(training_only):
            continue  # a folder serves inference: no discriminator

        tensor = tensor.detach().cpu()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(DTYPES[dtype])
        weights[key] = tensor.contiguous().clone()  # no shared storage: safetensors refuses it
    target = f"{type(module).__module__}.{type(module).__qualname__}"
    config = {
        "genzoo_folder_version": FORMAT_VERSION,
        "library": "genzoo",
        "family": type(module).__name__,
        "model_target": target,
        "hyper_parameters": _json_safe(dict(module.hparams)),
        "capabilities": sorted(module.capabilities),
        "weights_dtype": dtype or "as trained",
        "global_step": meta.get("global_step"),
        "shipped": meta.get("shipped"),
        "run_config": _json_safe(meta.get("config") or {}),
    }
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    # Written beside, then moved in: an interrupted save leaves the old folder whole.
    save_file(weights, str(weights_path) + ".tmp", metadata={"model_target": target})
    Path(str(weights_path) + ".tmp").replace(weights_path)
    weights_path.chmod(0o644)  # safetensors writes it private; a shared folder is read by others
    config_path.with_suffix(".json.tmp").write_text(json.dumps(config, indent=2) + "\n")
    config_path.with_suffix(".json.tmp").replace(config_path)
    return [config_path, weights_path]


def read_model_folder(
    folder: str | Path, device: str = "cpu"
) -> tuple[GenerativeModel, dict[str, Any]]:
    """The model of a folder written by `write_model_folder`, in eval mode on `device`, and
    metadata shaped as a checkpoint's (`load_model`)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder).expanduser()
    config_path = folder / CONFIG_NAME
    try:
        config = json.loads(config_path.read_text())
        target = config["model_target"]
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"{config_path} is not a genzoo model folder's config ({err!r}): write the folder "
            "again with Model.save_pretrained"
        ) from err
    cls = import_target(target)
    model = cls(**config.get("hyper_parameters", {}))
    try:
        weights = load_file(str(folder / WEIGHTS_NAME))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{folder / WEIGHTS_NAME} cannot be read ({err})") from err
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    training_only = tuple(f"{name}." for name in model.training_only)
    missing = [k for k in missing if not (training_only and k.startswith(training_only))]
    if missing or unexpected:
        raise CheckpointError(
            f"{folder / WEIGHTS_NAME} does not match {target}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    # Weights stored in 16 bits come back in the model's own dtype.
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in weights.items()}, strict=False)
    meta = {
        "model_target": target,
        "config": config.get("run_config") or {},
        "shipped": config.get("shipped"),
        "dropped": list(model.training_only),
        "checkpoint_path": str(folder / WEIGHTS_NAME),
        "global_step": config.get("global_step"),
        "run_dir": str(folder),
        "model_folder": str(folder),
    }
    return model.to(device).eval(), meta
