"""The command-line options of genzoo-sample, -eval, -translate and -upscale, checked by type and
value before a checkpoint is loaded or a file written: `n=abc` or `batch_size=0` is one line
naming the key, not a traceback from deep inside.

Each CLI declares its options as key -> rule; a rule returns what is wrong, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from genzoo.errors import ConfigError

Rule = Callable[[Any], str | None]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(low: int | None = None) -> Rule:
    def rule(value: Any) -> str | None:
        if is_int(value) and (low is None or value >= low):
            return None
        return "must be a whole number" + (f" >= {low}" if low is not None else "")

    return rule


def number(low: float | None = None, high: float | None = None, above: bool = False) -> Rule:
    """A number in [low, high] (or (low, high] with above=True)."""

    def rule(value: Any) -> str | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and low is not None:
            ok = value > low if above else value >= low
        if ok and high is not None:
            ok = value <= high
        if ok:
            return None
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if above else '>='} {low:g}")
        if high is not None:
            bounds.append(f"<= {high:g}")
        return "must be a number" + (f" {' and '.join(bounds)}" if bounds else "")

    return rule


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a name or path"


def choice(*options: str) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value in options else f"must be one of {', '.join(options)}"

    return rule


def optional(inner: Rule) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value is None else inner(value)

    return rule


def int_list(length: int | None = None, low: int | None = None) -> Rule:
    """A list of whole numbers, e.g. seeds=[1,2,3] or style_mix_layers=[2,6]."""

    def rule(value: Any) -> str | None:
        shape = f"a list of {length} whole numbers" if length else "a list of whole numbers"
        if not isinstance(value, (list, tuple, ListConfig)) or not value:
            return f"must be {shape}, e.g. [1,2]"
        if length is not None and len(value) != length:
            return f"must be {shape}"
        if not all(is_int(v) and (low is None or v >= low) for v in value):
            return f"must be {shape}" + (f" >= {low}" if low is not None else "")
        return None

    return rule


def device_name(value: Any) -> str | None:
    ok = isinstance(value, str) and (
        value in ("auto", "cpu", "cuda", "mps") or value.startswith("cuda:")
    )
    return None if ok else "must be auto, cpu, cuda or cuda:<index>"


def check_options(cfg: DictConfig, rules: dict[str, Rule], command: str) -> None:
    """One ConfigError naming every option whose type or value is wrong."""
    values = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(values, dict)
    problems = []
    for key, rule in rules.items():
        if key in values and (problem := rule(values[key])) is not None:
            problems.append(f"{key}={_shown(values[key])} {problem}")
    if problems:
        raise ConfigError(
            "; ".join(problems) + f" (nothing was written; {command} --help lists the options)"
        )


def _shown(value: Any) -> str:
    return str(value).replace(" ", "") if isinstance(value, list) else str(value)


def check_output_folder(
    output: str, key: str, inputs: str | None = None, holds: str = "the images"
) -> Path:
    """A folder to write `holds` into: refused when it is a file, or when it is (or lies
    inside) the input folder, where a second run would take its own outputs for inputs."""
    path = Path(output).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}={output} is a file: name a folder to write {holds} into")
    if inputs is not None:
        source = Path(inputs).expanduser().resolve()
        target = path.resolve()
        if source.is_dir() and (target == source or source in target.parents):
            raise ConfigError(
                f"{key}={output} lies inside input={inputs}: the outputs would be read as "
                f"inputs by the next run; name a folder outside it"
            )
    return path


def check_output_file(output: str, key: str, overwrite: bool = False) -> Path:
    """A file to write: refused when a folder has that name, or when a file does and
    `overwrite` was not asked for (a user's file is never replaced by accident)."""
    path = Path(output).expanduser()
    if path.is_dir():
        raise ConfigError(
            f"{key}={output} is a folder: name the file to write, e.g. {path}/eval.json"
        )
    if path.exists() and not overwrite:
        raise ConfigError(
            f"{key}={output} already exists: name a new file, or add overwrite=true to replace it"
        )
    return path
