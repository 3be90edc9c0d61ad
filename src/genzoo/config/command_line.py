"""Checks of the command line before Hydra runs: a misspelled key gets 'did you mean ...?'.

Hydra answers `trainer.max_epoch=3` with advice to append the key with `+`, which then fails
inside the Trainer. Here every plain `key=value` override is looked up in the composed config
(with the command line's group choices) and an unknown key is one line naming the closest ones.
"""

from __future__ import annotations

import difflib
import sys
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genzoo.config.compose import compose_config
from genzoo.utils.paths import config_dir

# Hydra flags after which there is nothing to check (help, another config) ...
_SKIP_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--shell-completion", "-sc", "--info"}
_SKIP_FLAGS |= {"-i", "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"}
_SKIP_FLAGS |= {"--experimental-rerun"}
# ... flags that take a value, and flags that take none.
_VALUE_FLAGS = {"--cfg", "-c", "--package", "-p"}
_PLAIN_FLAGS = {"--multirun", "-m", "--resolve", "--run", "-r"}


def _flat_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, DictConfig):
        return []
    keys = []
    for key in node:
        full = f"{prefix}{key!s}"
        keys.append(full)
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
            keys += _flat_keys(child, f"{full}.")
    return keys


def _has_key(cfg: DictConfig, key: str) -> bool:
    node: Any = cfg
    for part in key.split("."):
        # `in` is False for a mandatory value (???), which is still a key: look at the keys.
        if not isinstance(node, DictConfig) or part not in set(node.keys()):
            return False
        node = node._get_node(part)
    return True


def unknown_key_message(cfg: DictConfig, key: str, command: str) -> str:
    """'unknown key a.b: did you mean a.c?' with the closest keys of the composed config."""
    known = _flat_keys(cfg)
    # model.lr -> model.optimizer.lr: the same setting one level down comes first; a parent
    # of the key (model) is never the answer.
    top, leaf = key.split(".")[0], key.split(".")[-1]
    guesses = [k for k in known if k != key and k.split(".")[0] == top and k.endswith(f".{leaf}")]
    guesses = (
        guesses[:3]
        or [
            k
            for k in difflib.get_close_matches(key, known, n=4, cutoff=0.75)
            if not key.startswith(f"{k}.")
        ][:3]
    )
    hint = (
        f"did you mean {' or '.join(guesses)}?"
        if guesses
        else f"{command} --cfg job lists the keys there are"
    )
    return f"unknown key {key}: {hint}"


def overrides_of(argv: list[str]) -> list[str] | None:
    """The key=value arguments of a command line, or None when it is not one to check."""
    args, skip_next = [], False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg in _SKIP_FLAGS:
            return None
        elif arg in _VALUE_FLAGS:
            skip_next = True
        elif arg in _PLAIN_FLAGS:
            continue
        elif arg.startswith("-"):
            return None  # a flag Hydra knows and genzoo does not: Hydra answers it
        else:
            args.append(arg)
    return args


def group_options(group: str) -> list[str]:
    """The options of a config group: the names of its YAML files."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def _check_group_option(group: str, value: object, command: str) -> None:
    """Exit 2 with one line when `group=value` names no option of the group (model=vea)."""
    # Hydra 1.3 fails on `group=null` with a traceback: it is no option here either.
    value = "null" if value is None else value
    options = group_options(group.replace(".", "/"))
    if str(value) in options:
        return
    guesses = difflib.get_close_matches(str(value), options, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(f'{group}={g}' for g in guesses)}? " if guesses else ""
    if value == "null" and group in ("experiment", "debug"):
        hint = f"leave {group}=... out for none; "
    print(
        f"error: {group}={value} is not an option of {group}: {hint}"
        f"the options are {', '.join(options)} ({command} --help lists every group)",
        file=sys.stderr,
    )
    sys.exit(2)


def check_command_line(config_name: str, argv: list[str]) -> None:
    """Exit 2 with one line when a plain override names a key the config does not have."""
    args = overrides_of(argv)
    if not args:
        return
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        overrides = OverridesParser.create().parse_overrides(args)
    except Exception:  # a syntax error: Hydra's own message says where
        return
    groups, values = [], []
    for override, text in zip(overrides, args, strict=True):
        key = override.key_or_group
        if override.is_add() or override.is_delete() or override.is_force_add():
            continue
        if key.startswith("hydra") or override.package:
            continue
        if (config_dir() / key.replace(".", "/")).is_dir():  # a group choice such as model=vae
            if override.is_sweep_override():
                return  # a sweep over groups: each job is checked by Hydra itself
            _check_group_option(key, override.value(), f"genzoo-{config_name}")
            groups.append(text)
        else:
            values.append(key)
    if not values:
        return
    try:
        cfg = compose_config(config_name, groups)
    except Exception:  # a bad group choice: Hydra's message lists the options
        return
    OmegaConf.set_struct(cfg, False)
    for key in values:
        if not _has_key(cfg, key):
            message = unknown_key_message(cfg, key, f"genzoo-{config_name}")
            print(f"error: {message}", file=sys.stderr)
            sys.exit(2)


def check_run_location(argv: list[str]) -> None:
    """Exit 2 with one line when run_name= or run_group= on the command line is not one folder
    name: Hydra makes the run directory before genzoo sees the config, so `run_name=../../x`
    is refused here, before anything exists outside the runs root."""
    from genzoo.config.values import path_component

    for arg in overrides_of(argv) or []:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep or key not in ("run_name", "run_group"):
            continue
        for part in value.split(","):  # a sweep over names: each must be one
            if (problem := path_component(part.strip())) is not None:
                print(f"error: {key}={part.strip()} {problem}", file=sys.stderr)
                sys.exit(2)
