"""The errors hippocam raises for its users, in one place.

Each message is one line that names the problem and the fix; the ``hippocam`` command prints it and exits
with status 2 (bad input, environment or output path), never with a traceback.
"""


class HippocamError(Exception):
    """Base of every error hippocam raises on purpose."""


class InputError(HippocamError, ValueError):
    """Bad user input (a file, a size, an option, an output path): the message names the problem and the fix."""


class BackendError(HippocamError, RuntimeError):
    """A backend is unknown, not installed, or cannot run what was asked; the message says how to fix it."""
