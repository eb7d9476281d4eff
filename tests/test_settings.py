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
