"""Public pages: thin function views; queries live in QuerySet methods.

Every page costs a fixed number of queries whatever the amount of data
(pinned in tests/test_views.py).
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, Max, Min, OuterRef
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import chart, fragments, permissions, timeline
from .forms import PartnershipFilterForm
from .models import (
    Agreement,
    EditorProfile,
    Event,
    Membership,
    Municipality,
    Participant,
    Partnership,
    Person,
    Pillar,
    Source,
)

PAGE_SIZE = 20
MEMBERSHIPS_PER_PAGE = 25
# Kinds of event where a reader expects to hear about money; silence is shown as "not yet known".
COST_KINDS = {"withdrawn", "terminated", "disentanglement_started", "disentangled", "costs_settled", "dissolved"}


def _today() -> datetime.date:
    return timezone.localdate()


def home(request):
    """1 query when cached (the register stamp); cold: + two counts, latest events, their
    municipalities (+ session/user when signed in)."""
    internal = permissions.can_view_internal(request.user)

    def build() -> dict:
        partnerships = Partnership.objects.for_audience(internal)
        # "Active now" excludes partnerships whose termination was decided (status "ending").
        running = partnerships.with_status(Partnership.Status.ACTIVE)
        latest = (
            Event.objects.for_audience(internal)
            .filter(status=Event.Status.HAPPENED, date_lower__isnull=False)
            .select_related("partnership")
            .prefetch_related("municipalities")
            .order_by(F("date_upper").desc(nulls_last=True), "-pk")[:8]
        )
        return {
            "active_count": running.count(),
            "municipality_count": Membership.objects.for_audience(internal)
            .filter(partnership__in=running, state__in=[Membership.State.ACTIVE, Membership.State.LEAVING])
            .values("municipality")
            .distinct()
            .count(),
            "latest_events": list(latest),
        }

    figures = fragments.cached(
        fragments.register_key("home", stamp=fragments.register_stamp(internal), internal=internal), build
    )
    return render(request, "cooperation/home.html", {**figures, "filter_form": PartnershipFilterForm()})


def _page_of_cards(request, partnerships, *, stamp: str | None = None) -> tuple:
    """The requested page of `partnerships` (`RegisterPaginator`: count and ids cached) and the
    list entries of its partnerships, read by id without the filters. Warm: the page's
    partnerships only (+ the stamp when not given); cold: + count, ids, pillars, memberships."""
    internal = permissions.can_view_internal(request.user)
    visible = Partnership.objects.for_audience(internal)
    page = fragments.RegisterPaginator(
        partnerships, PAGE_SIZE, stamp=stamp, fetch=lambda ids: visible.filter(pk__in=ids).for_list()
    ).get_page(request.GET.get("page"))
    return page, fragments.partnership_cards(page.object_list, internal=internal, today=_today())


def partnership_list(request):
    """2 queries when cached: register stamp, the page's partnerships; cold: + municipality choices,
    count, the page's ids, pillars and memberships (+ session/user when signed in)."""
    internal = permissions.can_view_internal(request.user)
    visible = Partnership.objects.for_audience(internal)
    stamp = fragments.register_stamp(internal)
    # A semi-join (EXISTS) per municipality: no DISTINCT over every membership of the register.
    municipality_choices = fragments.cached(
        fragments.register_key("municipality-choices", stamp=stamp, internal=internal),
        lambda: list(
            Municipality.objects.filter(
                Exists(
                    Membership.objects.for_audience(internal).filter(
                        municipality=OuterRef("pk"), partnership__in=visible
                    )
                )
            )
            .order_by("name")
            .values_list("cbs_code", "name")
        ),
    )
    form = PartnershipFilterForm(request.GET or None, municipality_choices=municipality_choices)
    filters = form.valid_filters() if request.GET else {}
    partnerships = visible
    if "q" in filters:
        partnerships = partnerships.search(filters["q"])
    # Filters on related rows are semi-joins (`pk IN (...)`), so the list needs no DISTINCT and
    # the paginator's count stays a plain count.
    if "municipality" in filters:
        partnerships = partnerships.with_member(municipality__cbs_code=filters["municipality"])
    if "province" in filters:
        partnerships = partnerships.with_member(municipality__province=filters["province"])
    if "pillar" in filters:
        partnerships = partnerships.on_pillar(filters["pillar"])
    if "legal_form" in filters:
        partnerships = partnerships.filter(legal_form=filters["legal_form"])
    if "status" in filters:
        partnerships = partnerships.with_status(filters["status"])
    if "year" in filters:
        partnerships = partnerships.active_in(filters["year"])

    sort = filters.get("sort") or ("relevance" if "q" in filters else "name")
    if sort == "relevance" and "q" in filters:
        # Only PostgreSQL ranks; the SQLite fallback has no search_rank to order by.
        ordering = ["-search_rank", "name"] if "search_rank" in partnerships.query.annotations else ["name"]
    elif sort in ("-first_date", "-last_date"):
        ordering = [F(partnerships.audience_field(sort[1:])).desc(nulls_last=True), "name"]
    elif sort == "first_date":
        ordering = [F(partnerships.audience_field("first_date")).asc(nulls_last=True), "name"]
    else:
        sort = "name" if sort == "relevance" else sort
        ordering = ["name"]
    partnerships = partnerships.order_by(*ordering, "pk")

    page, cards = _page_of_cards(request, partnerships, stamp=stamp)
    kept = {key: value for key, value in request.GET.items() if key != "page" and value}
    context = {
        "form": form,
        "page": page,
        "cards": cards,
        "filters": filters,
        "filtered": bool(filters.keys() - {"sort"}),
        "query_string": urlencode(kept),
        "sort": sort,
    }
    return render(request, "cooperation/partnership_list.html", context)


