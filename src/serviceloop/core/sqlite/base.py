"""Django's SQLite backend, plus owner-only files and a flush that can empty append-only tables.

- The database file and its WAL/SHM companions are made readable by their owner (and group) only
  (0640) when a connection opens them: they hold every case, message and password hash, and
  SQLite creates them with the process umask (often world-readable 0644).
- ``flush`` (``manage.py flush``, and the test runner between transactional tests) empties every
  table with DELETE on SQLite, which the append-only triggers (``core.append_only``) refuse. Like
  PostgreSQL's TRUNCATE, a flush is a deliberate wipe of the whole database, so the triggers are
  dropped for its DELETEs and created again in the same transaction.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base, operations

from serviceloop.core import append_only

__all__ = ["DatabaseWrapper"]

FILE_MODE = 0o640


def _restrict(path: str) -> None:
    for candidate in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        try:
            current = stat.S_IMODE(os.stat(candidate).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if current & ~FILE_MODE:
            os.chmod(candidate, current & FILE_MODE)


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False
    ) -> list[str]:
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        guarded = [table for table in _append_only_tables() if table in set(tables)]
        if not statements or not guarded:
            return list(statements)
        lift = [sql for table in guarded for sql in append_only.drop_sql("sqlite", table)]
        restore = [sql for table in guarded for sql in append_only.create_sql("sqlite", table)]
        return [*lift, *statements, *restore]


def _append_only_tables() -> list[str]:
    from django.apps import apps

    return [
        model._meta.db_table for model in apps.get_models() if getattr(model, "APPEND_ONLY", False)
    ]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        name = str(conn_params.get("database", ""))
        if name and name != ":memory:" and not name.startswith("file:"):
            _restrict(str(Path(name)))
        return connection
