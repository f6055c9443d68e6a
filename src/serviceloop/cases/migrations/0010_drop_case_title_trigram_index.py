"""Drop the trigram index on the upper-cased case title (PostgreSQL only).

0006 added it for the searches' ``icontains`` on titles; since 0009 titles are searched through
the full-text index with the descriptions and messages, so nothing reads it and every case
insert and title change paid to keep it current.
"""

from django.db import migrations

CREATE = "CREATE INDEX case_title_trgm_idx ON cases_case USING gin (UPPER(title) gin_trgm_ops)"


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS case_title_trgm_idx")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_case_text_search")]

    operations = [migrations.RunPython(drop_index, create_index, elidable=False)]
