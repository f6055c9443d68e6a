"""The one error of the demo: the database or the default process do not fit the demo."""

from __future__ import annotations

from serviceloop.core.exceptions import ApplicationError

__all__ = ["DemoError"]


class DemoError(ApplicationError):
    """The database holds something that stops the demo from loading, or the default process
    lacks a stage or edge the demo's story needs: a coded problem (core/messages.py), English in
    ``str(exc)`` for the command line and logs."""
