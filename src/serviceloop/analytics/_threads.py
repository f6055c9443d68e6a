"""Two pieces of work at once: Polars releases the GIL while it computes, so a thread keeps the
second core busy where one query alone would leave it idle (eager steps, sorts, writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["beside"]

T_ = TypeVar("T_")


def beside(work: Callable[[], T_], *, thread: bool = True) -> Callable[[], T_]:
    """Start ``work`` in a thread (or, with ``thread=False``, run it now); the returned function
    waits for its result and raises what it raised.

    Examples
    --------
    >>> wait = beside(lambda: 6 * 7)
    >>> wait()
    42
    """
    if not thread:
        value = work()
        return lambda: value
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller by wait()
            box["error"] = exc

    worker = threading.Thread(target=run, name="serviceloop-analytics", daemon=True)
    worker.start()

    def wait() -> T_:
        worker.join()
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    return wait
