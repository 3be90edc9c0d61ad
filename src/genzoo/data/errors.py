"""The one error type for bad dataset input: it names the path and what to do."""


class DatasetError(RuntimeError):
    """A dataset file is missing, corrupt or empty. The message says which and what to do."""
