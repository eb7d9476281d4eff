"""History beyond what django-simple-history does by itself.

simple-history records every save and delete (with who and when), and its
admin reverts an object's fields. This module adds what the register needs
on top: the many-to-many state of records written in bulk (imports), and
restoring a deleted object together with its links and, for a partnership,
the agreements and events that were deleted with it.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from . import timeline
from .models import Agreement, Event, Municipality, Participant, Partnership, Source

# How long before a partnership's deletion the deletions of its agreements and events
# (a cascade, in the same request) may lie.
CASCADE_WINDOW = datetime.timedelta(minutes=1)
RESTORABLE = (Municipality, Partnership, Event, Agreement, Source)


def m2m_names(model, field_name: str) -> tuple[str, str]:
    """The through model's column names of a many-to-many field: ("event", "municipality")."""
    field = model._meta.get_field(field_name)
    return field.m2m_field_name(), field.m2m_reverse_field_name()


def m2m_history_model(model, field_name: str):
    return getattr(model.history.model, field_name).model


def record_bulk(model, ids, *, history_type: str, reason: str, user, date) -> None:
    """Historical records of objects written in bulk, with their many-to-many links.

    What simple-history does on each save, done for many objects at once and
    by the database itself: each record is copied from the stored row (INSERT
    ... SELECT), so it is exactly what was written. `reason` and `date` must
    single out these records (an import's reason with its moment does).
    """
    history_model = model.history.model
    fields = list(history_model.tracked_fields)
    target = [history_model._meta.get_field(f.name).column for f in fields]
    source = [model._meta.get_field(f.name).column for f in fields]
    quote = connection.ops.quote_name
    when = connection.ops.adapt_datetimefield_value(date)
    user_id = user.pk if getattr(user, "pk", None) else None
    ids = list(ids)
    # Table and column names come from the models (quoted); values are parameters.
    records = quote(history_model._meta.db_table)
    into = ", ".join([*(quote(c) for c in target), "history_date", "history_change_reason", "history_type"])
    copied = ", ".join(quote(c) for c in source)
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            marks = ", ".join(["%s"] * len(chunk))
            sql = f"INSERT INTO {records} ({into}, history_user_id) SELECT {copied}, %s, %s, %s, %s FROM {table} WHERE {pk} IN ({marks})"  # noqa: E501, S608
            cursor.execute(sql, [when, reason, history_type, user_id, *chunk])
            for name in m2m_field_names(model):
                links = quote(m2m_history_model(model, name)._meta.db_table)
                through = model._meta.get_field(name).remote_field.through
                own, other = (quote(through._meta.get_field(n).column) for n in m2m_names(model, name))
                through_table = quote(through._meta.db_table)
                sql = f"INSERT INTO {links} (id, {own}, {other}, history_id) SELECT t.id, t.{own}, t.{other}, h.history_id FROM {through_table} t JOIN {records} h ON h.id = t.{own} WHERE h.history_change_reason = %s AND h.history_date = %s AND h.id IN ({marks})"  # noqa: E501, S608
                cursor.execute(sql, [reason, when, *chunk])


def m2m_ids_of(record, field_name: str) -> list[int]:
    """The targets of a many-to-many field as a historical record saw them."""
    _own, other = m2m_names(record.instance_type, field_name)
    return list(getattr(record, field_name).values_list(f"{other}_id", flat=True))


def m2m_field_names(model) -> list[str]:
    return [field.name for field in getattr(model.history.model, "_history_m2m_fields", [])]


def deleted_records(model, limit: int = 200):
    """The latest deletion record of each deleted object that does not exist again, newest first."""
    history = model.history.model
    existing = model.objects.values("pk")
    latest = history.objects.exclude(id__in=existing).values("id").annotate(last=Max("history_id")).values("last")
    return (
        history.objects.filter(history_id__in=latest, history_type="-")
        .select_related("history_user")
        .order_by("-history_date")[:limit]
    )


