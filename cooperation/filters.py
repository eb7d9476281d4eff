"""One set of filters (django-filter) for every list of partnerships, events and agreements.

`PartnershipFilterSet` declares each filter once: the partnership list page and the pillar page
(`views.py`) and the API (`api.py`) take the subset they need with `PartnershipFilterSet.only()`,
so a value is accepted or refused in the same way everywhere (tested in tests/test_filters.py).
`EventFilterSet` (the API's events) shares the filters that mean the same for events, and
`AgreementFilterSet` (the agreements register: `/agreements/` and the API) those that mean the same
for agreements (municipality, province, pillar: of the agreement's partnership).

Every filter is a condition on the row or a semi-join (`pk IN (...)`, see
`PartnershipQuerySet.with_member()`, `on_pillar()`, `active_in()`), so each partnership comes once
without a DISTINCT over the whole result and a count stays a plain count.

Invalid values are reported by the form (in the request's language) and left out: a page shows
them in its error summary and lists what the other filters find; the API answers 400 with a
problem document (DRF's `DjangoFilterBackend` raises on an invalid form). Help texts describe the
API parameters (they become the OpenAPI descriptions); labels are what the page shows.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import timeline
from .forms import SEARCH_MAX_LENGTH, PartnershipFilterForm, Select
from .models import Agreement, Event, Partnership, Pillar, Province

# The years a "year" filter accepts, on the pages and in the API: wide enough for any
# cooperation between municipalities (the oldest municipal records) and any plan.
YEAR_MIN = 1800
YEAR_MAX = 2100

SORTS = [
    ("relevance", _("relevance")),
    ("name", _("name")),
    ("-first_date", _("newest first")),
    ("first_date", _("oldest first")),
    ("-last_date", _("latest event")),
]


class YearField(forms.IntegerField):
    # A text box with a numeric keyboard (GOV.UK advice): type="number" cannot show back a wrong value
    # such as "abc" beside its error message without making the page invalid HTML.
    widget = forms.TextInput(attrs={"inputmode": "numeric"})

    def __init__(self, **kwargs):
        super().__init__(min_value=YEAR_MIN, max_value=YEAR_MAX, **kwargs)


# The order of the agreements register: by term end (the soonest first), by date of signing, by title.
AGREEMENT_SORTS = [
    ("relevance", _("relevance")),
    ("term_end", _("term end, soonest first")),
    ("-term_end", _("term end, latest first")),
    ("-signed", _("signed, newest first")),
    ("signed", _("signed, oldest first")),
    ("title", _("title")),
]
AGREEMENT_STATES = [(state, label) for state, label in timeline.AGREEMENT_STATE_LABELS.items()]


class DayField(forms.DateField):
    """A day as YYYY-MM-DD in a text box: a wrong value stays visible beside its error message
    (a type="date" box cannot show it back in valid HTML)."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "2026-12-31"})
    input_formats = ["%Y-%m-%d"]


class DayFilter(django_filters.DateFilter):
    field_class = DayField


class YearFilter(django_filters.NumberFilter):
    """A year between YEAR_MIN and YEAR_MAX."""

    field_class = YearField


class MomentField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 moment, in UTC; PostgreSQL refuses offsets beyond ±15:59 and Python years beyond 9999."""

    def to_python(self, value):
        try:
            moment = super().to_python(value)
            return moment.astimezone(datetime.UTC) if moment is not None else None
        except (OverflowError, ValueError):
            raise forms.ValidationError("Enter a moment between the years 1 and 9999.", code="invalid") from None


class MomentFilter(django_filters.IsoDateTimeFilter):
    field_class = MomentField


class SortFilter(django_filters.ChoiceFilter):
    """The order of the list. It filters nothing: `PartnershipFilterSet.filter_queryset` orders the
    result after every other filter, because relevance needs the search's rank."""

    def filter(self, qs, value):
        return qs


