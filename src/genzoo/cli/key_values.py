"""The `key=value` options of the commands that do not go through Hydra (genzoo-compare,
genzoo-report, genzoo-demo): parsed in one place, each mistake one ConfigError naming it."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from genzoo.errors import ConfigError


def arguments_unless_help(argv: list[str] | None, usage: str) -> list[str] | None:
    """The command's arguments (`argv`, else the process's), or None after printing `usage`
    when they ask for help (-h, --help)."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(usage)
        return None
    return args


def key_value_options(
    args: Sequence[str], command: str, allowed: Sequence[str], bare_hint: str | None = None
) -> dict[str, str]:
    """`key=value` arguments -> {key: value}. An unknown key is refused, naming the allowed
    ones; a bare word is refused with `bare_hint`, or left to the caller when that is None."""
    if bare_hint is not None and (bare := [a for a in args if "=" not in a]):
        raise ConfigError(f"{bare[0]}: {bare_hint}")
    options = dict(a.split("=", 1) for a in args if "=" in a)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        keys = [f"{key}=" for key in allowed]
        listed = keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} or {keys[-1]}"
        raise ConfigError(f"{unknown[0]}= is not an option of {command}: use {listed}")
    return options
