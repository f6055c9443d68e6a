"""Written-out SQL for the hot path, still typed by the models.

The ORM builds, compiles and unpacks every query anew: 0.2-0.8 ms of Python per statement, which
was most of the cost of opening a case through the API (about 14 statements; see
``benchmarks/api_load.py``). The few statements on that path are written out in SQL instead, and
these helpers keep them tied to the models: column names come from ``_meta``, values go in through
the fields' own ``get_db_prep_save`` and come back through the same converters the ORM applies, so
a row read or written here is the row the ORM would read or write, on SQLite and PostgreSQL alike.
Everything else keeps using the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Field, Model

__all__ = ["columns", "fetch", "get", "insert", "load", "update", "width"]

M = TypeVar("M", bound=Model)
_Converter = Callable[[Any, Any, Any], Any]


def fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of one statement (``%s`` placeholders on every database)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


def columns(model: type[Model], alias: str) -> str:
    """The model's columns, in ``load`` order, for a SELECT list: ``alias."col", ...``."""
    return ", ".join(f"{alias}.{_quoted(f)}" for f in model._meta.concrete_fields)


def _quoted(field: Field[Any, Any]) -> str:
    """A concrete field's column name, quoted."""
    return connection.ops.quote_name(cast(str, field.column))


def width(model: type[Model]) -> int:
    """How many values ``columns`` selects, to find where the next model starts in a row."""
    return len(model._meta.concrete_fields)


@cache
def _readers(model: type[Model], vendor: str) -> tuple[tuple[Any, tuple[_Converter, ...]], ...]:
    """Per column: its expression and the converters the ORM runs on its raw value (the
    backend's, then the field's). Converters take the connection as an argument, so one list per
    database vendor serves every thread's connection."""
    readers = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        converters = [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)]
        readers.append((col, tuple(converters)))
    return tuple(readers)


def _convert(reader: tuple[Any, tuple[_Converter, ...]], value: Any) -> Any:
    col, converters = reader
    for convert in converters:
        value = convert(value, col, connection)
    return value


def load(model: type[M], row: Sequence[Any], start: int = 0) -> M | None:
    """The instance held in ``row[start:start + width(model)]``; None when its key is NULL
    (the empty side of a LEFT JOIN)."""
    fields = model._meta.concrete_fields
    raw = row[start : start + len(fields)]
    if raw[fields.index(model._meta.pk)] is None:
        return None
    readers = _readers(model, connection.vendor)
    values = [
        _convert(reader, value) if value is not None else None
        for reader, value in zip(readers, raw, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def get(model: type[M], pk: object) -> M | None:
    """The instance with this primary key, or None (``filter(pk=...).first()``)."""
    found = fetch(_get_sql(model), [pk])
    return load(model, found[0]) if found else None


@cache
def _get_sql(model: type[Model]) -> str:
    table, pk = connection.ops.quote_name(model._meta.db_table), _quoted(model._meta.pk)
    return f"SELECT {columns(model, 'm')} FROM {table} m WHERE m.{pk} = %s"  # noqa: S608


def insert(objs: Sequence[Model]) -> None:
    """INSERT ``objs`` (one model, unsaved) in one statement, like ``Model.save``/``bulk_create``.

    Fields are prepared by the fields themselves (``auto_now_add``, JSON, time zones). For a
    single object the database's values (auto key, generated columns) are read back with
    RETURNING; for several, keys are not read back. No model signals are sent.
    """
    model = type(objs[0])
    meta = model._meta
    generated = meta.db_returning_fields  # the auto key and generated columns
    fields = [f for f in meta.local_concrete_fields if f not in generated]
    returning = generated if len(objs) == 1 else []
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} "  # noqa: S608
        f"({', '.join(_quoted(f) for f in fields)}) VALUES {', '.join([row] * len(objs))}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(_quoted(f) for f in returning)
    params = [
        f.get_db_prep_save(f.pre_save(obj, add=True), connection=connection)
        for obj in objs
        for f in fields
    ]
    rows = fetch(sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    if returning:
        readers = _readers(model, connection.vendor)
        for field, value in zip(returning, rows[0], strict=True):
            reader = readers[meta.concrete_fields.index(field)]
            setattr(objs[0], field.attname, _convert(reader, value))


def update(obj: Model, attnames: Sequence[str]) -> None:
    """UPDATE these fields of a saved ``obj`` by its key, like ``save(update_fields=...)``."""
    meta = obj._meta
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in attnames]
    assignments = ", ".join(f"{_quoted(f)} = %s" for f in fields)
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection=connection) for f in fields]
    fetch(
        f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {_quoted(meta.pk)} = %s",
        [*params, obj.pk],
    )
