"""The agreements register, read side: what a list entry or a page of an agreement shows besides
its own fields, for one audience. Used by the pages (`agreement_views.py`) and the API (`api.py`).

The state comes from `AgreementQuerySet.with_state()` (SQL, the same rules as the pure
`timeline.agreement_state`); the parties from `timeline.agreement_parties()` over the events citing
the agreement and the partnership's derived memberships that this audience sees.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from . import timeline
from .models import Event, Membership


def event_facts(event) -> timeline.EventFacts:
    """The facts of an event citing an agreement, with its municipality objects (read by
    `EventQuerySet.for_timeline()`, or prefetched)."""
    municipalities = getattr(event, "municipality_list", None)
    if municipalities is None:
        municipalities = event.municipalities.all()
    return timeline.EventFacts(
        key=event.pk,
        kind=event.kind,
        status=event.status,
        date=event.fuzzy_date,
        municipalities=tuple(municipalities),
        role=event.role,
        event=event,
    )


def describe(agreements, *, internal: bool, today: datetime.date, events: list | None = None) -> list:
    """The agreements (read with `with_state()`), each given `parties` (municipalities), `state_label`
    (qualified by the age of the evidence) and `citing` (the events citing it that this audience
    sees, oldest first). 1 query (memberships), + 2 (events and their municipalities) unless the
    events citing them are given, with their municipalities prefetched."""
    agreements = list(agreements)
    if not agreements:
        return agreements
    if events is None:
        events = list(
            Event.objects.for_audience(internal)
            .filter(agreement__in=[a.pk for a in agreements])
            .prefetch_related("municipalities")
        )
    citing = defaultdict(list)
    for event in events:
        citing[event.agreement_id].append(event)
    periods = defaultdict(list)
    memberships = (
        Membership.objects.for_audience(internal)
        .filter(partnership_id__in={a.partnership_id for a in agreements})
        .select_related("municipality")
    )
    for m in memberships:
        periods[m.partnership_id].append(timeline.MembershipPeriod(m.municipality, m.state, m.start_lower, m.end_upper))
    for agreement in agreements:
        facts = timeline.ordered(event_facts(event) for event in citing[agreement.pk])
        agreement.citing = [f.event for f in facts]
        agreement.parties = timeline.agreement_parties(
            signed=agreement.fuzzy_date, events=facts, memberships=periods[agreement.partnership_id]
        )
        agreement.state_label = timeline.agreement_state_label(agreement.state, agreement.evidence, today)
    return agreements
