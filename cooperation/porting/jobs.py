"""Every upload is an `ImportJob` row: small ones run in the request, large ones in the Celery worker.

A job holds who, which file (its bytes, so any web process and any worker can take it
up: nothing is parked on local disk or in the session), status, progress, counts and
problems. Its first phase is a dry run (the preview); once confirmed, the real import.
Confirming claims the row in one UPDATE before anything is imported, so a double click,
a second tab or a second web host imports once and shows the first confirm's result.

In the worker, progress is written by a helper thread on its own database connection,
because the import itself runs in one transaction (all or nothing) whose writes nobody
sees before it ends. A job whose worker died stops sending signs of life
(`heartbeat_at`); its import was rolled back with the worker, so it is simply run again:
queued anew by the page that reads it or by a periodic task (`recover_stale`), and taken
up by a redelivered task instead of skipped, up to MAX_ATTEMPTS runs; then it is shown as
failed, with a retry button. A job run in a request (a small one) whose request died is
shown as failed at once.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import queue
from ..models import ImportJob
from .files import ImportFileError, read_dataset
from .importer import ImportReport, run_import

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes
HEARTBEAT_INTERVAL = 10  # seconds between signs of life when progress does not move

WORKER_LOST = _("The worker running this import stopped. Nothing was changed; you can try again.")
BROKER_DOWN = _("The background service is not reachable. Try again in a moment.")
RUNNING = (ImportJob.Status.QUEUED, ImportJob.Status.PREVIEWING, ImportJob.Status.IMPORTING)
MAX_ATTEMPTS = 3  # runs of one phase in the worker before a job whose worker keeps dying is failed


def is_large(total_rows: int) -> bool:
    """Imports of more rows than IMPORT_BACKGROUND_THRESHOLD_ROWS run in the worker."""
    return total_rows > settings.IMPORT_BACKGROUND_THRESHOLD_ROWS


def job_start(*, user, kind: str, data: bytes, filename: str) -> ImportJob:
    """Store an upload as a job and run its dry run: here and now when the file is small (or
    unreadable: the dry run says why), in the worker when it is large (see `is_large`)."""
    try:
        total = len(read_dataset(data=data, filename=filename))
    except ImportFileError:
        total = 0
    job = job_create(user=user, kind=kind, data=data, filename=filename, total_rows=total)
    if not is_large(total):
        run(job.pk)
        job.refresh_from_db()
    return job


def job_create(*, user, kind: str, data: bytes, filename: str, total_rows: int = 0) -> ImportJob:
    """Store the file as a job; a large one is handed to the worker after the commit."""
    with transaction.atomic():
        job = ImportJob(user=user, kind=kind, data=data, filename=filename[:255], total_rows=total_rows)
        job.full_clean(exclude=["data"])
        job.save()
        if is_large(total_rows):
            transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return job


def job_confirm(*, job: ImportJob, import_duplicates: bool = False) -> bool:
    """Claim a cleanly previewed job for its import, then run it (small) or queue it (large).
    Rows the preview found to repeat a stored event or an earlier row are skipped, unless
    `import_duplicates`.

    The claim is one UPDATE of the job row, committed before the import starts: of two
    confirms, however close, one claims and the other gets False (and shows the job, whose
    row tells how the first one went). False too for a job that is not ready.
    """
    with transaction.atomic():
        claimed = ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.PREVIEWED, confirmed=False, problems=[]
        ).update(
            confirmed=True,
            import_duplicates=import_duplicates,
            status=ImportJob.Status.QUEUED,
            processed_rows=0,
            finished_at=None,
            attempts=0,
        )
        if claimed and is_large(job.total_rows):
            transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    if claimed and not is_large(job.total_rows):
        run(job.pk)
    job.refresh_from_db()
    return bool(claimed)


def job_retry(*, job: ImportJob) -> bool:
    """Run a failed job again, in the phase it failed in. False if it has not failed."""
    with transaction.atomic():
        retried = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
            status=ImportJob.Status.QUEUED, error="", processed_rows=0, finished_at=None, heartbeat_at=None, attempts=0
        )
        if retried and is_large(job.total_rows):
            transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    if retried and not is_large(job.total_rows):
        run(job.pk)
    job.refresh_from_db()
    return bool(retried)


def _enqueue(job_id: int) -> None:
    from kombu.exceptions import OperationalError

    try:
        result = queue.enqueue("run_import_job", job_id)
    except (OperationalError, OSError) as error:
        logger.warning("Could not queue import job %s: %s", job_id, error)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.FAILED, error=str(BROKER_DOWN), finished_at=timezone.now()
        )
        return
    ImportJob.objects.filter(pk=job_id).exclude(task_id=result.id).update(task_id=result.id)


def _stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.IMPORT_JOB_STALE_SECONDS)


def recover_stale(job_id: int | None = None) -> int:
    """Jobs running without a recent sign of life: their worker (or request) died and their import
    was rolled back with it. A worker's job is queued again, up to MAX_ATTEMPTS runs; any other is
    marked failed. Returns how many were found.

    One query when none is stale: a read, because on SQLite even an UPDATE of no rows waits for
    a running import.
    """
    stale = ImportJob.objects.filter(
        status__in=[ImportJob.Status.PREVIEWING, ImportJob.Status.IMPORTING], heartbeat_at__lt=_stale_before()
    )
    if job_id is not None:
        stale = stale.filter(pk=job_id)
    found = list(stale.values_list("pk", "total_rows", "attempts"))
    if not found:
        return 0
    again = [pk for pk, total, attempts in found if is_large(total) and attempts < MAX_ATTEMPTS]
    failed = [pk for pk, _total, _attempts in found if pk not in again]
    with transaction.atomic():
        for pk in again:
            if stale.filter(pk=pk).update(status=ImportJob.Status.QUEUED, heartbeat_at=None, processed_rows=0):
                transaction.on_commit(lambda pk=pk: _enqueue(pk), robust=True)
        if failed:
            stale.filter(pk__in=failed).update(
                status=ImportJob.Status.FAILED, error=str(WORKER_LOST), finished_at=timezone.now()
            )
    return len(found)


class ProgressWriter(threading.Thread):
    """Writes the latest progress and a heartbeat from its own thread, hence its own connection."""

    def __init__(self, job_id: int, running_status: str):
        super().__init__(name=f"import-job-{job_id}-progress", daemon=True)
        self.job_id = job_id
        self.running_status = running_status
        self.latest: tuple[int, int] | None = None
        self.stopping = threading.Event()

    def report(self, done: int, total: int) -> None:
        self.latest = (done, total)

    def run(self) -> None:
        written, last_write = None, 0.0
        try:
            while not self.stopping.wait(PROGRESS_INTERVAL):
                latest = self.latest
                if latest != written or time.monotonic() - last_write > HEARTBEAT_INTERVAL:
                    self._write(latest)
                    written, last_write = latest, time.monotonic()
        finally:
            connection.close()

    def _write(self, latest: tuple[int, int] | None) -> None:
        values = {"heartbeat_at": timezone.now()}
        if latest is not None:
            done, total = latest
            values.update(total_rows=total, processed_rows=min(done, total))
        try:
            ImportJob.objects.filter(pk=self.job_id, status=self.running_status).update(**values)
        except DatabaseError as error:  # e.g. SQLite locked by the import: progress is best effort
            logger.debug("Progress of import job %s not written: %s", self.job_id, error)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join()


def run(job_id: int, *, in_worker: bool = False) -> str:
    """Run the queued phase of a job (dry run, or the confirmed import) and store its report.

    A job that is not queued (already run, running elsewhere, failed) is skipped, so a
    task delivered twice imports once; but one whose run has no recent sign of life (its
    worker died, the import was rolled back) is taken up again, up to MAX_ATTEMPTS runs.
    In the worker a helper thread writes progress and signs of life while the import runs.
    Returns the job's new status.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return "missing"
    running = ImportJob.Status.IMPORTING if job.confirmed else ImportJob.Status.PREVIEWING
    now = timezone.now()
    died = Q(status=running, heartbeat_at__lt=_stale_before(), attempts__lt=MAX_ATTEMPTS)
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(Q(status=ImportJob.Status.QUEUED) | died)
        .update(status=running, started_at=now, heartbeat_at=now, processed_rows=0, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    writer = ProgressWriter(job_id, running)
    if in_worker:
        writer.start()
    try:
        report = run_import(
            kind=job.kind,
            data=bytes(job.data),
            filename=job.filename,
            user=job.user,
            dry_run=not job.confirmed,
            progress=writer.report,
            duplicates="import" if job.confirmed and job.import_duplicates else "skip",
        )
    except Exception as error:
        writer.stop()
        logger.exception("Import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id, status=running).update(
            status=ImportJob.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000], finished_at=timezone.now()
        )
        return ImportJob.Status.FAILED
    writer.stop()
    finished = ImportJob.Status.PREVIEWED if not job.confirmed else ImportJob.Status.DONE
    ImportJob.objects.filter(pk=job_id, status=running).update(
        status=finished, finished_at=timezone.now(), heartbeat_at=timezone.now(), **report_fields(report)
    )
    return finished


def report_fields(report: ImportReport) -> dict:
    """An import's report as the job row's fields."""
    return {
        "dry_run": report.dry_run,
        "total_rows": report.total_rows,
        "processed_rows": report.total_rows,
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "duplicates": report.duplicates,
        "batch_id": report.batch_id,
        "problems": [{"row": p.row, "column": p.column, "message": str(p.message)} for p in report.problems],
        "preview": [
            {
                "row": r.row,
                "action": r.action,
                "key": r.key,
                "label": r.label,
                "changes": list(r.changes),
                "detail": r.detail,
                "note": r.note,
            }
            for r in report.rows
        ],
    }
