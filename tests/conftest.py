"""The cast of the tests: the reference data, the two seed partnerships and users.

Municipalities and the seed cases are loaded once per test session; each
test runs in a transaction that is rolled back. Transactional tests (browser,
Celery worker) flush the database, so they load what they need themselves
with the `seeded_transactional` fixture. Helpers that make more data are in
tests/factories.py; no test module imports another.

The tests run with production settings (`make test` sets no DJANGO_DEBUG), except
what `test_settings` changes for a test run.
"""

import io
import os
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings

from cooperation.demo import load_demo
from cooperation.models import Municipality, Partnership
from cooperation.porting import jobs
from tests.factories import MSG, PASSWORD, SVM, make_user


def pytest_report_header(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(f"The tests run on PostgreSQL, not {engine}: set DATABASE_URL or use `make test`.")
    db = settings.DATABASES["default"]
    return f"database: PostgreSQL at {db['HOST']}:{db['PORT']} (test database test_{db['NAME']})"


@pytest.fixture(scope="session", autouse=True)
def test_settings(tmp_path_factory):
    """Production settings, but: a fast password hasher (the test accounts guard nothing; the
    default hasher costs a quarter of a second per login or new account); static files by their
    own names, so no `collectstatic` is needed before a run (the one test of the hashed, compressed
    files collects them itself); and plain HTTP, which the test client and the live server speak,
    so no redirect to HTTPS and no secure-only cookies; no second factor (see below); and uploaded
    documents in a temporary directory."""
    from django.conf import settings

    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STATIC_ROOT=tmp_path_factory.mktemp("static"),
        # Uploaded documents go to a directory of this run, never into the checkout.
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        # The second factor is tested on its own (tests/test_oidc.py turns it on); the other tests
        # sign staff in directly and test what they do once signed in.
        PORTAL_REQUIRE_2FA=False,
        # The test client's host, and the live servers' (the API's schema test calls one as localhost).
        ALLOWED_HOSTS=["testserver", "localhost", "127.0.0.1"],
    ):
        yield


def load_reference_data() -> None:
    call_command("load_municipalities", verbosity=0)
    load_demo()


# The database as `django_db_setup` left it (migrations' data and the reference data): each table's
# rows in PostgreSQL's COPY text format, restored by `seeded_transactional` after a flush.
SEEDED_TABLES: dict[str, bytes] = {}


def _tables() -> list[str]:
    return connection.introspection.django_table_names(only_existing=True, include_views=False)


def _copy_out_every_table() -> dict[str, bytes]:
    rows = {}
    with connection.cursor() as cursor:
        for table in _tables():
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} TO STDOUT", buffer)
            if buffer.getvalue():
                rows[table] = buffer.getvalue()
    return rows


def _restore_seeded_tables() -> None:
    """Empty every table and copy the seeded rows back in, in one transaction. Foreign keys are not
    checked while it runs (the rows were consistent when copied); ids keep their values, and the
    sequences have only moved on, so new rows never collide with them."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("".join(f"DELETE FROM {quote(table)};" for table in _tables()))
        for table, rows in SEEDED_TABLES.items():
            cursor.copy_expert(f"COPY {quote(table)} FROM STDIN", io.BytesIO(rows))


@pytest.fixture(scope="session", autouse=True)
def broker_of_this_worker(worker_id):
    """`make test` runs the tests in two processes (pytest-xdist): each has its own test database
    (pytest-django) and, here, its own Redis database as the Celery broker, so that the worker of
    one never takes the tasks of the other (gw0 the broker `make test` names, gw1 the one below)."""
    if worker_id in ("master", "gw0"):
        yield
        return
    from django.conf import settings

    from portal.celery import app

    base, _, number = settings.CELERY_BROKER_URL.rpartition("/")
    offset = int(worker_id.removeprefix("gw"))
    url = f"{base}/{int(number) - offset}" if number.isdigit() else settings.CELERY_BROKER_URL
    with override_settings(CELERY_BROKER_URL=url):
        previous, app.conf.broker_url = app.conf.broker_url, url
        os.environ["CELERY_BROKER_URL"] = url
        yield
        app.conf.broker_url = previous


@pytest.fixture(scope="session", autouse=True)
def quick_flush():
    """The flush after each transactional test empties the tables with DELETE instead of TRUNCATE:
    the tables hold a few thousand rows, and PostgreSQL's TRUNCATE of 50 tables costs about a second
    and a half of file work each time (DELETE: a few milliseconds). Foreign keys are not checked
    during it, since every table is emptied."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        deletes = [f"DELETE FROM {self.quote_name(table)}" for table in tables]
        return ["SET LOCAL session_replication_role = replica", *deletes]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql"
        print(f"\nRunning on PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 100}")
        load_reference_data()
        SEEDED_TABLES.update(_copy_out_every_table())


