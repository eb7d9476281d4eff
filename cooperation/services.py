"""Every write to partnerships, events, agreements, sources and the memberships that follow from
events: atomic, validated, keyword-only (`<thing>_<action>`).

Admin (save, delete, "delete selected", inlines), imports, undo, restore, history revert, the
demo and the data generator all write here. Each function ends in exactly one call of
`partnerships_changed()`, which rebuilds what is derived (`derived.rebuild`, per audience) and
queues the notifications of published events; no other module calls the rebuild.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils.text import slugify
from django.utils.translation import gettext as _

from . import derived, documents, history, notifications
from .models import (
    Agreement,
    Document,
    Event,
    Municipality,
    Participant,
    Partnership,
    Person,
    Pillar,
    Source,
    Verification,
)


def partnerships_changed(*, partnership_ids: Iterable[int], published_event_ids: Iterable[int] = ()) -> None:
    """The end of every write: rebuild the derived data of these partnerships (both audiences;
    ids of deleted ones are skipped; the rebuild moves the "changed at" stamps that key the
    caches, see fragments.py), and notify the followers of the events that were published
    (created, or changed to public; internal ones reach only followers who may see them).

    Bulk writers (imports, undo, the generator) call it once with all they touched.
    """
    ids = set(partnership_ids)
    derived.rebuild(ids)
    published = sorted(set(published_event_ids))
    if published:
        notifications.events_notify_followers(published)


def _stored(model, pk: int | None, *fields: str) -> tuple:
    """The stored values of these fields of a row about to be saved (Nones for a new row)."""
    stored = model.objects.filter(pk=pk).values_list(*fields).first() if pk else None
    return stored or (None,) * len(fields)


def _save_links(save_links: Callable[[], Iterable[int] | None] | None) -> set[int]:
    """Run the caller's saving of links and dependent rows (the admin's many-to-many fields and
    inline formsets); returns the ids of events it published (`notifications.is_publication`)."""
    if save_links is None:
        return set()
    return set(save_links() or ())


@transaction.atomic
def partnership_save(
    *, partnership: Partnership, save_links: Callable[[], Iterable[int] | None] | None = None
) -> Partnership:
    """Save a partnership after full validation, then its links and inlines (`save_links`, e.g.
    the admin's pillars, agreements and events, returning the ids of events it published)."""
    partnership.full_clean()
    partnership.save()
    published = _save_links(save_links)
    partnerships_changed(partnership_ids=[partnership.pk], published_event_ids=published)
    return partnership


@transaction.atomic
def partnerships_delete(*, partnerships: Iterable[Partnership]) -> int:
    """Delete partnerships with what hangs under them (agreements, events, memberships)."""
    partnerships = list(partnerships)
    ids = [partnership.pk for partnership in partnerships]
    _files_removed_on_commit(Document.objects.of_partnerships(ids))
    for partnership in partnerships:
        partnership.delete()
    # Their derived rows went with them; the rebuild skips them, and marks nothing else changed.
    partnerships_changed(partnership_ids=ids)
    return len(partnerships)


@transaction.atomic
def event_save(*, event: Event, save_links: Callable[[], Iterable[int] | None] | None = None) -> Event:
    """Save an event after full validation (the domain rules judge `event.pending_municipalities`
    when set), then its links (`save_links`: municipalities, sources, participants). The event is
    published when it is new, or changed to public; the partnership it belonged to before is
    rebuilt too."""
    created = event.pk is None
    previous_partnership_id, previous_visibility = _stored(Event, event.pk, "partnership_id", "visibility")
    event.full_clean()
    event.save()
    _save_links(save_links)
    published = notifications.is_publication(created=created, previous_visibility=previous_visibility, event=event)
    partnerships_changed(
        partnership_ids={event.partnership_id, previous_partnership_id} - {None},
        published_event_ids=[event.pk] if published else [],
    )
    return event


@transaction.atomic
def events_delete(*, events: Iterable[Event]) -> int:
    """Delete events (one, or a selection) and rebuild the partnerships they belonged to."""
    return _delete_with_documents(list(events), owner="event")


@transaction.atomic
def agreement_save(*, agreement: Agreement, save_links: Callable[[], Iterable[int] | None] | None = None) -> Agreement:
    """Save an agreement after full validation; its partnership (and the one it left) is rebuilt."""
    (previous_partnership_id,) = _stored(Agreement, agreement.pk, "partnership_id")
    agreement.full_clean()
    agreement.save()
    _save_links(save_links)
    partnerships_changed(partnership_ids={agreement.partnership_id, previous_partnership_id} - {None})
    return agreement


@transaction.atomic
def agreements_save(*, agreements: Iterable[Agreement]) -> list[Agreement]:
    """Save several agreements (an import), each after full validation as `agreement_save` does;
    the partnerships they are in, and those they left, are rebuilt once at the end (one rebuild per
    agreement costs 50 s for 500 agreements; this, a few seconds)."""
    agreements = list(agreements)
    ids = [agreement.pk for agreement in agreements if agreement.pk]
    partnership_ids = set(Agreement.objects.filter(pk__in=ids).values_list("partnership_id", flat=True))
    for agreement in agreements:
        agreement.full_clean()
        agreement.save()
        partnership_ids.add(agreement.partnership_id)
    partnerships_changed(partnership_ids=partnership_ids)
    return agreements


@transaction.atomic
def agreements_delete(*, agreements: Iterable[Agreement]) -> int:
    """Delete agreements (one, or a selection) and rebuild the partnerships they belonged to."""
    return _delete_with_documents(list(agreements), owner="agreement")


def _delete_with_documents(objects: list, *, owner: str) -> int:
    """Delete events or agreements (`owner` names which: the documents' foreign key), their
    documents' files once the deletion commits, and rebuild their partnerships."""
    partnership_ids = {obj.partnership_id for obj in objects}
    _files_removed_on_commit(Document.objects.filter(**{f"{owner}__in": [obj.pk for obj in objects]}))
    for obj in objects:
        obj.delete()
    partnerships_changed(partnership_ids=partnership_ids)
    return len(objects)


def _files_removed_on_commit(documents_queryset) -> None:
    """Remove the stored files of these documents once the transaction that deletes them commits
    (a rolled-back delete keeps them)."""
    names = [name for name in documents_queryset.values_list("file", flat=True) if name]
    if names:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])


