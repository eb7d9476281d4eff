from django.core.management.base import BaseCommand, CommandError

from cooperation.demo import load_demo
from cooperation.models import Municipality


class Command(BaseCommand):
    help = "Load the two seed cases (idempotent). Run load_municipalities first."

    def handle(self, *args, **options):
        if not Municipality.objects.exists():
            raise CommandError("No municipalities yet: run `manage.py load_municipalities` first.")
        created = load_demo()
        self.stdout.write(
            self.style.SUCCESS("Demo: {partnerships} partnerships and {events} events created.".format(**created))
        )