@pytest.fixture
def seeded_transactional(transactional_db):
    """For transactional tests: the reference data as the session loaded it, back after the last
    flush (copied, not loaded again: loading costs seconds, copying milliseconds)."""
    _restore_seeded_tables()


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
    return get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", PASSWORD)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def viewer(db):
    """A civil servant with an account: sees internal data, edits nothing."""
    return make_user("kijker", "viewer")


@pytest.fixture
def viewer_client(viewer):
    """A second browser, signed in as `viewer` (the `client` stays anonymous)."""
    signed_in = Client()
    signed_in.force_login(viewer)
    return signed_in


@pytest.fixture
def editor_of(db):
    """Makes an editor of the given municipalities: `editor_of("GM0606")` (password PASSWORD)."""

    def make(*cbs_codes: str, username: str = ""):
        return make_user(username or f"redacteur_{'_'.join(cbs_codes).lower()}", "editor", *cbs_codes)

    return make


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


@pytest.fixture
def import_held(monkeypatch):
    """Holds a worker's import at its progress reports until the test has seen one of them (at
    most 10 s), so that a poll lands mid-run on any machine; returns that event. The worker of
    `celery_worker_thread` runs in this process, so it sees the patch."""
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0.01)
    seen = threading.Event()
    report = jobs.ProgressWriter.report

    def report_and_wait_to_be_seen(self, done: int, total: int) -> None:
        report(self, done, total)
        if done < total:
            seen.wait(10)

    monkeypatch.setattr(jobs.ProgressWriter, "report", report_and_wait_to_be_seen)
    yield seen
    seen.set()


# --- core: shared by the write-path and audience tests ----------------------------------


@pytest.fixture
def derived_matches_a_fresh_derivation(db):
    """A check: the derived rows of every partnership and the search texts of every agreement (both
    audiences) equal what a rebuild from scratch makes of the events as they now stand."""
    from cooperation import derived
    from cooperation.models import Agreement, Membership

    columns = ["partnership_id", "audience", "municipality_id", "role", "state", "start_text", "start_lower"]
    columns += ["end_text", "end_upper", "ended_by", "position"]
    fields = ["pk", "status", "first_date", "last_date", "search_text"]
    fields += ["staff_status", "staff_first_date", "staff_last_date", "staff_search_text"]

    def snapshot():
        rows = sorted(Membership.objects.values_list(*columns))
        agreements = sorted(Agreement.objects.values_list("pk", "search_text", "staff_search_text"))
        return rows, sorted(Partnership.objects.values_list(*fields)), agreements

    def check() -> None:
        stored = snapshot()
        Membership.objects.all().delete()
        Partnership.objects.update(
            status="planned", first_date=None, last_date=None, search_text="", staff_status="planned",
            staff_first_date=None, staff_last_date=None, staff_search_text="",
        )  # fmt: skip
        Agreement.objects.update(search_text="", staff_search_text="")
        derived.rebuild(Partnership.objects.values_list("pk", flat=True))
        assert stored == snapshot()

    return check


@pytest.fixture
def collected(tmp_path, settings):
    """The production static files storage, collected into a temporary directory: only the
    portal's own files, because compressing the admin's, the API browser's and Swagger UI's is most
    of the work and not what is tested (the other tests use a storage that needs no collecting)."""
    settings.STATIC_ROOT = tmp_path
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    return tmp_path
