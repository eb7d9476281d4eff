"""The progress page of a background import: works without JavaScript (a <progress> bar and a
meta refresh), and more smoothly with static/js/import-progress.js polling the JSON status."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import permissions
from ..models import ImportJob
from . import jobs
from .preview import preview_context

REFRESH_SECONDS = 2
CHANGELISTS = {"municipalities": "municipality", "partnerships": "partnership", "events": "event"}


def _get_job(request, pk: int) -> ImportJob:
    """The job if this user may see it (who started it, or an administrator); a stale one is
    queued again or failed first (jobs.recover_stale)."""
    if not permissions.can_import(request.user):
        raise PermissionDenied
    jobs.recover_stale(pk)
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk)
    if job.user_id != request.user.pk and not permissions.is_administrator(request.user):
        raise PermissionDenied
    return job


def status_display(job: ImportJob) -> str:
    """The job's status in words; once every row is read, an import that is still writing says so
    instead of sitting at 100 % "importing"."""
    reading_done = job.total_rows and job.processed_rows >= job.total_rows
    if job.status == ImportJob.Status.IMPORTING and reading_done:
        return str(_("saving: every row is read and checked"))
    if job.status == ImportJob.Status.PREVIEWING and reading_done:
        return str(_("checking the rules over all rows"))
    return str(job.get_status_display())


def _running(job: ImportJob) -> bool:
    return job.status in (ImportJob.Status.QUEUED, ImportJob.Status.PREVIEWING, ImportJob.Status.IMPORTING)


@login_required
def import_job(request, pk: int):
    """2 queries (+ session, user): stale check, the job (its problems and first rows are in it);
    a finished import adds one, the partnerships it changed (porting.preview)."""
    job = _get_job(request, pk)
    context = {
        "job": job,
        "status_display": status_display(job),
        "running": _running(job),
        "refresh_seconds": REFRESH_SECONDS,
    }
    if job.status in (ImportJob.Status.PREVIEWED, ImportJob.Status.DONE):
        context["upload_url"] = reverse(f"admin:cooperation_{CHANGELISTS[job.kind]}_import")
        context.update(
            preview_context(
                job,
                page=request.GET.get("page"),
                cancel_url=reverse(f"admin:cooperation_{CHANGELISTS[job.kind]}_changelist"),
                confirm_url=reverse("cooperation:import-job-confirm", args=[job.pk]),
            )
        )
    return render(request, "cooperation/import_job.html", context)


@login_required
def import_job_status(request, pk: int):
    job = _get_job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_display": status_display(job),
            "running": _running(job),
            "processed_rows": job.processed_rows,
            "total_rows": job.total_rows,
            "percent": job.percent,
        }
    )


@login_required
@require_POST
def import_job_confirm(request, pk: int):
    job = _get_job(request, pk)
    jobs.job_confirm(job=job, import_duplicates=request.POST.get("duplicates") == "import")
    return redirect(job)


@login_required
@require_POST
def import_job_retry(request, pk: int):
    job = _get_job(request, pk)
    jobs.job_retry(job=job)
    return redirect(job)
