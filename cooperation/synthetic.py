"""Synthetic test data: a national register with history, for benchmarks and load tests.

Deterministic (the same seed gives the same partnerships, events, dates, members and
sources), drawn from the real current municipalities, and obeying every domain rule
(`timeline.check_rules` is run on each generated partnership before anything is written).
Everything generated is marked so it can never be mistaken for real data: partnerships and
sources carry `is_synthetic=True`, names start with "[synthetisch]", slugs with
"synthetic-", source URLs point at the reserved `example.invalid` domain, and people are
named "[synthetisch] ...". `remove()` deletes exactly that and nothing else.

The first partnership of every run is the largest (25 members, a history from 1998), so the
benchmark's "largest partnership" has the same shape on small and large data.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from . import services, timeline
from .models import Agreement, Event, Membership, Municipality, Participant, Partnership, Person, Pillar, Source

PREFIX = "[synthetisch]"
SLUG_PREFIX = "synthetic-"
URL_PREFIX = "https://example.invalid/synthetic/"
SIZES = {"small": 30, "large": 5500}  # partnerships; about 1,000 and 200,000 events
UID_NAMESPACE = uuid.UUID("6f1b8a52-3c1e-4f0e-9a57-0d6c2b9e5a11")
LAST_YEAR = 2026  # histories end here; later events are plans
CHUNK = 100  # partnerships written per transaction

YEARLY_KINDS = [
    ("evaluated", 5),
    ("amended", 2),
    ("renewed", 1),
    ("tender_launched", 2),
    ("contract_awarded", 2),
    ("study_commissioned", 2),
    ("other", 1),
]
LEGAL_FORMS = [choice.value for choice in Partnership.LegalForm]
THEMES = [
    "ICT-samenwerking",
    "Digitale dienstverlening",
    "Gezamenlijke inkoop ICT",
    "Informatievoorziening",
    "Shared service center ICT",
    "Architectuurberaad",
    "Regionaal datacentrum",
    "Kennisnetwerk digitalisering",
]
SOURCE_KINDS = [choice.value for choice in Source.Kind]


class RuleViolationError(RuntimeError):
    """A generated partnership broke a domain rule: a bug in the generator."""


@dataclass
class PlannedEvent:
    kind: str
    date_text: str
    municipalities: list[Municipality]
    status: str = "happened"
    role: str = "participant"
    title: str = ""
    decided_by: str = ""
    reason: str = ""
    cost_eur: Decimal | None = None
    cost_note: str = ""
    participants: list[tuple[Person, str, Municipality]] = field(default_factory=list)
    with_agreement: bool = False


@dataclass
class PlannedPartnership:
    partnership: Partnership
    pillars: list[Pillar]
    agreement: Agreement
    events: list[PlannedEvent]


def _vague(rng: random.Random, year: int, *, allow_open: bool = False) -> str:
    """A date within `year` at a random precision (day, month, season, year, approximate, ...).

    Days fall on the 1st, 10th or 20th, and intervals take a few fixed forms: the edtf grammar
    (seasons, intervals) costs milliseconds per distinct text, so the variety of texts is
    bounded, not the variety of precisions.
    """
    month, day = rng.randint(1, 12), rng.choice([1, 10, 20])
    forms = [
        f"{year}-{month:02d}-{day:02d}",
        f"{year}-{month:02d}",
        f"{year}-{rng.choice([21, 22, 23])}",
        f"{year}",
        f"{year}-{month:02d}~",
        f"{year}?",
        rng.choice([f"{year}-03/{year}-06", f"{year}-21/{year}-23"]),
    ]
    weights = [6, 4, 2, 2, 1, 1, 1]
    if allow_open:
        forms.append(f"../{year}-06-30")
        weights.append(1)
    return rng.choices(forms, weights)[0]


def _members_count(rng: random.Random, number: int) -> int:
    if number == 0:
        return 25
    return min(25, max(2, int(rng.paretovariate(1.3) * 2)))


def plan_partnership(
    *,
    seed: int,
    number: int,
    municipalities: Sequence[Municipality],
    pillars: Sequence[Pillar],
    person_for: Callable[[Municipality], Person],
) -> PlannedPartnership:
    """One partnership and its whole history, in memory; nothing is written."""
    rng = random.Random(f"{seed}:{number}")
    start_year = 1998 if number == 0 else rng.randint(1998, 2023)
    eligible = [m for m in municipalities if m.existed_from is None or m.existed_from.year < start_year - 1]
    members = rng.sample(eligible, _members_count(rng, number))
    founders_count = max(2, len(members) // 2) if number else 5
    founders, joiners = members[:founders_count], members[founders_count:]
    theme = rng.choice(THEMES)
    name = f"{PREFIX} {theme} {founders[0].name}–{founders[1].name} {number}"
    slug = f"{SLUG_PREFIX}{seed}-{number}"
    partnership = Partnership(
        name=name[:200],
        slug=slug,
        summary=f"Gegenereerde testgegevens (zaad {seed}, nummer {number}); geen echt samenwerkingsverband.",
        legal_form=rng.choice(LEGAL_FORMS),
        last_verified=datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randint(0, 300)),
        is_synthetic=True,
    )
    agreement = Agreement(
        partnership=partnership,
        kind=Agreement.Kind.COOPERATION_AGREEMENT,
        title=f"{PREFIX} Samenwerkingsovereenkomst {number}",
        date_text=f"{start_year}",
        term_note="vier jaar",
    )
    chosen_pillars = rng.sample(list(pillars), rng.randint(1, len(pillars))) if pillars else []

    events: list[PlannedEvent] = []
    lead = founders[0]
    if rng.random() < 0.5:
        events.append(
            PlannedEvent(
                "intent_declared",
                _vague(rng, start_year - 1),
                founders[:],
                title="Intentieverklaring",
                decided_by="aldermen",
            )
        )
    if rng.random() < 0.4:
        role = "central_municipality" if partnership.legal_form == "wgr_regulation_only" else "lead"
        events.append(PlannedEvent("cooperation_started", f"{start_year - 1}", [lead], role=role, title="Verkenning"))
    events.append(
        PlannedEvent(
            "signed",
            f"{start_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            founders[:],
            title="Ondertekening samenwerkingsovereenkomst",
            decided_by="executive",
            participants=[(person_for(m), "alderman", m) for m in founders[:4]],
            with_agreement=True,
        )
    )
    joined_in = {m.pk: start_year for m in founders}
    terminated = rng.random() < 0.15 and start_year < 2020
    end_year = rng.randint(start_year + 3, min(LAST_YEAR, start_year + 15)) if terminated else LAST_YEAR
    for member in joiners:
        year = rng.randint(start_year + 1, max(start_year + 1, end_year - 1))
        status = "planned" if year >= LAST_YEAR else "happened"
        events.append(PlannedEvent("joined", _vague(rng, year), [member], status=status, title="Toetreding"))
        joined_in[member.pk] = year

    left_in: dict[int, int] = {}
    leavers = [m for m in members[1:] if joined_in[m.pk] + 2 < end_year and rng.random() < 0.2]
    for member in leavers:
        decided = rng.randint(joined_in[member.pk] + 1, end_year - 1)
        left_in[member.pk] = decided + 1
        events.append(
            PlannedEvent(
                "withdrawal_decided",
                _vague(rng, decided),
                [member],
                decided_by=rng.choice(["council", "executive"]),
                reason="Kiest voor een andere samenwerking.",
            )
        )
        if rng.random() < 0.7:
            events.append(PlannedEvent("withdrawn", _vague(rng, decided + 1), [member]))
        if rng.random() < 0.8:
            events.append(PlannedEvent("disentanglement_started", f"{decided + 1}", [member]))
        disentangled = decided + 1 + rng.randint(0, 1)
        status = "planned" if disentangled >= LAST_YEAR else "happened"
        events.append(PlannedEvent("disentangled", _vague(rng, disentangled), [member], status=status))
        if rng.random() < 0.5:
            events.append(
                PlannedEvent(
                    "costs_settled",
                    f"{disentangled + 1}",
                    [member],
                    status="planned" if disentangled + 1 >= LAST_YEAR else "happened",
                    cost_eur=Decimal(rng.randint(10, 900) * 1000),
                )
            )

    for year in range(start_year, end_year + 1):
        current = [m for m in members if joined_in[m.pk] <= year and left_in.get(m.pk, 9999) > year]
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            kind = rng.choices([k for k, _w in YEARLY_KINDS], [w for _k, w in YEARLY_KINDS])[0]
            concerned = rng.sample(current, min(len(current), rng.randint(0, 3))) if current else []
            status = "planned" if year >= LAST_YEAR else rng.choices(["happened", "abandoned"], [12, 1])[0]
            events.append(
                PlannedEvent(
                    kind,
                    _vague(rng, year, allow_open=True),
                    concerned,
                    status=status,
                    title=f"{kind.replace('_', ' ').capitalize()} {year}",
                    cost_note="nog te bepalen" if kind == "tender_launched" else "",
                )
            )
    if rng.random() < 0.3:
        events.append(PlannedEvent("other", "", [], title="Datum onbekend"))

    if terminated:
        remaining = [m for m in members if m.pk not in left_in]
        events.append(
            PlannedEvent(
                "termination_decided",
                _vague(rng, end_year - 1),
                [rng.choice(remaining)],
                decided_by="executive",
                reason="De samenwerking levert te weinig op.",
                cost_note="nog te bepalen",
            )
        )
        events.append(PlannedEvent("terminated", f"{end_year}", []))
        for member in remaining[:3]:
            events.append(PlannedEvent("disentangled", f"{end_year}", [member]))
        if rng.random() < 0.5:
            events.append(PlannedEvent("dissolved", f"{end_year}", []))
    return PlannedPartnership(partnership, chosen_pillars, agreement, events)


def _facts(plan: PlannedPartnership, built: list[Event]) -> list[timeline.EventFacts]:
    # In the order the database gives them (Municipality.Meta.ordering), as derived.rebuild() sees them.
    return [
        timeline.facts_from_event(event, sorted(planned.municipalities, key=lambda m: (m.name, m.cbs_code)))
        for event, planned in zip(built, plan.events, strict=True)
    ]


def _check(plan: PlannedPartnership, built: list[Event]) -> None:
    facts = _facts(plan, built)
    problems = timeline.check_rules(facts, plan.partnership.name)
    if problems:
        raise RuleViolationError(f"{plan.partnership.slug}: {problems[0].message}")


def generate(*, partnerships: int, seed: int = 1, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Replace the synthetic data with `partnerships` generated ones; return what was created.

    Events and the many-to-many rows are bulk-inserted; each partnership's events are
    checked against the domain rules first, and its derived data is rebuilt after.
    """
    remove()
    municipalities = list(Municipality.objects.current().order_by("cbs_code"))
    pillars = list(Pillar.objects.order_by("code"))
    people = _people(municipalities)
    created = {"partnerships": 0, "events": 0, "sources": 0}
    for first in range(0, partnerships, CHUNK):
        numbers = range(first, min(first + CHUNK, partnerships))
        with transaction.atomic():
            _write_chunk(seed, numbers, municipalities, pillars, people, created)
        if progress:
            progress(numbers[-1] + 1)
    return created


