"""iCalendar feeds (RFC 5545) per partnership and per municipality.

A calendar holds the planned events the requester may see and the end dates of agreements.
Every entry is an all-day event: a day for an exact date, the whole range for a vague one
("end of 2010", "autumn 2016", "2017"), then marked approximate in the summary and the
description. Planned events whose date is wholly unknown cannot be placed and are left out.
Each calendar costs 3 queries (its subject, the planned events, the agreements).
"""

from __future__ import annotations

import datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar
from icalendar import Event as CalendarEntry

from . import dates
from .models import Agreement, Event, Municipality, Partnership
from .permissions import can_view_internal

PRODID = "-//ICT-samenwerking//Cooperation portal//NL"
UID_DOMAIN = "ict-samenwerking.nl"


def _is_exact(event: Event) -> bool:
    return (
        event.date_precision == dates.Precision.DAY
        and event.date_lower == event.date_upper
        and not event.date_text.endswith(("~", "?", "%"))
    )


def _event_entry(request, event: Event) -> CalendarEntry | None:
    first = event.date_lower or event.date_upper
    last = event.date_upper or event.date_lower
    if first is None:
        return None
    exact = _is_exact(event)
    heading = event.title or event.get_kind_display()
    # Translated strings stay outside f-strings, where makemessages cannot see them.
    planned, approximate = _("planned"), _("approximate date")
    approximate_range = _("approximate: the date is only known as this range")
    summary = f"{event.partnership.name}: {heading} ({planned})"
    if not exact:
        summary = f"{summary} – {approximate}"
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
    entry.add("dtstamp", timezone.now())
    entry.add("url", request.build_absolute_uri(agreement.get_absolute_url()))
    entry.add("categories", ["agreement_end"])
    entry.add("transp", "TRANSPARENT")
    return entry


def _response(request, name: str, events, agreements) -> HttpResponse:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for event in events:
        entry = _event_entry(request, event)
        if entry is not None:
            calendar.add_component(entry)
    for agreement in agreements:
        calendar.add_component(_agreement_entry(request, agreement))
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


def partnership_calendar(request, slug: str):
    """Planned events and agreement end dates of one partnership."""
    partnership = get_object_or_404(Partnership.objects.for_audience(can_view_internal(request.user)), slug=slug)
    events = _planned(request).filter(partnership=partnership)
    agreements = (
        Agreement.objects.filter(partnership=partnership, term_end__isnull=False)
        .select_related("partnership")
        .order_by("term_end", "pk")
    )
    return _response(request, partnership.name, events, agreements)


def municipality_calendar(request, cbs_code: str):
    """Planned events concerning the municipality and the agreement end dates of its partnerships."""
    municipality = get_object_or_404(Municipality, cbs_code=cbs_code.upper())
    events = _planned(request).filter(municipalities=municipality)
    agreements = (
        Agreement.objects.filter(
            partnership__in=Partnership.objects.for_audience(can_view_internal(request.user)).with_member(
                municipality=municipality
            ),
            term_end__isnull=False,
        )
        .select_related("partnership")
        .order_by("term_end", "pk")
    )
    name = _("Municipality of %(name)s") % {"name": municipality.name}
    return _response(request, name, events, agreements)
