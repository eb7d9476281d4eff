"""Production mode is strict: it needs a secret key and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="p" * 20 + "-production-like-key-" + "q" * 30,
        DJANGO_ALLOWED_HOSTS="portal.example.nl",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_bad_boolean_fails_loudly():
    result = manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_sqlite_waits_for_a_running_import_instead_of_failing_and_postgresql_is_left_alone():
    from portal.settings import database_from_url

    sqlite = database_from_url("sqlite:////tmp/portal.sqlite3", conn_max_age=60)
    assert sqlite["OPTIONS"] == {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    postgresql = database_from_url("postgres://portal@db.example.nl:5432/portal", conn_max_age=60)
    assert "OPTIONS" not in postgresql or postgresql["OPTIONS"] == {}
    assert (postgresql["ENGINE"], postgresql["NAME"], postgresql["CONN_MAX_AGE"]) == (
        "django.db.backends.postgresql",
        "portal",
        60,
    )


def test_a_sqlite_connection_logs_ahead_and_waits_for_the_write_lock(tmp_path, django_db_blocker):
    from django.db.utils import ConnectionHandler

    from portal.settings import database_from_url

    connection = ConnectionHandler({"default": database_from_url(f"sqlite:///{tmp_path}/portal.sqlite3", 0)})["default"]
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert cursor.execute("PRAGMA busy_timeout").fetchone() == (20000,)
    connection.close()


def test_documents_go_to_an_s3_compatible_store_when_a_bucket_is_named():
    """With PORTAL_S3_BUCKET the default storage is django-storages' S3 backend, private and never
    overwriting; it is built without any network access (boto3 connects on first use)."""
    code = (
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.location, s.default_acl, s.file_overwrite)"
    )
    result = manage(
        "shell",
        "-c",
        code,
        DJANGO_DEBUG="1",
        PORTAL_S3_BUCKET="portal-documenten",
        PORTAL_S3_ENDPOINT_URL="https://objectstore.example.nl",
        PORTAL_S3_PREFIX="/acceptatie/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "S3Storage",
        "portal-documenten",
        "https://objectstore.example.nl",
        "acceptatie",
        "private",
        "False",
    ]
    local = manage(
        "shell",
        "-c",
        "from django.core.files.storage import storages; s = storages['default']; print(type(s).__name__)",
        DJANGO_DEBUG="1",
    )
    assert local.stdout.splitlines()[-1] == "FileSystemStorage"


def test_a_bad_document_size_limit_fails_loudly():
    result = manage("check", DJANGO_DEBUG="1", PORTAL_DOCUMENT_MAX_BYTES="0")
    assert result.returncode != 0
    assert "PORTAL_DOCUMENT_MAX_BYTES" in result.stderr
