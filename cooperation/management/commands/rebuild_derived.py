from django.core.management.base import BaseCommand

from cooperation import services
from cooperation.models import Partnership


class Command(BaseCommand):
    help = (
        "Derive the cached memberships, status and search text of every partnership, and the search texts "
        "of its agreements, again, per audience (after migrations 0011, 0019 and 0020, or to check that "
        "nothing drifted). Sends no notifications."
    )

    def handle(self, *args, **options):
        ids = list(Partnership.objects.values_list("pk", flat=True))
        services.partnerships_changed(partnership_ids=ids)
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the derived data of {len(ids)} partnerships."))
