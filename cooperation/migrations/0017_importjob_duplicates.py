from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cooperation", "0016_agreements_register"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="duplicates",
            field=models.PositiveIntegerField(default=0, verbose_name="duplicates"),
        ),
        migrations.AddField(
            model_name="importjob",
            name="import_duplicates",
            field=models.BooleanField(default=False, verbose_name="import duplicates"),
        ),
    ]
