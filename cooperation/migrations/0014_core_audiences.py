"""Derived data per audience: a public copy (public events of public partnerships only) and a
staff copy (all events), and a "changed at" per audience.

The existing derived rows were built from all events, so they become the staff copy; the public
copy starts empty (no member, status "planned", nothing found by search) so that nothing internal
shows before `manage.py rebuild_derived` has derived it from the public events. Run that command
once after migrating (docs/architecture.md). On PostgreSQL the staff search text gets its own
generated, GIN-indexed tsvector, as the public one has since migration 0010.
"""

from django.db import migrations, models
from django.db.models import F

FORWARDS = [
    "ALTER TABLE cooperation_partnership ADD COLUMN IF NOT EXISTS staff_search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('dutch'::regconfig, COALESCE(staff_search_text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS partnership_staff_search_vector ON cooperation_partnership "
    "USING gin (staff_search_vector)",
]
BACKWARDS = [
    "DROP INDEX IF EXISTS partnership_staff_search_vector",
    "ALTER TABLE cooperation_partnership DROP COLUMN IF EXISTS staff_search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def split_audiences(apps, schema_editor):
    Partnership = apps.get_model("cooperation", "Partnership")
    Membership = apps.get_model("cooperation", "Membership")
    Membership.objects.update(audience="staff")
    Partnership.objects.update(
        staff_status=F("status"),
        staff_first_date=F("first_date"),
        staff_last_date=F("last_date"),
        staff_search_text=F("search_text"),
        staff_changed_at=F("updated_at"),
        status="planned",
        first_date=None,
        last_date=None,
        search_text=F("name"),
        public_changed_at=F("updated_at"),
        public_digest="",
    )


def join_audiences(apps, schema_editor):
    Partnership = apps.get_model("cooperation", "Partnership")
    Membership = apps.get_model("cooperation", "Membership")
    Membership.objects.filter(audience="public").delete()
    Partnership.objects.update(
        status=F("staff_status"),
        first_date=F("staff_first_date"),
        last_date=F("staff_last_date"),
        search_text=F("staff_search_text"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cooperation", "0013_truth_evidence_verification"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="audience",
            field=models.CharField(choices=[("public", "public"), ("staff", "staff")], default="public", max_length=6),
        ),
        migrations.AddField(
            model_name="partnership",
            name="public_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="changed at (public)"),
        ),
        migrations.AddField(
            model_name="partnership",
            name="public_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="partnership",
            name="staff_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="changed at (staff)"),
        ),
        migrations.AddField(
            model_name="partnership",
            name="staff_first_date",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="first event (staff)"),
        ),
        migrations.AddField(
            model_name="partnership",
            name="staff_last_date",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="latest event (staff)"),
        ),
        migrations.AddField(
            model_name="partnership",
            name="staff_search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="partnership",
            name="staff_status",
            field=models.CharField(
                choices=[("planned", "planned"), ("active", "active"), ("ending", "ending"), ("ended", "ended")],
                db_index=True,
                default="planned",
                editable=False,
                max_length=10,
                verbose_name="status (staff)",
            ),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["audience", "municipality", "partnership"], name="membership_audience_member"),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["partnership", "audience", "position"], name="membership_audience_order"),
        ),
        migrations.AddIndex(
            model_name="partnership",
            index=models.Index(fields=["visibility", "public_changed_at", "id"], name="partnership_public_changed"),
        ),
        migrations.AddIndex(
            model_name="partnership",
            index=models.Index(fields=["staff_changed_at", "id"], name="partnership_staff_changed"),
        ),
        migrations.RunPython(split_audiences, join_audiences),
        migrations.RunPython(_run(FORWARDS), _run(BACKWARDS)),
    ]
