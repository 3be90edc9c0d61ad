"""Type checks of config values against the signatures they will be passed to.

Hydra composes configs without types; a value such as `trainer.max_epochs=abc` would
otherwise surface as a traceback deep inside training. Every node with a `_target_` is
checked against the annotations of that target's `__init__` (plain types only).
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genzoo.errors import ConfigError
from genzoo.utils.checkpoint import import_target


def _accepts(hint: Any, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint in (Any, inspect.Parameter.empty) or hint is None and value is None:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True  # containers, callables, classes: not checked here


def _hints(target: str) -> dict[str, Any]:
    try:
        obj = import_target(target)
        fn = obj.__init__ if inspect.isclass(obj) else obj
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations or import errors are reported by instantiate
        return {}


def _walk(node: Any, path: str, errors: list[str]) -> None:
    if isinstance(node, dict):
        hints = _hints(node["_target_"]) if isinstance(node.get("_target_"), str) else {}
        for key, value in node.items():
            if str(key).startswith("_") or (not path and key == "hydra"):
                continue
            where = f"{path}.{key}" if path else str(key)
            hint = hints.get(key)
            # None is left alone: in these configs it means "the default" (e.g. monitor: null).
            if (
                hint is not None
                and value is not None
                and not isinstance(value, (dict, list))
                and not _accepts(hint, value)
            ):
                errors.append(
                    f"{where}={value!r} is {_PLAIN_NAMES.get(type(value), type(value).__name__)}, "
                    f"expected {_name(hint)}"
                )
            _walk(value, where, errors)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{path}[{i}]", errors)


_PLAIN_NAMES = {bool: "a boolean", int: "an int", float: "a number", str: "a string"}


def _name(hint: Any) -> str:
    """A type hint in words: Optional[int] -> 'an int or null'."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        words = [_name(a) for a in args if a is not type(None)]
        return " or ".join(words + (["null"] if type(None) in args else []))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    return _PLAIN_NAMES.get(hint) or getattr(hint, "__name__", None) or str(hint)


def check_config_types(cfg: DictConfig) -> None:
    """Raise ConfigError listing every value whose type its target's signature rules out."""
    errors: list[str] = []
    _walk(OmegaConf.to_container(cfg, resolve=True), "", errors)
    if errors:
        raise ConfigError(
            "invalid config value(s):\n  "
            + "\n  ".join(errors)
            + "\nFix the override(s) on the command line; see genzoo-train --help."
        )
