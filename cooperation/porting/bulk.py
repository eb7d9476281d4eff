"""Bulk writes of an import: new objects with their links and history, links, baselines.

simple-history records each save; an import of 100,000 rows writes in bulk
instead, and records the same history (with the many-to-many links, which
simple-history's own `bulk_create_with_history` does not record) as one change
set. See docs/architecture.md, "Import and export".
"""

from __future__ import annotations

import io

from django.db import connection

from ..derived import chunks
from ..history import m2m_history_model, m2m_names, record_bulk


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


def replace_m2m(model, field_name: str, wanted: dict, *, stored: dict, new: set) -> None:
    """Set a many-to-many field of many objects at once, rewriting only the links that changed.

    `wanted` and `stored` map an object's pk to its target pks; `new` are objects without links yet.
    """
    through = model._meta.get_field(field_name).remote_field.through
    own, other = (through._meta.get_field(name).column for name in m2m_names(model, field_name))
    changed = [pk for pk, ids in wanted.items() if pk not in new and sorted(ids) != sorted(stored.get(pk, []))]
    for chunk in chunks(changed, 10000):
        through.objects.filter(**{f"{own}__in": chunk}).delete()
    rewritten = sorted(set(changed) | set(new))
    insert_links(through, own, other, ((pk, target) for pk in rewritten for target in wanted.get(pk, [])))
