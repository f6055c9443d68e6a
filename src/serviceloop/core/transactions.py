"""Long replays inside one transaction, without a subtransaction per service call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

__all__ = ["without_savepoints"]


@contextmanager
def without_savepoints(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Nested ``atomic`` blocks make no savepoint while this is active.

    Every service opens an ``atomic`` block; inside an enclosing transaction (a day of the demo's
    replay, or a test's) each becomes a savepoint, which PostgreSQL keeps as a subtransaction.
    Past 64 of them in one transaction, every check of a row the transaction wrote goes through
    PostgreSQL's subtransaction log: the demo's replay ran about four times slower for it. Use
    this only around code that catches no database error inside a nested block: such an error
    now spoils the enclosing transaction (Django refuses every later query in it) instead of
    rolling back to a savepoint, so a misuse fails loudly and writes nothing. (Django's SQLite
    backend makes its savepoints regardless; they cost SQLite nothing like this.)
    """
    features = connections[using].features
    kept = features.uses_savepoints
    features.uses_savepoints = False
    try:
        yield
    finally:
        features.uses_savepoints = kept
