"""The public register as Popolo JSON (https://www.popoloproject.com/), schema version 1.0.

Partnerships and the municipalities that took part in them are organizations; taking part is a
membership of the municipality (`member`, an Organization) in the partnership
(`organization_id`), with start and end dates. Memberships are derived by `cooperation.timeline`
from the public events only, like everything anonymous clients see; planned memberships are
left out (Popolo records what happened).

Popolo dates are YYYY, YYYY-MM or YYYY-MM-DD. A vague date is reduced to the finest of those
that covers its whole range (autumn 2016 → 2016, December 2010 ~ → 2010-12); a range over
several years becomes the year of its earliest bound as a start and of its latest bound as an
end ("ended by then"). The EDTF text stays alongside, in `start_date_edtf` / `end_date_edtf`
(memberships) and `founding_date_edtf` / `dissolution_date_edtf` (partnerships).

Sources are Popolo links (`link.json`: a `url` is required). A source without a URL (a council
decision on paper, a newspaper article not online) cannot be one: it is described in
`source_notes` (title, publisher or author, date) beside `sources`. The export validates against
the official Popolo 1.0.1 schemas (tests/data/popolo/, checked in tests/test_conformance.py).
"""

from __future__ import annotations

import datetime

from django.db.models import Prefetch
from django.utils import timezone, translation

from . import dates, timeline
from .models import Event, Municipality, Partnership, Source

SCHEMA_VERSION = "1.0"


def popolo_date(fuzzy: dates.FuzzyDate | None, side: str) -> str | None:
    """The finest Popolo date that covers the range; `side` ("start"/"end") decides a multi-year range."""
    if fuzzy is None or (fuzzy.lower is None and fuzzy.upper is None):
        return None
    lower, upper = fuzzy.lower or fuzzy.upper, fuzzy.upper or fuzzy.lower
    if lower == upper:
        return lower.isoformat()
    if (lower.year, lower.month) == (upper.year, upper.month):
        return f"{lower.year:04d}-{lower.month:02d}"
    if lower.year == upper.year:
        return f"{lower.year:04d}"
    return f"{(upper if side == 'end' else lower).year:04d}"


def _note(source: Source) -> str:
    parts = [source.title, source.publisher or source.author]
    if source.published_on:
        parts.append(source.published_on.isoformat())
    return ", ".join(part for part in parts if part)


def _sources(events) -> dict[str, list]:
    """`sources` (Popolo links, those with a URL) and `source_notes` (the others, described) of the events."""
    seen: dict[int, Source] = {}
    for event in events:
        for source in event.sources.all():
            seen.setdefault(source.pk, source)
    cited = {"sources": [{"url": s.url, "note": _note(s)} for s in seen.values() if s.url]}
    notes = [_note(s) for s in seen.values() if not s.url]
    if notes:
        cited["source_notes"] = notes
    return cited


def _municipality(municipality: Municipality, base_url: str) -> dict:
    organization = {
        "id": f"municipality/{municipality.cbs_code}",
        "name": municipality.name,
        "classification": "municipality",
        "identifiers": [
            {"scheme": "cbs", "identifier": municipality.cbs_code},
            {"scheme": "tooi", "identifier": municipality.tooi_uri},
        ],
        "links": [{"url": base_url + municipality.get_absolute_url(), "note": "ICT cooperation portal"}],
    }
    if municipality.existed_from:
        organization["founding_date"] = municipality.existed_from.isoformat()
    if municipality.existed_until:
        organization["dissolution_date"] = municipality.existed_until.isoformat()
    if municipality.merged_into_id:
        organization["merged_into_id"] = f"municipality/{municipality.merged_into.cbs_code}"
    return organization


