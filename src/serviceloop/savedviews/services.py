"""Save and forget queue views; only the queue's own parameters are kept."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.db import transaction

from serviceloop.accounts.models import User
from serviceloop.core.exceptions import InvalidInputError, Problem
from serviceloop.savedviews.models import SavedView

__all__ = ["QUEUE_KEYS", "saved_view_delete", "saved_view_save"]

NAME_MAX = 60
QUEUE_KEYS = ("queue", "q", "status", "priority", "team", "stage", "category", "sort")


@transaction.atomic
def saved_view_save(*, user: User, name: str, query: str) -> SavedView:
    """Keep the queue's filters and sort under ``name`` (saving a name again replaces it)."""
    name = name.strip()
    if not name:
        raise InvalidInputError.for_field("name", Problem("view_name_required"))
    if len(name) > NAME_MAX:
        raise InvalidInputError.for_field("name", Problem("view_name_too_long", {"max": NAME_MAX}))
    kept = urlencode([(k, v) for k, v in parse_qsl(query) if k in QUEUE_KEYS and v][:20])
    view, _created = SavedView.objects.update_or_create(
        user=user, name=name, defaults={"query": kept[:1000]}
    )
    return view


@transaction.atomic
def saved_view_delete(*, user: User, view_id: int) -> bool:
    """Forget one of the user's own views; another user's view is left alone (False)."""
    deleted, _rows = SavedView.objects.filter(user=user, pk=view_id).delete()
    return bool(deleted)
