"""The cached copy of what the events mean: the only writer of derived rows.

`Membership` rows and the derived fields of `Partnership` (status, first and last date,
search text) are computed by the pure functions of `timeline` and written here, and
nowhere else. `rebuild_derived()` does one partnership through the ORM;
`rebuild_derived_many()` does many at once from plain values (imports, generators).
`last_evidence` counts the public events, the sources they cite and the recorded verifications.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import dates, timeline
from .models import Event, Municipality, Partnership, Verification
from .models import Membership as MembershipRow


class MunicipalityRefs:
    """What the derivations need of every municipality, loaded once (1 query)."""

    def __init__(self):
        municipalities = list(Municipality.objects.select_related("merged_into"))
        self.codes = {m.pk: m.cbs_code for m in municipalities}
        self._refs = {
            m.pk: timeline.MunicipalityRef(
                pk=m.pk,
                name=m.name,
                existed_until=m.existed_until,
                successor_name=m.merged_into.name if m.merged_into_id else "",
            )
            for m in municipalities
        }

    def municipality_ref(self, pk: int) -> timeline.MunicipalityRef:
        return self._refs[pk]


def search_text(partnership, events: Sequence, municipality_names: Iterable[str]) -> str:
    """The public text a partnership is found by: its own, its members' names, its public events'."""
    parts = [partnership.name, partnership.summary, *municipality_names]
    for event in events:
        if event.visibility == "public":
            parts.extend([event.title, event.description, event.reason])
    return "\n".join(part for part in parts if part)


def derived_cache(
    partnership, events: Sequence, facts: Sequence[timeline.EventFacts], evidence_dates: Iterable = ()
) -> tuple[list, dict]:
    """The cached copy of one partnership, computed from its events: Membership rows (unsaved)
    and the values of its derived fields. No queries; `rebuild_derived()` and bulk loaders write it.
    `evidence_dates`: the latest published date of a source its public events cite and the latest
    verification, which count as evidence besides the events (`timeline.last_evidence`).
    """
    memberships = timeline.derive_memberships(facts)
    rows = [
        MembershipRow(
            partnership=partnership,
            municipality_id=m.municipality.pk,
            role=m.role,
            state=m.state,
            start_text=m.start.text,
            start_lower=m.start.lower,
            end_text=m.end.text if m.end else "",
            end_upper=m.end.upper if m.end else None,
            ended_by=m.ended_by,
            position=position,
        )
        for position, m in enumerate(memberships)
    ]
    public = [event for event in events if event.visibility == "public"]
    lowers = [event.date_lower for event in public if event.date_lower]
    uppers = [event.date_upper or event.date_lower for event in public if event.date_upper or event.date_lower]
    derived = {
        "status": timeline.derive_status(facts, memberships),
        "first_date": min(lowers, default=None),
        "last_date": max(uppers, default=None),
        "search_text": search_text(partnership, events, (m.municipality.name for m in memberships)),
        "last_evidence": timeline.last_evidence(
            [f for event, f in zip(events, facts, strict=True) if event.visibility == "public"], evidence_dates
        ),
        # Marks the change for everything derived from the events (e.g. the cached page fragments).
        "updated_at": timezone.now(),
    }
    return rows, derived


def rebuild_derived(partnership) -> None:
    """Rebuild the cached memberships, status, date range and search text of one partnership.

    Costs 4 reads and 3 writes; call it after any change to the partnership or its events.
    Also moves `updated_at`, which keys the cached fragments of the partnership page.
    """
    events = list(partnership.events.prefetch_related("municipalities"))
    facts = [timeline.facts_from_event(event) for event in events]
    evidence = latest_evidence_dates([partnership.pk])[partnership.pk]
    rows, derived = derived_cache(partnership, events, facts, evidence)
    with transaction.atomic():
        MembershipRow.objects.filter(partnership=partnership).delete()
        MembershipRow.objects.bulk_create(rows)
        type(partnership).objects.filter(pk=partnership.pk).update(**derived)
    for name, value in derived.items():
        setattr(partnership, name, value)


class _EventValues(NamedTuple):
    """What derived_cache() reads of an event besides its facts."""

    visibility: str
    title: str
    description: str
    reason: str
    date_lower: datetime.date | None
    date_upper: datetime.date | None


def rebuild_derived_many(partnership_ids, lookups=None) -> None:
    """derived.rebuild_derived() for many partnerships at once: 5 reads and 2 writes per 500, plus one UPDATE each.

    The same derivation (`timeline.derived_cache`), but the events are read as
    plain values for many partnerships together (500 at a time, to bound the
    memory): per partnership, the ORM way costs tens of milliseconds, which
    thousands of partnerships cannot afford.
    """
    all_ids = sorted(set(partnership_ids))
    if not all_ids:
        return
    lookups = lookups or MunicipalityRefs()
    for ids in chunks(all_ids, 500):
        _rebuild_derived_chunk(ids, lookups)


def _rebuild_derived_chunk(ids: list[int], lookups) -> None:
    partnerships = list(Partnership.objects.filter(pk__in=ids).only("pk", "name", "summary"))
    if not partnerships:
        return
    links = m2m_ids(
        Event.municipalities.through,
        "event_id",
        "municipality_id",
        list(Event.objects.filter(partnership_id__in=ids).values_list("pk", flat=True)),
    )
    events, facts = defaultdict(list), defaultdict(list)
    fields = ("pk", "partnership_id", "kind", "status", "date_text", "role", "created_at", "visibility", "title")
    fields += ("description", "reason", "date_lower", "date_upper")
    for (
        pk,
        partnership_id,
        kind,
        status,
        text,
        role,
        created,
        visibility,
        title,
        description,
        reason,
        lower,
        upper,
    ) in Event.objects.filter(partnership_id__in=ids).values_list(*fields):
        refs = sorted(
            (lookups.municipality_ref(municipality_id) for municipality_id in links.get(pk, [])),
            key=lambda ref: (ref.name, lookups.codes[ref.pk]),
        )
        events[partnership_id].append(_EventValues(visibility, title, description, reason, lower, upper))
        facts[partnership_id].append(
            timeline.EventFacts(
                key=pk,
                kind=kind,
                status=status,
                date=dates.parse_date(text),
                municipalities=tuple(refs),
                role=role,
                created=created,
            )
        )
    rows = []
    evidence = latest_evidence_dates(ids)
    for partnership in partnerships:
        partnership_rows, derived = derived_cache(
            partnership, events[partnership.pk], facts[partnership.pk], evidence[partnership.pk]
        )
        rows.extend(partnership_rows)
        for name, value in derived.items():
            setattr(partnership, name, value)
    with transaction.atomic():
        MembershipRow.objects.filter(partnership_id__in=ids).delete()
        MembershipRow.objects.bulk_create(rows, batch_size=2000)
        # One UPDATE each: bulk_update()'s CASE expressions cost more to build than the round trips.
        for partnership in partnerships:
            Partnership.objects.filter(pk=partnership.pk).update(
                **{name: getattr(partnership, name) for name in derived}
            )


def latest_evidence_dates(ids: list[int]) -> dict[int, list]:
    """Per partnership: the latest published date of a source cited by a public event, and the
    latest recorded verification (2 queries)."""
    result: dict[int, list] = defaultdict(list)
    cited = (
        Event.sources.through.objects.filter(event__partnership_id__in=ids, event__visibility="public")
        .values("event__partnership_id")
        .annotate(latest=Max("source__published_on"))
        .values_list("event__partnership_id", "latest")
    )
    verified = (
        Verification.objects.filter(partnership_id__in=ids)
        .values("partnership_id")
        .annotate(latest=Max("verified_on"))
        .values_list("partnership_id", "latest")
    )
    for partnership_id, latest in [*cited, *verified]:
        result[partnership_id].append(latest)
    return result


def chunks(items, size: int):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def m2m_ids(through, own: str, other: str, ids) -> dict[int, list[int]]:
    result: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(ids, 10000):
        for key, value in through.objects.filter(**{f"{own}__in": chunk}).values_list(own, other):
            result[key].append(value)
    return result
