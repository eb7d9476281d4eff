from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cooperation.porting.export import FORMATS, export_file
from cooperation.porting.importer import KINDS


class Command(BaseCommand):
    help = (
        "Export all municipalities, partnerships, agreements or events in the import format (docs/import-formats.md), "
        "to a file or to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--format", choices=FORMATS, default="csv", dest="file_format")
        parser.add_argument("-o", "--output", type=Path, help="the file to write (default: standard output)")

    def handle(self, *args, kind, file_format, output=None, **options):
        if output is None and file_format == "xlsx":
            raise CommandError(_("An XLSX file is binary: name the file to write with -o."))
        data = export_file(kind=kind, file_format=file_format)
        if output is None:
            self.stdout.write(data.decode("utf-8-sig" if file_format == "csv" else "utf-8"), ending="")
            return
        try:
            output.write_bytes(data)
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": output, "error": error.strerror}
            ) from None
        self.stderr.write(_("Written: %(file)s (%(size)s bytes).") % {"file": output, "size": len(data)})
