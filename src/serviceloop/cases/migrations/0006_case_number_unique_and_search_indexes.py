"""Indexes for looking cases up at a million rows.

- ``case_number_unique``: the number became a generated column in 0003 and lost its index (a case
  page read by number scanned the table: 589 ms at 1M cases, 0.03 ms with the index).
- PostgreSQL only: trigram indexes (``pg_trgm``) on the upper-cased case title and customer name,
  which serve the searches' ``UPPER(col) LIKE UPPER('%term%')`` (Django's ``icontains``), and a
  b-tree on the upper-cased customer e-mail for ``iexact``. SQLite has no trigram index; a search
  there scans (fine at 100k cases).
"""

from django.db import migrations, models

SEARCH_INDEXES = [
    (
        "case_title_trgm_idx",
        "CREATE INDEX case_title_trgm_idx ON cases_case USING gin (UPPER(title) gin_trgm_ops)",
    ),
    (
        "customer_name_trgm_idx",
        "CREATE INDEX customer_name_trgm_idx ON customers_customer "
        "USING gin (UPPER(name) gin_trgm_ops)",
    ),
    (
        "customer_email_upper_idx",
        "CREATE INDEX customer_email_upper_idx ON customers_customer (UPPER(email))",
    ),
]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for _, sql in SEARCH_INDEXES:
        schema_editor.execute(sql)


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_event_kind_sla_warning"),
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="case",
            constraint=models.UniqueConstraint(
                fields=("number",),
                name="case_number_unique",
                violation_error_message="A case with this number already exists.",
            ),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
