"""Public pages: thin function views; queries live in QuerySet methods.

Every page costs a fixed number of queries whatever the amount of data
(pinned in tests/test_views.py).
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Min
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from . import timeline
from .forms import PartnershipFilterForm
from .models import Event, Membership, Municipality, Partnership, Pillar

PAGE_SIZE = 20
# Kinds of event where a reader expects to hear about money; silence is shown as "not yet known".
COST_KINDS = {"withdrawn", "terminated", "disentanglement_started", "disentangled", "costs_settled", "dissolved"}


def _today() -> datetime.date:
    return timezone.localdate()


def home(request):
    """4 queries: two counts, latest events, their municipalities (+ session/user when signed in)."""
    partnerships = Partnership.objects.visible_to(request.user)
    # "Active now" excludes partnerships whose termination was decided (status "ending").
    running = [Partnership.Status.ACTIVE]
    latest = (
        Event.objects.visible_to(request.user)
        .filter(status=Event.Status.HAPPENED, date_lower__isnull=False)
        .select_related("partnership")
        .prefetch_related("municipalities")
        .order_by(F("date_upper").desc(nulls_last=True), "-pk")[:8]
    )
    context = {
        "active_count": partnerships.filter(status__in=running).count(),
        "municipality_count": Membership.objects.filter(
            partnership__in=partnerships.filter(status__in=running),
            state__in=[Membership.State.ACTIVE, Membership.State.LEAVING],
        )
        .values("municipality")
        .distinct()
        .count(),
        "latest_events": latest,
        "filter_form": PartnershipFilterForm(),
    }
    return render(request, "cooperation/home.html", context)


def partnership_list(request):
    """5 queries: municipality choices, count, page, pillars, memberships (+ session/user)."""
    visible = Partnership.objects.visible_to(request.user)
    municipality_choices = list(
        Municipality.objects.filter(memberships__partnership__in=visible)
        .distinct()
        .order_by("name")
        .values_list("cbs_code", "name")
    )
    form = PartnershipFilterForm(request.GET or None, municipality_choices=municipality_choices)
    filters = form.valid_filters() if request.GET else {}
    partnerships = visible
    if "q" in filters:
        partnerships = partnerships.search(filters["q"])
    if "municipality" in filters:
        partnerships = partnerships.filter(memberships__municipality__cbs_code=filters["municipality"])
    if "province" in filters:
        partnerships = partnerships.filter(memberships__municipality__province=filters["province"])
    if "pillar" in filters:
        partnerships = partnerships.filter(pillars__code=filters["pillar"])
    if "legal_form" in filters:
        partnerships = partnerships.filter(legal_form=filters["legal_form"])
    if "status" in filters:
        partnerships = partnerships.filter(status=filters["status"])
    if "year" in filters:
        partnerships = partnerships.active_in(filters["year"])
    partnerships = partnerships.distinct()

    sort = filters.get("sort") or ("relevance" if "q" in filters else "name")
    if sort == "relevance" and "q" in filters and hasattr(partnerships.query, "annotations"):
        ordering = ["-search_rank", "name"] if "search_rank" in partnerships.query.annotations else ["name"]
    elif sort in ("-first_date", "-last_date"):
        ordering = [F(sort[1:]).desc(nulls_last=True), "name"]
    elif sort == "first_date":
        ordering = [F("first_date").asc(nulls_last=True), "name"]
    else:
        sort = "name" if sort == "relevance" else sort
        ordering = ["name", "pk"]
    partnerships = partnerships.order_by(*ordering, "pk").for_list()

    paginator = Paginator(partnerships, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    kept = {key: value for key, value in request.GET.items() if key != "page" and value}
    context = {
        "form": form,
        "page": page,
        "filters": filters,
        "filtered": bool(filters.keys() - {"sort"}),
        "query_string": urlencode(kept),
        "sort": sort,
    }
    return render(request, "cooperation/partnership_list.html", context)


def _get_partnership(request, slug: str) -> Partnership:
    """The partnership if this user may see it; with its pillars and agreements. 3 queries."""
    queryset = Partnership.objects.visible_to(request.user).prefetch_related("pillars", "agreements")
    return get_object_or_404(queryset, slug=slug)


def partnership_detail(request, slug: str):
    """8 queries: partnership, pillars, agreements, events, their municipalities, sources, participants,
    member municipalities' pages (+ session/user when signed in)."""
    partnership = _get_partnership(request, slug)
    events = list(partnership.events.visible_to(request.user).for_timeline())
    facts = [timeline.facts_from_event(event) for event in events]
    rows = timeline.ordered(facts)
    memberships = timeline.derive_memberships(facts)
    urls = {m.municipality.pk: "" for m in memberships}
    for event in events:
        for municipality in event.municipalities.all():
            urls[municipality.pk] = municipality.get_absolute_url()
    context = {
        "partnership": partnership,
        "timeline": [row.event for row in rows],
        "memberships": memberships,
        "municipality_urls": urls,
        "status_sentence": timeline.status_sentence(facts, memberships),
        "status": timeline.derive_status(facts, memberships),
        "chart": timeline.chart(facts, memberships, _today(), urls),
        "has_internal": any(event.visibility != "public" for event in events),
        "cost_kinds": COST_KINDS,
    }
    return render(request, "cooperation/partnership_detail.html", context)


def municipality_detail(request, cbs_code: str):
    """4 queries: municipality with successor, predecessors, memberships with partnerships, latest events."""
    municipality = get_object_or_404(Municipality.objects.select_related("merged_into"), cbs_code=cbs_code.upper())
    visible = Partnership.objects.visible_to(request.user)
    memberships = (
        municipality.memberships.filter(partnership__in=visible)
        .select_related("partnership")
        .order_by(F("start_lower").desc(nulls_last=True), "partnership__name")
    )
    events = (
        Event.objects.visible_to(request.user)
        .filter(municipalities=municipality)
        .select_related("partnership")
        .order_by(F("date_lower").desc(nulls_last=True), "-pk")[:15]
    )
    context = {
        "municipality": municipality,
        "memberships": memberships,
        "predecessors": municipality.predecessors.order_by("-existed_until", "name"),
        "events": events,
    }
    return render(request, "cooperation/municipality_detail.html", context)


def pillar_detail(request, code: str):
    """4 queries: pillar, its partnerships, their pillars and memberships."""
    pillar = get_object_or_404(Pillar, code=code)
    partnerships = (
        Partnership.objects.visible_to(request.user)
        .filter(pillars=pillar)
        .order_by(F("first_date").asc(nulls_last=True), "name")
        .for_list()
    )
    return render(request, "cooperation/pillar_detail.html", {"pillar": pillar, "partnerships": partnerships})


def about(request):
    """2 queries: register figures and the pillars."""
    visible = Partnership.objects.visible_to(request.user)
    figures = visible.aggregate(
        partnerships=Count("pk", distinct=True),
        newest_verified=Max("last_verified"),
        oldest_verified=Min("last_verified"),
    )
    context = {"figures": figures, "pillars": Pillar.objects.all()}
    return render(request, "cooperation/about.html", context)
