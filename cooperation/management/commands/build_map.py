from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from cooperation import geo


def outline_path() -> Path:
    return Path(settings.BASE_DIR) / "static" / "map" / "gemeenten.svg"


class Command(BaseCommand):
    help = (
        "Write the static country map (static/map/gemeenten.svg) from cooperation/data/gemeente_2025.topojson; "
        "run it after replacing the boundaries, then collectstatic."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only check that the file is up to date.")

    def handle(self, *args, check=False, **options):
        path, svg = outline_path(), geo.outline_svg()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != svg:
                raise SystemExit(f"{path} is out of date: run `manage.py build_map`.")
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        data = geo.map_data()
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {path} ({len(svg.encode()):,} bytes, {len(data.paths)} municipalities).")
        )
