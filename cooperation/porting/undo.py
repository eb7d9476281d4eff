"""Undoing an import: delete what it created, restore what it changed, as the history shows it.

Ends, like an import, in one `services.partnerships_changed()` call.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import services
from ..derived import chunks, m2m_ids
from ..history import m2m_field_names, m2m_history_model, m2m_names, record_bulk
from ..models import Agreement, Event, ImportBatch, Municipality, Partnership, Source
from .bulk import replace_m2m

# Models an import of each kind writes, in the order an undo takes them back.
UNDO_MODELS = {
    "municipalities": (Municipality,),
    "partnerships": (Partnership,),
    "agreements": (Agreement,),
    "events": (Event, Source),
}
# Fields an undo does not take from the older record: they describe the row, not its content.
_NOT_RESTORED = {"id", "version", "created_at", "updated_at"}


def _latest_history_ids(history_model, ids) -> dict[int, int]:
    latest = {}
    for chunk in chunks(sorted(set(ids)), 10000):
        latest.update(
            history_model.objects.filter(id__in=chunk)
            .values("id")
            .annotate(last=Max("history_id"))
            .values_list("id", "last")
        )
    return latest


def import_undo_conflicts(batch: ImportBatch) -> list[str]:
    """What was changed since the import, so that undoing it would lose someone's work."""
    reason = batch.change_reason
    conflicts = []
    for model in UNDO_MODELS[batch.kind]:
        history_model = model.history.model
        records = list(history_model.objects.filter(history_change_reason=reason).only("id", "history_id"))
        latest = _latest_history_ids(history_model, [record.id for record in records])
        changed = [record.id for record in records if latest.get(record.id) != record.history_id]
        for record in history_model.objects.filter(history_id__in=[latest[pk] for pk in changed[:10]]):
            conflicts.append(
                _("%(kind)s “%(object)s” was changed on %(date)s by %(user)s.")
                % {
                    "kind": str(model._meta.verbose_name).capitalize(),
                    "object": describe(record),
                    "date": timezone.localtime(record.history_date).strftime("%d-%m-%Y %H:%M"),
                    "user": record.history_user or _("someone"),
                }
            )
        if len(changed) > 10:
            conflicts.append(_("And %(count)s more changes.") % {"count": len(changed) - 10})

    def created(model):
        return model.history.filter(history_change_reason=reason, history_type="+").values("id")

    if batch.kind == "partnerships":
        built_on = Partnership.objects.filter(pk__in=created(Partnership)).filter(
            Q(events__isnull=False) | Q(agreements__isnull=False)
        )
        for partnership in built_on.distinct()[:10]:
            conflicts.append(
                _("Partnership “%(object)s” has events or agreements recorded since the import.")
                % {"object": partnership}
            )
    if batch.kind == "municipalities":
        new_ids = created(Municipality)
        for municipality in Municipality.objects.filter(pk__in=new_ids).filter(events__isnull=False).distinct()[:10]:
            conflicts.append(
                _("Municipality “%(object)s” is named in events recorded since the import.") % {"object": municipality}
            )
        for municipality in Municipality.objects.filter(predecessors__isnull=False, pk__in=new_ids).exclude(
            predecessors__in=new_ids
        )[:10]:
            conflicts.append(
                _("Municipality “%(object)s” is the successor of a municipality that the import did not create.")
                % {"object": municipality}
            )
    if batch.kind == "agreements":
        built_on = Agreement.objects.filter(pk__in=created(Agreement)).filter(
            Q(events__isnull=False) | Q(documents__isnull=False)
        )
        for agreement in built_on.distinct()[:10]:
            conflicts.append(
                _("Agreement “%(object)s” has events citing it or documents recorded since the import.")
                % {"object": agreement}
            )
    if batch.kind == "events":
        new_events = created(Event)
        for source in (
            Source.objects.filter(pk__in=created(Source))
            .filter(events__isnull=False)
            .exclude(events__in=new_events)
            .distinct()[:10]
        ):
            conflicts.append(
                _("Source “%(object)s” is cited by events that the import did not create.") % {"object": source}
            )
    return conflicts


def describe(record) -> str:
    for name in ("name", "title", "cbs_code", "uid"):
        value = getattr(record, name, "")
        if value:
            return str(value)
    return str(record.id)


