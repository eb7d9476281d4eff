"""Large imports in the Celery worker, built on `imports.run_import`.

A job is a database row (`ImportJob`): who, which file (its bytes, so web and worker
need no shared disk), status, progress, counts and problems. The worker first runs a dry
run (the preview); once the admin confirms, it runs the real import. Progress is written
by a helper thread on its own database connection, because the import itself runs in
one transaction (all or nothing) whose writes nobody sees before it ends.

A job whose worker died stops sending signs of life (`heartbeat_at`); it is then shown
as failed, with a retry button, by the page that reads it and by a periodic task.

In eager mode (`make run`: no worker, SQLite) a job runs in a thread of the web process. The
import's transaction then holds SQLite's write lock, so neither progress nor heartbeat reach
the row until it ends; the pages of that process read both from the running job instead.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import queue
from .models import ImportJob

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes
HEARTBEAT_INTERVAL = 10  # seconds between signs of life when progress does not move

WORKER_LOST = _("The worker running this import stopped. Nothing was changed; you can try again.")
BROKER_DOWN = _("The background service is not reachable. Try again in a moment.")

# The progress writers of the jobs running in this process, by job id.
_running_here: dict[int, _ProgressWriter] = {}


def is_large(total_rows: int) -> bool:
    """Imports of more rows than IMPORT_BACKGROUND_THRESHOLD_ROWS run in the worker."""
    return total_rows > settings.IMPORT_BACKGROUND_THRESHOLD_ROWS


def job_start_if_large(*, user, kind: str, data: bytes, filename: str) -> ImportJob | None:
    """The hand-over for the import pages: a file of more than IMPORT_BACKGROUND_THRESHOLD_ROWS
    rows becomes a background job (redirect to its `get_absolute_url()`); None means "run it
    in the request". An unreadable file raises `imports.ImportFileError`, as `read_dataset` does."""
    from .imports import read_dataset

    total = len(read_dataset(data=data, filename=filename))
    if not is_large(total):
        return None
    return job_create(user=user, kind=kind, data=data, filename=filename, total_rows=total)


@transaction.atomic
def job_create(*, user, kind: str, data: bytes, filename: str, total_rows: int = 0) -> ImportJob:
    """Store the file as a job and hand its dry run to the worker after the commit."""
    job = ImportJob(user=user, kind=kind, data=data, filename=filename, total_rows=total_rows)
    job.full_clean(exclude=["data"])
    job.save()
    transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return job


def _enqueue(job_id: int) -> None:
    from kombu.exceptions import OperationalError

    if settings.CELERY_TASK_ALWAYS_EAGER:
        _start_thread(job_id)
        return
    try:
        result = queue.enqueue("run_import_job", job_id)
    except (OperationalError, OSError) as error:
        logger.warning("Could not queue import job %s: %s", job_id, error)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.FAILED, error=str(BROKER_DOWN), finished_at=timezone.now()
        )
        return
    ImportJob.objects.filter(pk=job_id).exclude(task_id=result.id).update(task_id=result.id)


def _start_thread(job_id: int) -> None:
    """Eager mode: run the task in-process, but in a thread, so the request that queued it
    returns at once and its progress page shows the bar moving."""

    task_id = str(uuid.uuid4())
    # Written before the thread starts: on SQLite its import would hold the write lock.
    ImportJob.objects.filter(pk=job_id).update(task_id=task_id)

    def target() -> None:
        try:
            queue.enqueue("run_import_job", job_id, task_id=task_id)
        except Exception:
            logger.exception("Import job %s failed", job_id)
        finally:
            connection.close()

    threading.Thread(target=target, name=f"import-job-{job_id}", daemon=True).start()


@transaction.atomic
def job_confirm(*, job: ImportJob) -> bool:
    """After a clean preview, queue the real import. False if the job is not ready for it."""
    updated = ImportJob.objects.filter(
        pk=job.pk, status=ImportJob.Status.PREVIEWED, confirmed=False, problems=[]
    ).update(confirmed=True, status=ImportJob.Status.QUEUED, processed_rows=0, finished_at=None)
    if updated:
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return bool(updated)


@transaction.atomic
def job_retry(*, job: ImportJob) -> bool:
    """Queue a failed job again, in the phase it failed in. False if it has not failed."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
        status=ImportJob.Status.QUEUED, error="", processed_rows=0, finished_at=None, heartbeat_at=None
    )
    if updated:
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return bool(updated)


def _stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.IMPORT_JOB_STALE_SECONDS)


def fail_stale(job_id: int | None = None) -> int:
    """Mark running jobs without a recent sign of life as failed; returns how many.

    A job running in this process is alive whatever its row says. One query when none is
    stale: a read, because on SQLite even an UPDATE of no rows waits for a running import.
    """
    jobs = ImportJob.objects.filter(
        status__in=[ImportJob.Status.PREVIEWING, ImportJob.Status.IMPORTING], heartbeat_at__lt=_stale_before()
    ).exclude(pk__in=list(_running_here))
    if job_id is not None:
        jobs = jobs.filter(pk=job_id)
    stale = list(jobs.values_list("pk", flat=True))  # no UPDATE follows when this is empty
    return jobs.filter(pk__in=stale).update(
        status=ImportJob.Status.FAILED, error=str(WORKER_LOST), finished_at=timezone.now()
    )


def with_live_progress(job: ImportJob) -> ImportJob:
    """`job`, with the progress of its run when that runs in this process (eager mode): the
    row may lag, as on SQLite it waits for the import's transaction to end. No queries."""
    writer = _running_here.get(job.pk)
    latest = writer.latest if writer is not None and writer.running_status == job.status else None
    if latest is not None:
        done, total = latest
        job.total_rows, job.processed_rows = total, min(done, total)
    return job


class _ProgressWriter(threading.Thread):
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
        self.join()


def run(job_id: int) -> str:
    """Run the queued phase of a job (dry run, or the confirmed import) and store its report.

    A job that is not queued (already run, running elsewhere, failed) is skipped, so a
    task delivered twice imports once. Returns the job's new status.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return "missing"
    running = ImportJob.Status.IMPORTING if job.confirmed else ImportJob.Status.PREVIEWING
    writer = _ProgressWriter(job_id, running)
    # Known here from before the claim until the row has its outcome, so it never looks stale here.
    if _running_here.setdefault(job_id, writer) is not writer:
        return "skipped"
    try:
        now = timezone.now()
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=running, started_at=now, heartbeat_at=now, processed_rows=0
        )
        if not claimed:
            return "skipped"
        writer.start()
        return _run_phase(job, writer)
    finally:
        del _running_here[job_id]


def _run_phase(job: ImportJob, writer: _ProgressWriter) -> str:
    from .imports import run_import

    job_id, running = job.pk, writer.running_status
    try:
        report = run_import(
            kind=job.kind,
            data=bytes(job.data),
            filename=job.filename,
            user=job.user,
            dry_run=not job.confirmed,
            progress=writer.report,
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
        status=finished,
        dry_run=report.dry_run,
        total_rows=report.total_rows,
        processed_rows=report.total_rows,
        new=report.new,
        updated=report.updated,
        unchanged=report.unchanged,
        problems=[{"row": p.row, "column": p.column, "message": str(p.message)} for p in report.problems],
        preview=[
            {"row": r.row, "action": r.action, "key": r.key, "label": r.label, "changes": list(r.changes)}
            for r in getattr(report, "rows", [])
        ],
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return finished
