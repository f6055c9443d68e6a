"""Keyset (cursor) pagination: pages stay as fast on page 10,000 as on page 1.

An ordering such as ``("-created_at", "-id")`` must end in a unique field. The cursor is the last
row's values of those fields, base64url-encoded JSON; it is opaque to clients but not secret (it only
says where a page ended, and the queryset it is applied to already limits what the user may see).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any, Generic, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from serviceloop.core.exceptions import InvalidInputError, Problem

__all__ = [
    "MAX_LIMIT",
    "KeysetPage",
    "decode_cursor",
    "encode_cursor",
    "keyset_after",
    "keyset_page",
]

MAX_LIMIT = 200

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _field_name(order_field: str) -> str:
    return order_field.removeprefix("-")


def _concrete_field(model: type[models.Model], order_field: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(_field_name(order_field))
    if not isinstance(field, models.Field):
        raise TypeError(f"{order_field!r} is not a concrete field of {model.__name__}")
    return field


def keyset_after(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after ``values`` in ``order``.

    Written as ``first >= v0 AND (first > v0 OR (first = v0 AND second > v1) OR ...)``: the leading
    range predicate lets PostgreSQL and SQLite start an index scan at the cursor instead of filtering
    every earlier row.
    """
    clauses = []
    for position, order_field in enumerate(order):
        name = _field_name(order_field)
        op = "lt" if order_field.startswith("-") else "gt"
        equal = {_field_name(order[i]): values[i] for i in range(position)}
        clauses.append(Q(**equal, **{f"{name}__{op}": values[position]}))
    first = order[0]
    lead = Q(**{f"{_field_name(first)}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    return lead & reduce(or_, clauses)


def _dump(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_dump(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, model: type[models.Model], order: Sequence[str]) -> list[Any]:
    """The field values in ``cursor``, converted to the fields' Python types; 422 if malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(order):
            raise ValueError("wrong length")
        converted: list[Any] = []
        for order_field, value in zip(order, values, strict=True):
            field = _concrete_field(model, order_field)
            if isinstance(field, models.DateTimeField):
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError("naive datetime")
                converted.append(parsed)
            elif isinstance(field, models.IntegerField | models.AutoField):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError("not an integer")
                converted.append(value)
            else:
                converted.append(field.to_python(value))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInputError.for_field("cursor", Problem("cursor_invalid")) from exc
    return converted


def keyset_page(
    queryset: QuerySet[M], *, order: Sequence[str], limit: int, cursor: str | None
) -> KeysetPage[M]:
    """One page of ``queryset`` in ``order`` after ``cursor``: a single query of ``limit + 1`` rows."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError.for_field("limit", Problem("limit_range", {"max": MAX_LIMIT}))
    queryset = queryset.order_by(*order)
    if cursor:
        queryset = queryset.filter(
            keyset_after(order, decode_cursor(cursor, queryset.model, order))
        )
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return KeysetPage(items=rows, next_cursor=None)
    items = rows[:limit]
    last = items[-1]
    model = queryset.model
    next_cursor = encode_cursor([getattr(last, _concrete_field(model, f).attname) for f in order])
    return KeysetPage(items=items, next_cursor=next_cursor)
