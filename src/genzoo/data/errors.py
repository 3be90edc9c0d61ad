"""The one error type for bad dataset input: it names the path and what to do."""

from genzoo.errors import GenzooError


class DatasetError(GenzooError, RuntimeError):
    """A dataset file is missing, corrupt or empty. The message says which and what to do."""
