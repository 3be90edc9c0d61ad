"""The one factory of genzoo's Hydra commands: check the command line, then run the work.

Each `cli/<name>.py` is `main = hydra_command("<name>", "genzoo.tasks.<x>:<function>")`. The
work's module is imported only once Hydra has composed a config, so `--help` and mistakes on
the command line answer without loading torch.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import hydra
from omegaconf import DictConfig

from genzoo.config.command_line import check_command_line
from genzoo.config.compose import require_values
from genzoo.errors import exit_on_user_error
from genzoo.utils.paths import config_dir

ArgvCheck = Callable[[list[str]], None]


def _work(target: str) -> Callable[[DictConfig], Any]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def hydra_command(
    config_name: str,
    work: str,
    *,
    rewrite_argv: Callable[[list[str]], list[str]] | None = None,
    argv_checks: Sequence[ArgvCheck] = (),
    checked_values: bool = True,
) -> Callable[[], None]:
    """genzoo-<config_name>'s `main`: argv rewritten and checked (unknown keys, then each of
    `argv_checks`), then Hydra composes configs/<config_name>.yaml and `work` ("module:function")
    runs on it, a user's mistake ending in one line (exit 2). `checked_values=False` leaves the
    mandatory values (???) to the work itself."""

    def run(cfg: DictConfig) -> Any:
        with exit_on_user_error():
            if checked_values:
                require_values(cfg)
            return _work(work)(cfg)

    # Hydra names the job (its log, `hydra.job.name`) after the task function's module.
    run.__module__ = f"genzoo.cli.{config_name}"
    run.__qualname__ = run.__name__ = f"{config_name}_command"
    hydra_main = hydra.main(
        version_base="1.3", config_path=str(config_dir()), config_name=config_name
    )(run)

    def main() -> None:
        if rewrite_argv is not None:
            sys.argv[1:] = rewrite_argv(sys.argv[1:])
        argv = sys.argv[1:]
        check_command_line(config_name, argv)
        for check in argv_checks:
            check(argv)
        hydra_main()

    main.__doc__ = (
        f"genzoo-{config_name}: checks the command line's keys, then hands over to Hydra."
    )
    return main
