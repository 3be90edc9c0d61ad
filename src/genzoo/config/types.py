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


_SCALARS = (bool, int, float, str, type(None))


def _takes_only_scalars(hint: Any) -> bool:
    """Whether a hint rules out a list or mapping: int, Optional[str], Literal[...]."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_takes_only_scalars(arg) for arg in typing.get_args(hint))
    return origin is typing.Literal or hint in _SCALARS


def _parameters(target: str) -> tuple[set[str], bool] | None:
    """The keyword names a target takes and whether it takes any (**kwargs); None if unknown."""
    try:
        obj = import_target(target)
        fn = obj.__init__ if inspect.isclass(obj) else obj
        params = inspect.signature(fn).parameters.values()
    except Exception:
        return None
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def _unknown_keys(node: dict, path: str, errors: list[str]) -> None:
    """Keys a target's constructor would refuse (`+model.foo=1`), with the closest known ones."""
    import difflib

    found = _parameters(node["_target_"])
    if found is None or found[1]:
        return
    names, _ = found
    for key in node:
        if str(key).startswith("_") or key in names:
            continue
        guesses = difflib.get_close_matches(str(key), sorted(names), n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(f'{path}.{g}' for g in guesses)}?"
            if guesses
            else (f"{path} takes {', '.join(sorted(names - {'self'}))}")
        )
        errors.append(f"{path}.{key} is not a key of {node['_target_']}: {hint}")


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
        if isinstance(node.get("_target_"), str) and path:
            _unknown_keys(node, path, errors)
        for key, value in node.items():
            if str(key).startswith("_") or (not path and key == "hydra"):
                continue
            where = f"{path}.{key}" if path else str(key)
            hint = hints.get(key)
            if isinstance(value, (dict, list)) and hint is not None and _takes_only_scalars(hint):
                errors.append(f"{where}={value!r} is a list or mapping, expected {_name(hint)}")
                continue
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
