# The two commands: `make run` (serve the demo on SQLite, no services needed)
# and `make test` (the whole suite on PostgreSQL, Redis, Celery and Chromium).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint format messages services browser bench clean backup restore

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Local portal: SQLite file, Celery tasks in-process, e-mail to the console.
run: export DJANGO_DEBUG = 1
run: export CELERY_TASK_ALWAYS_EAGER = 1
run: export DJANGO_EMAIL_BACKEND = django.core.mail.backends.console.EmailBackend
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_municipalities
	$(BIN)/python manage.py load_demo
	@echo "Portal: http://$(HOST):$(PORT)/  admin: http://$(HOST):$(PORT)/admin/ (create a user with: $(BIN)/python manage.py createsuperuser)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Start PostgreSQL and Redis when they are not running (the machine has both installed).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
	@pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || (echo "PostgreSQL or Redis did not start" >&2; exit 1)
	@psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw $(notdir $(TEST_DATABASE_URL)) || createdb -h 127.0.0.1 -U postgres $(notdir $(TEST_DATABASE_URL))

# Debian's Chromium for the browser tests; never a downloaded browser.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: export DATABASE_URL = $(TEST_DATABASE_URL)
test: export CELERY_BROKER_URL = $(TEST_BROKER_URL)
test: export DJANGO_DEBUG = 1
test: export DJANGO_SECRET_KEY = test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
test: install services browser
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djhtml --check templates

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/djhtml templates

# Regenerate the Dutch catalogue after changing strings, then fill in the new msgstr lines.
messages: export DJANGO_DEBUG = 1
messages: install
	$(BIN)/python manage.py makemessages -l nl --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

# The benchmark suite (bench/run.py): small then large synthetic data on PostgreSQL, gunicorn with
# 2 workers, the import benchmark; prints the table and writes bench/results.md. About 15 minutes
# the first time (the large data is kept for later runs); run it on a quiet machine.
bench: install services
	$(BIN)/python bench/run.py

# Backup and restore (docs/operations.md): the PostgreSQL database of DATABASE_URL and MEDIA_ROOT.
# `make backup BACKUP_DIR=/var/backups/portal` writes a new portal-backup-<UTC time>/ there;
# `make restore BACKUP=/var/backups/portal/portal-backup-…` restores one into the (empty) database.
BACKUP_DIR ?= backups
backup: install
	$(BIN)/python manage.py backup $(BACKUP_DIR)

restore: install
	@test -n "$(BACKUP)" || (echo "Name the backup: make restore BACKUP=backups/portal-backup-…" >&2; exit 2)
	$(BIN)/python manage.py restore $(BACKUP)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
