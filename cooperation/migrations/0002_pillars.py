"""The four fixed pillars of cooperation, in Dutch and English."""

from django.db import migrations

PILLARS = [
    (
        "knowledge_sharing",
        "Kennisdeling",
        "Knowledge sharing",
        "Samenwerken op het terrein van ICT: kennis en kunde delen.",
        "Cooperating on ICT: sharing knowledge and skills.",
    ),
    (
        "architecture_alignment",
        "Afstemming ICT-architectuur",
        "Architecture alignment",
        "Het gelijktrekken van de ICT-architectuur, tot identieke hard- en software.",
        "Aligning the ICT architecture, up to identical hardware and software.",
    ),
    (
        "joint_procurement",
        "Gezamenlijke inkoop",
        "Joint procurement",
        "Samen inkopen en aanbesteden.",
        "Buying and tendering together.",
    ),
    (
        "service_modernisation",
        "Modernisering dienstverlening",
        "Service modernisation",
        "Samen de dienstverlening moderniseren op basis van de landelijke ontwikkelingen.",
        "Modernising services together, following national developments.",
    ),
]


def create_pillars(apps, schema_editor):
    Pillar = apps.get_model("cooperation", "Pillar")
    for position, (code, name_nl, name_en, description_nl, description_en) in enumerate(PILLARS):
        Pillar.objects.update_or_create(
            code=code,
            defaults={
                "name_nl": name_nl,
                "name_en": name_en,
                "description_nl": description_nl,
                "description_en": description_en,
                "position": position,
            },
        )


def remove_pillars(apps, schema_editor):
    apps.get_model("cooperation", "Pillar").objects.filter(code__in=[p[0] for p in PILLARS]).delete()


class Migration(migrations.Migration):
    dependencies = [("cooperation", "0001_initial")]

    operations = [migrations.RunPython(create_pillars, remove_pillars)]
