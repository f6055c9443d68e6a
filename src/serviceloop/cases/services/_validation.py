"""Checks shared by opening and editing a case: title, description, choices, custom attributes,
category. Each appends its messages to ``errors`` (field -> messages) so that every problem of a
request is reported at once."""

from __future__ import annotations

import json
from typing import Any

from serviceloop.cases import queries
from serviceloop.cases.choices import Channel, Priority
from serviceloop.cases.exceptions import (
    MSG_ATTRIBUTE_NAME,
    MSG_ATTRIBUTE_VALUE,
    MSG_ATTRIBUTES_NOT_OBJECT,
    MSG_BAD_CHOICE,
    MSG_DESCRIPTION_REQUIRED,
    MSG_TITLE_REQUIRED,
    MSG_TITLE_TOO_LONG,
)
from serviceloop.cases.models import Case, Category

__all__ = [
    "TITLE_MAX",
    "choice_error",
    "clean_attributes",
    "clean_description",
    "clean_title",
    "resolve_category",
]

TITLE_MAX = Case._meta.get_field("title").max_length or 200


def choice_error(value: object, choices: type[Priority] | type[Channel]) -> str:
    return MSG_BAD_CHOICE.format(value=value, choices=", ".join(choices.values))


def clean_title(title: object, errors: dict[str, list[str]]) -> str:
    text = title.strip() if isinstance(title, str) else ""
    if not text:
        errors.setdefault("title", []).append(MSG_TITLE_REQUIRED)
    elif len(text) > TITLE_MAX:
        errors.setdefault("title", []).append(MSG_TITLE_TOO_LONG.format(max=TITLE_MAX))
    return text


def clean_description(description: object, errors: dict[str, list[str]]) -> str:
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        errors.setdefault("description", []).append(MSG_DESCRIPTION_REQUIRED)
    return text


def clean_attributes(attributes: object, errors: dict[str, list[str]]) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        errors.setdefault("attributes", []).append(MSG_ATTRIBUTES_NOT_OBJECT)
        return {}
    for key in attributes:
        if not isinstance(key, str) or not key.strip() or len(key) > 50:
            errors.setdefault("attributes", []).append(MSG_ATTRIBUTE_NAME)
            break
    try:
        json.dumps(attributes, allow_nan=False)
    except (TypeError, ValueError):
        errors.setdefault("attributes", []).append(MSG_ATTRIBUTE_VALUE)
    return dict(attributes)


def resolve_category(value: object, errors: dict[str, list[str]]) -> Category | None:
    """A Category, its code or its id, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, Category):
        return value
    found: Category | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        found = queries.category_by_id(value)
    elif isinstance(value, str):
        found = queries.category_by_code(value)
    if found is None:
        errors.setdefault("category", []).append(f"Unknown category {value!r}.")
    return found
