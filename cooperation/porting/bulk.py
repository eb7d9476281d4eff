"""Bulk writes of an import: new objects with their links and history, links, baselines.

simple-history records each save; an import of 100,000 rows writes in bulk
instead, and records the same history (with the many-to-many links, which
simple-history's own `bulk_create_with_history` does not record) as one change
set. See docs/architecture.md, "Import and export".
"""

from __future__ import annotations

from django.db import connection

from ..derived import chunks
from ..history import m2m_names, record_bulk


def create_with_history(model, objects: list, links: dict[str, list[list[int]]], *, reason: str, user, date) -> None:
    """Create many new objects with their many-to-many links and their "+" historical records.

    `links` maps a many-to-many field to the target pks of each object, in the
    order of `objects`. The objects get their pks (bulk_create) and `auto_now(_add)`
    fields get `date`; the records are copied from the stored rows by `history.record_bulk`.
    (A COPY writer of our own was measured against this: within 2% of the import's CPU
    time, so it went; docs/architecture.md, "Import and export".)
    """
    if not objects:
        return
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objects:
                setattr(obj, field.attname, date)
    model.objects.bulk_create(objects, batch_size=2000)
    for name, targets in links.items():
        field = model._meta.get_field(name)
        own, other = (field.remote_field.through._meta.get_field(n).column for n in m2m_names(model, name))
        pairs = ((obj.pk, t) for obj, ts in zip(objects, targets, strict=True) for t in ts)
        insert_links(field.remote_field.through, own, other, pairs)
    record_bulk(model, [obj.pk for obj in objects], history_type="+", reason=reason, user=user, date=date)


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
