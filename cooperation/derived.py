"""The cached copy of what the events mean, per audience: the only writer of derived rows.

`Membership` rows, the derived fields of `Partnership` (status, first and last date, search
text, when it changed) and the search texts of its agreements exist twice: a **public** copy
derived from the public events (and public agreements and documents) of a public partnership
only, and a **staff** copy derived from all. Anonymous readers read the public copy, signed-in
accounts the staff copy (`for_audience(internal)` on the QuerySets), so an internal event,
agreement or document leaves no public trace.

`derived_cache()` computes one partnership's copy for one audience from event facts (the one
place to add a derived value); `rebuild()` reads the events of many partnerships as plain values
and writes both copies. Only `services.partnerships_changed()` calls `rebuild()`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone, translation

from . import dates, documents, search, timeline
from .models import (
    AGREEMENT_SEARCH_COLUMNS,
    AGREEMENT_SEARCH_FIELDS,
    Agreement,
    Audience,
    Document,
    Event,
    Municipality,
    Participant,
    Partnership,
    Source,
    Verification,
    Visibility,
)
from .models import Membership as MembershipRow

CHUNK = 500
# What a rebuild reads of each partnership: the derivation's input and what the public digest covers.
PARTNERSHIP_FIELDS = ("pk", "name", "slug", "summary", "legal_form", "visibility", "last_verified", "public_digest")
# What a rebuild reads of each agreement for its search texts.
AGREEMENT_FIELDS = ("pk", "partnership_id", "visibility", "kind", "title", "description", "term_note", "date_text")
# At most this much of an agreement's documents goes into its search text: of each document's text
# extract (capped at the same length by documents.py), and of the documents' search documents
# together, so an agreement's search document stays well under PostgreSQL's 1 MB per tsvector.
AGREEMENT_TEXT_MAX_CHARS = documents.TEXT_MAX_CHARS
# Agreements whose search texts are written by one UPDATE (the texts can be long).
AGREEMENT_WRITE_BATCH = 100


class EventValues(NamedTuple):
    """What derived_cache() reads of an event besides its facts."""

    pk: int
    visibility: str
    kind: str
    title: str
    description: str
    reason: str
    date_lower: datetime.date | None
    date_upper: datetime.date | None
    updated_at: datetime.datetime | None
    agreement_id: int | None = None


class AgreementValues(NamedTuple):
    """What `agreement_search_texts()` reads of an agreement: its fields (AGREEMENT_FIELDS) and its
    documents' (visibility, search document) pairs (`document_search_text()`)."""

    pk: int
    partnership_id: int
    visibility: str
    kind: str
    title: str
    description: str
    term_note: str
    date_text: str
    documents: tuple = ()


def search_text(partnership, events: Sequence, members: Iterable[int], *, pillars=(), places=None) -> str:
    """The search document (`search.document()`) a partnership is found by: its name, summary and
    legal form, its pillars' names (`pillars`: Dutch and English), the names of its members
    (`members`: their pks) with their provinces and their former and later names (`places`, from
    `municipality_places()`), and the kind and text of `events` (the events of one audience).
    Legal forms and kinds of event in Dutch and English."""
    places = places or {}
    kinds, legal_forms, _agreement_kinds = searchable_labels()
    parts = [partnership.name, partnership.summary, legal_forms.get(partnership.legal_form, ""), *pillars]
    for pk in members:
        parts.extend(places.get(pk, ()))
    for event in events:
        parts.extend([kinds.get(event.kind, ""), event.title, event.description, event.reason])
    return search.document(parts)


