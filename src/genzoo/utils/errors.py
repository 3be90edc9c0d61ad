"""User errors end the CLIs with their message and exit code 2, not a deep traceback."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from genzoo.callbacks.nan_guard import NonFiniteLossError
from genzoo.data.errors import DatasetError
from genzoo.models.base import CapabilityError
from genzoo.utils.checkpoint import CheckpointError
from genzoo.utils.validate import ConfigError

USER_ERRORS = (ConfigError, CheckpointError, DatasetError, CapabilityError, NonFiniteLossError,
               FileNotFoundError)

log = logging.getLogger("genzoo")


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as err:
        log.error("%s: %s", type(err).__name__, err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
