"""The base of every error a user can fix: the CLIs print its message and exit with code 2.

Kept free of heavy imports so `genzoo-train --help` starts fast.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from omegaconf.errors import MissingMandatoryValue


class GenzooError(Exception):
    """A bad input (config, checkpoint, dataset, request) whose message says what to do."""

    exit_code: int = 2


class ConfigError(GenzooError, ValueError):
    """A config value has the wrong type, meaning or choice; the message names the key."""


class RunInterrupted(GenzooError):
    """Training stopped by a signal after saving last.ckpt; exits 128 + the signal number."""

    def __init__(self, message: str, signal_name: str) -> None:
        super().__init__(message)
        self.exit_code = 130 if signal_name == "SIGINT" else 143


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turn GenzooError, missing files and unset mandatory keys into one message and an exit code.

    The message is printed once, to stderr (not also through logging, which would repeat it).
    """
    try:
        yield
    except (GenzooError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", 2))
    except MissingMandatoryValue as err:
        key = err.full_key or str(err)
        print(f"error: {key} has no value: set {key}=... on the command line", file=sys.stderr)
        sys.exit(2)