def _people(municipalities: Sequence[Municipality]) -> dict[int, Person]:
    names = {m.pk: f"{PREFIX} Wethouder van {m.name} ({m.cbs_code})" for m in municipalities}
    existing = {p.name: p for p in Person.objects.filter(name__in=names.values())}
    Person.objects.bulk_create(
        [Person(name=name) for name in names.values() if name not in existing], ignore_conflicts=True
    )
    by_name = {p.name: p for p in Person.objects.filter(name__in=names.values())}
    return {pk: by_name[name] for pk, name in names.items()}


def _write_chunk(seed, numbers, municipalities, pillars, people, created) -> None:
    plans = [
        plan_partnership(
            seed=seed,
            number=number,
            municipalities=municipalities,
            pillars=pillars,
            person_for=lambda m: people[m.pk],
        )
        for number in numbers
    ]
    Partnership.objects.bulk_create([plan.partnership for plan in plans])
    PillarLink = Partnership.pillars.through
    PillarLink.objects.bulk_create(
        [PillarLink(partnership=plan.partnership, pillar=pillar) for plan in plans for pillar in plan.pillars]
    )
    for plan in plans:
        plan.agreement.partnership = plan.partnership
        plan.agreement.derive_date()
    Agreement.objects.bulk_create([plan.agreement for plan in plans])

    sources: dict[tuple[int, int], Source] = {}
    all_events: list[Event] = []
    event_sources: list[tuple[Event, tuple[int, int]]] = []
    per_plan: list[tuple[PlannedPartnership, list[Event]]] = []
    for plan in plans:
        slug = plan.partnership.slug
        built = []
        for position, planned in enumerate(plan.events):
            event = Event(
                uid=uuid.uuid5(UID_NAMESPACE, f"{slug}:{position}"),
                partnership=plan.partnership,
                kind=planned.kind,
                date_text=planned.date_text,
                status=planned.status,
                role=planned.role,
                title=planned.title,
                description=f"{PREFIX} Gegenereerde gebeurtenis {position + 1}.",
                agreement=plan.agreement if planned.with_agreement else None,
                decided_by=planned.decided_by,
                reason=planned.reason,
                cost_eur=planned.cost_eur,
                cost_note=planned.cost_note,
            )
            event.derive_date()
            built.append(event)
            # One source per partnership and year: the (synthetic) news of that year.
            fuzzy = event.fuzzy_date
            year = (fuzzy.lower or fuzzy.upper or datetime.date(LAST_YEAR, 1, 1)).year
            key = (plan.partnership.pk, year)
            if key not in sources:
                sources[key] = Source(
                    url=f"{URL_PREFIX}{slug}/{year}",
                    title=f"{PREFIX} Nieuws over {plan.partnership.name[len(PREFIX) + 1 :]} in {year}",
                    publisher="Synthetische Courant",
                    published_on=datetime.date(min(year, LAST_YEAR), 12, 31),
                    retrieved_on=datetime.date(2026, 6, 1),
                    kind=SOURCE_KINDS[year % len(SOURCE_KINDS)],
                    is_synthetic=True,
                )
            event_sources.append((event, key))
        _check(plan, built)
        all_events.extend(built)
        per_plan.append((plan, built))
    Source.objects.bulk_create(sources.values(), batch_size=2000)
    Event.objects.bulk_create(all_events, batch_size=2000)

    Concerns = Event.municipalities.through
    Cites = Event.sources.through
    planned_events = [planned for plan in plans for planned in plan.events]
    Concerns.objects.bulk_create(
        [
            Concerns(event_id=event.pk, municipality_id=m.pk)
            for event, planned in zip(all_events, planned_events, strict=True)
            for m in planned.municipalities
        ],
        batch_size=5000,
    )
    Cites.objects.bulk_create(
        [Cites(event_id=event.pk, source_id=sources[key].pk) for event, key in event_sources], batch_size=5000
    )
    Participant.objects.bulk_create(
        [
            Participant(event=event, person=person, role=role, municipality=municipality)
            for event, planned in zip(all_events, planned_events, strict=True)
            for person, role, municipality in planned.participants
        ],
        batch_size=5000,
    )
    # The derived data (both audiences) of the whole chunk, in one bulk rebuild.
    services.partnerships_changed(partnership_ids=[plan.partnership.pk for plan in plans])
    created["partnerships"] += len(plans)
    created["events"] += len(all_events)
    created["sources"] += len(sources)