# The filters that mean the same for partnerships and events: one field each, so a value is
# accepted or refused alike; the method says what it selects.


def _municipality_filter(help_text: str) -> django_filters.Filter:
    return django_filters.CharFilter(method="filter_municipality", label=_("Municipality"), help_text=help_text)


def _province_filter(help_text: str) -> django_filters.Filter:
    return django_filters.ChoiceFilter(
        method="filter_province",
        choices=Province.choices,
        label=_("Province"),
        empty_label=_("all provinces"),
        help_text=help_text,
    )


def _pillar_filter(help_text: str) -> django_filters.Filter:
    return django_filters.ChoiceFilter(
        method="filter_pillar",
        choices=Pillar.Code.choices,
        label=_("Pillar"),
        empty_label=_("all pillars"),
        help_text=help_text,
    )


def _year_filter(help_text: str) -> django_filters.Filter:
    return YearFilter(method="filter_year", label=_("Active in year"), help_text=help_text)


def _changed_since_filter() -> django_filters.Filter:
    return MomentFilter(
        method="filter_changed_since", help_text="Only what changed at or after this moment (ISO 8601)."
    )


class ListFilterSet(django_filters.FilterSet):
    """What every filter set of a list page shares: `only()`, the municipality filter as a choice
    among `municipality_choices` (pairs of CBS code and name, shown as a `<select>`; without them
    any CBS code is accepted: the API), and what the page shows of the chosen filters."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, municipality_choices=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        if municipality_choices is not None and "municipality" in self.filters:
            chosen = django_filters.ChoiceFilter(
                method="filter_municipality",
                choices=list(municipality_choices),
                label=_("Municipality"),
                empty_label=_("all municipalities"),
                widget=Select,
            )
            chosen.model, chosen.parent = self.filters["municipality"].model, self
            self.filters["municipality"] = chosen

    @classmethod
    def only(cls, *names: str):
        """A filter set with just these filters (in the declared order), for a page that needs fewer."""
        unknown = set(names) - set(cls.base_filters)
        if unknown:
            raise ValueError(f"{cls.__name__} has no filter {', '.join(sorted(unknown))}.")
        subset = type(cls.__name__, (cls,), {"__module__": cls.__module__})
        subset.base_filters = {name: filter_ for name, filter_ in cls.base_filters.items() if name in names}
        return subset

    @property
    def valid(self) -> dict:
        """The filters given with a valid value; invalid ones are in `errors` and ignored."""
        if not self.is_bound:
            return {}
        self.form.is_valid()
        return {
            name: value
            for name, value in self.form.cleaned_data.items()
            if name not in self.form.errors and value not in (None, "")
        }

    @property
    def filtered(self) -> bool:
        """Whether anything but the order was chosen."""
        return bool(self.valid.keys() - {"sort"})

    # The filters the registers share: the same words, the same queryset methods (search,
    # with_member, on_pillar on both PartnershipQuerySet and AgreementQuerySet).

    def filter_q(self, queryset, name, value):
        return queryset.search(value)

    def filter_municipality(self, queryset, name, value):
        return queryset.with_member(municipality__cbs_code=value)

    def filter_province(self, queryset, name, value):
        return queryset.with_member(municipality__province=value)

    def filter_pillar(self, queryset, name, value):
        return queryset.on_pillar(value)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if "sort" in self.filters:
            queryset = queryset.order_by(*self._ordering(queryset), "pk")
        return queryset

    # The order when none is chosen (and when "relevance" is chosen without a search).
    default_order = "name"

    @property
    def order(self) -> str:
        """The order in effect: relevance when searching, else the default, unless another was chosen."""
        searching = "q" in self.valid
        chosen = self.valid.get("sort") or ("relevance" if searching else self.default_order)
        return self.default_order if chosen == "relevance" and not searching else chosen


class PartnershipFilterSet(ListFilterSet):
    """Every filter of a list of partnerships. Use a subset: `PartnershipFilterSet.only("pillar", "sort")`.

    `municipality_choices` (pairs of CBS code and name) makes the municipality filter a choice
    among them, shown as a `<select>`; without it any CBS code is accepted (the API).
    """

    q = django_filters.CharFilter(
        method="filter_q",
        label=_("Search"),
        max_length=SEARCH_MAX_LENGTH,
        help_text="Full-text search, as on the list page.",
    )
    municipality = _municipality_filter("CBS code of a member, e.g. GM0606.")
    province = _province_filter("A member lies in this province.")
    pillar = _pillar_filter("The partnership works on this pillar.")
    legal_form = django_filters.ChoiceFilter(
        choices=Partnership.LegalForm.choices,
        label=_("Legal form"),
        empty_label=_("all legal forms"),
        help_text="The partnership's legal form.",
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        choices=Partnership.Status.choices,
        label=_("Status"),
        empty_label=_("any status"),
        help_text="The partnership's status today, derived from its events: a current status on evidence "
        "older than the horizon is “unknown”.",
    )
    year = _year_filter(f"Active (a membership overlaps) in this year ({YEAR_MIN}–{YEAR_MAX}).")
    sort = SortFilter(choices=SORTS, label=_("Sort by"), empty_label=None, help_text="The order of the list.")
    changed_since = _changed_since_filter()

    class Meta:
        model = Partnership
        fields = ["q", "municipality", "province", "pillar", "legal_form", "status", "year", "sort", "changed_since"]
        form = PartnershipFilterForm

    # Filtering

    def filter_year(self, queryset, name, value):
        return queryset.active_in(int(value))

    def filter_status(self, queryset, name, value):
        # As of today: a current status on evidence older than the horizon is "unknown".
        return queryset.with_current_status(value, timezone.localdate())

    def filter_changed_since(self, queryset, name, value):
        # The audience's "changed at" moves with every change of the partnership or its events
        # that this audience can see (derived.rebuild), and with no other.
        return queryset.changed_since(value)

    # What the page shows

    def _ordering(self, queryset) -> list:
        sort = self.order
        if sort == "relevance":
            # Only PostgreSQL ranks; the SQLite fallback has no search_rank to order by.
            return ["-search_rank", "name"] if "search_rank" in queryset.query.annotations else ["name"]
        # The audience's copy of the derived dates (Partnership.objects.for_audience()).
        if sort in ("-first_date", "-last_date"):
            return [F(queryset.audience_field(sort[1:])).desc(nulls_last=True), "name"]
        if sort == "first_date":
            return [F(queryset.audience_field("first_date")).asc(nulls_last=True), "name"]
        return ["name"]


class EventFilterSet(django_filters.FilterSet):
    """The API's events. Municipality, province, pillar, year and changed_since accept the same
    values as for partnerships; what they select is the event's own (see each help text)."""

    partnership = django_filters.CharFilter(field_name="partnership__slug", help_text="Slug of the partnership.")
    municipality = _municipality_filter("CBS code.")
    province = _province_filter("The event concerns a municipality in this province.")
    pillar = _pillar_filter("The event's pillar or its partnership's.")
    legal_form = django_filters.ChoiceFilter(
        field_name="partnership__legal_form",
        choices=Partnership.LegalForm.choices,
        help_text="The legal form of the event's partnership.",
    )
    kind = django_filters.ChoiceFilter(choices=Event.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Event.Status.choices)
    year = _year_filter(f"The event's date range overlaps this year ({YEAR_MIN}–{YEAR_MAX}).")
    changed_since = _changed_since_filter()

    class Meta:
        model = Event
        fields = [
            "partnership",
            "municipality",
            "province",
            "pillar",
            "legal_form",
            "kind",
            "status",
            "year",
            "changed_since",
        ]

    def _concerning(self, queryset, **lookups):
        concerned = Event.municipalities.through.objects.filter(**lookups).values("event_id")
        return queryset.filter(pk__in=concerned)

    def filter_municipality(self, queryset, name, value):
        return self._concerning(queryset, municipality__cbs_code=value)

    def filter_province(self, queryset, name, value):
        return self._concerning(queryset, municipality__province=value)

    def filter_pillar(self, queryset, name, value):
        return queryset.filter(Q(pillar__code=value) | Q(partnership__in=Partnership.objects.on_pillar(value)))

    def filter_year(self, queryset, name, value):
        year = int(value)
        return queryset.filter(date_lower__year__lte=year, date_upper__year__gte=year)

    def filter_changed_since(self, queryset, name, value):
        return queryset.filter(updated_at__gte=value)


