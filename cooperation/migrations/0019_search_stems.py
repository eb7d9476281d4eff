"""Search as people type it (cooperation/search.py): the search texts become search documents
(lowercased words with their Dutch Snowball stems, computed in Python on every database), so on
PostgreSQL the generated, GIN-indexed vectors of migrations 0010 and 0014 are rebuilt with the
'simple' configuration (lowercase and split only; the text is stemmed already) instead of
'dutch'. A generated column's expression cannot be altered (before PostgreSQL 17): each is
dropped and added again, with its index.

The stored texts are rewritten as documents by `manage.py rebuild_derived`: run it once after
migrating (docs/architecture.md). Until then the old texts are still found by word prefix.
"""

from django.db import migrations

COLUMNS = [("search_text", "search_vector"), ("staff_search_text", "staff_search_vector")]


def _vector_statements(config: str) -> list[str]:
    statements = []
    for text, vector in COLUMNS:
        statements += [
            f"DROP INDEX IF EXISTS partnership_{vector}",
            f"ALTER TABLE cooperation_partnership DROP COLUMN IF EXISTS {vector}",
            f"ALTER TABLE cooperation_partnership ADD COLUMN {vector} tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('{config}'::regconfig, COALESCE({text}, ''))) STORED",
            f"CREATE INDEX partnership_{vector} ON cooperation_partnership USING gin ({vector})",
        ]
    return statements


def _run(config: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in _vector_statements(config):
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("cooperation", "0018_importbatch_agreements"),
    ]

    operations = [
        migrations.RunPython(_run("simple"), _run("dutch")),
    ]