def _dependants(model, queryset, handled: set) -> None:
    """Apply on_delete for rows of other models that point at the rows about to be deleted."""
    from django.db.models import CASCADE, PROTECT, SET_NULL, ProtectedError

    for relation in model._meta.related_objects:
        related = relation.related_model
        if relation.many_to_many or related in handled:
            continue
        lookup = {f"{relation.field.name}__in": queryset}
        rows = related._default_manager.filter(**lookup)
        if relation.on_delete is CASCADE:
            rows.delete()
        elif relation.on_delete is SET_NULL:
            rows.update(**{relation.field.name: None})
        elif relation.on_delete is PROTECT and rows.exists():
            raise ProtectedError(f"{related.__name__} rows refer to synthetic {model.__name__} rows.", set(rows))


@transaction.atomic
def remove() -> dict[str, int]:
    """Delete all synthetic data and only that; return how many partnerships, events and sources.

    Bulk deletes (no per-row signals or history), so removing 200,000 events takes seconds.
    Rows of other models that refer to synthetic rows (subscriptions, notifications) get
    their own on_delete behaviour.
    """
    partnerships = Partnership.objects.filter(is_synthetic=True)
    events = Event.objects.filter(partnership__is_synthetic=True)
    sources = Source.objects.filter(is_synthetic=True)
    counts = {"partnerships": partnerships.count(), "events": events.count(), "sources": sources.count()}
    handled = {Participant, Membership, Agreement, Event, Partnership.pillars.through}
    _dependants(Event, events, handled)
    _dependants(Partnership, partnerships, handled)
    _dependants(Agreement, Agreement.objects.filter(partnership__is_synthetic=True), handled)
    for model, condition in [
        (Event.municipalities.through, Q(event__partnership__is_synthetic=True)),
        (Event.sources.through, Q(event__partnership__is_synthetic=True) | Q(source__is_synthetic=True)),
        (Participant, Q(event__partnership__is_synthetic=True)),
        (Membership, Q(partnership__is_synthetic=True)),
        (Partnership.pillars.through, Q(partnership__is_synthetic=True)),
        (Event, Q(partnership__is_synthetic=True)),
        (Agreement, Q(partnership__is_synthetic=True)),
    ]:
        model.objects.filter(condition)._raw_delete(model.objects.db)
    _dependants(Source, sources, handled)
    sources._raw_delete(sources.db)
    partnerships._raw_delete(partnerships.db)
    Person.objects.filter(name__startswith=f"{PREFIX} ", participations__isnull=True).delete()
    return counts
