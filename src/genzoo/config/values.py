"""Checks of config values' meaning before anything runs: sizes, counts, rates, hardware.

The type checks (`validate.check_config_types`) say that `data.batch_size=abc` is no int; these
say that `data.batch_size=-1` is no batch size, and name the key the user set: a model value
interpolated from the data config (`image_size: ${data.image_size}`) is reported under its
source key. Each model class adds its own rules in `GenerativeModel.check_hparams`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genzoo.config.compose import require_values
from genzoo.config.types import ConfigError
from genzoo.utils.checkpoint import import_class

Rule = Callable[[Any], str | None]


def _at_least(low: int | float, what: str) -> Rule:
    def rule(value: Any) -> str | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= low
        return None if ok else f"must be {what}"

    return rule


def _limit(value: Any) -> str | None:  # Lightning's max_steps / max_epochs: -1 means no limit
    if value is None or value == -1 or (isinstance(value, int) and value >= 1):
        return None
    return "must be a positive count, or -1 for no limit"


POSITIVE = _at_least(1, "a positive integer")
# Leaf names checked wherever they appear under model or data.
NAMED_RULES: dict[str, Rule] = {
    name: POSITIVE
    for name in (
        "batch_size",
        "image_size",
        "latent_dim",
        "hidden_channels",
        "g_channels",
        "d_channels",
        "channel_base",
        "channel_max",
        "mapping_depth",
        "eval_samples",
        "iw_samples",
    )
}
NAMED_RULES["num_workers"] = lambda v: (
    None if v == "auto" else _at_least(0, "0 or more, or auto")(v)
)
NAMED_RULES["lr"] = lambda v: (
    None if isinstance(v, (int, float)) and v > 0 else "must be a positive learning rate"
)
NAMED_RULES["channels"] = lambda v: None if v in (1, 3) else "must be 1 (grey) or 3 (colour)"
TRAINER_RULES: dict[str, Rule] = {"max_steps": _limit, "max_epochs": _limit}


# Top-level keys genzoo itself reads.
def path_component(value: Any) -> str | None:
    """A run's name or group names one folder under the runs root, never a path out of it."""
    text = str(value)
    if not text or text in (".", "..") or "/" in text or "\\" in text or "\0" in text:
        return "must be one folder name (no /, no .. ): runs live in runs/<run_group>/<run_name>"
    return None


TOP_RULES: dict[str, Rule] = {
    "seed": lambda v: None if v is None or type(v) is int else "must be an integer, or null",
    "resume": lambda v: None if isinstance(v, bool) else "must be true or false",
    "run_name": path_component,
    "run_group": path_component,
}
_INTERPOLATION = re.compile(r"^\$\{([\w.]+)\}$")


def _source_key(raw: Any, key: str) -> str:
    """The key a user sets for this value: the source of a plain interpolation, else itself."""
    match = _INTERPOLATION.match(raw) if isinstance(raw, str) else None
    return match.group(1) if match else key


def _walk(resolved: Any, raw: Any, path: str, problems: dict[str, str]) -> None:
    if isinstance(resolved, dict):
        for key, value in resolved.items():
            raw_value = raw.get(key) if isinstance(raw, dict) else None
            where = f"{path}.{key}"
            rule = NAMED_RULES.get(str(key))
            if rule is not None and value is not None and not isinstance(value, (dict, list)):
                problem = rule(value)
                if problem:
                    problems.setdefault(_source_key(raw_value, where), f"={value!r} {problem}")
            _walk(value, raw_value, where, problems)


def _model_problems(model: dict[str, Any], raw: dict[str, Any], problems: dict[str, str]) -> None:
    cls = import_class(str(model.get("_target_")))
    check = getattr(cls, "check_hparams", None)
    if check is None:
        return
    for param, problem in check(model).items():
        key = _source_key(raw.get(param), f"model.{param}")
        problems.setdefault(key, f"={model.get(param)!r} {problem}")


def check_config_values(cfg: DictConfig) -> None:
    """Raise one ConfigError naming every key whose value cannot work (exit 2 at the CLI)."""
    require_values(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    raw = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(resolved, dict) and isinstance(raw, dict)
    problems: dict[str, str] = {}
    for group in ("data", "model"):
        _walk(resolved.get(group), raw.get(group), group, problems)
    for key, rule in TRAINER_RULES.items():
        value = (resolved.get("trainer") or {}).get(key)
        if (problem := rule(value)) is not None:
            problems[f"trainer.{key}"] = f"={value!r} {problem}"
    for key, rule in TOP_RULES.items():
        if key in resolved and (problem := rule(resolved[key])) is not None:
            problems[key] = f"={resolved[key]!r} {problem}"
    if isinstance(resolved.get("model"), dict):
        _model_problems(resolved["model"], raw.get("model") or {}, problems)
    if problems:
        raise ConfigError(
            "invalid config value(s):\n  "
            + "\n  ".join(f"{key}{problem}" for key, problem in problems.items())
            + "\nFix the override(s) on the command line; see genzoo-train --help."
        )
    check_accelerator(resolved.get("trainer") or {})


def check_accelerator(trainer: dict[str, Any]) -> None:
    """`trainer=gpu` (or ddp) on a machine without CUDA: one line naming the alternatives."""
    import torch

    if str(trainer.get("accelerator")) in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.accelerator={trainer.get('accelerator')} needs a CUDA GPU and this machine "
            "has none: use trainer=cpu, or trainer=default to pick what is there"
        )
    if trainer.get("sync_batchnorm") and str(trainer.get("accelerator")) == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: PyTorch's SyncBatchNorm does not run on "
            "the CPU. Leave it false with trainer=ddp_cpu (each process normalises its own batch)"
        )


def group_choice(group: str, fallback: str) -> str:
    """The option the user picked for a config group (model=pix2pix), or `fallback` outside
    a Hydra run."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        choice = HydraConfig.get().runtime.choices.get(group)
        if choice not in (None, "null"):
            return str(choice)
    return fallback


def check_model_fits_data(cfg: DictConfig) -> None:
    """Refuse a model / data pair whose kinds do not match (data/kinds.py), from the two
    `_target_`s alone: before any value is resolved, anything built or any file written."""
    from genzoo.data.kinds import check_model_fits_data as check

    model_target = OmegaConf.select(cfg, "model._target_", default=None)
    data_target = OmegaConf.select(cfg, "data._target_", default=None)
    if isinstance(model_target, str) and isinstance(data_target, str):
        check(
            model_target,
            data_target,
            group_choice("model", model_target.rsplit(".", 1)[-1]),
            group_choice("data", data_target.rsplit(".", 1)[-1]),
        )
