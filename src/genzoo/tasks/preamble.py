"""What every task does before its work: the family's own options, and (in `loaded_model`) the
model loaded on its device and checked for the capability the task needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from genzoo.errors import ConfigError
from genzoo.utils.console import quiet_console
from genzoo.utils.options import Rule, check_options, device_name, text

if TYPE_CHECKING:
    from genzoo.models.base import GenerativeModel

# The options every task has: which run (or zoo:<name>), which of its checkpoints, where.
RUN_RULES: dict[str, Rule] = {"run": text, "checkpoint": text, "device": device_name}
# ... and those of the tasks that convert the user's images (translate, upscale, project).
FOLDER_RULES: dict[str, Rule] = {"input": text, "output": text}


def checked_options(cfg: DictConfig, rules: dict[str, Rule], command: str) -> None:
    """A quiet console, and every option of `command` of the right type and value (exit 2
    naming the key otherwise), before anything is loaded or written."""
    quiet_console()
    check_options(cfg, rules, command)


def loaded_model(
    cfg: DictConfig, capability: str | None = None, other_runs: str = "", device: str | None = None
) -> tuple[GenerativeModel, dict[str, Any]]:
    """`cfg.run`'s model in eval mode on `device` (default: `cfg.device`, auto-picked) and its
    checkpoint's metadata; one without `capability` is refused in one line saying which
    runs to pass instead (`other_runs`)."""
    from genzoo.models.loading import load_model
    from genzoo.utils.device import pick_device

    model, meta = load_model(cfg.run, cfg.checkpoint, device=device or pick_device(cfg.device))
    if capability is not None and not model.supports(capability):
        raise ConfigError(
            f"run={cfg.run} is a {type(model).__name__} run, which cannot {capability}: "
            f"{other_runs}"
        )
    return model, meta


# What a family without one of genzoo-eval's family options is told.
NO_FAMILY_OPTION = {
    "iw_samples": "{model} has no importance-weighted likelihood (only the VAE does); drop iw_samples",
    "test_mode": "a {model} run has no test mode (Pix2Pix has); leave test_mode out",
    "guidance": "{model} has no classifier-free guidance (a diffusion model has); drop guidance",
    "steps": "{model} has no sampler steps (a diffusion model has); drop steps",
}


def apply_family_options(model: Any, cfg: DictConfig, names: tuple[str, ...]) -> None:
    """Hand each option of `names` to a family that takes it (`evaluation_options`); refuse
    one given to a family that does not, naming the key."""
    for name in names:
        value = cfg.get(name)
        if name in model.evaluation_options:
            model.set_evaluation_option(name, value)
        elif value is not None:
            message = NO_FAMILY_OPTION[name].format(model=type(model).__name__)
            raise ConfigError(f"{name}={value}: {message}")