def popolo_export(base_url: str) -> dict:
    """The public register as a Popolo document; `base_url` (e.g. https://example.org) makes links absolute.

    5 queries: partnerships, pillars, public events, their municipalities, their sources.
    """
    events = Event.objects.public().prefetch_related(
        Prefetch("municipalities", queryset=Municipality.objects.select_related("merged_into")), "sources"
    )
    partnerships = (
        Partnership.objects.public()
        .prefetch_related("pillars", Prefetch("events", queryset=events, to_attr="public_events"))
        .order_by("slug")
    )
    organizations: list[dict] = []
    memberships: list[dict] = []
    municipalities: dict[int, Municipality] = {}
    today = timezone.localdate()
    with translation.override("nl"):
        for partnership in partnerships:
            public_events = partnership.public_events
            facts = [timeline.facts_from_event(event) for event in public_events]
            evidence = timeline.last_evidence(
                facts, [source.published_on for event in public_events for source in event.sources.all()]
            )
            evidence = max(filter(None, [evidence, partnership.last_evidence]), default=None)  # + verifications
            derived = [m for m in timeline.derive_memberships(facts) if m.state != "planned"]
            by_pk = {m.pk: m for event in public_events for m in event.municipalities.all()}
            # Membership ids are positions: order by what the data says (start, CBS code), not by
            # database ids, so the same register gives the same ids in another portal.
            derived.sort(key=lambda m: (m.start.lower or datetime.date.max, by_pk[m.municipality.pk].cbs_code))
            organization_id = f"partnership/{partnership.slug}"
            starts = sorted((m.start for m in derived), key=lambda d: d.lower or datetime.date.max)
            ends = sorted((m.end for m in derived if m.end), key=lambda d: d.upper or datetime.date.min)
            organization = {
                "id": organization_id,
                "name": partnership.name,
                "classification": partnership.legal_form,
                "identifiers": [{"scheme": "ict-samenwerking", "identifier": partnership.slug}],
                "pillars": [pillar.code for pillar in partnership.pillars.all()],
                # As of the latest evidence: "unknown" when a current status rests on old evidence.
                "status": timeline.current_status(timeline.derive_status(facts), evidence, today),
                "last_evidence": evidence.isoformat() if evidence else None,
                "links": [{"url": base_url + partnership.get_absolute_url(), "note": "ICT cooperation portal"}],
                **_sources(public_events),
            }
            if partnership.summary:
                organization["description"] = partnership.summary
            if starts and popolo_date(starts[0], "start"):
                organization["founding_date"] = popolo_date(starts[0], "start")
                organization["founding_date_edtf"] = starts[0].text
            if organization["status"] == "ended" and ends and popolo_date(ends[-1], "end"):
                organization["dissolution_date"] = popolo_date(ends[-1], "end")
                organization["dissolution_date_edtf"] = ends[-1].text
            organizations.append(organization)
            for position, membership in enumerate(derived):
                municipality = by_pk[membership.municipality.pk]
                municipalities[municipality.pk] = municipality
                steps = [membership.start_event, membership.decision, membership.exit, membership.disentanglement]
                record = {
                    "id": f"{organization_id}/membership/{position + 1}",
                    "label": f"{municipality.name} in {partnership.name}",
                    "role": membership.role,
                    "organization_id": organization_id,
                    "member": {"@type": "Organization", "id": f"municipality/{municipality.cbs_code}"},
                    "state": membership.state,
                    # A current state on evidence older than the horizon holds only as of that evidence.
                    "state_as_of": (
                        evidence.isoformat()
                        if evidence
                        and membership.state in timeline.NOW_MEMBERSHIP_STATES
                        and timeline.is_stale(evidence, today)
                        else None
                    ),
                    "start_date_edtf": membership.start.text,
                    "end_date_edtf": membership.end.text if membership.end else "",
                    "end_reason": membership.ended_by,
                    **_sources(step.event for step in steps if step is not None),
                }
                if popolo_date(membership.start, "start"):
                    record["start_date"] = popolo_date(membership.start, "start")
                if popolo_date(membership.end, "end"):
                    record["end_date"] = popolo_date(membership.end, "end")
                memberships.append(record)
        organizations.extend(
            _municipality(m, base_url) for m in sorted(municipalities.values(), key=lambda m: m.cbs_code)
        )
    return {
        "meta": {
            "format": "popolo",
            "schema_version": SCHEMA_VERSION,
            "generated_at": timezone.now().isoformat(timespec="seconds"),
            "source": base_url + "/",
            "documentation": "docs/open-data.md",
        },
        "organizations": organizations,
        "memberships": memberships,
    }
