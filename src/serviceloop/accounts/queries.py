"""Every hand-written SQL statement of the accounts app, each behind a name.

Every API request authenticates its bearer token, so that read is written out on
:mod:`serviceloop.core.rows` (columns from the models' metadata, values as parameters, rows back as
model instances); the rest of the app uses the ORM.
"""

from __future__ import annotations

from functools import cache

from serviceloop.accounts.models import AgentProfile, ApiToken, User
from serviceloop.core import rows

__all__ = ["tokens_by_prefix"]


@cache
def _token_sql() -> str:
    return (
        f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, "  # noqa: S608
        f"{rows.columns(AgentProfile, 'a')} FROM {ApiToken._meta.db_table} t "
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {AgentProfile._meta.db_table} a ON a.user_id = u.id "
        "WHERE t.prefix = %s AND NOT t.revoked AND u.is_active"
    )


def tokens_by_prefix(prefix: str) -> list[tuple[ApiToken, User, AgentProfile | None]]:
    """Unrevoked tokens of active users with this public prefix, each with its user and the
    user's agent profile (None for non-agents) (one query)."""
    found = []
    for row in rows.fetch(_token_sql(), [prefix]):
        token, user, profile = rows.load_all(row, (ApiToken, User, AgentProfile))
        found.append((token, user, profile))
    return found
