"""History beyond what django-simple-history does by itself.

simple-history records every save and delete (with who and when), and its
admin reverts an object's fields. This module adds what the register needs
on top: the many-to-many state of records written in bulk (imports), and
restoring a deleted object together with its links and, for a partnership,
the agreements and events that were deleted with it.
"""

from __future__ import annotations

import datetime
import io

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


def create_with_history(model, objects: list, links: dict[str, list[list[int]]], *, reason: str, user, date) -> None:
    """Create many new objects with their many-to-many links and their "+" historical records.

    `links` maps a many-to-many field to the target pks of each object, in the
    order of `objects`. On PostgreSQL the ids are taken from the sequences first
    and everything goes in with COPY, PostgreSQL's fastest way in; elsewhere it
    is bulk_create() and record_bulk(). Either way the objects get their pks,
    and `auto_now(_add)` fields get `date`.
    """
    if not objects:
        return
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objects:
                setattr(obj, field.attname, date)
    if connection.vendor != "postgresql":
        _create_plain(model, objects, links, reason=reason, user=user, date=date)
        return
    with connection.cursor() as cursor:
        if not hasattr(cursor.cursor, "copy_expert"):  # psycopg 3 copies differently
            _create_plain(model, objects, links, reason=reason, user=user, date=date)
            return
        _create_by_copy(cursor.cursor, model, objects, links, reason=reason, user=user, date=date)


def _create_plain(model, objects, links, *, reason, user, date) -> None:
    model.objects.bulk_create(objects, batch_size=2000)
    for name, targets in links.items():
        field = model._meta.get_field(name)
        own, other = (field.remote_field.through._meta.get_field(n).column for n in m2m_names(model, name))
        pairs = ((obj.pk, t) for obj, ts in zip(objects, targets, strict=True) for t in ts)
        insert_links(field.remote_field.through, own, other, pairs)
    record_bulk(model, [obj.pk for obj in objects], history_type="+", reason=reason, user=user, date=date)


def _create_by_copy(raw, model, objects, links, *, reason, user, date) -> None:
    # Every id comes from its sequence first (a few microseconds each), so that the links and the
    # records can be written without reading anything back: a SELECT on tables this transaction is
    # filling has no statistics to plan with.
    for obj, pk in zip(objects, _next_ids(model._meta.db_table, model._meta.pk.column, len(objects)), strict=True):
        obj.pk = pk
    fields = model._meta.concrete_fields
    _copy(raw, model._meta.db_table, [f.column for f in fields], objects, [(f.attname, _encoder(f)) for f in fields])
    history_model = model.history.model
    tracked = history_model.tracked_fields
    history_ids = _next_ids(history_model._meta.db_table, "history_id", len(objects))
    user_id = user.pk if getattr(user, "pk", None) else None
    extra = [date.isoformat(), _escape(reason), "+", "\\N" if user_id is None else str(user_id)]
    encoders = [(f.attname, _encoder(model._meta.get_field(f.name))) for f in tracked]
    lines = (
        _line(obj, encoders, (str(history_id), *extra)) for obj, history_id in zip(objects, history_ids, strict=True)
    )
    columns = [history_model._meta.get_field(f.name).column for f in tracked]
    columns += ["history_id", "history_date", "history_change_reason", "history_type", "history_user_id"]
    _copy_lines(raw, history_model._meta.db_table, columns, lines)
    for name, targets in links.items():
        field = model._meta.get_field(name)
        through = field.remote_field.through
        own, other = (through._meta.get_field(n).column for n in m2m_names(model, name))
        pairs = [
            (obj.pk, target, history_id)
            for obj, ts, history_id in zip(objects, targets, history_ids, strict=True)
            for target in ts
        ]
        link_ids = _next_ids(through._meta.db_table, through._meta.pk.column, len(pairs))
        rows = list(zip(link_ids, pairs, strict=True))
        _copy_lines(
            raw,
            through._meta.db_table,
            [through._meta.pk.column, own, other],
            (f"{link_id}\t{pk}\t{target}" for link_id, (pk, target, _record) in rows),
        )
        _copy_lines(
            raw,
            m2m_history_model(model, name)._meta.db_table,
            ["id", own, other, "history_id"],
            (f"{link_id}\t{pk}\t{target}\t{record}" for link_id, (pk, target, record) in rows),
        )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escape(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def _text(value) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if value else value


def _encoder(field):
    """Python value -> text for COPY (text format): \\N for NULL, escaped text, ISO dates."""
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField", "SlugField", "URLField", "EmailField"):
        return _text
    if kind in ("DateField", "DateTimeField"):
        return lambda value: "\\N" if value is None else value.isoformat()
    if kind == "BooleanField":
        return lambda value: "\\N" if value is None else ("t" if value else "f")
    if kind in (
        "UUIDField",
        "DecimalField",
        "IntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "AutoField",
        "BigAutoField",
        "ForeignKey",
    ):
        return lambda value: "\\N" if value is None else str(value)

    def prepared(value):
        value = field.get_db_prep_save(value, connection)
        return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)

    return prepared


def _next_ids(table: str, column: str, count: int) -> list[int]:
    """`count` new ids from the table's sequence (PostgreSQL)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(raw, table: str, columns: list[str], objects, encoders) -> None:
    _copy_lines(raw, table, columns, (_line(obj, encoders) for obj in objects))


def _line(obj, encoders, extra=()) -> str:
    values = obj.__dict__
    return "\t".join([*(encode(values[attname]) for attname, encode in encoders), *extra])


def _copy_lines(raw, table: str, columns: list[str], lines) -> None:
    buffer = io.StringIO()
    for line in lines:
        buffer.write(line)
        buffer.write("\n")
    buffer.seek(0)
    quote = connection.ops.quote_name
    raw.copy_expert(f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN", buffer)


def insert_links(through, own: str, other: str, pairs) -> None:
    """Many-to-many links (through rows) in multi-row INSERTs: no model object per link."""
    pairs = list(pairs)
    quote = connection.ops.quote_name
    per_statement = min(5000, (connection.features.max_query_params or 10000) // 2)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), per_statement):
            chunk = pairs[start : start + per_statement]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            sql = f"INSERT INTO {quote(through._meta.db_table)} ({quote(own)}, {quote(other)}) VALUES {values}"  # noqa: S608
            cursor.execute(sql, [value for pair in chunk for value in pair])


def ensure_baseline(model, ids, *, date, reason: str) -> None:
    """A historical record of the current state of objects that have none yet.

    Objects loaded in bulk (the municipalities) have no history; before a change
    in bulk, their state is recorded so that the change can be taken back.
    """
    history_model = model.history.model
    ids = list(ids)
    have = set()
    for start in range(0, len(ids), 10000):
        have.update(history_model.objects.filter(id__in=ids[start : start + 10000]).values_list("id", flat=True))
    missing = [pk for pk in ids if pk not in have]
    if not missing:
        return
    record_bulk(model, missing, history_type="~", reason=reason, user=None, date=date)


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
