"""iCalendar feeds (RFC 5545) per partnership and per municipality.

A calendar holds the planned events and the end dates of the agreements the requester may see.
Every entry is an all-day event: a day for an exact date, the whole range for a vague one
("end of 2010", "autumn 2016", "2017"), then marked approximate with the date in words in the
summary and the description. An open start ("../2026-06-30", before 30 June 2026) spans from
the day the plan was recorded to its known bound; an open end ("2026-03/..") spans its start.
Planned events whose date is wholly unknown cannot be placed and are left out.

Every calendar declares its time zone (a VTIMEZONE for Europe/Amsterdam) and says what it holds
in X-WR-CALDESC, so one with nothing to place is still a valid VCALENDAR (RFC 5545 §3.6 wants
at least one component) that calendar apps keep subscribed to; docs/open-data.md says why not
a 404. DTSTAMP is the entry's last change, so the file changes only when the data does.
Each calendar costs 3 queries (its subject, the planned events, the agreements).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard
from icalendar import Event as CalendarEntry

from . import dates, timeline
from .models import Agreement, Event, Municipality, Partnership
from .permissions import can_view_internal

PRODID = "-//ICT-samenwerking//Cooperation portal//NL"
TIME_ZONE = "Europe/Amsterdam"
UID_DOMAIN = "ict-samenwerking.nl"


def _is_exact(event: Event) -> bool:
    return (
        event.date_precision == dates.Precision.DAY
        and event.date_lower == event.date_upper
        and not event.date_text.endswith(("~", "?", "%"))
    )


def _span(event: Event) -> tuple[datetime.date, datetime.date] | None:
    """The first and last day an all-day entry covers, or None when the date is wholly unknown."""
    lower, upper = event.date_lower, event.date_upper
    if lower is None and upper is None:
        return None
    if lower is None:
        # "Before 30 June 2026": the plan lies between the day it was recorded and the bound.
        return min(timezone.localdate(event.created_at), upper), upper
    if upper is None:
        # "From March 2026": the start is known, the end is not; the entry covers the start.
        try:
            return lower, dates.parse_date(event.date_text.split("/")[0]).upper or lower
        except ValidationError:
            return lower, lower
    return lower, upper


def _event_entry(request, event: Event) -> CalendarEntry | None:
    span = _span(event)
    if span is None:
        return None
    first, last = span
    exact = _is_exact(event)
    heading = event.title or event.get_kind_display()
    # Translated strings stay outside f-strings, where makemessages cannot see them.
    # "planned", or "planned for December 2021, not confirmed" once the whole date range has passed.
    planned = timeline.event_status_words(event.status, event.fuzzy_date, timezone.localdate()) or _("planned")
    approximate = _("approximate date")
    approximate_range = _("approximate: the date is only known as this range")
    summary = f"{event.partnership.name}: {heading} ({planned})"
    if not exact:
        # An overdue plan's words already name its date ("planned for December 2021, not confirmed").
        dated = planned if event.date_in_words in planned else f"{planned}, {event.date_in_words}"
        summary = f"{event.partnership.name}: {heading} ({dated}) – {approximate}"
    lines = [
        _("Date: %(date)s") % {"date": event.date_in_words} + ("" if exact else f" ({approximate_range})"),
        ", ".join(m.name for m in event.municipalities.all()),
        event.description,
    ]
    entry = CalendarEntry()
    entry.add("uid", f"event-{event.uid}@{UID_DOMAIN}")
    entry.add("summary", summary)
    entry.add("description", "\n".join(line for line in lines if line))
    entry.add("dtstart", first)
    entry.add("dtend", last + datetime.timedelta(days=1))
    entry.add("dtstamp", event.updated_at)
    entry.add("last-modified", event.updated_at)
    entry.add("url", request.build_absolute_uri(event.get_absolute_url()))
    entry.add("categories", [event.kind])
    entry.add("transp", "TRANSPARENT")
    entry.add("status", "TENTATIVE")
    return entry


def _agreement_entry(request, agreement: Agreement) -> CalendarEntry:
    entry = CalendarEntry()
    entry.add("uid", f"agreement-{agreement.pk}-end@{UID_DOMAIN}")
    entry.add(
        "summary",
        _("%(partnership)s: end of %(agreement)s")
        % {"partnership": agreement.partnership.name, "agreement": agreement.title},
    )
    if agreement.term_note:
        entry.add("description", agreement.term_note)
    entry.add("dtstart", agreement.term_end)
    entry.add("dtend", agreement.term_end + datetime.timedelta(days=1))
    entry.add("dtstamp", agreement.changed_at)
    entry.add("url", request.build_absolute_uri(agreement.get_absolute_url()))
    entry.add("categories", ["agreement_end"])
    entry.add("transp", "TRANSPARENT")
    return entry


def _amsterdam() -> Timezone:
    """Europe/Amsterdam by its rules since 1996 (the form calendar apps themselves write)."""
    zone = Timezone()
    zone.add("tzid", TIME_ZONE)
    daylight = TimezoneDaylight()
    daylight.add("dtstart", datetime.datetime(1981, 3, 29, 2, 0))
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    daylight.add("tzoffsetfrom", datetime.timedelta(hours=1))
    daylight.add("tzoffsetto", datetime.timedelta(hours=2))
    daylight.add("tzname", "CEST")
    standard = TimezoneStandard()
    standard.add("dtstart", datetime.datetime(1996, 10, 27, 3, 0))
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    standard.add("tzoffsetfrom", datetime.timedelta(hours=2))
    standard.add("tzoffsetto", datetime.timedelta(hours=1))
    standard.add("tzname", "CET")
    zone.add_component(daylight)
    zone.add_component(standard)
    return zone


def _response(request, name: str, events, agreements) -> HttpResponse:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TIME_ZONE)
    calendar.add_component(_amsterdam())
    entries = [entry for entry in (_event_entry(request, event) for event in events) if entry is not None]
    entries += [_agreement_entry(request, agreement) for agreement in agreements]
    if entries:
        description = _("Planned events and agreement end dates of %(name)s.") % {"name": name}
    else:
        description = _(
            "Planned events and agreement end dates of %(name)s. There are none with a known date "
            "at the moment; they appear here when they are recorded."
        ) % {"name": name}
    calendar.add("x-wr-caldesc", description)
    for entry in entries:
        calendar.add_component(entry)
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="calendar.ics"'
    return response


def _planned(request):
    return (
        Event.objects.for_audience(can_view_internal(request.user))
        .filter(status=Event.Status.PLANNED)
        .select_related("partnership")
        .prefetch_related("municipalities")
        .order_by("date_lower", "pk")
    )


def _agreements(request, **filters):
    """The agreements this requester may see whose term end is recorded, each with `changed_at`:
    its last recorded change (history), else its partnership's; a stable DTSTAMP without an extra
    query. An agreement the register shows as terminated (`AgreementQuerySet.with_state`) is left
    out: its term end no longer ends it, as the agreements page and the reminders say."""
    last_change = (
        Agreement.history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date").values("history_date")[:1]
    )
    return (
        Agreement.objects.for_audience(can_view_internal(request.user))
        .for_list()
        .with_state(timezone.localdate())
        .exclude(state=timeline.AGREEMENT_TERMINATED)
        .filter(term_end__isnull=False, **filters)
        .annotate(changed_at=Coalesce(Subquery(last_change), "partnership__updated_at"))
        .select_related("partnership")
        .order_by("term_end", "pk")
    )


def partnership_calendar(request, slug: str):
    """Planned events and agreement end dates of one partnership."""
    partnership = get_object_or_404(Partnership.objects.for_audience(can_view_internal(request.user)), slug=slug)
    events = _planned(request).filter(partnership=partnership)
    agreements = _agreements(request, partnership=partnership)
    return _response(request, partnership.name, events, agreements)


def municipality_calendar(request, cbs_code: str):
    """Planned events concerning the municipality and the agreement end dates of its partnerships."""
    municipality = get_object_or_404(Municipality, cbs_code=cbs_code.upper())
    events = _planned(request).filter(municipalities=municipality)
    agreements = _agreements(
        request,
        partnership__in=Partnership.objects.for_audience(can_view_internal(request.user)).with_member(
            municipality=municipality
        ),
    )
    name = _("Municipality of %(name)s") % {"name": municipality.name}
    return _response(request, name, events, agreements)
