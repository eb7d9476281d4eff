"""The admin site: Django's, with an autocomplete that a model admin can order and label.

Installed as the default site (`PortalAdminConfig` in INSTALLED_APPS), so `admin.site` and
`@admin.register` work as usual. A model admin may set `autocomplete_ordering` (order_by
arguments), `autocomplete_select_related` and `autocomplete_label(obj)`; the municipality admin
uses them to list current municipalities first and former ones as such
("Geleen (tot 2001, nu Sittard-Geleen)").
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.autocomplete import AutocompleteJsonView


class PortalAutocompleteJsonView(AutocompleteJsonView):
    def get_queryset(self):
        queryset = super().get_queryset()
        ordering = getattr(self.model_admin, "autocomplete_ordering", None)
        if ordering:
            queryset = queryset.order_by(*ordering)
        related = getattr(self.model_admin, "autocomplete_select_related", None)
        if related:
            queryset = queryset.select_related(*related)
        return queryset

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        label = getattr(self.model_admin, "autocomplete_label", None)
        if label is not None:
            result["text"] = str(label(obj))
        return result


class PortalAdminSite(admin.AdminSite):
    def autocomplete_view(self, request):
        return PortalAutocompleteJsonView.as_view(admin_site=self)(request)


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PortalAdminSite"
