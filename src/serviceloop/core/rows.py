"""Written-out SQL for the hot paths, still typed by the models.

The ORM builds, compiles and unpacks every query anew: 0.2-0.8 ms of Python per statement, which
was most of the cost of opening a case through the API (19 statements; see
``benchmarks/api_load.py``). The statements every request runs (API token) and every creation,
case read and case change runs (start stage, routing, the case row, its events, idempotency
records) are written out in SQL instead, and these helpers keep them tied to the models: column
names come from ``_meta``, values go in through the fields' own ``get_db_prep_save`` and come back
through the same converters the ORM applies, so a row read or written here is the row the ORM
would read or write, on SQLite and PostgreSQL alike. Lists, searches, exports and the rest keep
using the ORM; write SQL here only for a statement a profile shows on a hot path.

Statements are built once per model and cached; SQL identifiers in them come from the models'
metadata only and values are always parameters (``%s`` on every database)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

__all__ = ["columns", "execute", "fetch", "get", "insert", "load", "load_all", "update", "width"]

M = TypeVar("M", bound=Model)
_Converter = Callable[[Any, Any, Any], Any]


def _db() -> BaseDatabaseWrapper:
    """This thread's connection, looked up once per call (``django.db.connection`` is a proxy
    that repeats the thread-local look-up on every attribute)."""
    return connections[DEFAULT_DB_ALIAS]


def fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of a statement that returns rows (SELECT, ... RETURNING)."""
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a statement that returns no rows; how many rows it changed."""
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cast(int, cursor.rowcount)


def _quoted(field: Field[Any, Any]) -> str:
    return _db().ops.quote_name(cast(str, field.column))


@cache
def columns(model: type[Model], alias: str) -> str:
    """The model's columns, in ``load`` order, for a SELECT list: ``alias."col", ...``."""
    return ", ".join(f"{alias}.{_quoted(f)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values ``columns`` selects, to find where the next model starts in a row."""
    return len(model._meta.concrete_fields)


@cache
def _readers(model: type[Model], vendor: str) -> tuple[tuple[Any, tuple[_Converter, ...]], ...]:
    """Per column: its expression and the converters the ORM runs on its raw value (the
    backend's, then the field's). Converters take the connection as an argument, so one list per
    database vendor serves every thread's connection."""
    db = _db()
    readers = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        converters = [*db.ops.get_db_converters(col), *field.get_db_converters(db)]
        readers.append((col, tuple(converters)))
    return tuple(readers)


@cache
def _attnames(model: type[Model]) -> tuple[list[str], int]:
    """The attribute names ``from_db`` takes, and where the primary key sits among them."""
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], fields.index(model._meta.pk)


def _convert(
    db: BaseDatabaseWrapper, reader: tuple[Any, tuple[_Converter, ...]], value: Any
) -> Any:
    col, converters = reader
    for convert in converters:
        value = convert(value, col, db)
    return value


def load(model: type[M], row: Sequence[Any], start: int = 0) -> M | None:
    """The instance held in ``row[start:start + width(model)]``; None when its key is NULL
    (the empty side of a LEFT JOIN)."""
    names, pk_at = _attnames(model)
    raw = row[start : start + len(names)]
    if raw[pk_at] is None:
        return None
    db = _db()
    readers = _readers(model, db.vendor)
    values = [
        value if value is None or not reader[1] else _convert(db, reader, value)
        for reader, value in zip(readers, raw, strict=True)
    ]
    return model.from_db(db.alias, names, values)


def load_all(row: Sequence[Any], models: Sequence[type[Model]]) -> list[Any]:
    """The instances of ``models`` selected one after the other (``columns`` of each) in ``row``;
    None for an empty LEFT JOIN side."""
    found, at = [], 0
    for model in models:
        found.append(load(model, row, at))
        at += width(model)
    return found


def get(model: type[M], pk: object, *, for_update: bool = False) -> M | None:
    """The instance with this primary key, or None (``filter(pk=...).first()``); ``for_update``
    locks its row until the transaction ends (``select_for_update``)."""
    found = fetch(_get_sql(model, for_update), [pk])
    return load(model, found[0]) if found else None


@cache
def _get_sql(model: type[Model], for_update: bool) -> str:
    table, pk = _db().ops.quote_name(model._meta.db_table), _quoted(model._meta.pk)
    lock = " FOR UPDATE" if for_update else ""
    return f"SELECT {columns(model, 'm')} FROM {table} m WHERE m.{pk} = %s{lock}"  # noqa: S608


@cache
def _insert_plan(model: type[Model], rows: int) -> tuple[str, list[Field[Any, Any]], list[Any]]:
    """The INSERT for ``rows`` objects, the fields it writes and those it reads back."""
    meta = model._meta
    generated = list(meta.db_returning_fields)  # the auto key and generated columns
    fields = [f for f in meta.local_concrete_fields if f not in generated]
    returning = generated if rows == 1 else []
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {_db().ops.quote_name(meta.db_table)} "  # noqa: S608
        f"({', '.join(_quoted(f) for f in fields)}) VALUES {', '.join([row] * rows)}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(_quoted(f) for f in returning)
    return sql, fields, returning


def insert(objs: Sequence[Model]) -> None:
    """INSERT ``objs`` (one model, unsaved) in one statement, like ``Model.save``/``bulk_create``.

    Fields are prepared by the fields themselves (``auto_now_add``, JSON, time zones). For a
    single object the database's values (auto key, generated columns) are read back with
    RETURNING; for several, keys are not read back. No model signals are sent.
    """
    model = type(objs[0])
    sql, fields, returning = _insert_plan(model, len(objs))
    db = _db()
    params = [
        f.get_db_prep_save(f.pre_save(obj, add=True), connection=db) for obj in objs for f in fields
    ]
    if returning:
        (row,) = fetch(sql, params)
        readers = _readers(model, db.vendor)
        concrete = model._meta.concrete_fields
        for field, value in zip(returning, row, strict=True):
            setattr(objs[0], field.attname, _convert(db, readers[concrete.index(field)], value))
    else:
        execute(sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias


@cache
def _update_sql(model: type[Model], attnames: tuple[str, ...]) -> tuple[str, list[Any]]:
    meta = model._meta
    fields = [meta.get_field(name) for name in attnames]
    assignments = ", ".join(f"{_quoted(cast('Field[Any, Any]', f))} = %s" for f in fields)
    table = _db().ops.quote_name(meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {_quoted(meta.pk)} = %s"  # noqa: S608
    return sql, fields


def update(obj: Model, attnames: Sequence[str]) -> None:
    """UPDATE these fields of a saved ``obj`` by its key, like ``save(update_fields=...)``."""
    sql, fields = _update_sql(type(obj), tuple(attnames))
    db = _db()
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection=db) for f in fields]
    execute(sql, [*params, obj.pk])
