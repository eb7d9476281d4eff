import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cooperation.porting.importer import KINDS, run_import


class CommandLineUser:
    """Whoever runs manage.py on the server: an administrator, recorded in the history as nobody."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True
    _role_names = frozenset()

    def __str__(self) -> str:
        return "manage.py"


class Command(BaseCommand):
    help = (
        "Import a CSV, XLSX or JSON file of municipalities, partnerships, agreements or events "
        "(docs/import-formats.md): all rows or, when any row has a problem, none. Prints every problem and "
        "exits with status 1 then."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument(
            "--user",
            help="username to record in the history and whose permissions apply (default: an administrator)",
        )

    def handle(self, *args, kind, file, dry_run, user=None, **options):
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror}) from None
        actor = CommandLineUser()
        if user:
            try:
                actor = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist:
                raise CommandError(_("There is no user “%(user)s”.") % {"user": user}) from None
        progress = self._progress if options["verbosity"] >= 2 and sys.stderr.isatty() else None
        report = run_import(kind=kind, data=data, filename=file.name, user=actor, dry_run=dry_run, progress=progress)
        for problem in report.problems:
            self.stderr.write(self._problem_line(problem))
        summary = _("%(rows)s rows: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.") % {
            "rows": report.total_rows,
            "new": report.new,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }
        if not report.ok:
            raise CommandError(
                _("%(count)s problems; nothing was imported.") % {"count": len(report.problems)} + " " + summary
            )
        if dry_run:
            self.stdout.write(_("Dry run, nothing was saved.") + " " + summary)
        else:
            self.stdout.write(self.style.SUCCESS(summary))
            if report.batch_id:
                recorded = _("Recorded as import %(id)s; it can be undone in the admin.")
                self.stdout.write(recorded % {"id": report.batch_id})

    def _problem_line(self, problem) -> str:
        if problem.row is None:
            return problem.message
        if problem.column:
            return _("Row %(row)s, column %(column)s: %(message)s") % {
                "row": problem.row,
                "column": problem.column,
                "message": problem.message,
            }
        return _("Row %(row)s: %(message)s") % {"row": problem.row, "message": problem.message}

    def _progress(self, done: int, total: int) -> None:
        sys.stderr.write(f"\r{done:,}/{total:,}")
        if done >= total:
            sys.stderr.write("\n")
