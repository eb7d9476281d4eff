"""Public pages: thin function views; queries live in QuerySet methods.

Every page costs a fixed number of queries whatever the amount of data
(pinned in tests/test_views.py).
"""

from __future__ import annotations

import datetime
from html import escape
from urllib.parse import urlencode

from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Paginator
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control

from . import chart, downloads, fragments, map_views, permissions, search, timeline
from .filters import PartnershipFilterSet
from .forms import MunicipalitySearchForm, PartnershipFilterForm
from .models import (
    Agreement,
    Document,
    EditorProfile,
    Event,
    Membership,
    Municipality,
    Participant,
    Partnership,
    Person,
    Pillar,
    Province,
    Source,
)

PAGE_SIZE = 20
# The filters of the partnership list, and the pillar page's own (its pillar, oldest first).
LIST_FILTERS = PartnershipFilterSet.only(
    "q", "municipality", "province", "pillar", "legal_form", "status", "year", "sort"
)
PILLAR_FILTERS = PartnershipFilterSet.only("pillar", "sort")
MEMBERSHIPS_PER_PAGE = 25
# Kinds of event where a reader expects to hear about money, or who decided; silence is shown as
# "not recorded" ("not yet known" only when a source says so, in the cost note).
COST_KINDS = {"withdrawn", "terminated", "disentanglement_started", "disentangled", "costs_settled", "dissolved"}
DECISION_KINDS = {"withdrawal_decided", "termination_decided"}


def _today() -> datetime.date:
    return timezone.localdate()


def home(request):
    """1 query when cached (the register stamp); cold: + two counts, latest events, their
    municipalities (+ session/user when signed in)."""
    internal = permissions.can_view_internal(request.user)
    today = _today()

    def build() -> dict:
        partnerships = Partnership.objects.for_audience(internal)
        # "Active now" excludes partnerships whose termination was decided (status "ending") and
        # those whose latest evidence is older than the horizon (status "unknown" today).
        running = partnerships.with_current_status(Partnership.Status.ACTIVE, today)
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
        fragments.register_key("home", today, stamp=fragments.register_stamp(internal), internal=internal), build
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


