"""The cast of the tests: the reference data, the two seed partnerships and users.

Municipalities and the seed cases are loaded once per test session; each
test runs in a transaction that is rolled back. Transactional tests (browser,
Celery worker) flush the database, so they load what they need themselves
with the `seeded_transactional` fixture.
"""

import importlib
import threading

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from cooperation import jobs
from cooperation.demo import load_demo
from cooperation.models import Municipality, Partnership

SVM = "schiedam-vlaardingen-maassluis-ict"
MSG = "maastricht-sittard-geleen-ict"


def pytest_report_header(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(f"The tests run on PostgreSQL, not {engine}: set DATABASE_URL or use `make test`.")
    db = settings.DATABASES["default"]
    return f"database: PostgreSQL at {db['HOST']}:{db['PORT']} (test database test_{db['NAME']})"


def load_reference_data() -> None:
    call_command("load_municipalities", verbosity=0)
    load_demo()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql"
        print(f"\nRunning on PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 100}")
        load_reference_data()


@pytest.fixture
def seeded_transactional(transactional_db):
    """For transactional tests: the reference data, loaded again after the last flush."""
    # A flush also removes the pillars that the data migration created.
    importlib.import_module("cooperation.migrations.0002_pillars").create_pillars(apps, None)
    importlib.import_module("cooperation.migrations.0004_roles_versions_notes").assign_roles(apps)
    load_reference_data()


@pytest.fixture(autouse=True)
def default_language():
    """A request to an /en/ page leaves English active in the thread; each test starts in Dutch."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: cached page fragments are keyed by timestamps that
    a rolled-back test can leave behind for the next one."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def municipality():
    def get(name_or_code: str) -> Municipality:
        if name_or_code.startswith("GM"):
            return Municipality.objects.get(cbs_code=name_or_code)
        return Municipality.objects.current().get(name=name_or_code)

    return get


@pytest.fixture
def svm(db) -> Partnership:
    """Schiedam, Vlaardingen and Maassluis (2013-2019)."""
    return Partnership.objects.get(slug=SVM)


@pytest.fixture
def msg(db) -> Partnership:
    """Maastricht and Sittard-Geleen (2010)."""
    return Partnership.objects.get(slug=MSG)


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", "correct-horse-battery-9")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (solo pool, in a thread of this process) on the test broker.

    The queue is purged first, so messages left by an earlier run are not executed.
    Use with `seeded_transactional`: the worker's own database connection sees only
    committed data. `wait_idle()` returns once the queue is empty and nothing runs.
    """
    import time

    from celery.contrib.testing.worker import start_worker
    from celery.worker import state as worker_state

    from portal.celery import app

    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30) as worker:

        def wait_idle(timeout: float = 30.0) -> None:
            deadline = time.monotonic() + timeout
            with app.connection_for_write() as conn:
                while time.monotonic() < deadline:
                    queued = conn.default_channel.client.llen(app.conf.task_default_queue)
                    if not queued and not worker_state.active_requests and not worker_state.reserved_requests:
                        time.sleep(0.2)  # a task taken off the queue becomes active within this
                        if not worker_state.active_requests and not worker_state.reserved_requests:
                            return
                    time.sleep(0.1)
            raise AssertionError("The Celery worker did not become idle.")

        worker.wait_idle = wait_idle
        yield worker


def join_job_threads(timeout: float = 60.0) -> None:
    """Wait for the eager-mode job threads, so the flush after the test finds no open transaction."""
    for thread in threading.enumerate():
        if thread.name.startswith("import-job-"):
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still runs"


@pytest.fixture
def eager(transactional_db, settings, monkeypatch):
    """`make run`: no worker, so jobs run in a thread of this process. Each import waits at its
    progress reports until `poll_status` has seen one of them (at most 10 s), so a poll lands
    mid-run on any machine; returns that event."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0.01)
    seen = threading.Event()
    report = jobs._ProgressWriter.report

    def report_and_wait_to_be_seen(self, done: int, total: int) -> None:
        report(self, done, total)
        if done < total:
            seen.wait(10)

    monkeypatch.setattr(jobs._ProgressWriter, "report", report_and_wait_to_be_seen)
    yield seen
    join_job_threads()


# --- core: shared by the write-path and audience tests ----------------------------------


@pytest.fixture
def derived_matches_a_fresh_derivation(db):
    """A check: the derived rows of every partnership (both audiences) equal what a rebuild from
    scratch makes of the events as they now stand."""
    from cooperation import derived
    from cooperation.models import Membership

    columns = ["partnership_id", "audience", "municipality_id", "role", "state", "start_text", "start_lower"]
    columns += ["end_text", "end_upper", "ended_by", "position"]
    fields = ["pk", "status", "first_date", "last_date", "search_text"]
    fields += ["staff_status", "staff_first_date", "staff_last_date", "staff_search_text"]

    def snapshot():
        rows = sorted(Membership.objects.values_list(*columns))
        return rows, sorted(Partnership.objects.values_list(*fields))

    def check() -> None:
        stored = snapshot()
        Membership.objects.all().delete()
        Partnership.objects.update(
            status="planned", first_date=None, last_date=None, search_text="", staff_status="planned",
            staff_first_date=None, staff_last_date=None, staff_search_text="",
        )  # fmt: skip
        derived.rebuild(Partnership.objects.values_list("pk", flat=True))
        assert stored == snapshot()

    return check


@pytest.fixture
def viewer(db, django_user_model):
    """A signed-in account without roles: staff for what it may see (`permissions.can_view_internal`)."""
    return django_user_model.objects.create_user("kijker", "kijker@example.org", "Kijker-wachtwoord-123")
