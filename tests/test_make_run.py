"""`make run`'s banner: the command it prints to create an administrator works as printed, on the
fresh SQLite database of a new clone (no secret key, no other settings)."""

import os
import re
import sqlite3
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_printed_createsuperuser_command_works_on_a_fresh_sqlite_database(tmp_path):
    makefile = (ROOT / "Makefile").read_text()
    printed = re.search(r'@echo "Create an administrator with: (.+)"', makefile)[1]
    command = printed.replace("$(BIN)", ".venv/bin")
    assert command == "DJANGO_DEBUG=1 .venv/bin/python manage.py createsuperuser"
    database = tmp_path / "db.sqlite3"
    # As on a new clone: none of the test run's settings; the SQLite file stands for make run's.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(  # noqa: S603
        [".venv/bin/python", "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env | {"DJANGO_DEBUG": "1", "CELERY_BROKER_URL": "filesystem://"},
        check=True,
        capture_output=True,
        timeout=300,
    )
    answers = {"DJANGO_SUPERUSER_USERNAME": "beheerder", "DJANGO_SUPERUSER_EMAIL": "b@example.org"}
    answers["DJANGO_SUPERUSER_PASSWORD"] = "een-lang-wachtwoord-2026"
    result = subprocess.run(  # noqa: S602 - the command exactly as the banner prints it, in a shell
        f"{command} --noinput",
        shell=True,
        cwd=ROOT,
        env=env | answers,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Superuser created successfully." in result.stdout
    with sqlite3.connect(database) as connection:
        assert connection.execute("select is_superuser from auth_user where username = 'beheerder'").fetchone() == (1,)
