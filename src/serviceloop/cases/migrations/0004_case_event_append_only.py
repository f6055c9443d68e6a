"""The case event log becomes append-only in the database itself: triggers refuse UPDATE and DELETE
on ``cases_caseevent`` (SQLite and PostgreSQL), so neither the ORM's bulk paths nor raw SQL can
rewrite history. See ``serviceloop.core.append_only``."""

from typing import Any

from django.db import migrations

from serviceloop.core import append_only

TABLE = "cases_caseevent"


def forwards(apps: Any, schema_editor: Any) -> None:
    for statement in append_only.create_sql(schema_editor.connection.vendor, TABLE):
        schema_editor.execute(statement, params=None)


def backwards(apps: Any, schema_editor: Any) -> None:
    for statement in append_only.drop_sql(schema_editor.connection.vendor, TABLE):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_case_number_generated"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
