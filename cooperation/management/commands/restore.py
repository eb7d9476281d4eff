"""`manage.py restore BACKUP_DIRECTORY [--database-url URL]`: a backup into an empty database.

Checks the SHA-256 of every file against the backup's manifest, refuses a database that
already holds tables (a restore never mixes with or overwrites data), restores the dump in
one transaction (all or nothing), unpacks `media.tar` into MEDIA_ROOT, puts the files of
`documents.tar` (documents kept outside MEDIA_ROOT, e.g. in an S3-compatible store) back through
the storage API, and compares the row counts of the main tables with those recorded at backup time.

By default the restore goes into the database of DATABASE_URL; `--database-url` names another
(e.g. a new database to switch to once it is checked). Create the empty database first
(`createdb`); after a restore into an older version of the portal run `migrate`.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

import dj_database_url
import psycopg2
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from .backup import DOCUMENTS, DUMP, MANIFEST, MEDIA, libpq_arguments, sha256_of

COUNT_QUERIES = {
    "partnerships": "SELECT count(*) FROM cooperation_partnership",
    "events": "SELECT count(*) FROM cooperation_event",
    "event_history": "SELECT count(*) FROM cooperation_historicalevent",
    "import_batches": "SELECT count(*) FROM cooperation_importbatch",
    "import_jobs": "SELECT count(*) FROM cooperation_importjob",
    "open_data_files": "SELECT count(*) FROM cooperation_opendatafile",
    "documents": "SELECT count(*) FROM cooperation_document",
}


def count(database: dict, query: str) -> int:
    """One number from the target database, on a connection of its own (not Django's)."""
    connection = psycopg2.connect(
        dbname=database["NAME"],
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def restore_documents(path: Path) -> int:
    """Put every file of `documents.tar` back in the documents' storage under its own name (a file
    already there under that name is replaced), through the storage API."""
    restored = 0
    with tarfile.open(path) as archive:
        for member in archive:
            name = member.name
            if not member.isfile() or name.startswith("/") or ".." in PurePosixPath(name).parts:
                raise CommandError(f"{path} holds an unexpected entry {name!r}; nothing more was restored.")
            if default_storage.exists(name):
                default_storage.delete(name)
            saved = default_storage.save(name, File(archive.extractfile(member), name=name))
            if saved != name:
                raise CommandError(f"The storage saved {name} as {saved}; check the storage settings.")
            restored += 1
    return restored


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into an empty PostgreSQL database."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="The portal-backup-… directory made by `manage.py backup`.")
        parser.add_argument("--database-url", default="", help="Restore into this database instead of DATABASE_URL.")

    def handle(self, *args, backup: str, database_url: str, **options):
        source = Path(backup)
        try:
            manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"{source} is not a backup made by `manage.py backup`: {error}") from None
        for name, expected in manifest["files"].items():
            path = source / name
            if not path.is_file() or sha256_of(path) != expected:
                raise CommandError(f"{path} is missing or damaged (its SHA-256 differs from the manifest).")
        database = dj_database_url.parse(database_url) if database_url else settings.DATABASES["default"]
        if "postgresql" not in database["ENGINE"]:
            raise CommandError("A backup is restored into PostgreSQL.")
        tables = count(database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        if tables:
            raise CommandError(
                f"Database {database['NAME']} holds {tables} tables; restore into an empty database "
                "(createdb a new one) so nothing is mixed or overwritten."
            )
        arguments, environment = libpq_arguments(database)
        # No shell; every argument comes from the settings or the options, names behind their flags.
        result = subprocess.run(  # noqa: S603
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
            + arguments
            + ["--dbname", str(database["NAME"]), str(source / DUMP)],
            env=environment,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed, nothing was restored: {result.stderr.strip()}")
        if MEDIA in manifest["files"]:
            if not settings.MEDIA_ROOT:
                raise CommandError("The backup holds media files; set MEDIA_ROOT and run the restore again.")
            media_root = Path(settings.MEDIA_ROOT)
            media_root.mkdir(parents=True, exist_ok=True)
            with tarfile.open(source / MEDIA) as archive:
                archive.extractall(media_root, filter="data")
        if DOCUMENTS in manifest["files"]:
            restore_documents(source / DOCUMENTS)
        # What the backup counted (an older backup counted fewer tables, some of which it lacks).
        counts = {name: count(database, query) for name, query in COUNT_QUERIES.items() if name in manifest["counts"]}
        differences = {
            name: (expected, counts.get(name))
            for name, expected in manifest["counts"].items()
            if counts.get(name) != expected
        }
        if differences:
            raise CommandError(f"Restored, but the row counts differ from the backup's: {differences}")
        summary = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())
        self.stdout.write(f"Restored {source.name} into {database['NAME']}: {summary}.")
