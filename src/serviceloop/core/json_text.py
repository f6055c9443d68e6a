"""A JSON attribute as text, the same on every database.

Django's ``KT()`` gives SQL NULL for a JSON ``null`` on PostgreSQL (``->>``) but the text
``'null'`` on SQLite, so a holder set to nobody (``{"team": null}``, a re-route ``{"to": null}``)
would read as a team or person called "null" on the embedded database only.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Case, TextField, When
from django.db.models import Value as V
from django.db.models.fields.json import KT

__all__ = ["json_text"]


def json_text(path: str) -> Any:
    """``KT(path)`` (``"attributes__team__to"``), with a JSON null read as SQL NULL."""
    text = KT(path)
    if connection.vendor != "sqlite":
        return text
    return Case(When(**{path: None}, then=V(None)), default=text, output_field=TextField())
