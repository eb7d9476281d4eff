"""Celery tasks: background imports, notifications, reminders, the outbox sweep.

All tasks acknowledge late (settings: CELERY_TASK_ACKS_LATE), so a task whose worker dies is
delivered again; each one is therefore safe to run twice.
"""

from __future__ import annotations

import random
import smtplib

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import notifications
from .porting import jobs


def backoff_seconds(retries: int) -> int:
    """Exponential backoff with jitter: about 30 s, 1 min, 2 min, ... capped at an hour."""
    base = min(3600, 30 * 2**retries)
    return base + random.randint(0, base // 4)


@shared_task(bind=True, acks_late=True)
def send_notification(self, notification_id: int) -> str:
    """Send one outbox row; idempotent (see notifications.deliver). Retries SMTP failures
    with exponential backoff, then marks the row failed."""
    try:
        return notifications.deliver(notification_id)
    except (smtplib.SMTPException, OSError) as error:
        final = self.request.retries >= settings.NOTIFICATION_MAX_RETRIES
        notifications.record_failure(notification_id, error, final=final)
        if final:
            return "failed"
        raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries)) from error


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Hand pending outbox rows to the broker (beat: every minute); returns how many."""
    return notifications.sweep()


@shared_task(acks_late=True)
def send_reminders() -> int:
    """The daily digest to editors (beat: every morning); returns how many were queued."""
    return len(notifications.queue_reminders(today=timezone.localdate()))


@shared_task(acks_late=True)
def run_import_job(job_id: int) -> str:
    """Run an import job's current phase: the dry run, or the confirmed import."""
    return jobs.run(job_id, in_worker=True)


@shared_task(acks_late=True)
def fail_stale_import_jobs() -> int:
    """Queue again, or mark failed, the jobs whose worker died (beat: every minute); returns how many."""
    return jobs.recover_stale()


@shared_task(acks_late=True)
def build_open_data() -> list[str]:
    """Build the large open-data downloads (Popolo JSON, register CSV/XLSX) and store them
    (beat: every hour; also queued when a download is missing or old); returns their names."""
    from .downloads import open_data_store

    return open_data_store(base_url=settings.PORTAL_BASE_URL)
