"""Data entry in the Django admin, in Dutch by default."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import timeline
from .models import (
    Agreement,
    Event,
    Municipality,
    Participant,
    Partnership,
    Person,
    Pillar,
    Source,
)

admin.site.site_header = _("ICT cooperation portal")
admin.site.site_title = _("ICT cooperation portal")
admin.site.index_title = _("Register management")


class YearListFilter(admin.SimpleListFilter):
    """Events whose (possibly vague) date overlaps the chosen year."""

    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = (
            model_admin.get_queryset(request).filter(date_lower__isnull=False).dates("date_lower", "year", order="DESC")
        )
        return [(str(day.year), str(day.year)) for day in years]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            year = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(date_lower__year__lte=year, date_upper__year__gte=year)


class ProvinceListFilter(admin.SimpleListFilter):
    title = _("province")
    parameter_name = "province"

    def lookups(self, request, model_admin):
        return Municipality._meta.get_field("province").choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(municipalities__province=self.value()).distinct()


class EventForm(forms.ModelForm):
    """Hands the chosen municipalities to Event.clean() before they are saved."""

    class Meta:
        model = Event
        fields = [
            "partnership",
            "kind",
            "status",
            "date_text",
            "municipalities",
            "role",
            "title",
            "description",
            "agreement",
            "pillar",
            "decided_by",
            "reason",
            "cost_eur",
            "cost_note",
            "procurement_reference",
            "sources",
            "visibility",
        ]

    def clean(self):
        cleaned = super().clean()
        if "municipalities" in cleaned:
            self.instance.pending_municipalities = list(cleaned["municipalities"])
        return cleaned


class EventInlineFormSet(forms.BaseInlineFormSet):
    """Checks the domain rules over all events of the partnership at once.

    Several events entered together (a signing and a later withdrawal) are
    judged together, as they will stand after saving.
    """

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.pk is None and not self.forms:
            return
        kept = {}
        if self.instance.pk:
            for event in self.instance.events.prefetch_related("municipalities"):
                kept[event.pk] = timeline.facts_from_event(event)
        form_keys = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            original = form.instance.pk
            if self.can_delete and self._should_delete_form(form):
                kept.pop(original, None)
                continue
            municipalities = form.cleaned_data.get("municipalities", [])
            facts = timeline.facts_from_event(form.instance, municipalities)
            kept.pop(original, None)
            kept[facts.key] = facts
            form_keys[facts.key] = form
        name = self.instance.name or str(_("this partnership"))
        for problem in timeline.check_rules(list(kept.values()), name):
            form = form_keys.get(problem.event_key)
            if form is not None:
                form.add_error(None, ValidationError(problem.message, code=problem.code))


class EventInline(admin.StackedInline):
    model = Event
    form = EventForm
    formset = EventInlineFormSet
    extra = 0
    show_change_link = True
    autocomplete_fields = ["municipalities", "sources", "agreement"]
    fields = [
        ("kind", "status", "date_text"),
        "municipalities",
        ("role", "visibility"),
        "title",
        "description",
        ("pillar", "agreement", "decided_by"),
        "reason",
        ("cost_eur", "cost_note"),
        "sources",
    ]
    classes = ["collapse"]


class AgreementInline(admin.TabularInline):
    model = Agreement
    extra = 0
    fields = ["kind", "title", "date_text", "term_start", "term_end", "term_note"]
    show_change_link = True


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    autocomplete_fields = ["person", "municipality"]


@admin.register(Municipality)
class MunicipalityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "cbs_code", "province", "existed_until", "merged_into"]
    list_filter = ["province", ("existed_until", admin.EmptyFieldListFilter)]
    search_fields = ["name", "cbs_code"]
    autocomplete_fields = ["merged_into"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["merged_into"]


@admin.register(Pillar)
class PillarAdmin(admin.ModelAdmin):
    list_display = ["code", "name_nl", "name_en", "position"]
    search_fields = ["code", "name_nl", "name_en"]

    def has_add_permission(self, request):
        return False  # the four pillars are fixed codes, created by a migration

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Partnership)
class PartnershipAdmin(SimpleHistoryAdmin):
    list_display = ["name", "legal_form", "status", "visibility", "event_count", "last_verified"]
    list_filter = ["status", "legal_form", "visibility", "pillars", "memberships__municipality__province"]
    search_fields = ["name", "slug", "summary", "memberships__municipality__name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["pillars"]
    readonly_fields = ["status"]
    inlines = [AgreementInline, EventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(event_count=Count("events", distinct=True))

    @admin.display(description=_("events"), ordering="event_count")
    def event_count(self, obj):
        return obj.event_count

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        timeline.rebuild_derived(form.instance)


@admin.register(Event)
class EventAdmin(SimpleHistoryAdmin):
    form = EventForm
    list_display = ["partnership", "date_in_words", "kind", "status", "municipality_names", "visibility"]
    list_filter = [
        "kind",
        "status",
        "pillar",
        ProvinceListFilter,
        YearListFilter,
        "visibility",
        "partnership",
    ]
    search_fields = ["title", "description", "reason", "partnership__name", "municipalities__name", "uid"]
    autocomplete_fields = ["partnership", "municipalities", "sources", "agreement"]
    readonly_fields = ["uid", "date_lower", "date_upper", "date_precision", "created_at", "updated_at"]
    inlines = [ParticipantInline]
    list_select_related = ["partnership"]
    fieldsets = [
        (None, {"fields": ["partnership", ("kind", "status"), "date_text", "municipalities", "role", "visibility"]}),
        (_("Description"), {"fields": ["title", "description", "pillar", "agreement", "decided_by", "reason"]}),
        (_("Costs and procurement"), {"fields": [("cost_eur", "cost_note"), "procurement_reference"]}),
        (_("Sources"), {"fields": ["sources"]}),
        (
            _("Derived and technical"),
            {
                "fields": ["uid", ("date_lower", "date_upper", "date_precision"), ("created_at", "updated_at")],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("municipalities")

    @admin.display(description=_("date"), ordering="date_lower")
    def date_in_words(self, obj):
        return obj.date_in_words

    @admin.display(description=_("municipalities"))
    def municipality_names(self, obj):
        return ", ".join(m.name for m in obj.municipalities.all())

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        timeline.rebuild_derived(form.instance.partnership)

    def delete_model(self, request, obj):
        partnership = obj.partnership
        super().delete_model(request, obj)
        timeline.rebuild_derived(partnership)


@admin.register(Agreement)
class AgreementAdmin(SimpleHistoryAdmin):
    list_display = ["title", "partnership", "kind", "date_text", "term_end"]
    list_filter = ["kind"]
    search_fields = ["title", "partnership__name"]
    autocomplete_fields = ["partnership"]
    list_select_related = ["partnership"]


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    list_display = ["title", "publisher", "published_on", "kind", "url"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "author", "url"]


@admin.register(Person)
class PersonAdmin(SimpleHistoryAdmin):
    list_display = ["name"]
    search_fields = ["name"]
