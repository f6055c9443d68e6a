"""Input limits an administrator can change, and the checks that apply them before any write.

The limits live in ``settings.INPUT_LIMITS``, each read from ``SERVICELOOP_LIMIT_<NAME>`` (see
``settings.py``); a refusal names the field, what was sent, the limit and the variable that
raises it. Checks walk structures iteratively, so a document nested 100,000 deep is measured and
refused instead of exhausting the interpreter's stack.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from serviceloop.core.environment import DEFAULT_LIMITS

__all__ = [
    "DEFAULT_LIMITS",
    "LimitExceeded",
    "json_problems",
    "limit",
    "text_problem",
]

# Deeper than this the JSON serialiser refuses on the way out, after the write: never allowed.
HARD_MAX_DEPTH = 64


class LimitExceeded(ValueError):
    """A value over a limit; ``str()`` is the message for the client."""


def limit(name: str) -> int:
    limits: dict[str, int] = getattr(settings, "INPUT_LIMITS", {})
    return int(limits.get(name, DEFAULT_LIMITS[name]))


def _hint(name: str) -> str:
    return f"SERVICELOOP_LIMIT_{name}"


def text_problem(value: str | None, *, name: str, what: str = "text") -> str | None:
    """A message if ``value`` is longer than the limit ``name``, else None."""
    if value is None:
        return None
    most = limit(name)
    if len(value) > most:
        return (
            f"The {what} has {len(value)} characters; at most {most} are allowed ({_hint(name)})."
        )
    return None


def json_problems(value: Any, *, prefix: str = "ATTRIBUTES") -> list[str]:
    """What in a JSON-like value breaks the ``<prefix>_*`` limits (empty when it fits).

    Depth counts containers: a flat object is 1 deep. Stops at the first level beyond the limit,
    so the walk never goes deeper than the limit however deep the value is.
    """
    max_depth = min(limit(f"{prefix}_DEPTH"), HARD_MAX_DEPTH)
    max_keys, max_items = limit(f"{prefix}_KEYS"), limit(f"{prefix}_ARRAY_ITEMS")
    max_key_chars = limit("ATTRIBUTE_KEY_CHARS")
    problems: list[str] = []
    keys = 0
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            problems.append(
                f"{path or 'the value'} nests deeper than {max_depth} levels of objects and "
                f"arrays ({_hint(prefix + '_DEPTH')})."
            )
            break
        if isinstance(node, list):
            if any(isinstance(item, str) and "\x00" in item for item in node):
                return [*problems, f"{path or 'the array'} holds text with the NUL character."]
            if len(node) > max_items:
                problems.append(
                    f"{path or 'the array'} has {len(node)} items; at most {max_items} are "
                    f"allowed ({_hint(prefix + '_ARRAY_ITEMS')})."
                )
                break
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(node))
            continue
        keys += len(node)
        if keys > max_keys:
            problems.append(f"more than {max_keys} keys in all ({_hint(prefix + '_KEYS')}).")
            break
        for key, item in node.items():
            if isinstance(key, str) and "\x00" in key:
                return [*problems, f"the key {key[:20]!r} contains the NUL character."]
            if isinstance(item, str) and "\x00" in item:
                where = f"{path}.{key}" if path else str(key)
                return [*problems, f"{where} contains the NUL character, which cannot be stored."]
            if isinstance(key, str) and len(key) > max_key_chars:
                problems.append(
                    f"the key {key[:20]!r}… has {len(key)} characters; at most {max_key_chars} "
                    f"are allowed ({_hint('ATTRIBUTE_KEY_CHARS')})."
                )
                return problems
            stack.append((item, depth + 1, f"{path}.{key}" if path else str(key)))
    if problems:
        return problems
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError):
        return problems  # not JSON: the services say so in their own words
    most = limit(f"{prefix}_BYTES")
    if size > most:
        problems.append(
            f"{size} bytes as JSON; at most {most} are allowed ({_hint(prefix + '_BYTES')})."
        )
    return problems