def _get_partnership(request, slug: str) -> Partnership:
    """The partnership if this user may see it; with its pillars and agreements. 3 queries."""
    internal = permissions.can_view_internal(request.user)
    queryset = Partnership.objects.for_audience(internal).prefetch_related("pillars", "agreements")
    return get_object_or_404(queryset, slug=slug)


def partnership_detail(request, slug: str):
    """7 queries: partnership, pillars, agreements, events, their municipalities, sources,
    participants (+ session/user when signed in).

    The status, chart, members table and timeline are cached per change of the partnership
    (cooperation/fragments.py); a cached page costs 3 queries: partnership, pillars, agreements.
    """
    partnership = _get_partnership(request, slug)
    internal = permissions.can_view_internal(request.user)
    today = _today()

    def build() -> dict:
        events = list(partnership.events.for_audience(internal).for_timeline())
        facts = [timeline.facts_from_event(event) for event in events]
        rows = timeline.ordered(facts)
        memberships = timeline.derive_memberships(facts)
        # Every member appears in some event, so this covers every lane of the chart.
        urls = {m.pk: m.get_absolute_url() for event in events for m in event.municipalities.all()}
        context = {
            "timeline": [row.event for row in rows],
            "memberships": memberships,
            "municipality_urls": urls,
            "chart": chart.chart(facts, memberships, today, urls),
            "cost_kinds": COST_KINDS,
            "can_view_internal": internal,
        }
        return {
            "status_sentence": timeline.status_sentence(facts, memberships),
            "status": timeline.derive_status(facts, memberships),
            "members_html": render_to_string("cooperation/_partnership_body.html", {**context, "part": "members"}),
            "timeline_html": render_to_string("cooperation/_partnership_body.html", {**context, "part": "timeline"}),
        }

    body = fragments.cached(fragments.partnership_key(partnership, internal=internal, today=today), build)
    return render(request, "cooperation/partnership_detail.html", {"partnership": partnership, **body})