def _document_partnership_id(document: Document) -> int:
    if document.agreement_id:
        return Agreement.objects.values_list("partnership_id", flat=True).get(pk=document.agreement_id)
    return Event.objects.values_list("partnership_id", flat=True).get(pk=document.event_id)


@transaction.atomic
def document_save(*, document: Document, file=None) -> Document:
    """Save a document of an agreement or an event; with `file`, its (new) file.

    The file is checked by its content (`documents.check`: PDF or office document, the size
    limit, no ZIP bomb, no macros; ValidationError with a Dutch message otherwise); its type,
    size, SHA-256 and text extract are taken from the content, never from the name or the type
    the browser sent. It is stored through Django's storage API (local files or an S3-compatible
    store), under the document's uid with the extension of the type found. A replaced file is
    removed once the transaction commits. The partnership the document belongs to is rebuilt
    (its pages, search text and caches), and the one it belonged to before.

    A failure in this call removes the file it wrote; an enclosing transaction that rolls back
    later leaves that file in the storage unreferenced (it is never served: only rows are).
    """
    previous_name, previous_agreement_id, previous_event_id = _stored(
        Document, document.pk, "file", "agreement", "event"
    )
    previous_partnership_id = None
    if previous_agreement_id or previous_event_id:
        previous_partnership_id = _document_partnership_id(
            Document(agreement_id=previous_agreement_id, event_id=previous_event_id)
        )
    if file is None and not document.file:
        raise ValidationError({"file": _("Choose the file of this document.")}, code="required")
    if file is not None:
        checked = documents.check(file)
        inspection = checked.inspection
        document.content_type = inspection.content_type
        document.size = inspection.size
        document.sha256 = inspection.sha256
        document.text = inspection.text
        document.full_clean(exclude=["file"])
        document.file.save(checked.name, checked, save=False)
        stored_name = document.file.name
        try:  # a failure here leaves no file behind (one above wrote none)
            document.full_clean()
            document.save()
        except Exception:
            default_storage.delete(stored_name)
            raise
        if previous_name and previous_name != stored_name:
            transaction.on_commit(lambda: default_storage.delete(previous_name))
    else:
        document.full_clean()
        document.save()
    partnerships_changed(
        partnership_ids={_document_partnership_id(document), previous_partnership_id} - {None},
    )
    return document