class AgreementFilterSet(ListFilterSet):
    """Every filter of the agreements register (`/agreements/` and `/api/v1/agreements/`).

    Municipality, province and pillar are the partnership filters (the same fields, the same values
    accepted): an agreement of a partnership with such a member (current or former) or on that
    pillar. The state is `timeline.agreement_state` today, computed in SQL
    (`AgreementQuerySet.with_state`).
    """

    default_order = "term_end"

    q = django_filters.CharFilter(
        method="filter_q",
        label=_("Search"),
        max_length=SEARCH_MAX_LENGTH,
        help_text="Full-text search in titles, descriptions and the text of the documents.",
    )
    municipality = _municipality_filter("CBS code of a member (current or former) of the partnership, e.g. GM0622.")
    province = _province_filter("A member of the partnership lies in this province.")
    pillar = _pillar_filter("The partnership works on this pillar.")
    kind = django_filters.ChoiceFilter(
        choices=Agreement.Kind.choices, label=_("Kind"), empty_label=_("all kinds"), help_text="The kind of agreement."
    )
    state = django_filters.ChoiceFilter(
        method="filter_state",
        choices=AGREEMENT_STATES,
        label=_("State"),
        empty_label=_("any state"),
        help_text="The state today, derived from the agreement's date, term and the events citing it; "
        "in force without a term end on evidence older than the horizon is “unknown”.",
    )
    in_force_on = DayFilter(
        method="filter_in_force_on",
        label=_("In force on (YYYY-MM-DD)"),
        help_text="The term covers this day (YYYY-MM-DD): begun by then, not ended or terminated before it.",
    )
    term_end_from = DayFilter(
        field_name="term_end",
        lookup_expr="gte",
        label=_("Term ends on or after (YYYY-MM-DD)"),
        help_text="The term ends on or after this day (YYYY-MM-DD).",
    )
    term_end_to = DayFilter(
        field_name="term_end",
        lookup_expr="lte",
        label=_("Term ends on or before (YYYY-MM-DD)"),
        help_text="The term ends on or before this day (YYYY-MM-DD).",
    )
    sort = SortFilter(choices=AGREEMENT_SORTS, label=_("Sort by"), empty_label=None, help_text="The order of the list.")

    class Meta:
        model = Agreement
        fields = [
            "q",
            "municipality",
            "province",
            "pillar",
            "kind",
            "state",
            "in_force_on",
            "term_end_from",
            "term_end_to",
            "sort",
        ]
        form = PartnershipFilterForm

    def filter_state(self, queryset, name, value):
        return queryset.in_state(value, timezone.localdate())

    def filter_in_force_on(self, queryset, name, value):
        return queryset.in_force_on(value)

    def _ordering(self, queryset) -> list:
        sort = self.order
        signed_newest = F("date_lower").desc(nulls_last=True)
        if sort == "relevance" and "search_rank" in queryset.query.annotations:
            return ["-search_rank", "title"]
        if sort == "-term_end":
            return [F("term_end").desc(nulls_last=True), signed_newest, "title"]
        if sort == "-signed":
            return [signed_newest, "title"]
        if sort == "signed":
            return [F("date_lower").asc(nulls_last=True), "title"]
        if sort == "title":
            return ["title"]
        return [F("term_end").asc(nulls_last=True), signed_newest, "title"]
