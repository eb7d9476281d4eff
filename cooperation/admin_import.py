"""Data entry at scale in the admin: history, restore, no lost updates; import and export from porting.

Mixed into the admin classes of cooperation/admin.py:

- `RegisterAdminMixin`: import and export (`porting.admin.ImportExportAdminMixin`:
  an import page per kind, export of the selected rows), a list of recently
  deleted objects to restore, and the history's revert run in a transaction.
- `VersionLockFormMixin`: a hidden version field; a save based on an older
  version is refused with a link to the current one (services.version_lock).

Applied imports and their undo: `porting.admin.ImportBatchAdmin`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from simple_history.models import to_historic

from . import history, permissions, services
from .models import Partnership
from .porting.admin import ImportExportAdminMixin

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
        fields = ["name", "slug", "summary", "legal_form", "pillars", "visibility", "internal_note"]


# --- Deleted objects and history ---------------------------------------------------------


class RegisterAdminMixin(ImportExportAdminMixin):
    """Import and export (porting.admin), and a list of recently deleted objects to restore."""

    change_list_template = "admin/cooperation/change_list_register.html"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("deleted/", self.admin_site.admin_view(self.deleted_view), name=f"{prefix}_deleted"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        administrator = permissions.is_administrator(request.user)
        extra_context = {
            **(extra_context or {}),
            "deleted_url": reverse(f"admin:{prefix}_deleted") if administrator else "",
        }
        return super().changelist_view(request, extra_context)

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
