from pathlib import Path

from django.core.management.base import BaseCommand

from cooperation.services import municipalities_load

DATA = Path(__file__).resolve().parents[2] / "data"


class Command(BaseCommand):
    help = "Load the 342 current municipalities and the former ones with their successors (idempotent)."

    def handle(self, *args, **options):
        counts = municipalities_load(
            current_csv=DATA / "municipalities.csv", mergers_csv=DATA / "municipality_mergers.csv"
        )
        self.stdout.write(
            self.style.SUCCESS(
                "Municipalities: {created} created, {updated} updated, {relinked} successor links set.".format(**counts)
            )
        )
