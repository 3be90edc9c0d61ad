"""Finding and loading genzoo checkpoints with torch.load(weights_only=True) (docs/architecture.md, rule 5)."""

from __future__ import annotations

import importlib
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from genzoo.errors import GenzooError
from genzoo.utils.paths import is_shipped_reference, output_home, shipped_checkpoint


class CheckpointError(GenzooError, RuntimeError):
    """A checkpoint is missing, unreadable, or not the one asked for. The message says what to do."""


def find_checkpoint(run: str | Path, which: str = "last") -> Path:
    """A run directory, a .ckpt file or a shipped model (`zoo:<name>`) -> the checkpoint path
    (run/checkpoints/last.ckpt by default; a shipped model has one)."""
    if is_shipped_reference(run):
        return shipped_checkpoint(str(run))
    path = Path(run).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        if which == "best":
            best = best_checkpoint(path)
            if best is None:
                raise CheckpointError(
                    f"checkpoint=best: run {path} has kept no best-step*.ckpt (it has not "
                    "validated yet, or its family logs no validation metric); use checkpoint=last"
                )
            return best
        candidates = [path / "checkpoints" / f"{which}.ckpt", path / f"{which}.ckpt"]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        found = (
            sorted(p.name for p in (path / "checkpoints").glob("*.ckpt"))
            if (path / "checkpoints").is_dir()
            else []
        )
        raise CheckpointError(
            f"no {which}.ckpt in run directory {path} (checkpoints there: {found or 'none'}); "
            f"pass run=<path to a .ckpt file> or train the run first"
        )
    raise CheckpointError(f"run={run} is neither a run directory nor a checkpoint file")


def best_checkpoint(run_dir: Path) -> Path | None:
    """checkpoint=best: the run's best-step*.ckpt by its monitored metric (a run keeps one;
    of several, the one with the highest step, which ModelCheckpoint kept last)."""
    found = sorted((run_dir / "checkpoints").glob("best-step*.ckpt"))
    return found[-1] if found else None


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU, weights only; errors name the file."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        # PyTorch's own message advises weights_only=False, which runs whatever code the
        # file holds: never the advice for a file that failed to load. Say what it is not.
        what = (
            "it holds objects other than tensors and plain values (not a genzoo checkpoint; "
            "genzoo never unpickles code)"
            if isinstance(err, pickle.UnpicklingError)
            and path.stat().st_size > 0
            and zipfile.is_zipfile(path)
            else "it is not a complete PyTorch checkpoint (truncated or corrupt)"
        )
        raise CheckpointError(
            f"cannot read checkpoint {path}: {what}.{_other_checkpoints(path)}"
        ) from None
    if not isinstance(ckpt, dict) or "genzoo" not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path} is not a genzoo checkpoint (no 'genzoo' metadata); "
            f"train with genzoo-train to get one"
        )
    return ckpt


def _other_checkpoints(path: Path) -> str:
    """' Other checkpoints of this run: ...' (best first), or '' when there are none."""
    folder = path.resolve().parent
    others = sorted(folder.glob("*.ckpt"), key=lambda p: (not p.name.startswith("best"), p.name))
    others = [p for p in others if p.resolve() != path.resolve()]
    if not others:
        return ""
    names = ", ".join(p.name for p in others)
    return f" Other checkpoints of this run: {names} (e.g. checkpoint=best, or ckpt_path=...)"


def import_target(target: str) -> Any:
    """The class a dotted path names (a model family: its class attributes are read)."""
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)


def import_class(target: str) -> type | None:
    """The class a config's `_target_` names, or None when it names none (instantiate then
    reports it in its own words)."""
    try:
        obj = import_target(target)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj if isinstance(obj, type) else None


def output_dir_of(checkpoint: Path, meta: dict[str, Any]) -> Path:
    """The folder a command writes beside by default: the checkpoint's run directory, or
    runs/zoo/<name> for a shipped model (never the installed package)."""
    if meta.get("shipped"):
        return output_home(str(meta["shipped"]))
    folder = checkpoint.resolve().parent
    return folder.parent if folder.name == "checkpoints" else folder


def checkpoint_batches(meta: dict[str, Any]) -> int:
    """Training batches behind a checkpoint (older checkpoints: Lightning's global_step)."""
    return int(meta.get("batches") or meta.get("global_step") or 0)