@functools.cache
def searchable_labels() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The labels of the kinds of event, of the legal forms and of the kinds of agreement, each in
    Dutch and English ("ontvlochten disentangled"): what a reader of either language types."""

    def both(labels) -> dict[str, str]:
        words = {}
        for code, label in labels:
            with translation.override("nl"):
                dutch = str(label)
            with translation.override("en"):
                words[code] = f"{dutch} {label}"
        return words

    return both(timeline.KIND_LABELS.items()), both(Partnership.LegalForm.choices), both(Agreement.Kind.choices)


def agreement_search_texts(
    partnership, agreements: Sequence[AgreementValues], events: Sequence, facts: Sequence, rows, *, audience, places
) -> dict[int, str]:
    """Per agreement of a partnership (its pk): the search document (`search.document()`) this
    audience finds it by: its title, description, kind (Dutch and English) and term note, the
    partnership's name, the names of its parties (`timeline.agreement_parties()` over the events
    citing it and the membership `rows` of this audience's copy, with their provinces and former
    and later names from `places`), and the title and text extract of its documents this audience
    may see (`document_search_text()`; at most AGREEMENT_TEXT_MAX_CHARS of them together, oldest
    document first, cut at a word). The public document of an
    internal agreement, or of an agreement of an internal partnership, is empty; the public
    document holds public documents only. No queries.

    `events` and `facts` are all the partnership's events, in step; the audience's share is taken here."""
    events, facts = audience_events(partnership, events, facts, audience)
    citing = defaultdict(list)
    for event, fact in zip(events, facts, strict=True):
        if event.agreement_id:
            citing[event.agreement_id].append(fact)
    periods = [timeline.MembershipPeriod(r.municipality_id, r.state, r.start_lower, r.end_upper) for r in rows]
    _kinds, _legal_forms, agreement_kinds = searchable_labels()
    public = audience == Audience.PUBLIC
    texts = {}
    for agreement in agreements:
        if public and Visibility.INTERNAL in (partnership.visibility, agreement.visibility):
            texts[agreement.pk] = ""
            continue
        parts = [agreement.title, agreement.description, agreement_kinds.get(agreement.kind, "")]
        parts += [agreement.term_note, partnership.name]
        parties = timeline.agreement_parties(
            signed=dates.parse_date(agreement.date_text),
            events=timeline.ordered(citing[agreement.pk]),
            memberships=periods,
        )
        for party in parties:
            parts.extend(places.get(getattr(party, "pk", party), ()))
        found, room = [search.document(parts)], AGREEMENT_TEXT_MAX_CHARS
        for visibility, document in agreement.documents:
            if public and visibility != Visibility.PUBLIC:
                continue
            if len(document) > room:
                document = document[:room].rsplit(" ", 1)[0] + " "
            found.append(document)
            room = max(room - len(document), 0)
        texts[agreement.pk] = search.joined(found)
    return texts


def document_search_text(title: str, text: str) -> str:
    """The search document of a document of an agreement: its title and the distinct words of its
    text extract (each once, in the order first met: what a search needs of a long text, and
    stemmed once however often a word recurs). Computed once per rebuild for both audiences."""
    return search.document([title, " ".join(dict.fromkeys(search.words(text)))])


# Province names people type besides the official ones.
PROVINCE_ALIASES = {"Fryslân": ("Friesland",)}


def municipality_places() -> dict[int, tuple[str, ...]]:
    """Per municipality (pk): the names it is found by in a partnership's search text: its own,
    its province's, those of the municipalities merged into it (at any remove: Geleen for
    Sittard-Geleen) and of those it was merged into (Sittard-Geleen for Geleen). 1 query, all
    municipalities (some 1,500 short rows)."""
    rows = list(Municipality.objects.order_by().values_list("pk", "name", "province", "merged_into_id"))
    names = {pk: name for pk, name, _province, _into in rows}
    successor = {pk: into for pk, _name, _province, into in rows if into}
    predecessors: dict[int, list[int]] = defaultdict(list)
    for pk, into in successor.items():
        predecessors[into].append(pk)
    places = {}
    for pk, name, province, _into in rows:
        found, seen = [name, province, *PROVINCE_ALIASES.get(province, ())], {pk}
        later = successor.get(pk)
        while later and later not in seen:
            seen.add(later)
            found.append(names[later])
            later = successor.get(later)
        earlier = list(predecessors.get(pk, ()))
        while earlier:
            former = earlier.pop()
            if former not in seen:
                seen.add(former)
                found.append(names[former])
                earlier.extend(predecessors.get(former, ()))
        places[pk] = tuple(found)
    return places


def audience_events(partnership, events: Sequence, facts: Sequence, audience: str) -> tuple[list, list]:
    """The events (and their facts, in step) that an audience's copy is derived from: all for staff;
    for the public, the public events of a public partnership (none of an internal one)."""
    if audience == Audience.STAFF:
        return list(events), list(facts)
    if partnership.visibility != Visibility.PUBLIC:
        return [], []
    kept = [(event, fact) for event, fact in zip(events, facts, strict=True) if event.visibility == Visibility.PUBLIC]
    return [event for event, _fact in kept], [fact for _event, fact in kept]


def derived_cache(
    partnership,
    events: Sequence,
    facts: Sequence[timeline.EventFacts],
    *,
    audience: str,
    evidence_dates=(),
    pillars=(),
    places=None,
):
    """One partnership's cached copy for one audience: Membership rows (unsaved) and the values of
    its derived fields (under their plain names). No queries.

    `events` (with `visibility`, `kind`, `title`, `description`, `reason`, `date_lower`, `date_upper`) and
    `facts` are all the partnership's events, in step; the audience's share is taken here.
    `evidence_dates`: the latest published date of a source the audience's events cite and the
    latest verification, which count as evidence besides the events (`timeline.last_evidence`).
    `pillars` (names) and `places` (`municipality_places()`) go into the search text.
    """
    events, facts = audience_events(partnership, events, facts, audience)
    memberships = timeline.derive_memberships(facts)
    rows = [
        MembershipRow(
            partnership_id=partnership.pk,
            municipality_id=m.municipality.pk,
            audience=audience,
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
    lowers = [event.date_lower for event in events if event.date_lower]
    uppers = [event.date_upper or event.date_lower for event in events if event.date_upper or event.date_lower]
    values = {
        "status": timeline.derive_status(facts, memberships),
        "first_date": min(lowers, default=None),
        "last_date": max(uppers, default=None),
        "search_text": search_text(
            partnership, events, (m.municipality.pk for m in memberships), pillars=pillars, places=places
        ),
        "last_evidence": timeline.last_evidence(facts, evidence_dates),
    }
    return rows, values


def public_digest(partnership, shown: dict, events: Sequence, facts: Sequence, rows, values) -> str:
    """A digest of everything the public pages show of a partnership: its own fields, pillars and
    agreements, its public events (their last change, municipalities, participants and sources)
    and its public derived copy. When it changes, the partnership changed for the public
    (`public_changed_at`); an internal edit leaves it as it was."""
    public_events, public_facts = audience_events(partnership, events, facts, Audience.PUBLIC)
    event_ids = {event.pk for event in public_events}
    parts = (
        [getattr(partnership, name) for name in PARTNERSHIP_FIELDS if name not in ("pk", "public_digest")],
        sorted(shown["pillars"]),
        sorted(shown["agreements"]),
        sorted((event.pk, event.updated_at) for event in public_events),
        sorted((fact.key, fact.municipalities) for fact in public_facts),
        sorted(row for row in shown["participants"] if row[0] in event_ids),
        sorted(row for row in shown["sources"] if row[0] in event_ids),
        sorted(shown["documents"]),
        [(r.municipality_id, r.role, r.state, r.start_text, r.end_text, r.ended_by) for r in rows],
        sorted(values.items()),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def column(name: str, audience: str) -> str:
    return f"staff_{name}" if audience == Audience.STAFF else name


def rebuild(partnership_ids: Iterable[int]) -> None:
    """Rebuild both audiences' copies of the given partnerships (the ones that no longer exist are
    skipped). Once: the names municipalities are found by (`municipality_places()`); per 500
    partnerships: 11 reads (partnerships, events, their municipalities, municipality names, what
    `_shown_with()` reads, the agreements and their documents' titles and text extracts) and 2
    writes, plus one UPDATE each, plus one UPDATE of the agreements' search texts per
    AGREEMENT_WRITE_BATCH agreements (none without agreements).

    Moves `staff_changed_at` of each, and `public_changed_at` only when what the public sees
    changed (its digest), so an internal edit does not move public modification dates.
    """
    places = None
    for ids in chunks(sorted(set(partnership_ids)), CHUNK):
        places = places if places is not None else municipality_places()
        _rebuild_chunk(ids, places)


def _rebuild_chunk(ids: list[int], places: dict[int, tuple[str, ...]]) -> None:
    partnerships = list(Partnership.objects.filter(pk__in=ids).only(*PARTNERSHIP_FIELDS))
    if not partnerships:
        return
    ids = [p.pk for p in partnerships]
    event_fields = ("pk", "partnership_id", "kind", "status", "date_text", "role", "created_at", "visibility")
    event_fields += ("title", "description", "reason", "date_lower", "date_upper", "updated_at", "agreement_id")
    event_rows = list(Event.objects.filter(partnership_id__in=ids).values_list(*event_fields))
    links = m2m_ids(Event.municipalities.through, "event_id", "municipality_id", [row[0] for row in event_rows])
    refs, codes = _municipality_refs({pk for linked in links.values() for pk in linked})
    shown = _shown_with(ids)
    evidence = {audience: latest_evidence_dates(ids, audience) for audience in (Audience.PUBLIC, Audience.STAFF)}
    agreements = _agreements_with_documents(ids)

    events, facts = defaultdict(list), defaultdict(list)
    for pk, partnership_id, kind, status, text, role, created, visibility, *rest in event_rows:
        title, description, reason, lower, upper, updated, agreement_id = rest
        event = EventValues(pk, visibility, kind, title, description, reason, lower, upper, updated, agreement_id)
        events[partnership_id].append(event)
        facts[partnership_id].append(
            timeline.EventFacts(
                key=pk,
                kind=kind,
                status=status,
                date=dates.parse_date(text),
                # In the order the database gives them (Municipality.Meta.ordering: name, code).
                municipalities=tuple(
                    sorted((refs[m] for m in links.get(pk, [])), key=lambda ref: (ref.name, codes[ref.pk]))
                ),
                role=role,
                created=created,
            )
        )

    now = timezone.now()
    rows, updates = [], {}
    agreement_texts: dict[int, dict[str, str]] = defaultdict(dict)
    for partnership in partnerships:
        update = {"staff_changed_at": now}
        for audience in (Audience.PUBLIC, Audience.STAFF):
            audience_rows, values = derived_cache(
                partnership,
                events[partnership.pk],
                facts[partnership.pk],
                audience=audience,
                evidence_dates=evidence[audience][partnership.pk],
                pillars=[name for _pk, _code, *names in shown[partnership.pk]["pillars"] for name in names],
                places=places,
            )
            rows.extend(audience_rows)
            update.update({column(name, audience): value for name, value in values.items()})
            field, _vector = AGREEMENT_SEARCH_COLUMNS[audience]
            for pk, text in agreement_search_texts(
                partnership,
                agreements[partnership.pk],
                events[partnership.pk],
                facts[partnership.pk],
                audience_rows,
                audience=audience,
                places=places,
            ).items():
                agreement_texts[pk][field] = text
            if audience == Audience.PUBLIC:
                digest = public_digest(
                    partnership,
                    shown[partnership.pk],
                    events[partnership.pk],
                    facts[partnership.pk],
                    audience_rows,
                    values,
                )
                if digest != partnership.public_digest:
                    update.update(public_digest=digest, public_changed_at=now)
        updates[partnership.pk] = update
    with transaction.atomic():
        MembershipRow.objects.filter(partnership_id__in=ids).delete()
        MembershipRow.objects.bulk_create(rows, batch_size=2000)
        # One UPDATE each: bulk_update()'s CASE expressions cost more to build than the round trips.
        for pk, update in updates.items():
            Partnership.objects.filter(pk=pk).update(**update)
        # Only the search texts: no history, no `updated_at` (they are derived, not edited).
        Agreement.objects.bulk_update(
            [Agreement(pk=pk, **texts) for pk, texts in agreement_texts.items()],
            AGREEMENT_SEARCH_FIELDS,
            batch_size=AGREEMENT_WRITE_BATCH,
        )


def _agreements_with_documents(ids: list[int]) -> dict[int, list[AgreementValues]]:
    """Per partnership: its agreements (AGREEMENT_FIELDS) with their documents' visibility and search
    document (`document_search_text()` of the title and at most AGREEMENT_TEXT_MAX_CHARS of the
    text extract), oldest document first (2 queries)."""
    rows = list(Agreement.objects.filter(partnership_id__in=ids).order_by("pk").values_list(*AGREEMENT_FIELDS))
    found: dict[int, list] = defaultdict(list)
    for agreement_id, visibility, title, text in (
        Document.objects.filter(agreement__partnership_id__in=ids)
        .order_by("pk")
        .values_list("agreement_id", "visibility", "title", Substr("text", 1, AGREEMENT_TEXT_MAX_CHARS))
    ):
        found[agreement_id].append((visibility, document_search_text(title, text)))
    result: dict[int, list[AgreementValues]] = defaultdict(list)
    for row in rows:
        agreement = AgreementValues(*row, documents=tuple(found[row[0]]))
        result[agreement.partnership_id].append(agreement)
    return result


def latest_evidence_dates(ids: list[int], audience: str) -> dict[int, list]:
    """Per partnership: the latest published date of a source cited by an event this audience sees,
    and the latest recorded verification (2 queries)."""
    result: dict[int, list] = defaultdict(list)
    citations = Event.sources.through.objects.filter(event__partnership_id__in=ids)
    if audience == Audience.PUBLIC:
        citations = citations.filter(event__visibility=Visibility.PUBLIC)
    cited = (
        citations.values("event__partnership_id")
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


def _shown_with(ids: list[int]) -> dict[int, dict[str, list[tuple]]]:
    """What the public pages show with each partnership besides its events' facts: pillars, and the
    public agreements, the participants and sources of public events, and public documents (5
    queries), as comparable tuples for `public_digest()`: an internal change leaves no public trace."""
    shown = defaultdict(lambda: {"pillars": [], "agreements": [], "participants": [], "sources": [], "documents": []})
    pillar_fields = ("pillar_id", "pillar__code", "pillar__name_nl", "pillar__name_en")
    for partnership_id, *row in Partnership.pillars.through.objects.filter(partnership_id__in=ids).values_list(
        "partnership_id", *pillar_fields
    ):
        shown[partnership_id]["pillars"].append(tuple(row))
    agreement_fields = [
        f.attname
        for f in Agreement._meta.concrete_fields
        if f.attname != "partnership_id" and f.attname not in AGREEMENT_SEARCH_FIELDS
    ]
    for partnership_id, *row in Agreement.objects.filter(
        partnership_id__in=ids, visibility=Visibility.PUBLIC
    ).values_list("partnership_id", *agreement_fields):
        shown[partnership_id]["agreements"].append(tuple(str(value) for value in row))
    participant_fields = ("event_id", "person__name", "role", "municipality_id", "note")
    public_events = {"event__partnership_id__in": ids, "event__visibility": Visibility.PUBLIC}
    for partnership_id, *row in Participant.objects.filter(**public_events).values_list(
        "event__partnership_id", *participant_fields
    ):
        shown[partnership_id]["participants"].append((row[0], *(str(value) for value in row[1:])))
    source_fields = [f"source__{f.attname}" for f in Source._meta.concrete_fields]
    for partnership_id, *row in Event.sources.through.objects.filter(**public_events).values_list(
        "event__partnership_id", "event_id", *source_fields
    ):
        shown[partnership_id]["sources"].append((row[0], *(str(value) for value in row[1:])))
    # Public documents only: an internal one (or one of an internal agreement or event) leaves no trace.
    document_fields = ("uid", "kind", "title", "date_text", "language", "content_type", "size", "sha256", "updated_at")
    for partnership_id, *row in (
        Document.objects.public()
        .of_partnerships(ids)
        .annotate(owner_id=Coalesce("agreement__partnership_id", "event__partnership_id"))
        .values_list("owner_id", *document_fields)
    ):
        shown[partnership_id]["documents"].append(tuple(str(value) for value in row))
    return shown


def _municipality_refs(pks: set[int]) -> tuple[dict[int, timeline.MunicipalityRef], dict[int, str]]:
    """What the derivations need of these municipalities, and their CBS codes (1 query)."""
    refs, codes = {}, {}
    for m in Municipality.objects.filter(pk__in=pks).select_related("merged_into"):
        refs[m.pk] = timeline.MunicipalityRef(
            pk=m.pk,
            name=m.name,
            existed_until=m.existed_until,
            successor_name=m.merged_into.name if m.merged_into_id else "",
        )
        codes[m.pk] = m.cbs_code
    return refs, codes


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
