"""Writes that touch several models: atomic, validated, keyword-only."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from . import derived, notifications
from .models import Agreement, Event, Municipality, Participant, Partnership, Person, Pillar, Source, Verification


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
    derived.rebuild_derived(partnership)
    notifications.event_notify_followers(event=event, created=created, previous_visibility=previous_visibility)
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
    derived.rebuild_derived(partnership)
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
    return {"created": len(created), "updated": len(updated), "relinked": len(relinked)}


def partnerships_changed(*, partnership_ids: Iterable[int], published_event_ids: Iterable[int] = ()) -> None:
    """The one call that ends a write: rebuild what is derived of these partnerships, then queue
    the e-mail to the followers of the events that became public."""
    derived.rebuild_derived_many(list(partnership_ids))
    notifications.events_notify_followers(list(published_event_ids))
