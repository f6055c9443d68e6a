"""Full-text search indexes over case titles and descriptions and over messages (replies and notes).

Every CJK character is a word of its own in the index (see ``serviceloop.cases.search_text``,
which spaces them with the same ranges as below; a test keeps the two equal).

- PostgreSQL: ``serviceloop_search_tsv(text)``, an immutable ``to_tsvector('simple', ...)`` of the
  spaced text, and GIN indexes on it for ``title || ' ' || description`` and for ``body``. An
  expression index, not a stored column: adding a column would rewrite the message table (and lock
  it) at a million cases. ANALYZE afterwards gives the planner the words' frequencies, which it
  needs to walk newest-first for a common word instead of reading all its matches.
- SQLite: contentless FTS5 tables (``unicode61``) with the rowid of the case or message, filled
  now and kept in step by triggers, which call ``serviceloop_search_text`` (registered on every
  connection by the cases app).
"""

from django.db import migrations

CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
CASE_DOC = "title || ' ' || description"

PG_FORWARD = [
    "CREATE OR REPLACE FUNCTION serviceloop_search_tsv(text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    f"$$ SELECT to_tsvector('simple'::regconfig, regexp_replace($1, '([{CJK}])', ' \\1 ', 'g')) $$",
    "SET LOCAL maintenance_work_mem TO '256MB'",
    f"CREATE INDEX case_text_search_idx ON cases_case USING gin (serviceloop_search_tsv({CASE_DOC}))",
    "CREATE INDEX message_text_search_idx ON cases_message USING gin (serviceloop_search_tsv(body))",
    "ANALYZE cases_case",
    "ANALYZE cases_message",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS message_text_search_idx",
    "DROP INDEX IF EXISTS case_text_search_idx",
    "DROP FUNCTION IF EXISTS serviceloop_search_tsv(text)",
]


def _sqlite_table(table: str, doc: str) -> list[str]:
    fts = f"{table}_fts"
    text = "serviceloop_search_text({row}." + doc.replace(" || ' ' || ", " || ' ' || {row}.") + ")"
    new, old = text.format(row="new"), text.format(row="old")
    delete = f"INSERT INTO {fts}({fts}, rowid, doc) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts}(rowid, doc) VALUES (new.id, {new});"
    columns = "title, description" if table == "cases_case" else "body"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(doc, content='', tokenize='unicode61')",
        f"INSERT INTO {fts}(rowid, doc) SELECT id, {text.format(row=table)} FROM {table}",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {columns} ON {table} "
        f"BEGIN {delete} {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
    ]


SQLITE_FORWARD = [*_sqlite_table("cases_case", CASE_DOC), *_sqlite_table("cases_message", "body")]
SQLITE_BACKWARD = [
    f"DROP {kind} IF EXISTS {table}_fts{suffix}"
    for table in ("cases_case", "cases_message")
    for kind, suffix in (
        ("TRIGGER", "_insert"),
        ("TRIGGER", "_update"),
        ("TRIGGER", "_delete"),
        ("TABLE", ""),
    )
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_intake_request_types_and_rules")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
