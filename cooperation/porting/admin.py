"""Import and export in the admin: an import page per kind, export of the selected rows, applied imports.

- `ImportExportAdminMixin`: an import page per kind (upload, preview of every new,
  changed and unchanged row and every problem, then confirm) and export of the
  selected rows or the whole list (CSV, XLSX, JSON). Every upload becomes an
  `ImportJob` row (see porting.jobs): the preview and the confirm may reach
  different web hosts, and a confirm sent twice imports once.
- `ImportBatchAdmin`: every applied import, what it changed, and its undo.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import permissions
from ..models import ImportBatch, ImportJob
from . import export, jobs
from .columns import COLUMNS
from .preview import preview_context
from .undo import UNDO_MODELS, describe, import_undo, import_undo_conflicts


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (comma or semicolon), XLSX or JSON; UTF-8 or Windows-1252."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise ValidationError(
                _("The file is %(size)s; files up to %(limit)s can be imported. Split it into smaller files.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
                code="too_large",
            )
        return upload


class ImportExportAdminMixin:
    """Import and export for an admin class; `import_kind` names its file format."""

    import_kind = ""

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name=f"{prefix}_import"),
            path("export/<str:file_format>/", wrap(self.export_view), name=f"{prefix}_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        extra_context = {
            **(extra_context or {}),
            "can_import": self.import_kind and permissions.can_import(request.user),
            "can_export": self.import_kind and permissions.can_export(request.user),
            "import_url": reverse(f"admin:{prefix}_import") if self.import_kind else "",
            "export_urls": export_links(prefix, request.GET) if self.import_kind else [],
        }
        return super().changelist_view(request, extra_context)

    # Export ------------------------------------------------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.import_kind and permissions.can_export(request.user):
            for file_format in export.FORMATS:
                name = f"export_selected_{file_format}"
                actions[name] = (
                    export_action(file_format),
                    name,
                    _("Export the selected rows as %(format)s") % {"format": file_format.upper()},
                )
        return actions

    def export_view(self, request, file_format: str):
        """The rows the list shows, with its search and filters (its query string), in the import
        format; `labels=1` writes the labels of coded columns instead of their codes."""
        if file_format not in export.FORMATS or not self.import_kind:
            raise PermissionDenied
        if not permissions.can_export(request.user):
            raise PermissionDenied
        params = request.GET.copy()
        labels = params.pop(LABELS_PARAM, ["0"])[-1] == "1"
        request.GET = params  # the list's own parameters, as ChangeList reads them
        try:
            queryset = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{changelist}?{ERROR_FLAG}=1")
        return export_response(self.import_kind, file_format, queryset, labels=labels)

    # Import ------------------------------------------------------------------------

    def import_view(self, request):
        if not self.import_kind or not permissions.can_import(request.user):
            raise PermissionDenied
        kind = self.import_kind
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(kind)s") % {"kind": self.opts.verbose_name_plural},
            "columns": COLUMNS[kind],
            "max_size": filesizeformat(settings.IMPORT_MAX_UPLOAD_BYTES),
            "changelist_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
        }
        form = ImportForm()
        if request.method == "POST" and "confirm" in request.POST:
            return self._confirm(request, kind, context["changelist_url"])
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                job = jobs.job_start(user=request.user, kind=kind, data=upload.read(), filename=upload.name)
                if job.status != ImportJob.Status.PREVIEWED:
                    return HttpResponseRedirect(job.get_absolute_url())  # in the worker, or failed
                context.update(report_context(job, request, context["changelist_url"]))
        elif request.GET.get("job"):
            # Another page of a preview's rows (links carry the job, so paging works without JavaScript).
            job = (
                ImportJob.objects.defer("data")
                .filter(pk=_int(request.GET["job"]), kind=kind, user=request.user, status=ImportJob.Status.PREVIEWED)
                .first()
            )
            if job is not None:
                context.update(report_context(job, request, context["changelist_url"]))
        context["form"] = form
        return TemplateResponse(request, "admin/cooperation/import.html", context)

    def _confirm(self, request, kind: str, changelist_url: str):
        job = ImportJob.objects.defer("data").filter(pk=_int(request.POST.get("job")), kind=kind).first()
        if job is None or job.user_id != request.user.pk:
            messages.error(request, _("The uploaded file is no longer available; upload it again."))
            return HttpResponseRedirect(request.path)
        import_duplicates = request.POST.get("duplicates") == "import"
        if not jobs.job_confirm(job=job, import_duplicates=import_duplicates) or job.status != ImportJob.Status.DONE:
            # Confirmed before (a double click, another tab), running in the worker, or failed:
            # the job's page shows how it went.
            return HttpResponseRedirect(job.get_absolute_url())
        if job.batch_id:
            batch_url = reverse("admin:cooperation_importbatch_change", args=[job.batch_id])
            messages.success(
                request,
                format_html(
                    '{} <a href="{}">{}</a> · <a href="{}">{}</a>',
                    _("Imported %(file)s: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.")
                    % {"file": job.filename, "new": job.new, "updated": job.updated, "unchanged": job.unchanged},
                    job.get_absolute_url(),
                    _("The partnerships it changed"),
                    batch_url,
                    _("See or undo this import"),
                ),
            )
        else:
            messages.info(
                request,
                _("Nothing to import: every row is unchanged or a duplicate.")
                if job.duplicates
                else _("Nothing to import: every row is unchanged."),
            )
        return HttpResponseRedirect(changelist_url)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def report_context(job: ImportJob, request, changelist_url: str) -> dict:
    """The preview of a job on the import page (templates/cooperation/_import_report.html)."""
    context = preview_context(job, page=request.GET.get("page"), cancel_url=changelist_url, confirm_url=request.path)
    return {
        "report": job,
        "job_id": job.pk if context["can_confirm"] else None,
        "page_query": f"job={job.pk}",
        **context,
    }


LABELS_PARAM = "labels"


def export_links(prefix: str, query) -> list[tuple[str, str]]:
    """The list's export links, carrying its search and filters: codes in every format, and labels
    in the formats people open in a spreadsheet."""
    params = query.copy()
    for name in (PAGE_VAR, ERROR_FLAG, LABELS_PARAM):
        params.pop(name, None)
    links = []
    for file_format in export.FORMATS:
        url = reverse(f"admin:{prefix}_export", args=[file_format])
        links.append((file_format.upper(), f"{url}?{params.urlencode()}" if params else url))
    for file_format in ("csv", "xlsx"):
        url = reverse(f"admin:{prefix}_export", args=[file_format])
        labelled = params.copy()
        labelled[LABELS_PARAM] = "1"
        links.append((_("%(format)s with labels") % {"format": file_format.upper()}, f"{url}?{labelled.urlencode()}"))
    return links


def export_response(kind: str, file_format: str, queryset, labels: bool = False) -> HttpResponse:
    data = export.export_file(kind=kind, file_format=file_format, queryset=queryset, labels=labels)
    response = HttpResponse(data, content_type=export.CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{export.export_filename(kind, file_format)}"'
    return response


def export_action(file_format: str):
    def export_selected(modeladmin, request, queryset):
        return export_response(modeladmin.import_kind, file_format, queryset)

    return export_selected


# --- Applied imports and their undo -----------------------------------------------------


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "user", "created_at", "total_rows", "new", "updated", "unchanged", "undone_at"]
    list_filter = ["kind", ("undone_at", admin.EmptyFieldListFilter)]
    search_fields = ["filename", "user__username"]
    list_select_related = ["user", "undone_by"]
    readonly_fields = [
        "kind",
        "filename",
        "sha256",
        "user",
        "created_at",
        "total_rows",
        "new",
        "updated",
        "unchanged",
        "undone_at",
        "undone_by",
        "changes",
        "undo",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return permissions.is_administrator(request.user)

    def get_urls(self):
        return [
            path("<int:pk>/undo/", self.admin_site.admin_view(self.undo_view), name="cooperation_importbatch_undo"),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("what it changed"))
    def changes(self, batch):
        rows = []
        for model in UNDO_MODELS[batch.kind]:
            records = model.history.filter(history_change_reason=batch.change_reason).order_by("history_id")
            total = records.count()
            if not total:
                continue
            shown = records[:50]
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a> ({})',
                (
                    (
                        reverse(f"admin:cooperation_{model._meta.model_name}_history", args=[record.id]),
                        describe(record),
                        _("new") if record.history_type == "+" else _("changed"),
                    )
                    for record in shown
                ),
            )
            more = _(" and %(count)s more") % {"count": total - 50} if total > 50 else ""
            rows.append(
                format_html(
                    "<p><strong>{}</strong> ({}): {}{}</p>", model._meta.verbose_name_plural, total, links, more
                )
            )
        return format_html_join("", "{}", ((row,) for row in rows)) or "-"

    @admin.display(description=gettext_lazy("undo"))
    def undo(self, batch):
        if batch.undone_at:
            return _("Undone.")
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:cooperation_importbatch_undo", args=[batch.pk]),
            _("Undo this import…"),
        )

    def undo_view(self, request, pk: int):
        if not permissions.is_administrator(request.user):
            raise PermissionDenied
        batch = get_object_or_404(ImportBatch, pk=pk)
        change_url = reverse("admin:cooperation_importbatch_change", args=[batch.pk])
        if request.method == "POST":
            try:
                counts = import_undo(batch=batch, user=request.user)
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                done = _(
                    "Import undone: %(deleted)s deleted (rows and the sources they brought in), %(restored)s restored."
                )
                messages.success(request, done % counts)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Undo import %(batch)s?") % {"batch": batch},
            "batch": batch,
            "conflicts": [] if batch.undone_at else import_undo_conflicts(batch),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/cooperation/importbatch_undo.html", context)
