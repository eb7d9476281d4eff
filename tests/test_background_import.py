"""Large imports as jobs in a real Celery worker: preview, confirm, progress, a worker that dies."""

import datetime
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cooperation.models import ImportJob, Partnership
from cooperation.porting import jobs
from tests.factories import partnerships_csv

ROWS = 3000


def wait_for_status(job: ImportJob, statuses: set, timeout: float = 120.0) -> list[int]:
    """Poll like the progress page does; returns the progress values seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen.append(job.processed_rows)
        if job.status in statuses:
            return seen
        time.sleep(0.005)
    raise AssertionError(f"Job still {job.status} after {timeout} s: {job.error}")


def test_large_import_runs_in_the_worker_with_preview_progress_and_counts(
    seeded_transactional, celery_worker_thread, monkeypatch
):
    # On a quiet machine the import outruns the default half-second progress interval; write
    # progress every 10 ms so a poll is sure to land mid-run (the worker runs in this process).
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0.01)
    admin = get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", "correct-horse-battery-9")
    before = Partnership.objects.count()
    with transaction.atomic():
        job = jobs.job_create(
            user=admin, kind="partnerships", data=partnerships_csv(ROWS), filename="groot.csv", total_rows=ROWS
        )

    seen_preview = wait_for_status(job, {ImportJob.Status.PREVIEWED, ImportJob.Status.FAILED})
    assert job.status == ImportJob.Status.PREVIEWED, job.error
    assert (job.total_rows, job.processed_rows, job.new, job.updated, job.problems) == (ROWS, ROWS, ROWS, 0, [])
    assert job.dry_run and job.task_id and job.heartbeat_at
    assert Partnership.objects.count() == before  # a preview changes nothing

    assert jobs.job_confirm(job=job)
    seen_import = wait_for_status(job, {ImportJob.Status.DONE, ImportJob.Status.FAILED})
    # How often a poll lands mid-run depends on the machine's speed; over both runs one should.
    assert any(0 < value < ROWS for value in seen_preview + seen_import), "no progress was visible while it ran"
    assert job.status == ImportJob.Status.DONE, job.error
    assert (job.total_rows, job.processed_rows, job.new, job.dry_run) == (ROWS, ROWS, ROWS, False)
    assert Partnership.objects.count() == before + ROWS
    assert not jobs.job_confirm(job=job)  # confirming again does nothing

    celery_worker_thread.wait_idle()
    assert jobs.run(job.pk) == "skipped"  # a task delivered twice imports once


def test_a_file_with_problems_shows_them_and_cannot_be_confirmed(seeded_transactional, celery_worker_thread, settings):
    settings.IMPORT_BACKGROUND_THRESHOLD_ROWS = 2
    admin = get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", "correct-horse-battery-9")
    data = partnerships_csv(5).replace(b",covenant,", b",no_such_form,", 1)
    with transaction.atomic():
        job = jobs.job_create(user=admin, kind="partnerships", data=data, filename="fout.csv", total_rows=5)
    wait_for_status(job, {ImportJob.Status.PREVIEWED, ImportJob.Status.FAILED})
    assert job.status == ImportJob.Status.PREVIEWED
    assert job.problems and job.problems[0]["row"]
    assert not jobs.job_confirm(job=job)


@pytest.fixture
def importer(db):
    return get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", "correct-horse-battery-9")


def make_job(user, **values) -> ImportJob:
    defaults = {"kind": "partnerships", "data": partnerships_csv(3), "filename": "klein.csv", "total_rows": 3}
    return ImportJob.objects.create(user=user, **{**defaults, **values})


def test_progress_page_refreshes_itself_and_offers_a_status_url(client, importer):
    job = make_job(importer, status=ImportJob.Status.PREVIEWING, processed_rows=1, heartbeat_at=timezone.now())
    client.force_login(importer)
    page = client.get(job.get_absolute_url()).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress id="job-progress" max="3" value="1">' in page
    assert "js/import-progress.js" in page and "<script>" not in page  # no inline script (CSP)
    status = client.get(reverse("cooperation:import-job-status", args=[job.pk])).json()
    assert status == {
        "status": "previewing",
        "status_display": "wordt gecontroleerd",
        "running": True,
        "processed_rows": 1,
        "total_rows": 3,
        "percent": 33,
    }


def test_once_every_row_is_read_the_page_says_the_import_is_saving(client, importer):
    job = make_job(
        importer, status=ImportJob.Status.IMPORTING, confirmed=True, processed_rows=3, heartbeat_at=timezone.now()
    )
    client.force_login(importer)
    status = client.get(reverse("cooperation:import-job-status", args=[job.pk])).json()
    assert (status["running"], status["status_display"]) == (
        True,
        "wordt opgeslagen: alle rijen zijn gelezen en gecontroleerd",
    )
    assert "wordt opgeslagen" in client.get(job.get_absolute_url()).content.decode()


def test_a_job_whose_worker_died_is_shown_failed_with_a_retry_button(client, importer, settings):
    settings.IMPORT_JOB_STALE_SECONDS = 120
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    job = make_job(importer, status=ImportJob.Status.IMPORTING, confirmed=True, heartbeat_at=long_ago)
    alive = make_job(importer, status=ImportJob.Status.IMPORTING, confirmed=True, heartbeat_at=timezone.now())
    client.force_login(importer)

    page = client.get(job.get_absolute_url()).content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "http-equiv" not in page and reverse("cooperation:import-job-retry", args=[job.pk]) in page
    assert jobs.recover_stale() == 0  # the live one keeps running
    alive.refresh_from_db()
    assert alive.status == ImportJob.Status.IMPORTING


def test_a_worker_job_whose_worker_died_is_queued_again_then_failed_after_max_attempts(
    importer, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_JOB_STALE_SECONDS = 120
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    job = make_job(importer, status=ImportJob.Status.IMPORTING, confirmed=True, heartbeat_at=long_ago, total_rows=5000)
    ImportJob.objects.filter(pk=job.pk).update(attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert jobs.recover_stale() == 1
    job.refresh_from_db()
    assert (job.status, job.confirmed, job.error, len(callbacks)) == (ImportJob.Status.QUEUED, True, "", 1)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.IMPORTING, heartbeat_at=long_ago, attempts=jobs.MAX_ATTEMPTS
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert jobs.recover_stale() == 1
    job.refresh_from_db()
    assert (job.status, len(callbacks)) == (ImportJob.Status.FAILED, 0)


def test_a_redelivered_task_runs_a_job_whose_worker_died_instead_of_skipping_it(importer, settings):
    settings.IMPORT_JOB_STALE_SECONDS = 120
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    job = make_job(importer, status=ImportJob.Status.IMPORTING, confirmed=True, heartbeat_at=long_ago, total_rows=5000)
    ImportJob.objects.filter(pk=job.pk).update(attempts=1)
    assert jobs.run(job.pk, in_worker=True) == ImportJob.Status.DONE
    job.refresh_from_db()
    assert (job.new, job.attempts, bool(job.batch_id)) == (3, 2, True)
    assert jobs.run(job.pk, in_worker=True) == "skipped"  # done: delivered again, imports nothing
    alive = make_job(importer, status=ImportJob.Status.IMPORTING, confirmed=True, heartbeat_at=timezone.now())
    assert jobs.run(alive.pk, in_worker=True) == "skipped"  # still running elsewhere


def test_retry_queues_the_failed_phase_again(client, importer, django_capture_on_commit_callbacks):
    job = make_job(importer, status=ImportJob.Status.FAILED, confirmed=True, error="weg", total_rows=5000)
    client.force_login(importer)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("cooperation:import-job-retry", args=[job.pk]))
    assert response.status_code == 302
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.confirmed, job.error) == (ImportJob.Status.QUEUED, True, "")


def test_only_who_started_it_or_an_administrator_sees_a_job(client, importer):
    job = make_job(importer)
    viewer = get_user_model().objects.create_user("lezer", "lezer@example.org", "correct-horse-battery-9")
    client.force_login(viewer)
    assert client.get(job.get_absolute_url()).status_code == 403
    assert client.post(reverse("cooperation:import-job-confirm", args=[job.pk])).status_code == 403


def test_the_threshold_decides_what_runs_in_the_background(settings):
    settings.IMPORT_BACKGROUND_THRESHOLD_ROWS = 1000
    assert not jobs.is_large(1000)
    assert jobs.is_large(1001)


def test_every_upload_is_a_job_small_ones_run_at_once_large_ones_in_the_worker(
    importer, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_THRESHOLD_ROWS = 10
    with django_capture_on_commit_callbacks() as callbacks:
        small = jobs.job_start(user=importer, kind="partnerships", data=partnerships_csv(10), filename="a.csv")
    assert (small.status, small.total_rows, small.new, small.dry_run) == ("previewed", 10, 10, True)
    assert not callbacks and not small.task_id
    with django_capture_on_commit_callbacks() as callbacks:
        job = jobs.job_start(user=importer, kind="partnerships", data=partnerships_csv(11), filename="b.csv")
    assert (job.status, job.total_rows, job.user, bytes(job.data)) == ("queued", 11, importer, partnerships_csv(11))
    assert len(callbacks) == 1


def test_a_small_confirm_claims_the_job_and_imports_in_the_request(importer):
    job = jobs.job_start(user=importer, kind="partnerships", data=partnerships_csv(3), filename="a.csv")
    assert jobs.job_confirm(job=job)
    assert (job.status, job.new, job.dry_run, bool(job.batch_id)) == ("done", 3, False, True)
    assert not jobs.job_confirm(job=job)  # a second confirm finds it claimed and imports nothing
    assert Partnership.objects.filter(slug__startswith="achtergrond-").count() == 3


def test_admin_upload_above_the_threshold_becomes_a_background_job(admin_client, settings):
    settings.IMPORT_BACKGROUND_THRESHOLD_ROWS = 2
    upload = SimpleUploadedFile("groot.csv", partnerships_csv(3), content_type="text/csv")
    response = admin_client.post(reverse("admin:cooperation_partnership_import"), {"file": upload})
    job = ImportJob.objects.get(filename="groot.csv")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.total_rows == 3 and job.kind == "partnerships"


def test_an_upload_through_the_admin_returns_at_once_and_the_page_shows_the_job_progress(
    seeded_transactional, celery_worker_thread, import_held, client, settings
):
    settings.IMPORT_BACKGROUND_THRESHOLD_ROWS = 1000
    admin = get_user_model().objects.create_superuser("beheerder", "beheerder@example.org", "correct-horse-battery-9")
    client.force_login(admin)
    upload = SimpleUploadedFile("groot.csv", partnerships_csv(ROWS), content_type="text/csv")
    response = client.post(reverse("admin:cooperation_partnership_import"), {"file": upload})
    job = ImportJob.objects.get(filename="groot.csv")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    url = reverse("cooperation:import-job-status", args=[job.pk])
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(url).json()
        seen.append(status["processed_rows"])
        if 0 < status["processed_rows"] < status["total_rows"]:
            import_held.set()
        if not status["running"]:
            break
        time.sleep(0.01)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED, job.error
    assert any(0 < value < ROWS for value in seen), f"no progress was visible while it ran: {seen}"


def test_the_stale_check_only_reads_when_no_job_is_stale(importer):
    # On SQLite even an UPDATE of no rows waits for the write lock of a running import.
    alive = make_job(importer, status=ImportJob.Status.PREVIEWING, heartbeat_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert jobs.recover_stale(alive.pk) == 0
        assert jobs.recover_stale() == 0
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "SELECT"]
