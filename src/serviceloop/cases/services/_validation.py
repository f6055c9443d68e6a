"""Checks shared by opening and editing a case: title, description, choices, custom attributes,
category. Each appends its messages to ``errors`` (field -> messages) so that every problem of a
request is reported at once."""

from __future__ import annotations

import json
from typing import Any

from serviceloop.cases import queries
from serviceloop.cases.choices import Channel, Priority
from serviceloop.cases.exceptions import (
    ATTRIBUTE_NAME,
    ATTRIBUTE_VALUE,
    ATTRIBUTES_NOT_OBJECT,
    BAD_CHOICE,
    CATEGORY_UNKNOWN,
    DESCRIPTION_REQUIRED,
    TITLE_REQUIRED,
    TITLE_TOO_LONG,
    Problem,
)
from serviceloop.cases.models import Case, Category

__all__ = [
    "TITLE_MAX",
    "Errors",
    "choice_error",
    "clean_attributes",
    "clean_description",
    "clean_title",
    "resolve_category",
]

TITLE_MAX = Case._meta.get_field("title").max_length or 200


# Field -> its problems: every check adds to it, so that a request hears of all its mistakes at once.
Errors = dict[str, list[Problem]]


def choice_error(value: object, choices: type[Priority] | type[Channel]) -> Problem:
    return Problem(BAD_CHOICE, {"value": value, "choices": ", ".join(choices.values)})


def clean_title(title: object, errors: Errors) -> str:
    text = title.strip() if isinstance(title, str) else ""
    if not text:
        errors.setdefault("title", []).append(Problem(TITLE_REQUIRED))
    elif len(text) > TITLE_MAX:
        errors.setdefault("title", []).append(Problem(TITLE_TOO_LONG, {"max": TITLE_MAX}))
    return text


def clean_description(description: object, errors: Errors) -> str:
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        errors.setdefault("description", []).append(Problem(DESCRIPTION_REQUIRED))
    return text


def clean_attributes(attributes: object, errors: Errors) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        errors.setdefault("attributes", []).append(Problem(ATTRIBUTES_NOT_OBJECT))
        return {}
    for key in attributes:
        if not isinstance(key, str) or not key.strip() or len(key) > 50:
            errors.setdefault("attributes", []).append(Problem(ATTRIBUTE_NAME))
            break
    try:
        json.dumps(attributes, allow_nan=False)
    except (TypeError, ValueError):
        errors.setdefault("attributes", []).append(Problem(ATTRIBUTE_VALUE))
    return dict(attributes)


def resolve_category(value: object, errors: Errors) -> Category | None:
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
        errors.setdefault("category", []).append(Problem(CATEGORY_UNKNOWN, {"value": value}))
    return found
