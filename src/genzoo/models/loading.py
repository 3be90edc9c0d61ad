"""A trained model from its checkpoint, and a checkpoint of a model built outside a run
(docs/architecture.md, rule 5: torch.load(weights_only=True), the class from the metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genzoo.models.base import GenerativeModel
from genzoo.utils.checkpoint import (
    CheckpointError,
    find_checkpoint,
    import_target,
    output_dir_of,
    read_checkpoint,
)
from genzoo.utils.paths import is_shipped_reference


def load_model(
    run: str | Path, which: str = "last", device: str = "cpu"
) -> tuple[GenerativeModel, dict[str, Any]]:
    """A trained model in eval mode and its checkpoint's genzoo metadata (config, model class);
    `run` may also be a model folder (Model.save_pretrained), whose metadata is shaped alike."""
    from genzoo.models.pretrained import is_model_folder, read_model_folder

    if not is_shipped_reference(run) and is_model_folder(run):
        return read_model_folder(run, device)
    path = find_checkpoint(run, which)
    ckpt = read_checkpoint(path)
    meta = ckpt["genzoo"]
    cls = import_target(meta["model_target"])
    model = cls(**ckpt.get("hyper_parameters", {}))
    missing, unexpected = model.load_state_dict(ckpt["state_dict"], strict=False)
    # A shipped checkpoint leaves out what only training needs (its discriminator).
    dropped = tuple(f"{name}." for name in meta.get("dropped", ()))
    missing = [key for key in missing if not key.startswith(dropped)] if dropped else missing
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match {meta['model_target']}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    meta = dict(
        meta,
        checkpoint_path=str(path),
        global_step=ckpt.get("global_step"),
        run_dir=str(output_dir_of(path, meta)),
    )
    return model.to(device).eval(), meta


def save_bare_checkpoint(model: GenerativeModel, path: str | Path) -> Path:
    """A genzoo checkpoint of a model built outside a run (its weights and hyper-parameters,
    no training state): what `load_model` and a VQ prior's `model.first_stage` read. For
    tools and tests that need a model of some shape, not a trained one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    target = f"{type(model).__module__}.{type(model).__qualname__}"
    torch.save(
        {
            "genzoo": {"model_target": target, "config": {}},
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
        },
        path,
    )
    return path