def municipality_choices(internal: bool, *, stamp: str | None = None) -> list[tuple[str, str]]:
    """The municipality filter's choices: every municipality, current or former, that is or was a
    member of a partnership this audience sees (CBS code, name). Cached per state of the register:
    1 query (the stamp, unless given) when cached, 2 cold."""
    stamp = fragments.register_stamp(internal) if stamp is None else stamp
    visible = Partnership.objects.for_audience(internal)
    # A semi-join (EXISTS) per municipality: no DISTINCT over every membership of the register.
    return fragments.cached(
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


def partnership_list(request):
    """2 queries when cached: register stamp, the page's partnerships; cold: + municipality choices,
    count, the page's ids, pillars and memberships (+ session/user when signed in)."""
    internal = permissions.can_view_internal(request.user)
    visible = Partnership.objects.for_audience(internal)
    stamp = fragments.register_stamp(internal)
    choices = municipality_choices(internal, stamp=stamp)
    filterset = LIST_FILTERS(request.GET, visible, request=request, municipality_choices=choices)
    partnerships = filterset.qs
    page, cards = _page_of_cards(request, partnerships, stamp=stamp)
    kept = {key: value for key, value in request.GET.items() if key != "page" and value}
    context = {
        "form": filterset.form,
        "page": page,
        "cards": cards,
        "filters": filterset.valid,
        "filtered": filterset.filtered,
        "query_string": urlencode(kept),
        "sort": filterset.order,
    }
    return render(request, "cooperation/partnership_list.html", context)


def _documents(internal: bool) -> Prefetch:
    """The documents of agreements or events this audience sees, as `visible_documents`."""
    return Prefetch(
        "documents", queryset=Document.objects.for_audience(internal).for_list(), to_attr="visible_documents"
    )


def _get_partnership(request, slug: str) -> Partnership:
    """The partnership if this user may see it, with its pillars: 2 queries."""
    internal = permissions.can_view_internal(request.user)
    queryset = Partnership.objects.for_audience(internal).prefetch_related("pillars")
    return get_object_or_404(queryset, slug=slug)


def _agreements_of(partnership, internal: bool) -> list:
    """The agreements of the partnership this audience sees, with their documents: 2 queries (1
    without agreements)."""
    return list(
        Agreement.objects.for_audience(internal)
        .filter(partnership=partnership)
        .for_list()
        .prefetch_related(_documents(internal))
        .order_by(F("date_lower").asc(nulls_last=True), "title")
    )


# A timeline longer than this is grouped by year and paged (TIMELINE_PAGE_SIZE events a page), and
# its chart counts events per year instead of drawing each one: the page stays under
# PAGE_WEIGHT_LIMIT bytes of HTML however many events a partnership has (docs/performance.md).
TIMELINE_GROUP_THRESHOLD = 100
TIMELINE_PAGE_SIZE = 50
PAGE_WEIGHT_LIMIT = 300_000


def _page_number(request) -> int:
    """The timeline page asked for (?page=); anything but a positive number reads as the first."""
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 10**6 else 1


def _year_of(facts: timeline.EventFacts) -> int | None:
    day = facts.date.lower or facts.date.upper
    return day.year if day else None


def _grouped_timeline(rows: list[timeline.EventFacts], number: int) -> dict:
    """One page of a long timeline, its events in groups per year, and an index of the years
    (with their counts) linking to the page each starts on. Raises Http404 past the last page."""
    paginator = Paginator(rows, TIMELINE_PAGE_SIZE)
    try:
        page = paginator.page(number)
    except EmptyPage as error:
        raise Http404(_("This page of the timeline does not exist.")) from error
    years: dict[int | None, dict] = {}
    for index, facts in enumerate(rows):
        year = _year_of(facts)
        if year not in years:
            years[year] = {"year": year, "count": 0, "page": index // TIMELINE_PAGE_SIZE + 1}
        years[year]["count"] += 1
    groups: list[dict] = []
    for facts in page.object_list:
        year = _year_of(facts)
        if not groups or groups[-1]["year"] != year:
            groups.append({"year": year, "events": [], "first": years[year]["page"] == page.number})
        groups[-1]["events"].append(facts.event)
    return {"page": page, "years": list(years.values()), "groups": groups}


def partnership_detail(request, slug: str):
    """10 queries: partnership, pillars, agreements, their documents, latest verification, events,
    their municipalities, sources (Event.objects.for_timeline), participants and documents of the
    events shown (+ session/user when signed in).

    The status, chart, members table, timeline and agreements are cached per change of the
    partnership (cooperation/fragments.py); a cached page costs 3 queries: partnership, pillars,
    latest verification. Every "now" claim is as of the latest evidence, computed
    here from the events shown, their sources and the latest verification. A timeline of more than
    TIMELINE_GROUP_THRESHOLD events is shown a page (?page=) at a time, grouped by year, with a
    chart that counts events per year; the same 10 queries, the people and documents of one page only.
    """
    partnership = _get_partnership(request, slug)
    internal = permissions.can_view_internal(request.user)
    today = _today()
    verification = partnership.verifications.select_related("user").first()
    number = _page_number(request)

    def build() -> dict:
        events = partnership.events.for_audience(internal).for_timeline()
        # The events share their municipalities' instances: each is read once.
        municipalities = {m.pk: m for event in events for m in event.municipality_list}
        refs = {pk: timeline.municipality_ref(m) for pk, m in municipalities.items()}
        facts = [timeline.facts_from_event(event, [refs[m.pk] for m in event.municipality_list]) for event in events]
        rows = timeline.ordered(facts)
        memberships = timeline.derive_memberships(facts)
        evidence = timeline.last_evidence(
            facts,
            [source.published_on for event in events for source in event.source_list],
            [verification.verified_on] if verification else [],
        )
        status = timeline.derive_status(facts, memberships)
        # Every member appears in some event, so this covers every lane of the chart.
        urls = {pk: m.get_absolute_url() for pk, m in municipalities.items()}
        grouped = len(rows) > TIMELINE_GROUP_THRESHOLD
        if grouped:
            paged = _grouped_timeline(rows, number)
            shown = [event for group in paged["groups"] for event in group["events"]]
        elif number != 1:
            raise Http404(_("This page of the timeline does not exist."))
        else:
            paged, shown = {}, [row.event for row in rows]
        Event.objects.with_participants(shown)
        prefetch_related_objects(shown, _documents(internal))
        context = {
            "timeline": shown,
            "grouped": grouped,
            **paged,
            "event_count": len(rows),
            "memberships": memberships,
            "municipality_urls": urls,
            "chart": chart.chart(facts, memberships, today, urls, evidence=evidence, summarise=grouped),
            "cost_kinds": COST_KINDS,
            "decision_kinds": DECISION_KINDS,
            "can_view_internal": internal,
            "evidence": evidence,
            "today": today,
        }
        return {
            "status_sentence": timeline.status_sentence(facts, memberships, evidence=evidence, today=today),
            "status": timeline.current_status(status, evidence, today),
            "status_label": timeline.as_of(str(Partnership.Status(status).label), status, evidence, today),
            "members_html": render_to_string("cooperation/_partnership_body.html", {**context, "part": "members"}),
            "timeline_html": render_to_string("cooperation/_partnership_body.html", {**context, "part": "timeline"}),
            "map_members": map_views.partnership_members(events, memberships),
            "agreements_html": render_to_string(
                "cooperation/_agreements.html", {"agreements": _agreements_of(partnership, internal)}
            ),
        }

    part = "page" if number == 1 else f"page-{number}"
    body = fragments.cached(fragments.partnership_key(partnership, internal=internal, today=today, part=part), build)
    # The map as of the year asked for (?year=), from the cached members: no query.
    map_context = map_views.partnership_map(body["map_members"], request.GET)
    context = {"partnership": partnership, "verification": verification, **body, **map_context}
    return render(request, "cooperation/partnership_detail.html", context)


def municipality_detail(request, cbs_code: str):
    """3 queries when cached: municipality with successor, predecessors, register stamp; cold: +
    count and a page of memberships with their partnerships, latest events, the partners on the
    map (+ session/user)."""
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
    # Keyed by the day too: "still a member" is qualified once its evidence passes the horizon.
    key = fragments.register_key("municipality", municipality.pk, page_number, _today(), stamp=stamp, internal=internal)
    map_key = fragments.register_key("municipality-map", municipality.pk, stamp=stamp, internal=internal)
    context = {
        "municipality": municipality,
        "predecessors": municipality.predecessors.order_by("-existed_until", "name"),
        "body_html": fragments.cached(key, build),
        "map_html": fragments.cached(
            map_key,
            lambda: render_to_string(
                "cooperation/_map_municipality.html", map_views.municipality_map(request.user, municipality)
            ),
        ),
    }
    return render(request, "cooperation/municipality_detail.html", context)


def municipality_index(request):
    """Every municipality, current and former, by province, each with its number of partnerships
    (this audience's memberships), found by name (`search.matches`). 2 queries when cached:
    register stamp, municipalities with their successors; cold: + the counts (+ session/user when
    signed in). Rows are read as values and the URLs made from one reverse(): some 1,500 entries."""
    internal = permissions.can_view_internal(request.user)
    form = MunicipalitySearchForm(request.GET or None)
    chosen = form.cleaned_data if form.is_bound and form.is_valid() else {}
    query, only_with_partnerships = chosen.get("q", ""), bool(chosen.get("with_partnerships"))

    def build_counts() -> dict[int, int]:
        visible = Partnership.objects.for_audience(internal)
        return dict(
            Membership.objects.for_audience(internal)
            .filter(partnership__in=visible)
            .order_by()
            .values("municipality_id")
            .annotate(n=Count("partnership_id", distinct=True))
            .values_list("municipality_id", "n")
        )

    counts = fragments.cached(
        fragments.register_key("municipality-counts", stamp=fragments.register_stamp(internal), internal=internal),
        build_counts,
    )
    url = reverse("cooperation:municipality-detail", args=["GM0000"]).replace("GM0000", "{}")
    rows = Municipality.objects.values_list(
        "pk", "cbs_code", "name", "province", "existed_until", "merged_into__cbs_code", "merged_into__name"
    )
    query_terms = search.terms(query)
    groups: dict[str, dict[str, list]] = {}
    found = 0
    labels: dict[int, str] = {}
    merged_into, ceased, nothing = escape(_("merged into")), escape(_("ceased to exist")), escape(_("no partnerships"))
    for pk, code, name, province, existed_until, successor_code, successor_name in rows:
        count = counts.get(pk, 0)
        if (query and not search.matches(search.text_document(name), query_terms)) or (
            only_with_partnerships and not count
        ):
            continue
        found += 1
        if count not in labels:
            label = ngettext("%(counter)s partnership", "%(counter)s partnerships", count) % {"counter": count}
            labels[count] = f"<small>{escape(label)}</small>" if count else f'<small class="muted">{nothing}</small>'
        # Built here, escaped value by value (html.escape: no lazy-string wrapper), as forms.Select
        # does: a template per entry made rendering 1,500 entries the page's slowest part.
        entry = f'<a href="{escape(url.format(code))}">{escape(name)}</a>'
        if existed_until:
            # The day after the last day it existed: the day of the merger.
            year = (existed_until + datetime.timedelta(days=1)).year
            if successor_code:
                successor = f'<a href="{escape(url.format(successor_code))}">{escape(successor_name)}</a>'
                entry += f" — {merged_into} {successor} ({year})"
            else:
                entry += f" — {ceased} ({year})"
        group = groups.setdefault(province, {"current": [], "former": []})
        group["former" if existed_until else "current"].append(f"<li>{entry} {labels[count]}</li>")
    # Provinces in alphabetical order; a municipality without one last.
    provinces = [
        {
            "name": name,
            "slug": slugify(name or "none"),
            "current": SafeString("".join(groups[name]["current"])),
            "former": SafeString("".join(groups[name]["former"])),
            "former_count": len(groups[name]["former"]),
        }
        for name in [*Province.values, ""]
        if name in groups
    ]
    context = {
        "form": form,
        "query": query,
        "filtered": bool(query or only_with_partnerships),
        "found": found,
        "provinces": provinces,
    }
    return render(request, "cooperation/municipality_index.html", context)


def pillar_detail(request, code: str):
    """3 queries when cached: pillar, register stamp, the page's partnerships; cold: + count, the
    page's ids, pillars and memberships (+ session/user when signed in)."""
    pillar = get_object_or_404(Pillar, code=code)
    filterset = PILLAR_FILTERS(
        {"pillar": pillar.code, "sort": "first_date"},
        Partnership.objects.for_audience(permissions.can_view_internal(request.user)),
    )
    page, cards = _page_of_cards(request, filterset.qs)
    context = {"pillar": pillar, "page": page, "cards": cards}
    return render(request, "cooperation/pillar_detail.html", context)


@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for whatever a page links: a redirect to the icon in
    static/ at its (hashed, long-cached) address, so no request for it ends in a 404."""
    return redirect(static("favicon.ico"))


def about(request):
    """2 queries: register figures and the pillars."""
    visible = Partnership.objects.for_audience(permissions.can_view_internal(request.user))
    # Verifications are recorded acts (Verification rows), not a date typed on the partnership.
    figures = visible.aggregate(
        partnerships=Count("pk", distinct=True),
        newest_verified=Max("verifications__verified_on"),
        oldest_verified=Min("verifications__verified_on"),
    )
    context = {
        "figures": figures,
        "pillars": Pillar.objects.all(),
        "downloads": [
            (label, [(kind, reverse("open-data:download", args=[name])) for kind, name in files])
            for label, files in downloads.listing()
        ],
    }
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
