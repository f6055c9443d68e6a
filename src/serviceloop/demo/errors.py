"""The one error of the demo: the database or the default process do not fit the demo."""

from __future__ import annotations

__all__ = ["DemoError"]


class DemoError(RuntimeError):
    """The database holds something that stops the demo from loading, or the default process
    lacks a stage or edge the demo's story needs."""
