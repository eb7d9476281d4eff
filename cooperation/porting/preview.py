"""What the preview and result of an import job show: a summary first, problems grouped, rows paged.

Shared by the admin's import page (small files, checked in the request) and the job page
(large files, checked in the worker), which both include templates/cooperation/_import_report.html.
The page costs the same few queries whatever the file's size: the job row (its problems and the
first rows are JSON in it), and for a finished import its partnerships (one query).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Event, ImportJob, Partnership

ROWS_PER_PAGE = 50
PROBLEM_GROUPS_SHOWN = 100
PARTNERSHIPS_SHOWN = 50


def compact_rows(rows: list[int]) -> str:
    """Row numbers as ranges: [4, 5, 6, 9] -> "4–6, 9"."""
    parts, numbers = [], sorted(set(rows))
    start = previous = None
    for number in [*numbers, None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}–{previous}")
        start = previous = number
    return ", ".join(parts)


def problem_groups(problems: list[dict]) -> list[dict]:
    """Problems with the same column and message as one group, in the order they first occur;
    problems of the whole file (no row) first."""
    groups: dict[tuple[str, str], dict] = {}
    for problem in problems:
        key = (problem.get("column") or "", problem.get("message") or "")
        group = groups.setdefault(key, {"column": key[0], "message": key[1], "rows": [], "count": 0})
        group["count"] += 1
        if problem.get("row"):
            group["rows"].append(problem["row"])
    ordered = sorted(groups.values(), key=lambda group: (bool(group["rows"]), min(group["rows"] or [0])))
    for group in ordered:
        rows = group["rows"]
        group["rows_text"] = (
            ngettext("row %(rows)s", "rows %(rows)s", len(set(rows))) % {"rows": compact_rows(rows)}
            if rows
            else _("the whole file")
        )
    return ordered


def summary(job: ImportJob) -> str:
    """ "5000 rows: 4990 new, 3 to update, 2 unchanged, 5 duplicates (skipped)." with Dutch plurals."""
    parts = [
        ngettext("%(count)s new", "%(count)s new", job.new) % {"count": job.new},
        ngettext("%(count)s to update", "%(count)s to update", job.updated) % {"count": job.updated},
        ngettext("%(count)s unchanged", "%(count)s unchanged", job.unchanged) % {"count": job.unchanged},
    ]
    if job.duplicates and job.import_duplicates and not job.dry_run:
        parts.append(
            ngettext(
                "of which %(count)s duplicate (imported)", "of which %(count)s duplicates (imported)", job.duplicates
            )
            % {"count": job.duplicates}
        )
    elif job.duplicates:
        parts.append(
            ngettext("%(count)s duplicate (skipped)", "%(count)s duplicates (skipped)", job.duplicates)
            % {"count": job.duplicates}
        )
    rows = ngettext("%(count)s row", "%(count)s rows", job.total_rows) % {"count": job.total_rows}
    return f"{rows}: {', '.join(parts)}."


def affected_partnerships(job: ImportJob) -> tuple[list[Partnership], int]:
    """The partnerships a finished import of partnerships or events wrote to (one query), and how many."""
    if job.status != ImportJob.Status.DONE or not job.batch_id or job.kind == "municipalities":
        return [], 0
    reason = f"import:{job.batch_id}"
    if job.kind == "events":
        ids = Event.history.filter(history_change_reason=reason).values("partnership_id")
    else:
        ids = Partnership.history.filter(history_change_reason=reason).values("id")
    partnerships = list(Partnership.objects.filter(pk__in=ids).only("pk", "slug", "name").order_by("name"))
    return partnerships[:PARTNERSHIPS_SHOWN], len(partnerships)


def preview_context(job: ImportJob, *, page: str | int | None, cancel_url: str, confirm_url: str) -> dict:
    """The template context of _import_report.html for a job that has been checked or imported."""
    rows = Paginator(job.preview, ROWS_PER_PAGE)
    page_obj = rows.get_page(page)
    groups = problem_groups(job.problems)
    partnerships, partnership_count = affected_partnerships(job)
    problem_rows = {problem.get("row") for problem in job.problems if problem.get("row")}
    return {
        "job": job,
        "summary": summary(job),
        "problem_groups": groups[:PROBLEM_GROUPS_SHOWN],
        "more_problem_groups": max(len(groups) - PROBLEM_GROUPS_SHOWN, 0),
        "problem_count": len(job.problems),
        "problem_row_count": len(problem_rows),
        "page_obj": page_obj,
        "rows_listed": len(job.preview),
        "rows_not_listed": max(job.total_rows - len(job.preview) - len(problem_rows), 0),
        "can_confirm": job.status == ImportJob.Status.PREVIEWED and not job.problems and bool(confirm_url),
        "confirm_url": confirm_url,
        "cancel_url": cancel_url,
        "partnerships": partnerships,
        "more_partnerships": max(partnership_count - len(partnerships), 0),
        "batch_url": reverse("admin:cooperation_importbatch_change", args=[job.batch_id]) if job.batch_id else "",
        "undo_url": reverse("admin:cooperation_importbatch_undo", args=[job.batch_id]) if job.batch_id else "",
    }