@transaction.atomic
def documents_delete(*, documents: Iterable[Document]) -> int:
    """Delete documents; their files are removed from the storage once the deletion commits."""
    documents = list(documents)
    ids = [document.pk for document in documents]
    partnership_ids = set(
        Document.objects.filter(pk__in=ids)
        .annotate(partnership_id=Coalesce("agreement__partnership_id", "event__partnership_id"))
        .values_list("partnership_id", flat=True)
    )
    _files_removed_on_commit(Document.objects.filter(pk__in=ids))
    for document in documents:
        document.delete()
    partnerships_changed(partnership_ids=partnership_ids)
    return len(documents)


def _citing(source_ids: Iterable[int]) -> set[int]:
    return set(Event.objects.filter(sources__in=list(source_ids)).values_list("partnership_id", flat=True).distinct())


@transaction.atomic
def source_save(*, source: Source, save_links: Callable[[], Iterable[int] | None] | None = None) -> Source:
    """Save a source; the partnerships whose events cite it are rebuilt (they show it)."""
    source.full_clean()
    source.save()
    _save_links(save_links)
    partnerships_changed(partnership_ids=_citing([source.pk]))
    return source


@transaction.atomic
def sources_delete(*, sources: Iterable[Source]) -> int:
    sources = list(sources)
    partnership_ids = _citing(source.pk for source in sources)
    for source in sources:
        source.delete()
    partnerships_changed(partnership_ids=partnership_ids)
    return len(sources)


@transaction.atomic
def person_save(*, person: Person, save_links: Callable[[], Iterable[int] | None] | None = None) -> Person:
    """Save a person; the partnerships of the events they took part in are rebuilt (they show them)."""
    person.full_clean()
    person.save()
    _save_links(save_links)
    partnerships_changed(
        partnership_ids=Event.objects.filter(participants__person=person).values_list("partnership_id", flat=True)
    )
    return person


def _concerning(municipality_ids: Iterable[int]) -> set[int]:
    """Partnerships with an event concerning, or a membership of, these municipalities."""
    ids = list(municipality_ids)
    return set(Event.objects.filter(municipalities__in=ids).values_list("partnership_id", flat=True)) | set(
        Partnership.objects.filter(memberships__municipality__in=ids).values_list("pk", flat=True)
    )


@transaction.atomic
def municipality_save(
    *, municipality: Municipality, save_links: Callable[[], Iterable[int] | None] | None = None
) -> Municipality:
    """Save a municipality; the partnerships it is part of are rebuilt (names and successors show),
    and those of the municipalities it merged with, before and after the save, whose search text
    holds its name (`derived.municipality_places`)."""
    municipality.full_clean()
    related = _merged_with([municipality.pk]) if municipality.pk else set()
    municipality.save()
    _save_links(save_links)
    related |= _merged_with([municipality.pk])
    partnerships_changed(partnership_ids=_concerning(related))
    return municipality


