from django.core.management.base import BaseCommand

from cooperation import synthetic


class Command(BaseCommand):
    help = "Delete all synthetic test data (partnerships and sources marked synthetic) and nothing else."

    def handle(self, *args, **options):
        removed = synthetic.remove()
        self.stdout.write(
            self.style.SUCCESS(
                "Removed synthetic data: {partnerships} partnerships, {events} events, {sources} sources.".format(
                    **removed
                )
            )
        )
