"""Full-text search reads a stored tsvector instead of computing one per row (PostgreSQL only),
and the register stamp reads an index of the latest changes.

`search_vector` is a generated column, so every writer of `search_text` (rebuild_derived, the
bulk loaders) keeps it current without knowing of it. It replaces the expression index of
migration 0003: ranking needs the vector itself, and computing it per matched row made search
grow with the register. It is not a model field, so no other query reads it and SQLite (make
run) needs none; `PartnershipQuerySet.search()` names it.
"""

from django.db import migrations, models

FORWARDS = [
    "ALTER TABLE cooperation_partnership ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('dutch'::regconfig, COALESCE(search_text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS partnership_search_vector ON cooperation_partnership USING gin (search_vector)",
    "DROP INDEX IF EXISTS partnership_search_dutch",
]
BACKWARDS = [
    "CREATE INDEX IF NOT EXISTS partnership_search_dutch ON cooperation_partnership "
    "USING gin (to_tsvector('dutch'::regconfig, COALESCE(search_text, '')))",
    "DROP INDEX IF EXISTS partnership_search_vector",
    "ALTER TABLE cooperation_partnership DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("cooperation", "0009_event_latest_index"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARDS), _run(BACKWARDS)),
        # fragments.register_stamp(): count and latest change from the index alone.
        migrations.AddIndex(
            model_name="partnership",
            index=models.Index(fields=["updated_at", "id"], name="partnership_changed"),
        ),
    ]