@transaction.atomic
def import_undo(*, batch: ImportBatch, user) -> dict[str, int]:
    """Take an import back: delete what it created, restore what it changed to the state before.

    Refused (ValidationError, the reasons in Dutch) when the import was undone
    already or anything it wrote has been changed since. The undo is itself
    recorded in the history (change reason ``undo:import:<id>``). Returns the
    numbers of deleted and restored objects.
    """
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.undone_at is not None:
        raise ValidationError(_("This import has been undone already."), code="undone")
    conflicts = import_undo_conflicts(batch)
    if conflicts:
        raise ValidationError(
            [_("This import cannot be undone: it has been built on since.")] + conflicts, code="changed_since"
        )
    reason = batch.change_reason
    undo_reason = f"undo:{reason}"
    now = timezone.now()
    history_user = user if getattr(user, "pk", None) else None
    counts = {"deleted": 0, "restored": 0}
    touched_partnerships: set[int] = set()
    for model in UNDO_MODELS[batch.kind]:
        history_model = model.history.model
        records = list(history_model.objects.filter(history_change_reason=reason).order_by("history_id"))
        created_ids = [record.id for record in records if record.history_type == "+"]
        changed = [record for record in records if record.history_type == "~"]
        if model in (Event, Agreement):
            touched_partnerships |= {record.partnership_id for record in records}
        previous = _previous_records(history_model, changed)
        restored = []
        fields = [f.attname for f in history_model.tracked_fields if f.attname not in _NOT_RESTORED and f.concrete]
        current = {obj.pk: obj for obj in model.objects.filter(pk__in=[record.id for record in changed])}
        bookkeeping = [name for name in ("version", "updated_at") if name in {f.name for f in model._meta.fields}]
        for record in changed:
            before = previous[record.history_id]
            obj = current[record.id]
            for name in fields:
                setattr(obj, name, getattr(before, name))
            if "version" in bookkeeping:
                obj.version += 1
            if "updated_at" in bookkeeping:
                obj.updated_at = now
            restored.append(obj)
            if model in (Event, Agreement):
                touched_partnerships.add(before.partnership_id)
        update_fields = [model._meta.get_field(name).name for name in fields] + bookkeeping
        model.objects.bulk_update(restored, update_fields, batch_size=1000)
        for name in m2m_field_names(model):
            wanted = _m2m_of_records(model, name, {record.id: previous[record.history_id] for record in changed})
            own, other = m2m_names(model, name)
            through = model._meta.get_field(name).remote_field.through
            stored = m2m_ids(through, f"{own}_id", f"{other}_id", list(wanted))
            replace_m2m(model, name, wanted, stored=stored, new=set())
        record_bulk(
            model, [obj.pk for obj in restored], history_type="~", reason=undo_reason, user=history_user, date=now
        )
        for chunk in chunks(created_ids, 2000):
            model.objects.filter(pk__in=chunk).delete()
        history_model.objects.filter(id__in=created_ids, history_type="-", history_date__gte=now).update(
            history_change_reason=undo_reason
        )
        counts["deleted"] += len(created_ids)
        counts["restored"] += len(restored)
        if model is Partnership:
            touched_partnerships |= {obj.pk for obj in restored}
    batch.undone_at, batch.undone_by = now, history_user
    batch.save(update_fields=["undone_at", "undone_by"])
    services.partnerships_changed(partnership_ids=touched_partnerships)
    return counts


def _previous_records(history_model, records) -> dict[int, object]:
    """For each record, the one just before it of the same object."""
    previous = {}
    by_object = defaultdict(list)
    for record in records:
        by_object[record.id].append(record.history_id)
    for chunk in chunks(sorted(by_object), 5000):
        older = (
            history_model.objects.filter(id__in=chunk, history_id__lt=max(max(by_object[pk]) for pk in chunk))
            .order_by("id", "history_id")
            .iterator(chunk_size=5000)
        )
        candidates = defaultdict(list)
        for record in older:
            candidates[record.id].append(record)
        for pk in chunk:
            for history_id in by_object[pk]:
                # Every object an import changes has an older record: see bulk.ensure_baseline().
                before = [record for record in candidates[pk] if record.history_id < history_id]
                previous[history_id] = before[-1]
    return previous


def _m2m_of_records(model, field_name: str, records_by_pk: dict[int, object]) -> dict[int, list[int]]:
    history_model = m2m_history_model(model, field_name)
    _own, other = m2m_names(model, field_name)
    by_history = defaultdict(list)
    history_ids = [record.history_id for record in records_by_pk.values()]
    for chunk in chunks(history_ids, 10000):
        for history_id, target in history_model.objects.filter(history_id__in=chunk).values_list(
            "history_id", f"{other}_id"
        ):
            by_history[history_id].append(target)
    return {pk: by_history.get(record.history_id, []) for pk, record in records_by_pk.items()}
