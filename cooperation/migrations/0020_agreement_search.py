"""Agreements are searched like partnerships (cooperation/search.py): a stored search document
per audience (`search_text` public, `staff_search_text` staff), written by derived.py when the
agreement's partnership is rebuilt, and on PostgreSQL a generated, GIN-indexed vector of each,
`to_tsvector('simple', …)` as migration 0019 made them for partnerships.

The documents of existing agreements are written by `manage.py rebuild_derived`: run it once
after migrating (docs/architecture.md). Until then existing agreements are found by no search.
"""

from django.db import migrations, models

COLUMNS = [("search_text", "search_vector"), ("staff_search_text", "staff_search_vector")]


def _add_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for text, vector in COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE cooperation_agreement ADD COLUMN {vector} tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE({text}, ''))) STORED"
        )
        schema_editor.execute(f"CREATE INDEX agreement_{vector} ON cooperation_agreement USING gin ({vector})")


def _drop_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _text, vector in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS agreement_{vector}")
        schema_editor.execute(f"ALTER TABLE cooperation_agreement DROP COLUMN IF EXISTS {vector}")


class Migration(migrations.Migration):
    dependencies = [
        ("cooperation", "0019_search_stems"),
    ]

    operations = [
        migrations.AddField(
            model_name="agreement",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="agreement",
            name="staff_search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(_add_vectors, _drop_vectors),
    ]
