"""`manage.py backup DIRECTORY`: everything needed to rebuild the portal on a new machine.

Writes a new directory `DIRECTORY/portal-backup-<UTC time>/` with:

- `database.dump`: `pg_dump --format=custom` of the whole database. pg_dump reads one
  snapshot, so the dump is consistent while the portal keeps running. It holds everything the
  portal stores: partnerships, events and their history, users, the outbox, import jobs with
  their uploaded files (ImportJob.data), applied import batches and the built open-data files
  (OpenDataFile.content).
- `media.tar`: the files under MEDIA_ROOT, when it is set and holds any: the documents behind
  agreements and events (`documents/<uid>/…`) when they are stored as local files (the default).
- `documents.tar`: the documents' files read through Django's storage API, when they are kept
  elsewhere (an S3-compatible store, `PORTAL_S3_BUCKET`), so a backup holds them either way.
- `manifest.json`: when, from which database and migration state, the row counts of the main
  tables and the SHA-256 of each file, which `manage.py restore` checks before it restores.

PostgreSQL only (production and the tests); `make run`'s SQLite file is copied as a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from cooperation.models import Document, Event, ImportBatch, ImportJob, OpenDataFile, Partnership

DUMP = "database.dump"
MEDIA = "media.tar"
DOCUMENTS = "documents.tar"
MANIFEST = "manifest.json"
COUNTED = {
    "partnerships": Partnership.objects,
    "events": Event.objects,
    "event_history": Event.history,
    "import_batches": ImportBatch.objects,
    "import_jobs": ImportJob.objects,
    "open_data_files": OpenDataFile.objects,
    "documents": Document.objects,
}


def libpq_arguments(database: dict) -> tuple[list[str], dict]:
    """Connection arguments for pg_dump/pg_restore and the environment with the password, so
    the password never appears on a command line (visible in `ps`)."""
    arguments = []
    if database.get("HOST"):
        arguments += ["--host", str(database["HOST"])]
    if database.get("PORT"):
        arguments += ["--port", str(database["PORT"])]
    if database.get("USER"):
        arguments += ["--username", str(database["USER"])]
    environment = {**os.environ}
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = str(database["PASSWORD"])
    return arguments, environment


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def documents_in_media_root() -> bool:
    """Whether the documents' storage is the local file system under MEDIA_ROOT (in media.tar)."""
    return (
        isinstance(default_storage, FileSystemStorage)
        and bool(settings.MEDIA_ROOT)
        and Path(default_storage.location).resolve() == Path(settings.MEDIA_ROOT).resolve()
    )


def archive_documents(path: Path) -> int:
    """Every document's file, read through the storage API, into a tar file under its stored name."""
    written = 0
    with tarfile.open(path, "w") as archive:
        for name in Document.objects.exclude(file="").values_list("file", flat=True).order_by("file"):
            with default_storage.open(name, "rb") as handle:
                info = tarfile.TarInfo(name)
                info.size = default_storage.size(name)
                archive.addfile(info, handle)
            written += 1
    return written


def row_counts() -> dict[str, int]:
    return {name: manager.count() for name, manager in COUNTED.items()}


class Command(BaseCommand):
    help = "Back up the database (pg_dump custom format), MEDIA_ROOT and the documents into a new directory."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Where to create the backup directory (created if missing).")

    def handle(self, *args, directory: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "Backups are made of PostgreSQL (DATABASE_URL). Under `make run` copy db.sqlite3 instead."
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = Path(directory) / f"portal-backup-{stamp}"
        try:
            target.mkdir(parents=True)
        except FileExistsError:
            raise CommandError(f"{target} already exists; a backup never overwrites another.") from None
        database = settings.DATABASES["default"]
        arguments, environment = libpq_arguments(database)
        dump = target / DUMP
        # No shell; every argument comes from the settings, the database name behind --dbname.
        result = subprocess.run(  # noqa: S603
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(dump), *arguments]
            + ["--dbname", str(database["NAME"])],
            env=environment,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        files = {DUMP: sha256_of(dump)}
        media_root = Path(settings.MEDIA_ROOT) if settings.MEDIA_ROOT else None
        if media_root and media_root.is_dir() and any(media_root.iterdir()):
            with tarfile.open(target / MEDIA, "w") as archive:
                archive.add(media_root, arcname=".")
            files[MEDIA] = sha256_of(target / MEDIA)
        if not documents_in_media_root() and Document.objects.exists():
            archive_documents(target / DOCUMENTS)
            files[DOCUMENTS] = sha256_of(target / DOCUMENTS)
        latest = MigrationRecorder.Migration.objects.filter(app="cooperation").order_by("-applied", "-id").first()
        manifest = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": str(database["NAME"]),
            "latest_migration": latest.name if latest else None,
            "counts": row_counts(),
            "files": files,
        }
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(str(target))
