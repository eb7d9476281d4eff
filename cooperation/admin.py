"""Data entry in the Django admin, in Dutch by default."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import documents, permissions, services, timeline
from .admin_dates import DatePhraseFormMixin
from .admin_import import PartnershipForm, RegisterAdminMixin, VersionLockFormMixin
from .models import (
    Agreement,
    Document,
    EditorProfile,
    Event,
    ImportJob,
    Municipality,
    Notification,
    Participant,
    Partnership,
    Person,
    Pillar,
    Source,
    Visibility,
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


NOT_OWN_PARTNERSHIP = _(
    "Record at least one event that concerns one of your municipalities; "
    "otherwise you could not edit this partnership afterwards."
)


def _published(formsets) -> list[int]:
    """Ids of the events an inline formset published: new ones, and those changed to public."""
    ids = []
    for formset in formsets:
        if formset.model is not Event:
            continue
        ids += [event.pk for event in formset.new_objects]
        ids += [
            event.pk
            for event, changed in formset.changed_objects
            if "visibility" in changed and event.visibility == Visibility.PUBLIC
        ]
    return ids


class ServiceWritesMixin:
    """Saves and deletes go through `services` (one write path): the object, its links and its
    inlines in one service call, which ends in one rebuild of the derived data.

    Django's admin saves the object (save_model) and then its links and inlines (save_related);
    the service does both, so save_model only hands over, and save_related calls the service with
    the saving of links as `save_links`. A history revert (simple_history) calls save_model only,
    so there the service saves the links at once. Each admin names its services in
    `save_through_service(obj, form, *, save_links)` and `delete_through_service(objects)`.
    """

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        if getattr(request, "reverting_history", False):
            self.save_through_service(obj, form, save_links=form.save_m2m)

    def save_related(self, request, form, formsets, change):
        def save_links():
            super(ServiceWritesMixin, self).save_related(request, form, formsets, change)
            return _published(formsets)

        self.save_through_service(form.instance, form, save_links=save_links)

    def delete_model(self, request, obj):
        obj._history_user = request.user
        self.delete_through_service([obj])

    def delete_queryset(self, request, queryset):
        objects = list(queryset)
        for obj in objects:
            obj._history_user = request.user
        self.delete_through_service(objects)


class GuardedHistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's history list and revert form behind the same gates as the change page.

    The library reads the object for these views from the history table, which bypasses
    `get_queryset()` (so an editor's scope), and its revert form saves on *view* permission.
    Both views are therefore wrapped at their URLs, before any subclass or mixin code runs:
    an object outside `get_queryset()` answers "does not exist" like the change page (history of
    deleted objects stays open to administrators), and a revert (POST) needs change permission
    on the object as it stands.
    """

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        guarded = {f"{prefix}_history": self.history_view, f"{prefix}_simple_history": self.history_form_view}
        return [
            URLPattern(
                url.pattern, self.admin_site.admin_view(self._guard(guarded[url.name])), url.default_args, url.name
            )
            if getattr(url, "name", None) in guarded
            else url
            for url in super().get_urls()
        ]

    def _guard(self, view):
        def guarded_view(request, object_id, *args, **kwargs):
            obj = self.get_object(request, unquote(object_id))
            if obj is None and not permissions.is_administrator(request.user):
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if obj is not None and not self.has_view_or_change_permission(request, obj):
                raise PermissionDenied
            if request.method == "POST" and obj is not None and not self.has_change_permission(request, obj):
                raise PermissionDenied
            return view(request, object_id, *args, **kwargs)

        return guarded_view


