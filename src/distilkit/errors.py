"""User-facing errors: one line that says what is wrong and how to fix it (CLI exit code 2)."""

from __future__ import annotations


class DistilkitError(Exception):
    """A problem with the user's input or environment, reported as one line without a traceback."""

    exit_code = 2


def require(condition: bool, message: str) -> None:
    """Raise :class:`DistilkitError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise DistilkitError(message)
