"""Nothing lost when the machine is lost: `manage.py backup`, then `manage.py restore` into a fresh
database, finds the same partnerships, events, history, import batches and open-data files."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from cooperation.models import Event, ImportBatch, Partnership
from cooperation.porting import importer
from tests.factories import SVM, make_document, make_pdf

DATA = Path(__file__).parent / "data"


def rows(database: str, query: str) -> list[tuple]:
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(dbname=database, host=db["HOST"], port=db["PORT"], user=db["USER"])
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()
    finally:
        connection.close()


def admin_command(sql: str) -> None:
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(dbname="postgres", host=db["HOST"], port=db["PORT"], user=db["USER"])
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@pytest.fixture
def fresh_database():
    """An empty database next to the test database, dropped afterwards."""
    name = f"{settings.DATABASES['default']['NAME']}_restore_{os.getpid()}"
    admin_command(f'DROP DATABASE IF EXISTS "{name}"')
    admin_command(f'CREATE DATABASE "{name}"')
    yield name
    admin_command(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_and_restore_into_a_fresh_database(seeded_transactional, fresh_database, tmp_path, capsys):
    administrator = get_user_model().objects.create_superuser(
        "beheerder", "beheerder@example.org", "Beheerder-wachtwoord-1"
    )
    report = importer.run_import(
        kind="partnerships",
        data=(DATA / "partnerships.csv").read_bytes(),
        filename="partnerships.csv",
        user=administrator,
        dry_run=False,
    )
    assert report.ok and ImportBatch.objects.exists()

    call_command("backup", str(tmp_path))
    (backup,) = tmp_path.iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["counts"]["events"] == Event.objects.count()

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{fresh_database}"
    call_command("restore", str(backup), database_url=url)
    assert "Restored" in capsys.readouterr().out

    def same(query: str, expected: list) -> None:
        assert sorted(rows(fresh_database, query)) == sorted(expected)

    same("SELECT slug, name FROM cooperation_partnership", list(Partnership.objects.values_list("slug", "name")))
    same(
        "SELECT uid::text, title FROM cooperation_event",
        [(str(u), t) for u, t in Event.objects.values_list("uid", "title")],
    )
    same(
        "SELECT history_id, id, history_type FROM cooperation_historicalevent",
        list(Event.history.values_list("history_id", "id", "history_type")),
    )
    same(
        "SELECT sha256, new, updated FROM cooperation_importbatch",
        list(ImportBatch.objects.values_list("sha256", "new", "updated")),
    )

    # A second restore into the now full database is refused: nothing is mixed or overwritten.
    with pytest.raises(CommandError, match="empty database"):
        call_command("restore", str(backup), database_url=url)


def test_restore_refuses_a_damaged_backup(seeded_transactional, fresh_database, tmp_path):
    call_command("backup", str(tmp_path))
    (backup,) = tmp_path.iterdir()
    with (backup / "database.dump").open("ab") as dump:
        dump.write(b"damage")
    db = settings.DATABASES["default"]
    with pytest.raises(CommandError, match="damaged"):
        call_command(
            "restore", str(backup), database_url=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{fresh_database}"
        )
    assert rows(fresh_database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == [
        (0,)
    ]


@pytest.mark.parametrize("storage", ["media_root", "elsewhere"])
def test_documents_survive_a_backup_and_restore(seeded_transactional, fresh_database, tmp_path, settings, storage):
    """Documents as local files under MEDIA_ROOT travel in media.tar; kept in another storage
    (an S3-compatible store in production; here a file system storage elsewhere, through the same
    storage API) they travel in documents.tar. Either way the restore puts the same bytes back."""
    if storage == "elsewhere":
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "bucket")},
            },
        }
    agreement = Partnership.objects.get(slug=SVM).agreements.get()
    data = make_pdf("Samenwerkingsovereenkomst ICT")
    document = make_document(agreement=agreement, data=data)
    call_command("backup", str(tmp_path / "backups"))
    (backup,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["counts"]["documents"] == 1
    assert ("documents.tar" in manifest["files"]) == (storage == "elsewhere")

    default_storage.delete(document.file.name)  # the machine is lost
    db = settings.DATABASES["default"]
    call_command(
        "restore", str(backup), database_url=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{fresh_database}"
    )
    with default_storage.open(document.file.name, "rb") as restored:
        assert restored.read() == data
    assert rows(fresh_database, "SELECT file, sha256 FROM cooperation_document") == [
        (document.file.name, hashlib.sha256(data).hexdigest())
    ]
