"""Data entry at scale in the admin: import with preview, export, history, undo, no lost updates.

Mixed into the admin classes of cooperation/admin.py:

- `RegisterAdminMixin`: an import page per kind (upload, preview of every
  new, changed and unchanged row and every problem, then confirm), export of
  the selected rows (CSV, XLSX, JSON), a list of recently deleted objects to
  restore, and the history's revert run in a transaction.
- `VersionLockFormMixin`: a hidden version field; a save based on an older
  version is refused with a link to the current one (services.version_lock).
- `ImportBatchAdmin`: every applied import, what it changed, and its undo.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.models import to_historic

from . import history, imports, jobs, permissions, services
from .models import ImportBatch, Partnership
from .resources import COLUMNS

UPLOAD_PREFIX = "portal-import-"
UPLOAD_MAX_AGE = 24 * 3600
PREVIEW_SHOWN = 200
PROBLEMS_SHOWN = 500


# --- No lost updates ---------------------------------------------------------------------


class VersionLockFormMixin(forms.Form):
    """A hidden `expected_version`: the version the editor started from.

    The main form of a change page is always checked; an inline form only when
    it changed (unchanged inline rows are not saved). The check locks the row
    until the admin's transaction ends, so two saves cannot both pass.
    """

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk and not self.is_bound:
            version = instance.version
            record = to_historic(instance)
            if record is not None:
                # Reverting to an older record: the check is against what is stored now, and the
                # links (municipalities, sources, pillars) are those of the record, not today's.
                version = type(instance).objects.filter(pk=instance.pk).values_list("version", flat=True).first()
                for name in history.m2m_field_names(type(instance)):
                    if name in self.fields:
                        self.initial[name] = history.m2m_ids_of(record, name)
            self.fields["expected_version"].initial = version

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk and (self.prefix is None or self.has_changed()):
            try:
                services.version_lock(instance=instance, expected_version=cleaned.get("expected_version"))
            except ValidationError as error:
                url = reverse(
                    f"admin:{instance._meta.app_label}_{instance._meta.model_name}_change", args=[instance.pk]
                )
                raise ValidationError(
                    format_html(
                        '{} <a href="{}" target="_blank" rel="noopener">{}</a> {}',
                        error.messages[0],
                        url,
                        _("Open the current version"),
                        _("and make your change there again."),
                    ),
                    code=error.code,
                ) from None
        return cleaned


class PartnershipForm(VersionLockFormMixin, forms.ModelForm):
    """The partnership's change form; the admin's fieldsets choose among these fields."""

    class Meta:
        model = Partnership
        fields = ["name", "slug", "summary", "legal_form", "pillars", "visibility", "last_verified", "internal_note"]


# --- Import, export, deleted objects ------------------------------------------------------


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


def _store_upload(request, kind: str, filename: str, data: bytes) -> str:
    """Keep an uploaded file between preview and confirmation; only this session gets it back."""
    directory = Path(tempfile.gettempdir())
    now = time.time()
    for old in directory.glob(f"{UPLOAD_PREFIX}*"):
        try:
            if now - old.stat().st_mtime > UPLOAD_MAX_AGE:
                old.unlink()
        except OSError:
            continue
    handle, name = tempfile.mkstemp(prefix=UPLOAD_PREFIX, dir=directory)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    token = secrets.token_urlsafe(16)
    uploads = request.session.get("imports", {})
    uploads[token] = {"kind": kind, "filename": filename, "path": name, "sha256": hashlib.sha256(data).hexdigest()}
    request.session["imports"] = uploads
    return token


def _take_upload(request, kind: str, token: str) -> tuple[str, bytes] | None:
    stored = request.session.get("imports", {}).get(token)
    if not stored or stored["kind"] != kind:
        return None
    try:
        data = Path(stored["path"]).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != stored["sha256"]:
        return None
    return stored["filename"], data


def _forget_upload(request, token: str) -> None:
    uploads = request.session.get("imports", {})
    stored = uploads.pop(token, None)
    request.session["imports"] = uploads
    if stored:
        Path(stored["path"]).unlink(missing_ok=True)


class RegisterAdminMixin:
    """Import, export and restore for an admin class; `import_kind` names its file format."""

    import_kind = ""
    change_list_template = "admin/cooperation/change_list_register.html"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name=f"{prefix}_import"),
            path("export/<str:file_format>/", wrap(self.export_view), name=f"{prefix}_export"),
            path("deleted/", wrap(self.deleted_view), name=f"{prefix}_deleted"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        administrator = permissions.is_administrator(request.user)
        extra_context = {
            **(extra_context or {}),
            "can_import": self.import_kind and permissions.can_import(request.user),
            "can_export": self.import_kind and permissions.can_export(request.user),
            "import_url": reverse(f"admin:{prefix}_import") if self.import_kind else "",
            "export_urls": [
                (file_format.upper(), reverse(f"admin:{prefix}_export", args=[file_format]))
                for file_format in imports.FORMATS
            ]
            if self.import_kind
            else [],
            "deleted_url": reverse(f"admin:{prefix}_deleted") if administrator else "",
        }
        return super().changelist_view(request, extra_context)

    # Export ------------------------------------------------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.import_kind and permissions.can_export(request.user):
            for file_format in imports.FORMATS:
                name = f"export_selected_{file_format}"
                actions[name] = (
                    _export_action(file_format),
                    name,
                    _("Export the selected rows as %(format)s") % {"format": file_format.upper()},
                )
        return actions

    def export_view(self, request, file_format: str):
        """Everything the user can see in this list, in the import format."""
        if file_format not in imports.FORMATS or not self.import_kind:
            raise PermissionDenied
        if not permissions.can_export(request.user):
            raise PermissionDenied
        return _export_response(self.import_kind, file_format, self.get_queryset(request))

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
            token = request.POST.get("token", "")
            upload = _take_upload(request, kind, token)
            if upload is None:
                messages.error(request, _("The uploaded file is no longer available; upload it again."))
                return HttpResponseRedirect(request.path)
            filename, data = upload
            report = imports.run_import(kind=kind, data=data, filename=filename, user=request.user, dry_run=False)
            if report.ok:
                _forget_upload(request, token)
                if report.batch_id:
                    batch_url = reverse("admin:cooperation_importbatch_change", args=[report.batch_id])
                    messages.success(
                        request,
                        format_html(
                            '{} <a href="{}">{}</a>',
                            _("Imported %(file)s: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.")
                            % {
                                "file": filename,
                                "new": report.new,
                                "updated": report.updated,
                                "unchanged": report.unchanged,
                            },
                            batch_url,
                            _("See or undo this import"),
                        ),
                    )
                else:
                    messages.info(request, _("Nothing to import: every row is unchanged."))
                return HttpResponseRedirect(context["changelist_url"])
            context.update(self._report_context(report, token=None))
        elif request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                data = upload.read()
                try:
                    job = jobs.job_start_if_large(user=request.user, kind=kind, data=data, filename=upload.name)
                except imports.ImportFileError:
                    job = None  # the dry run below reports what is wrong with the file
                if job is not None:
                    return HttpResponseRedirect(job.get_absolute_url())
                report = imports.run_import(kind=kind, data=data, filename=upload.name, user=request.user, dry_run=True)
                token = _store_upload(request, kind, upload.name, data) if report.ok else None
                context.update(self._report_context(report, token=token))
        context["form"] = form
        return TemplateResponse(request, "admin/cooperation/import.html", context)

    def _report_context(self, report, token: str | None) -> dict:
        return {
            "report": report,
            "token": token,
            "problems": report.problems[:PROBLEMS_SHOWN],
            "more_problems": max(len(report.problems) - PROBLEMS_SHOWN, 0),
            "preview_rows": report.rows[:PREVIEW_SHOWN],
            "more_rows": max(report.total_rows - min(len(report.rows), PREVIEW_SHOWN), 0),
        }

    # Deleted objects ---------------------------------------------------------------

    def deleted_view(self, request):
        """Recently deleted objects of this kind, each to be restored as it was (administrators)."""
        if not permissions.is_administrator(request.user):
            raise PermissionDenied
        if request.method == "POST":
            record = get_object_or_404(self.model.history.model, history_id=request.POST.get("history_id"))
            try:
                restored = services.object_restore(record=record, user=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[restored.pk])
                messages.success(
                    request,
                    format_html('{} <a href="{}">{}</a>', _("Restored."), url, restored),
                )
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Deleted %(kind)s") % {"kind": self.opts.verbose_name_plural},
            "records": history.deleted_records(self.model),
        }
        return TemplateResponse(request, "admin/cooperation/deleted.html", context)

    # History -----------------------------------------------------------------------

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Reverting saves like the change page does, through the services: simple_history calls
        # save_model() (a service of the model's admin, told here to save the record's links
        # too) and then saves the links once more, which changes nothing.
        # In a transaction, so the version check can lock the row.
        request.reverting_history = True
        with transaction.atomic():
            return super().history_form_view(request, object_id, version_id, extra_context)


def _export_response(kind: str, file_format: str, queryset) -> HttpResponse:
    data = imports.export_file(kind=kind, file_format=file_format, queryset=queryset)
    response = HttpResponse(data, content_type=imports.CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{imports.export_filename(kind, file_format)}"'
    return response


def _export_action(file_format: str):
    def export_selected(modeladmin, request, queryset):
        return _export_response(modeladmin.import_kind, file_format, queryset)

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
        for model in imports.UNDO_MODELS[batch.kind]:
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
                        imports._describe(record),
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
                counts = imports.import_undo(batch=batch, user=request.user)
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("Import undone: %(deleted)s objects deleted, %(restored)s restored.") % counts,
                )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Undo import %(batch)s?") % {"batch": batch},
            "batch": batch,
            "conflicts": [] if batch.undone_at else imports.import_undo_conflicts(batch),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/cooperation/importbatch_undo.html", context)