def _merged_with(municipality_ids: Iterable[int]) -> set[int]:
    """These municipalities and all they merged with, at any remove (1 query)."""
    links = list(Municipality.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into_id"))
    neighbours: dict[int, set[int]] = {}
    for pk, into in links:
        neighbours.setdefault(pk, set()).add(into)
        neighbours.setdefault(into, set()).add(pk)
    found, todo = set(municipality_ids), list(municipality_ids)
    while todo:
        for other in neighbours.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


@transaction.atomic
def persons_delete(*, persons: Iterable[Person]) -> int:
    """Delete people who took part in nothing (a participant's person is protected)."""
    persons = list(persons)
    for person in persons:
        person.delete()
    partnerships_changed(partnership_ids=())
    return len(persons)


@transaction.atomic
def municipalities_delete(*, municipalities: Iterable[Municipality]) -> int:
    municipalities = list(municipalities)
    partnership_ids = _concerning(m.pk for m in municipalities)
    for municipality in municipalities:
        municipality.delete()
    partnerships_changed(partnership_ids=partnership_ids)
    return len(municipalities)


@transaction.atomic
def object_restore(*, record, user):
    """Bring back a deleted object from its history (`history.restore_deleted`) and rebuild the
    partnerships it belongs to or is cited in."""
    restored = history.restore_deleted(record=record, user=user)
    if isinstance(restored, Partnership):
        partnership_ids = {restored.pk}
    elif isinstance(restored, Event | Agreement):
        partnership_ids = {restored.partnership_id}
    elif isinstance(restored, Source):
        partnership_ids = _citing([restored.pk])
    elif isinstance(restored, Municipality):
        partnership_ids = set(
            Event.objects.filter(municipalities=restored).values_list("partnership_id", flat=True).distinct()
        )
    else:
        partnership_ids = set()
    partnerships_changed(partnership_ids=partnership_ids)
    return restored


def version_lock(*, instance, expected_version: int | None) -> None:
    """Optimistic locking: refuse to save `instance` over a version its editor has not seen.

    Call it inside the transaction that saves: it locks the row (SELECT ... FOR
    UPDATE) until that transaction ends, so of two people who loaded version 3,
    the first saves version 4 and the second gets ValidationError (code
    "stale"); nothing is overwritten silently. Models with a `version` field
    count up on every save (models.next_version). No expected version: no check.
    """
    if instance.pk is None or expected_version is None:
        return
    current = (
        type(instance).objects.select_for_update().filter(pk=instance.pk).values_list("version", flat=True).first()
    )
    if current is None:
        raise ValidationError(
            _("This %(model)s was deleted while you were editing it.") % {"model": instance._meta.verbose_name},
            code="deleted",
        )
    if current != expected_version:
        raise ValidationError(
            _(
                "Someone else saved this %(model)s while you were editing it (now version %(current)s; yours was "
                "based on version %(expected)s). Nothing was saved."
            )
            % {"model": instance._meta.verbose_name, "current": current, "expected": expected_version},
            code="stale",
        )
    instance.version = current  # save() counts on from the stored version


@transaction.atomic
def event_record(
    *,
    partnership: Partnership,
    kind: str,
    date_text: str,
    municipalities: Iterable[Municipality],
    status: str = Event.Status.HAPPENED,
    role: str = Event.Role.PARTICIPANT,
    title: str = "",
    description: str = "",
    agreement: Agreement | None = None,
    pillar: Pillar | None = None,
    decided_by: str = "",
    proposed_by: str = "",
    reason: str = "",
    cost_eur: Decimal | None = None,
    cost_note: str = "",
    procurement_reference: str = "",
    sources: Iterable[Source] = (),
    participants: Iterable[tuple[Person, str, Municipality | None, str]] = (),
    visibility: str = "public",
    cost_internal: bool = False,
    internal_note: str = "",
    uid=None,
    expected_version: int | None = None,
) -> Event:
    """Create (or, given an existing `uid`, update) an event after full validation.

    The domain rules of timeline.check_rules apply; the partnership's derived
    memberships and status are rebuilt afterwards. An update given the
    `expected_version` it was based on is refused if the event changed since
    (see version_lock).
    """
    municipalities = list(municipalities)
    event = Event.objects.filter(uid=uid).first() if uid else None
    if event is not None:
        version_lock(instance=event, expected_version=expected_version)
    created = event is None
    previous_visibility = None if created else event.visibility
    if event is None:
        event = Event(partnership=partnership)
        if uid:
            event.uid = uid
    values = {
        "partnership": partnership,
        "kind": kind,
        "date_text": date_text,
        "status": status,
        "role": role,
        "title": title,
        "description": description,
        "agreement": agreement,
        "pillar": pillar,
        "decided_by": decided_by,
        "proposed_by": proposed_by,
        "reason": reason,
        "cost_eur": cost_eur,
        "cost_note": cost_note,
        "procurement_reference": procurement_reference,
        "visibility": visibility,
        "cost_internal": cost_internal,
        "internal_note": internal_note,
    }
    for name, value in values.items():
        setattr(event, name, value)
    event.pending_municipalities = municipalities
    event.full_clean()
    event.save()
    event.municipalities.set(municipalities)
    event.sources.set(list(sources))
    event.participants.all().delete()
    for person, person_role, municipality, note in participants:
        participant = Participant(event=event, person=person, role=person_role, municipality=municipality, note=note)
        participant.full_clean()
        participant.save()
    published = notifications.is_publication(created=created, previous_visibility=previous_visibility, event=event)
    partnerships_changed(partnership_ids=[partnership.pk], published_event_ids=[event.pk] if published else [])
    return event


@transaction.atomic
def verification_record(
    *, partnership: Partnership, by, verified_on: datetime.date, sources: Iterable[Source] = (), note: str = ""
) -> Verification:
    """Record that `by` checked `partnership` against `sources` on `verified_on`.

    A verification is evidence (timeline.last_evidence), so the derived data is rebuilt.
    """
    verification = Verification(partnership=partnership, user=by, verified_on=verified_on, note=note)
    verification.full_clean()
    verification.save()
    verification.sources.set(list(sources))
    partnerships_changed(partnership_ids=[partnership.pk])
    return verification


def _unique_slug(base: str, code: str, taken: set[str]) -> str:
    slug = slugify(base) or code.lower()
    if slug in taken:
        slug = f"{slug}-{code.lower()}"
    taken.add(slug)
    return slug


@transaction.atomic
def municipalities_load(*, current_csv: Path, mergers_csv: Path) -> dict[str, int]:
    """Load the current municipalities and the former ones with their successors.

    Idempotent: rows are matched on CBS code; running it twice changes nothing.
    A former municipality existed until the day before its code ended, and gets
    the province of the current municipality its chain of successors ends in.
    Returns counts of created and updated rows.
    """
    with current_csv.open(encoding="utf-8", newline="") as handle:
        current = list(csv.DictReader(handle))
    with mergers_csv.open(encoding="utf-8", newline="") as handle:
        mergers = list(csv.DictReader(handle))

    wanted: dict[str, dict] = {}
    for row in current:
        wanted[row["cbs_code"]] = {"name": row["name"], "province": row["province"], "existed_until": None}
    current_codes = set(wanted)
    successor_of: dict[str, str] = {}
    for row in sorted(mergers, key=lambda r: r["old_cbs_code"]):
        code = row["old_cbs_code"]
        if code in wanted and wanted[code]["existed_until"] is None and code in current_codes:
            raise ValueError(f"{code} is both current and merged into {row['new_cbs_code']}.")
        ended = datetime.date.fromisoformat(row["date"])
        wanted[code] = {"name": row["old_name"], "province": "", "existed_until": ended - datetime.timedelta(days=1)}
        successor_of[code] = row["new_cbs_code"]
        # A successor that is not current and not itself merged still has to exist.
        wanted.setdefault(row["new_cbs_code"], {"name": row["new_name"], "province": "", "existed_until": None})
    for code, values in wanted.items():
        final = code
        for _step in range(50):
            if final not in successor_of:
                break
            final = successor_of[final]
        values["province"] = values["province"] or wanted[final]["province"]

    existing = {m.cbs_code: m for m in Municipality.objects.all()}
    taken = {m.slug for m in existing.values()}
    created, updated = [], []
    # Current municipalities first so they keep the plain slug of their name.
    for code in sorted(wanted, key=lambda c: (wanted[c]["existed_until"] is not None, c)):
        values = wanted[code]
        municipality = existing.get(code)
        if municipality is None:
            # The database checks the code format; full_clean per row would triple the time.
            created.append(Municipality(cbs_code=code, slug=_unique_slug(values["name"], code, taken), **values))
            continue
        if any(getattr(municipality, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(municipality, key, value)
            updated.append(municipality)
    Municipality.objects.bulk_create(created)
    Municipality.objects.bulk_update(updated, ["name", "province", "existed_until"])

    by_code = {m.cbs_code: m for m in Municipality.objects.all()}
    relinked = []
    for code, municipality in by_code.items():
        successor = by_code.get(successor_of.get(code, ""))
        if municipality.merged_into_id != (successor.pk if successor else None):
            municipality.merged_into = successor
            relinked.append(municipality)
    Municipality.objects.bulk_update(relinked, ["merged_into"])
    # Names and mergers are in the search texts of the partnerships they are part of.
    changed = [m.pk for m in [*updated, *relinked]]
    partnerships_changed(partnership_ids=_concerning(_merged_with(changed)) if changed else ())
    return {"created": len(created), "updated": len(updated), "relinked": len(relinked)}
