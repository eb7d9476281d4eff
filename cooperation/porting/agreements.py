"""The resource of agreements (COLUMNS["agreements"]): one row per agreement, keyed by its uid.

An agreement belongs to a partnership (import partnerships first); events cite it by its uid
(the events column `agreement_uid`, so import agreements before events). Rows are checked like
events (codes, dates, lengths, permissions, all or nothing) and written through
`services.agreements_save`, which validates each again as `agreement_save` does and ends in one
rebuild of the partnerships they touched. Agreements are few: they are saved one by one, with
their history as simple-history records it, not in bulk.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields

from .. import services
from ..derived import chunks
from ..models import Agreement, Event, Partnership, Visibility
from .base import RegisterResource
from .columns import (
    COLUMNS,
    ChoiceWidget,
    DayWidget,
    EdtfWidget,
    LookupForeignKeyWidget,
    TextWidget,
    new_instance,
)


def parse_uid(value: str, column: str) -> uuid.UUID | None:
    """A uid cell as a UUID (None when empty); a ValidationError on its column otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError(
            {
                column: _("“%(value)s” is not an agreement uid (a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427).")
                % {"value": value}
            }
        ) from None


def agreements_by_uid(values) -> dict[uuid.UUID, Agreement]:
    """The stored agreements whose uids occur in `values` (cells of a uid column), with their partnership."""
    uids = set()
    for value in values:
        try:
            uids.add(uuid.UUID((value or "").strip()))
        except (ValueError, AttributeError):
            continue
    found = {}
    for chunk in chunks(sorted(uids, key=str), 10000):
        for agreement in Agreement.objects.filter(uid__in=chunk).select_related("partnership"):
            found[agreement.uid] = agreement
    return found


class AgreementResource(RegisterResource):
    """One row per agreement; see COLUMNS["agreements"] and docs/import-formats.md."""

    import_kind = "agreements"
    key_column = "uid"

    uid = fields.Field(attribute="uid", column_name="uid", widget=TextWidget(), readonly=True)
    partnership = fields.Field(
        attribute="partnership",
        column_name="partnership",
        widget=LookupForeignKeyWidget(Partnership, "slug", "partnership"),
    )
    kind = fields.Field(attribute="kind", column_name="kind", widget=ChoiceWidget("agreement_kind"))
    title = fields.Field(attribute="title", column_name="title", widget=TextWidget())
    description = fields.Field(attribute="description", column_name="description", widget=TextWidget())
    date = fields.Field(attribute="date_text", column_name="date", widget=EdtfWidget())
    term_start = fields.Field(attribute="term_start", column_name="term_start", widget=DayWidget())
    term_end = fields.Field(attribute="term_end", column_name="term_end", widget=DayWidget())
    term_note = fields.Field(attribute="term_note", column_name="term_note", widget=TextWidget())
    visibility = fields.Field(
        attribute="visibility", column_name="visibility", widget=ChoiceWidget("visibility", default=Visibility.PUBLIC)
    )

    class Meta(RegisterResource.Meta):
        model = Agreement
        fields = COLUMNS["agreements"]
        import_order = export_order = COLUMNS["agreements"]
        import_id_fields = ["uid"]

    def get_queryset(self):
        return Agreement.objects.for_list().select_related("partnership").order_by("partnership__slug", "uid")

    # Import -----------------------------------------------------------------------

    def load_existing(self, dataset) -> None:
        self.existing = agreements_by_uid(dataset["uid"])
        # The loader hands these very objects to the rows, which change them: keep what is stored.
        self.stored_partnership = {uid: a.partnership for uid, a in self.existing.items()}
        self.cited = set(
            Event.objects.filter(agreement__in=[a.pk for a in self.existing.values()])
            .values_list("agreement_id", flat=True)
            .distinct()
        )
        self.editable = self.editable_ids()

    def find_existing(self, row):
        uid = parse_uid(row.get("uid"), "uid")
        if uid is None:
            return None
        self.remember_key(str(uid), self.current_row)
        return self.existing.get(uid)

    def init_instance(self, row=None):
        agreement = new_instance(Agreement)
        uid = parse_uid(row.get("uid"), "uid")
        if uid is not None:
            agreement.uid = uid
        return agreement

    def snapshot(self, instance, stored: bool) -> dict:
        return {
            "partnership": instance.partnership_id,
            "kind": instance.kind,
            "title": instance.title,
            "description": instance.description,
            "date": instance.date_text,
            "term_start": instance.term_start,
            "term_end": instance.term_end,
            "term_note": instance.term_note,
            "visibility": instance.visibility,
        }

    def unchecked_fields(self):
        # The date is checked (fast, cached) by its widget; uid by the loader.
        return {"date_text", "uid"}

    def check_row(self, instance, errors):
        if instance.partnership_id is None and "partnership" not in errors:
            errors.setdefault("partnership", []).append(_("Empty; give the slug of the partnership."))
        if (
            instance.term_start
            and instance.term_end
            and instance.term_end < instance.term_start
            and not {"term_start", "term_end"} & set(errors)
        ):
            errors.setdefault("term_end", []).append(
                _("The term ends (%(end)s) before it starts (%(start)s).")
                % {"end": instance.term_end.isoformat(), "start": instance.term_start.isoformat()}
            )
        stored = self.stored_partnership.get(instance.uid) if instance.pk else None
        if (
            stored is not None
            and instance.partnership_id is not None
            and instance.partnership_id != stored.pk
            and instance.pk in self.cited
        ):
            errors.setdefault("partnership", []).append(
                _(
                    "Events of %(partnership)s cite this agreement, so it cannot move to another partnership. "
                    "Record a new agreement instead."
                )
                % {"partnership": stored.name}
            )
        if self.editable is not None and instance.partnership_id is not None:
            # Like events: the partnership it is in, and the one it would leave, must be the editor's.
            partnerships = {instance.partnership_id: instance.partnership}
            if stored is not None:
                partnerships.setdefault(stored.pk, stored)
            for partnership_id, partnership in partnerships.items():
                if partnership_id not in self.editable:
                    errors.setdefault("partnership", []).append(
                        _("You may not change %(partnership)s: none of your municipalities takes part in it.")
                        % {"partnership": partnership.name}
                    )

    def label(self, row) -> str:
        return " · ".join(part for part in (row.get("partnership"), row.get("title")) if part)

    def write(self, plans, now) -> None:
        updated = [plan.instance for plan in plans if not plan.new]
        self.baseline(Agreement, updated, now)
        user = self.history_user()
        for plan in plans:
            # The history record of each save is part of the import's change set (undo finds it).
            plan.instance._change_reason = self.batch.change_reason
            plan.instance._history_user = user
        services.agreements_save(agreements=[plan.instance for plan in plans])

    def finish(self) -> None:
        """`services.agreements_save` rebuilt the partnerships the agreements are in, and left."""
