"""The base of every error a user can fix: the CLIs print its message and exit with code 2.

Kept free of heavy imports so `genzoo-train --help` starts fast.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

log = logging.getLogger("genzoo")


class GenzooError(Exception):
    """A bad input (config, checkpoint, dataset, request) whose message says what to do."""


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turn GenzooError (and missing files) into a one-line message and exit code 2."""
    try:
        yield
    except (GenzooError, FileNotFoundError) as err:
        log.error("%s: %s", type(err).__name__, err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
