"""Tables the database itself keeps append-only: triggers refuse every UPDATE and DELETE.

``Model.save()`` and a manager can only stop the ORM; the triggers also stop ``QuerySet.update()``,
``bulk_update``, raw SQL and other programs sharing the database. Both databases answer the refused
statement with an integrity error (SQLite ``RAISE(ABORT)``, PostgreSQL SQLSTATE 23000), which
Django raises as ``django.db.IntegrityError`` and which rolls the statement back.

Not covered, on purpose: ``TRUNCATE`` on PostgreSQL (what ``manage.py flush`` runs to empty the whole
database) and dropping the triggers, which needs the table owner's rights. The one sanctioned way
to change stored rows, e.g. a data-protection erasure, is ``lifted()``: it drops the triggers
inside the caller's transaction and restores them before that transaction can commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["MSG_APPEND_ONLY", "create_sql", "drop_sql", "install", "lifted", "uninstall"]

MSG_APPEND_ONLY = "is append-only: rows are never updated or deleted"
_PG_FUNCTION = "serviceloop_refuse_change"


def _trigger(table: str, operation: str) -> str:
    return f"{table}_no_{operation.lower()}"


def create_sql(vendor: str, table: str) -> list[str]:
    """Statements that make ``table`` append-only on ``vendor`` (``sqlite`` or ``postgresql``)."""
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{_trigger(table, op)}" BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{table} {MSG_APPEND_ONLY} ({op} refused)'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if vendor == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '% {MSG_APPEND_ONLY} (% refused)', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = '23000'; END $$",
            *(
                f'CREATE OR REPLACE TRIGGER "{_trigger(table, op)}" BEFORE {op} ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()"
                for op in ("UPDATE", "DELETE")
            ),
        ]
    raise NotImplementedError(
        f"append-only triggers are written for SQLite and PostgreSQL, not {vendor}"
    )


def drop_sql(vendor: str, table: str) -> list[str]:
    """Statements that lift what ``create_sql`` made (the PostgreSQL function stays, shared)."""
    if vendor == "sqlite":
        return [f'DROP TRIGGER IF EXISTS "{_trigger(table, op)}"' for op in ("UPDATE", "DELETE")]
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS "{_trigger(table, op)}" ON "{table}"'
            for op in ("UPDATE", "DELETE")
        ]
    raise NotImplementedError(
        f"append-only triggers are written for SQLite and PostgreSQL, not {vendor}"
    )


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper, table: str) -> None:
    _run(connection, create_sql(connection.vendor, table))


def uninstall(connection: BaseDatabaseWrapper, table: str) -> None:
    _run(connection, drop_sql(connection.vendor, table))


@contextmanager
def lifted(table: str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Let the block change rows of ``table``, inside a transaction that restores the triggers.

    Meant for audited data-protection paths only. The drop, the block's changes and the
    re-creation commit together or not at all: an error in the block rolls the drop back too.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("lifted() runs inside a transaction (transaction.atomic).")
    with transaction.atomic(using=using):
        uninstall(connection, table)
        yield
        install(connection, table)