def municipality_detail(request, cbs_code: str):
    """3 queries when cached: municipality with successor, predecessors, register stamp; cold: +
    count and a page of memberships with their partnerships, latest events (+ session/user)."""
    municipality = get_object_or_404(Municipality.objects.select_related("merged_into"), cbs_code=cbs_code.upper())
    internal = permissions.can_view_internal(request.user)
    page_number = request.GET.get("page")

    def build() -> str:
        visible = Partnership.objects.for_audience(internal)
        memberships = (
            Membership.objects.for_audience(internal)
            .filter(municipality=municipality, partnership__in=visible)
            .select_related("partnership")
            .order_by(F("start_lower").desc(nulls_last=True), "partnership__name", "pk")
        )
        events = (
            Event.objects.for_audience(internal)
            .filter(municipalities=municipality)
            .select_related("partnership")
            .order_by(F("date_lower").desc(nulls_last=True), "-pk")[:15]
        )
        page = Paginator(memberships, MEMBERSHIPS_PER_PAGE).get_page(page_number)
        context = {"municipality": municipality, "page": page, "events": events}
        return render_to_string("cooperation/_municipality_body.html", context, request=request)

    stamp = fragments.register_stamp(internal)
    key = fragments.register_key("municipality", municipality.pk, page_number, stamp=stamp, internal=internal)
    context = {
        "municipality": municipality,
        "predecessors": municipality.predecessors.order_by("-existed_until", "name"),
        "body_html": fragments.cached(key, build),
    }
    return render(request, "cooperation/municipality_detail.html", context)


def pillar_detail(request, code: str):
    """3 queries when cached: pillar, register stamp, the page's partnerships; cold: + count, the
    page's ids, pillars and memberships (+ session/user when signed in)."""
    pillar = get_object_or_404(Pillar, code=code)
    partnerships = Partnership.objects.for_audience(permissions.can_view_internal(request.user))
    partnerships = partnerships.on_pillar(pillar.code).order_by(
        F(partnerships.audience_field("first_date")).asc(nulls_last=True), "name", "pk"
    )
    page, cards = _page_of_cards(request, partnerships)
    context = {"pillar": pillar, "page": page, "cards": cards}
    return render(request, "cooperation/pillar_detail.html", context)


def about(request):
    """2 queries: register figures and the pillars."""
    visible = Partnership.objects.for_audience(permissions.can_view_internal(request.user))
    figures = visible.aggregate(
        partnerships=Count("pk", distinct=True),
        newest_verified=Max("last_verified"),
        oldest_verified=Min("last_verified"),
    )
    context = {"figures": figures, "pillars": Pillar.objects.all()}
    return render(request, "cooperation/about.html", context)


AUDIT_LIMIT = 200


def _history_url(model, record) -> str:
    """The admin history page of the object, or of its event for a participant."""
    if model is Participant:
        model, object_id = Event, record.event_id
    else:
        object_id = record.id
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[object_id])
    except NoReverseMatch:
        return ""


def audit(request):
    """Who changed what and when, across the register, with logins and failed logins.

    Administrators only. One query per audited model, plus users, logins and failures.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not permissions.is_administrator(request.user):
        raise PermissionDenied
    User = get_user_model()
    users = User.objects.order_by("username")
    chosen = None
    if request.GET.get("user", "").isdigit():
        chosen = users.filter(pk=int(request.GET["user"])).first()
    rows = []
    for model in (Municipality, Partnership, Agreement, Event, Source, Person, Participant, EditorProfile):
        records = model.history.select_related("history_user").order_by("-history_date")
        if chosen:
            records = records.filter(history_user=chosen)
        for record in records[:AUDIT_LIMIT]:
            rows.append(
                {
                    "when": record.history_date,
                    "who": record.history_user,
                    "model": model._meta.verbose_name,
                    "object": str(record),
                    "change": record.get_history_type_display(),
                    "reason": record.history_change_reason or "",
                    "url": _history_url(model, record),
                }
            )
    rows.sort(key=lambda row: row["when"], reverse=True)
    logins = AccessLog.objects.order_by("-attempt_time")
    failures = AccessFailureLog.objects.order_by("-attempt_time")
    if chosen:
        logins = logins.filter(username=chosen.get_username())
        failures = failures.filter(username=chosen.get_username())
    context = {
        **admin.site.each_context(request),
        "title": _("Audit log"),
        "users": users,
        "chosen": chosen,
        "rows": rows[:AUDIT_LIMIT],
        "logins": logins[:50],
        "failures": failures[:50],
    }
    return render(request, "admin/cooperation/audit.html", context)
