"""How a person's name is written for people to read: one rule for pages, Insights and exports."""

from __future__ import annotations

from collections.abc import Iterable

from serviceloop.accounts.models import User

__all__ = ["person_name", "person_names"]


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def person_name(first_name: str | None, last_name: str | None, username: str) -> str:
    """Family name first and unspaced for a Chinese name (陈静), "First Last" otherwise, the
    username when no name is set: the order each language writes names in."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if first and last and (_is_cjk(first) or _is_cjk(last)):
        return f"{last}{first}"
    return f"{first_name or ''} {last_name or ''}".strip() or username


def person_names(usernames: Iterable[str]) -> dict[str, str]:
    """The name of each of ``usernames`` that exists, by :func:`person_name` (one query)."""
    rows = User.objects.filter(username__in=set(usernames)).values_list(
        "username", "first_name", "last_name"
    )
    return {username: person_name(first, last, username) for username, first, last in rows}