@transaction.atomic
def restore_deleted(*, record, user) -> object:
    """Bring back a deleted object as it was just before it was deleted.

    Its many-to-many links come back with it; a partnership also gets back the
    agreements, events and participants deleted with it. Writes rows only: call it through
    `services.object_restore`, which rebuilds the derived data. The domain rules
    apply to a restored event as to a new one. Raises ValidationError when the
    object exists again or depends on something that is itself deleted.
    """
    model = record.instance_type
    if model not in RESTORABLE:
        raise ValidationError(_("This kind of object cannot be restored here."), code="not_restorable")
    if record.history_type != "-" or model.objects.filter(pk=record.id).exists():
        raise ValidationError(_("This object has not been deleted, or has been restored already."), code="exists")
    restored = _restore_one(record, user)
    if model is Partnership:
        since = record.history_date - CASCADE_WINDOW
        children = []
        for child_model in (Agreement, Event):
            for child in _deleted_with(child_model, since, record.history_date, partnership_id=record.id):
                children.append(_restore_one(child, user, check_rules=False))
        event_ids = [child.pk for child in children if isinstance(child, Event)]
        for participant in _deleted_with(Participant, since, record.history_date, event_id__in=event_ids):
            _restore_one(participant, user)
        # The events come back together, as they stood together: the rules judge them as a whole.
        events = list(restored.events.prefetch_related("municipalities"))
        problems = timeline.check_rules([timeline.facts_from_event(event) for event in events], restored.name)
        if problems:
            raise ValidationError([problem.message for problem in problems], code="domain_rule")
    elif model in (Source, Municipality):
        _relink_events(record.id, "sources" if model is Source else "municipalities")
    return restored


def _deleted_with(model, since, until, **lookup):
    history = model.history.model
    candidates = history.objects.filter(history_type="-", history_date__gte=since, history_date__lte=until, **lookup)
    existing = set(model.objects.filter(pk__in=candidates.values("id")).values_list("pk", flat=True))
    return [record for record in candidates.order_by("history_id") if record.id not in existing]


def _restore_one(record, user, check_rules: bool = True):
    model = record.instance_type
    before = record.prev_record  # the state just before deletion, with its links
    instance = (before or record).instance
    instance._state.adding = True
    links = {name: m2m_ids_of(before, name) if before else [] for name in m2m_field_names(model)}
    if model is Event:
        if not Partnership.objects.filter(pk=instance.partnership_id).exists():
            raise ValidationError(
                _("The partnership of this event has been deleted too: restore the partnership first."),
                code="partnership_deleted",
            )
        if check_rules:
            instance.pending_municipalities = list(Municipality.objects.filter(pk__in=links["municipalities"]))
            instance.clean()
        if instance.agreement_id and not Agreement.objects.filter(pk=instance.agreement_id).exists():
            instance.agreement = None
    missing_successor = model is Municipality and instance.merged_into_id
    if missing_successor and not Municipality.objects.filter(pk=instance.merged_into_id).exists():
        instance.merged_into = None
    instance.skip_history_when_saving = True
    instance.save(force_insert=True)
    del instance.skip_history_when_saving
    for name, target_ids in links.items():
        field = model._meta.get_field(name)
        own, other = m2m_names(model, name)
        existing_targets = set(field.related_model.objects.filter(pk__in=target_ids).values_list("pk", flat=True))
        field.remote_field.through.objects.bulk_create(
            [
                field.remote_field.through(**{f"{own}_id": instance.pk, f"{other}_id": pk})
                for pk in target_ids
                if pk in existing_targets
            ]
        )
    record_bulk(model, [instance.pk], history_type="+", reason="restore", user=user, date=timezone.now())
    return instance


def _relink_events(target_id: int, field_name: str) -> None:
    """Links from events to a restored source or municipality, as their latest history shows them."""
    history_model = m2m_history_model(Event, field_name)
    _own, other = m2m_names(Event, field_name)
    candidates = set(history_model.objects.filter(**{f"{other}_id": target_id}).values_list("event_id", flat=True))
    if not candidates:
        return
    still_there = Event.objects.filter(pk__in=candidates).values("pk")
    latest_ids = Event.history.filter(id__in=still_there).values("id").annotate(last=Max("history_id")).values("last")
    linked = set(
        history_model.objects.filter(history_id__in=latest_ids, **{f"{other}_id": target_id}).values_list(
            "event_id", flat=True
        )
    )
    through = Event._meta.get_field(field_name).remote_field.through
    already = set(through.objects.filter(**{f"{other}_id": target_id}).values_list("event_id", flat=True))
    through.objects.bulk_create([through(**{"event_id": pk, f"{other}_id": target_id}) for pk in linked - already])