class PartnershipScopeMixin:
    """Editors see and change only the partnerships of their municipalities, and what hangs under them.

    Administrators see everything. Others' objects are not in the queryset, so every admin view
    of them (change, history, revert, delete, autocomplete, export, actions) answers "does not
    exist", whatever id is guessed; the object-level permissions say the same for objects that
    reach a view another way (the history table).
    """

    partnership_path = "partnership"  # "" for Partnership itself

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if permissions.is_administrator(request.user):
            return queryset
        editable = permissions.editable_partnerships(request.user).values("pk")
        field = f"{self.partnership_path}__in" if self.partnership_path else "pk__in"
        return queryset.filter(**{field: editable})

    def _in_scope(self, request, obj) -> bool:
        if obj is None:
            return True
        partnership_id = getattr(obj, f"{self.partnership_path}_id") if self.partnership_path else obj.pk
        return permissions.can_edit_partnership_id(request.user, partnership_id)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "partnership":
            kwargs["queryset"] = permissions.editable_partnerships(request.user)
        elif db_field.name == "agreement":
            kwargs["queryset"] = Agreement.objects.filter(
                partnership__in=permissions.editable_partnerships(request.user).values("pk")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def limit_agreements_to(field, partnership_id) -> None:
    """An event's agreement is one of its own partnership's: where the partnership is known, the
    choice is a plain list of that partnership's agreements instead of a search over all of them."""
    field.queryset = field.queryset.filter(partnership_id=partnership_id)
    field.widget = forms.Select(choices=field.choices)


class MunicipalityLabelsMixin:
    """A chosen municipality reads as in the autocomplete: "Geleen (tot 2001, nu Sittard-Geleen)"."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Municipality:
            field.queryset = field.queryset.select_related(*MunicipalityAdmin.autocomplete_select_related)
            field.label_from_instance = MunicipalityAdmin.autocomplete_label
        return field


class EventForm(VersionLockFormMixin, forms.ModelForm):
    """Hands the chosen municipalities to Event.clean() before they are saved; refuses stale saves."""

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
            "proposed_by",
            "reason",
            "cost_eur",
            "cost_note",
            "procurement_reference",
            "sources",
            "visibility",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("agreement")
        if field is None or self.prefix:  # inline forms: EventInline.get_formset limits them
            return
        partnership_id = self.data.get("partnership") if self.is_bound else self.instance.partnership_id
        if str(partnership_id or "").isdigit():
            limit_agreements_to(field, int(partnership_id))

    def clean(self):
        cleaned = super().clean()
        if "municipalities" in cleaned:
            self.instance.pending_municipalities = list(cleaned["municipalities"])
        return cleaned


class InlineEventForm(EventForm):
    def clean(self):
        cleaned = super().clean()
        self.instance.rules_checked_by_formset = True  # EventInlineFormSet.clean checks them all together
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
        user = getattr(self, "request_user", None)
        if user is not None and not permissions.is_administrator(user):
            own = permissions.editor_municipality_ids(user)
            if not any(ref.pk in own for facts in kept.values() for ref in facts.municipalities):
                raise ValidationError(NOT_OWN_PARTNERSHIP, code="not_own_partnership")


class EventInline(DatePhraseFormMixin, MunicipalityLabelsMixin, admin.StackedInline):
    model = Event
    form = InlineEventForm
    formset = EventInlineFormSet
    extra = 0
    show_change_link = True
    autocomplete_fields = ["municipalities", "sources"]
    fields = [
        ("kind", "status", "date_text"),
        "municipalities",
        ("role", "visibility"),
        "title",
        "description",
        ("pillar", "agreement", "decided_by"),
        "proposed_by",
        "reason",
        ("cost_eur", "cost_note"),
        "sources",
        "expected_version",
    ]
    classes = ["collapse"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.request_user = request.user
        limit_agreements_to(formset.form.base_fields["agreement"], obj.pk if obj is not None else None)
        return formset


class AgreementInline(DatePhraseFormMixin, admin.TabularInline):
    model = Agreement
    extra = 0
    fields = ["kind", "title", "date_text", "term_start", "term_end", "term_note", "visibility"]
    show_change_link = True


class DocumentForm(forms.ModelForm):
    """A document's description and file. The file is checked by its content here (the refusal
    is shown next to the field); `services.document_save` stores what the check found."""

    class Meta:
        model = Document
        fields = ["title", "kind", "date_text", "language", "visibility", "file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["file"]
        field.help_text = documents.limits_in_words()
        field.widget.attrs["accept"] = ",".join(
            [f".{extension}" for extension in documents.TYPES] + sorted(documents.EXTENSION_OF_TYPE)
        )
        field.widget.attrs["data-max-bytes"] = documents.max_bytes()

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload is not self.initial.get("file"):
            return documents.check(upload)
        return upload


class DocumentInline(DatePhraseFormMixin, admin.StackedInline):
    """The documents of an agreement or an event. Who may add, change or delete them is who may
    change the agreement or event (and so its partnership): an editor of other municipalities
    cannot reach them. Saved through `services.document_save` (see `DocumentWritesMixin`)."""

    model = Document
    form = DocumentForm
    extra = 0
    fields = ["title", ("kind", "date_text"), ("language", "visibility"), "file", "facts"]
    readonly_fields = ["facts"]
    verbose_name = _("document")
    verbose_name_plural = _("documents (signed agreement, council decision, amendment)")

    class Media:
        js = ["js/upload-progress.js"]

    @admin.display(description=_("file details"))
    def facts(self, obj):
        if obj is None or not obj.pk:
            return "–"
        return format_html(
            '{}, {} · SHA-256 <code>{}</code> · {} · <a href="{}">{}</a>',
            documents.format_name(obj.content_type),
            filesizeformat(obj.size),
            obj.sha256,
            _("text extracted") if obj.text else _("no text available"),
            obj.get_absolute_url(),
            _("download"),
        )

    def _parent_admin(self):
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request, obj=None):
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)


class DocumentWritesMixin:
    """Documents inline are saved and deleted through the services, one by one, with the file the
    form checked; the parent's own service call then ends the save as usual. They are attached
    once the agreement or event exists: on its change page, not on the add page."""

    def get_inlines(self, request, obj):
        inlines = super().get_inlines(request, obj)
        return inlines if obj is not None else [inline for inline in inlines if inline is not DocumentInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Document:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for document in formset.new_objects + [obj for obj, _changed in formset.changed_objects]:
            document._history_user = request.user
            upload = next(f.cleaned_data.get("file") for f in formset.forms if f.instance is document)
            checked = upload if isinstance(upload, documents.CheckedFile) else None
            services.document_save(document=document, file=checked)
        if formset.deleted_objects:
            services.documents_delete(documents=formset.deleted_objects)
        return None


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    autocomplete_fields = ["person", "municipality"]


@admin.register(Municipality)
class MunicipalityAdmin(ServiceWritesMixin, RegisterAdminMixin, GuardedHistoryAdmin):
    import_kind = "municipalities"
    list_display = ["name", "cbs_code", "province", "existed_until", "merged_into"]
    list_filter = ["province", ("existed_until", admin.EmptyFieldListFilter)]
    search_fields = ["name", "cbs_code"]
    autocomplete_fields = ["merged_into"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["merged_into"]
    # The autocomplete (portal/admin_site.py): current municipalities first, former ones as such.
    autocomplete_ordering = [ExpressionWrapper(Q(existed_until__isnull=False), output_field=BooleanField()), "name"]
    autocomplete_select_related = ["merged_into__merged_into__merged_into__merged_into"]  # the longest chain is 4

    @staticmethod
    def autocomplete_label(municipality):
        """ "Geleen (tot 2001, nu Sittard-Geleen)": the year it ceased (the day after its last day)
        and the municipality it is part of today, following the chain of mergers."""
        if municipality.existed_until is None:
            return municipality.name
        successor = municipality.merged_into
        while successor is not None and successor.existed_until is not None and successor.merged_into_id:
            successor = successor.merged_into
        year = (municipality.existed_until + datetime.timedelta(days=1)).year
        if successor is None or successor.existed_until is not None:
            return _("%(name)s (until %(year)s)") % {"name": municipality.name, "year": year}
        return _("%(name)s (until %(year)s, now %(successor)s)") % {
            "name": municipality.name,
            "year": year,
            "successor": successor.name,
        }

    def save_through_service(self, obj, form, *, save_links):
        services.municipality_save(municipality=obj, save_links=save_links)

    def delete_through_service(self, objects):
        services.municipalities_delete(municipalities=objects)


@admin.register(Pillar)
class PillarAdmin(admin.ModelAdmin):
    list_display = ["code", "name_nl", "name_en", "position"]
    search_fields = ["code", "name_nl", "name_en"]

    def has_add_permission(self, request):
        return False  # the four pillars are fixed codes, created by a migration

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Partnership)
class PartnershipAdmin(ServiceWritesMixin, RegisterAdminMixin, PartnershipScopeMixin, GuardedHistoryAdmin):
    partnership_path = ""
    import_kind = "partnerships"
    form = PartnershipForm
    list_display = ["name", "legal_form", "staff_status", "visibility", "event_count", "staff_last_evidence"]
    list_filter = ["staff_status", "legal_form", "visibility", "pillars", "memberships__municipality__province"]
    search_fields = ["name", "slug", "summary", "memberships__municipality__name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["pillars"]
    readonly_fields = ["staff_status", "event_list", "verifications_made"]
    inlines = [AgreementInline, EventInline]
    actions = ["record_verification"]

    # A read-only list, not an inline: a verification is an act recorded by the action below,
    # never typed in, and an inline would add a formset to every save of the partnership.
    @admin.display(description=_("verifications against the sources"))
    def verifications_made(self, obj):
        if obj is None or obj.pk is None:
            return "–"
        rows = obj.verifications.select_related("user").prefetch_related("sources")
        return format_html_join(
            mark_safe("<br>"),
            "{} – {} ({})",
            (
                (
                    date_format(row.verified_on, "j F Y"),
                    row.user.get_full_name() or row.user.get_username(),
                    "; ".join(source.title for source in row.sources.all()) or "–",
                )
                for row in rows
            ),
        ) or _("not yet verified")

    @admin.action(description=_("Record that I verified the selected partnerships against their sources today"))
    def record_verification(self, request, queryset):
        """One verification per partnership the user may edit: today, by the user, against every
        source its events cite. The queryset is already scoped to the user's partnerships."""
        today = timezone.localdate()
        recorded = 0
        for partnership in queryset:
            if not permissions.can_edit_partnership(request.user, partnership):
                continue
            sources = Source.objects.filter(events__partnership=partnership).distinct()
            services.verification_record(partnership=partnership, by=request.user, verified_on=today, sources=sources)
            recorded += 1
        self.message_user(request, _("Verification recorded for %(count)d partnership(s).") % {"count": recorded})

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(event_count=Count("events", distinct=True))

    def get_inlines(self, request, obj):
        """Events inline while there are few; a big partnership (thousands of imported events)
        links to the paginated, filterable event list instead, so its page stays light."""
        if obj is not None and self._event_total(obj) > settings.ADMIN_EVENT_INLINE_LIMIT:
            return [AgreementInline]
        return super().get_inlines(request, obj)

    def _event_total(self, obj) -> int:
        if getattr(obj, "event_count", None) is None:
            obj.event_count = obj.events.count()
        return obj.event_count

    @admin.display(description=_("events"))
    def event_list(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        total = self._event_total(obj)
        events_url = reverse("admin:cooperation_event_changelist") + f"?partnership__id__exact={obj.pk}"
        add_url = reverse("admin:cooperation_event_add") + f"?partnership={obj.pk}"
        if total > settings.ADMIN_EVENT_INLINE_LIMIT:
            intro = _("%(count)s events: too many to edit on this page.") % {"count": total}
        else:
            intro = _("%(count)s events, below.") % {"count": total}
        return format_html(
            '{} <a href="{}">{}</a> · <a href="{}">{}</a>',
            intro,
            events_url,
            _("Search, filter and edit them in the list of events"),
            add_url,
            _("Add an event"),
        )

    @admin.display(description=_("events"), ordering="event_count")
    def event_count(self, obj):
        return obj.event_count

    def save_through_service(self, obj, form, *, save_links):
        services.partnership_save(partnership=obj, save_links=save_links)

    def delete_through_service(self, objects):
        services.partnerships_delete(partnerships=objects)


@admin.register(Event)
class EventAdmin(
    DatePhraseFormMixin,
    MunicipalityLabelsMixin,
    DocumentWritesMixin,
    ServiceWritesMixin,
    RegisterAdminMixin,
    PartnershipScopeMixin,
    GuardedHistoryAdmin,
):
    import_kind = "events"
    form = EventForm
    list_display = ["partnership", "date_in_words", "kind", "status", "municipality_names", "visibility"]
    list_filter = [
        "kind",
        "status",
        "pillar",
        ProvinceListFilter,
        YearListFilter,
        "visibility",
        ("partnership", admin.RelatedOnlyFieldListFilter),
        ("municipalities", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = [
        "title",
        "description",
        "reason",
        "partnership__name",
        "partnership__slug",
        "municipalities__name",
        "municipalities__cbs_code",
        "kind",
        "date_text",
        "uid",
    ]
    autocomplete_fields = ["partnership", "municipalities", "sources", "agreement"]
    readonly_fields = ["uid", "date_lower", "date_upper", "date_precision", "created_at", "updated_at"]
    inlines = [ParticipantInline, DocumentInline]
    list_select_related = ["partnership"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "partnership",
                    ("kind", "status"),
                    "date_text",
                    "municipalities",
                    "role",
                    "visibility",
                    "expected_version",
                ]
            },
        ),
        (
            _("Description"),
            {"fields": ["title", "description", "pillar", "agreement", "decided_by", "proposed_by", "reason"]},
        ),
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

    def save_through_service(self, obj, form, *, save_links):
        services.event_save(event=obj, save_links=save_links)

    def delete_through_service(self, objects):
        services.events_delete(events=objects)


class AgreementStateFilter(admin.SimpleListFilter):
    """The state the register shows today (staff copy): `AgreementQuerySet.with_state`."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return list(timeline.AGREEMENT_STATE_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() in timeline.AGREEMENT_STATE_LABELS:
            return queryset.in_state(self.value(), timezone.localdate())
        return queryset


class TermEndFilter(admin.SimpleListFilter):
    """When the term ends: within the register's "ending" window, later, passed, or not recorded."""

    title = _("term ends")
    parameter_name = "term_end"

    def lookups(self, request, model_admin):
        return [
            ("window", _("within %(days)s days") % {"days": timeline.agreement_ending_days()}),
            ("later", _("later")),
            ("past", _("passed")),
            ("none", _("not recorded")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        window_end = today + datetime.timedelta(days=timeline.agreement_ending_days())
        lookups = {
            "window": {"term_end__gte": today, "term_end__lte": window_end},
            "later": {"term_end__gt": window_end},
            "past": {"term_end__lt": today},
            "none": {"term_end__isnull": True},
        }
        return queryset.filter(**lookups[self.value()]) if self.value() in lookups else queryset


@admin.register(Agreement)
class AgreementAdmin(
    DatePhraseFormMixin,
    DocumentWritesMixin,
    ServiceWritesMixin,
    RegisterAdminMixin,
    PartnershipScopeMixin,
    GuardedHistoryAdmin,
):
    """Agreements, as the register shows them to staff (state per `AgreementQuerySet.with_state`).
    Editors see and change only those of the partnerships they may edit (`PartnershipScopeMixin`:
    the partnership to choose is one of theirs)."""

    import_kind = "agreements"
    list_display = ["title", "partnership", "kind", "date_text", "term_end", "state_display", "visibility"]
    inlines = [DocumentInline]
    list_filter = [
        AgreementStateFilter,
        TermEndFilter,
        "kind",
        "visibility",
        ("partnership", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "partnership__name"]
    autocomplete_fields = ["partnership"]
    list_select_related = ["partnership"]

    def get_queryset(self, request):
        return super().get_queryset(request).for_audience(True).with_state(timezone.localdate())

    @admin.display(description=_("state"), ordering="state")
    def state_display(self, obj):
        return timeline.AGREEMENT_STATE_LABELS[obj.state]

    def save_through_service(self, obj, form, *, save_links):
        services.agreement_save(agreement=obj, save_links=save_links)

    def delete_through_service(self, objects):
        services.agreements_delete(agreements=objects)


class SharedObjectMixin:
    """Sources and people are shared by every event that cites them. Every staff member sees
    them (they are cited on the public pages), but an editor changes one only when
    `shared_rule` allows it: when every event citing it is in their scope. Otherwise the
    change page is read-only with a message saying why and what to do instead."""

    shared_rule = None  # a function (user, obj) -> bool from permissions
    refused_message = ""

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or type(self).shared_rule(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or type(self).shared_rule(request.user, obj))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if (
            request.method == "GET"
            and obj is not None
            and super().has_change_permission(request, obj)
            and not self.has_change_permission(request, obj)
        ):
            messages.warning(request, self.refused_message)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Source)
class SourceAdmin(SharedObjectMixin, ServiceWritesMixin, RegisterAdminMixin, GuardedHistoryAdmin):
    shared_rule = permissions.can_change_source
    refused_message = _(
        "This source is also cited by events outside your municipalities, so only an administrator "
        "can change it. If your events need a different source, add a new one and cite that."
    )
    list_display = ["title", "publisher", "published_on", "kind", "url"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "author", "url"]

    def save_through_service(self, obj, form, *, save_links):
        services.source_save(source=obj, save_links=save_links)

    def delete_through_service(self, objects):
        services.sources_delete(sources=objects)


@admin.register(Person)
class PersonAdmin(SharedObjectMixin, ServiceWritesMixin, GuardedHistoryAdmin):
    shared_rule = permissions.can_change_person
    refused_message = _(
        "This person also took part in events outside your municipalities, so only an administrator "
        "can change them. Ask an administrator, or add the person you mean as a new person."
    )
    list_display = ["name"]
    search_fields = ["name"]

    def save_through_service(self, obj, form, *, save_links):
        services.person_save(person=obj, save_links=save_links)

    def delete_through_service(self, objects):
        services.persons_delete(persons=objects)


class EditorProfileInline(MunicipalityLabelsMixin, admin.StackedInline):
    model = EditorProfile
    can_delete = False
    autocomplete_fields = ["municipalities"]
    verbose_name_plural = _("municipalities this user edits for (editor role)")


class PortalUserAdmin(UserAdmin):
    inlines = [EditorProfileInline]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_staff", "role_names"]
    list_filter = ["groups", "is_active", "is_staff", "is_superuser"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return ", ".join(group.name for group in obj.groups.all())


admin.site.unregister(User)
admin.site.register(User, PortalUserAdmin)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, for operations: what was sent, what is pending, what failed and why."""

    list_display = ["subject", "email", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["email", "subject", "key"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["filename", "kind", "user", "status", "processed_rows", "total_rows", "created_at"]
    list_filter = ["status", "kind"]
    exclude = ["data"]
    readonly_fields = [field.name for field in ImportJob._meta.fields if field.name != "data"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data").select_related("user")
