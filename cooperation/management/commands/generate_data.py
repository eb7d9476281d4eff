from django.core.management.base import BaseCommand, CommandError

from cooperation import synthetic
from cooperation.models import Municipality


class Command(BaseCommand):
    help = (
        "Replace the synthetic test data with generated partnerships (marked synthetic, "
        "names start with [synthetisch]). --remove deletes it all. Run load_municipalities first."
    )

    def add_arguments(self, parser):
        size = parser.add_mutually_exclusive_group()
        size.add_argument("--size", choices=sorted(synthetic.SIZES), help="small ≈ 1,000 events, large ≈ 200,000")
        size.add_argument("--partnerships", type=int, help="number of partnerships to generate")
        size.add_argument("--remove", action="store_true", help="delete all synthetic data and nothing else")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same data (default 1)")

    def handle(self, *args, **options):
        if options["remove"]:
            removed = synthetic.remove()
            self.stdout.write(
                self.style.SUCCESS(
                    "Removed synthetic data: {partnerships} partnerships, {events} events, {sources} sources.".format(
                        **removed
                    )
                )
            )
            return
        count = options["partnerships"]
        if count is None:
            count = synthetic.SIZES[options["size"] or "small"]
        if count < 1:
            raise CommandError("--partnerships must be at least 1.")
        if not Municipality.objects.current().exists():
            raise CommandError("No municipalities yet: run `manage.py load_municipalities` first.")

        def progress(done: int) -> None:
            if options["verbosity"] > 1 or done == count or done % 1000 == 0:
                self.stdout.write(f"  {done}/{count} partnerships")

        created = synthetic.generate(partnerships=count, seed=options["seed"], progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                "Synthetic data (seed {seed}): {partnerships} partnerships, {events} events, {sources} sources.".format(
                    seed=options["seed"], **created
                )
            )
        )
