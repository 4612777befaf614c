"""Our own error types, so callers (CLI, API) can turn each into a specific message or status."""


class GirError(Exception):
    """Base of every error GIR Bench raises on purpose; its message is meant for a person."""


class TaskSyntaxError(GirError, ValueError):
    """Task text that cannot be parsed; the message names the bad token and what would be valid."""


class ParameterError(GirError, ValueError):
    """A parameter outside its domain or of the wrong type; the message gives actual vs expected."""


class ImageError(GirError, ValueError):
    """An image that cannot be used: unreadable, greyscale, wrong shape, dtype or value range."""
