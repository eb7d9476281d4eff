"""The resource of events (COLUMNS["events"]): one row per event, with its sources."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields

from .. import dates, timeline
from ..derived import chunks, m2m_ids
from ..models import Event, Municipality, Partnership, Pillar, Source, Visibility
from .agreements import agreements_by_uid, parse_uid
from .base import RegisterResource
from .bulk import create_with_history, replace_m2m
from .columns import (
    COLUMNS,
    SOURCE_COLUMNS,
    WRITE_BATCH,
    AmountWidget,
    ChoiceWidget,
    EdtfWidget,
    LookupForeignKeyWidget,
    LookupManyToManyWidget,
    TextWidget,
    new_instance,
)
from .rules import EventRulesMixin
from .sources import SourceColumnsMixin, SourceSpec, differing_columns, source_spec
from .vocabulary import vocabulary


class EventResource(SourceColumnsMixin, EventRulesMixin, RegisterResource):
    """One row per event; see COLUMNS["events"] and docs/import-formats.md."""

    import_kind = "events"
    key_column = "uid"
    streaming = True

    uid = fields.Field(attribute="uid", column_name="uid", widget=TextWidget(), readonly=True)
    partnership = fields.Field(
        attribute="partnership",
        column_name="partnership",
        widget=LookupForeignKeyWidget(Partnership, "slug", "partnership"),
    )
    kind = fields.Field(attribute="kind", column_name="kind", widget=ChoiceWidget("kind"))
    date = fields.Field(attribute="date_text", column_name="date", widget=EdtfWidget())
    status = fields.Field(
        attribute="status", column_name="status", widget=ChoiceWidget("status", default=Event.Status.HAPPENED)
    )
    municipalities = fields.Field(
        attribute="municipalities",
        column_name="municipalities",
        widget=LookupManyToManyWidget(Municipality, "cbs_code", "municipality"),
    )
    title = fields.Field(attribute="title", column_name="title", widget=TextWidget())
    description = fields.Field(attribute="description", column_name="description", widget=TextWidget())
    pillar = fields.Field(
        attribute="pillar", column_name="pillar", widget=LookupForeignKeyWidget(Pillar, "code", "pillar")
    )
    decided_by = fields.Field(
        attribute="decided_by", column_name="decided_by", widget=ChoiceWidget("decided_by", blank=True)
    )
    reason = fields.Field(attribute="reason", column_name="reason", widget=TextWidget())
    cost_eur = fields.Field(attribute="cost_eur", column_name="cost_eur", widget=AmountWidget())
    cost_note = fields.Field(attribute="cost_note", column_name="cost_note", widget=TextWidget())
    source_url = fields.Field(column_name="source_url", dehydrate_method="sources_column")
    source_title = fields.Field(column_name="source_title", dehydrate_method="sources_column")
    source_publisher = fields.Field(column_name="source_publisher", dehydrate_method="sources_column")
    source_author = fields.Field(column_name="source_author", dehydrate_method="sources_column")
    source_date = fields.Field(column_name="source_date", dehydrate_method="sources_column")
    source_kind = fields.Field(column_name="source_kind", dehydrate_method="sources_column")
    visibility = fields.Field(
        attribute="visibility", column_name="visibility", widget=ChoiceWidget("visibility", default=Visibility.PUBLIC)
    )
    # Optional (since 1.2): read in read_row, so that a file without the column leaves the agreement as it is.
    agreement_uid = fields.Field(column_name="agreement_uid", dehydrate_method="agreement_column")

    class Meta(RegisterResource.Meta):
        model = Event
        batch_size = WRITE_BATCH
        fields = COLUMNS["events"]
        import_order = export_order = COLUMNS["events"]
        import_id_fields = ["uid"]

    def get_queryset(self):
        return (
            Event.objects.select_related("partnership", "pillar", "agreement")
            .prefetch_related("municipalities", "sources")
            .order_by("partnership__slug", "date_lower", "date_upper", "kind", "uid")
        )

    # Export -----------------------------------------------------------------------

    def export_field(self, field, instance, **kwargs):
        if field.column_name in SOURCE_COLUMNS:
            return self.sources_column(instance, field.column_name)
        if field.column_name == "agreement_uid":
            return self.agreement_column(instance)
        return super().export_field(field, instance, **kwargs)

    def agreement_column(self, event) -> str:
        return str(event.agreement.uid) if event.agreement_id else ""

    # Import -----------------------------------------------------------------------

    def load_existing(self, dataset) -> None:
        self.published: list[int] = []  # events this import publishes (see write)
        uids = set()
        for value in dataset["uid"]:
            try:
                uids.add(uuid.UUID(value.strip()))
            except (ValueError, AttributeError):
                continue
        self.existing = {}
        for chunk in chunks(sorted(uids, key=str), 10000):
            for event in Event.objects.filter(uid__in=chunk).select_related("partnership"):
                self.existing[event.uid] = event
        # The loader hands these very objects to the rows, which change them: keep where they are stored.
        self.stored_partnership_ids = {uid: event.partnership_id for uid, event in self.existing.items()}
        ids = [event.pk for event in self.existing.values()]
        self.municipality_ids = m2m_ids(Event.municipalities.through, "event_id", "municipality_id", ids)
        self.source_ids = m2m_ids(Event.sources.through, "event_id", "source_id", ids)
        urls = set()
        for value in dataset["source_url"]:
            urls.update(line.strip() for line in (value or "").splitlines() if line.strip())
        self.sources_by_key: dict[tuple, Source] = {}
        for chunk in chunks(sorted(urls), 10000):
            for source in Source.objects.filter(url__in=chunk):
                self.sources_by_key[source_spec(source).key] = source
        for source in Source.objects.filter(url=""):
            self.sources_by_key.setdefault(source_spec(source).key, source)
        linked = set().union(*self.source_ids.values()) if self.source_ids else set()
        missing = linked - {s.pk for s in self.sources_by_key.values()}
        for chunk in chunks(sorted(missing), 10000):
            for source in Source.objects.filter(pk__in=chunk):
                self.sources_by_key.setdefault(source_spec(source).key, source)
        self.source_by_pk = {s.pk: s for s in self.sources_by_key.values()}
        self.new_sources: dict[tuple, tuple[SourceSpec, int]] = {}
        self.sources_written: set[tuple] = set()
        self.editable = self.editable_ids()
        self.source_kinds = vocabulary("source_kind")
        self.kinds = vocabulary("kind")
        self.has_agreements = "agreement_uid" in dataset.headers
        self.agreements = agreements_by_uid(dataset["agreement_uid"]) if self.has_agreements else {}
        self.load_before(dataset)

    def find_existing(self, row):
        value = (row.get("uid") or "").strip()
        if not value:
            return None
        try:
            uid = uuid.UUID(value)
        except ValueError:
            raise ValidationError(
                {
                    "uid": _(
                        "“%(value)s” is not an event uid (a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427); "
                        "leave it empty for a new event."
                    )
                    % {"value": value}
                }
            ) from None
        self.remember_key(str(uid), self.current_row)
        return self.existing.get(uid)

    def init_instance(self, row=None):
        event = new_instance(Event)
        value = (row.get("uid") or "").strip()
        if value:
            event.uid = uuid.UUID(value)
        return event

    def read_row(self, instance, row, errors, **kwargs):
        if "date" not in errors:
            parsed = dates.parse_date(instance.date_text)
            instance.date_lower, instance.date_upper, instance.date_precision = (
                parsed.lower,
                parsed.upper,
                parsed.precision,
            )
        instance._sources = self.read_sources(row, errors)
        if self.has_agreements:
            self.read_agreement(instance, row, errors)

    def read_agreement(self, instance, row, errors) -> None:
        """The agreement the event cites, by its uid (empty: none); it must be stored already."""
        try:
            uid = parse_uid(row.get("agreement_uid"), "agreement_uid")
        except ValidationError as error:
            for message in error.message_dict["agreement_uid"]:
                errors.setdefault("agreement_uid", []).append(message)
            return
        if uid is None:
            instance.agreement = None
            return
        agreement = self.agreements.get(uid)
        if agreement is None:
            errors.setdefault("agreement_uid", []).append(
                _("Unknown agreement “%(uid)s”: import the agreements (agreements file) before the events.")
                % {"uid": uid}
            )
            return
        instance.agreement = agreement

    def snapshot(self, instance, stored: bool) -> dict:
        if stored:
            municipalities = sorted(self.municipality_ids.get(instance.pk, []))
            sources = sorted(
                (source_spec(self.source_by_pk[pk]) for pk in self.source_ids.get(instance.pk, [])),
                key=lambda spec: (spec.url, spec.title),
            )
        else:
            municipalities = sorted(m.pk for m in instance._m2m["municipalities"])
            sources = sorted(instance._sources, key=lambda spec: (spec.url, spec.title))
        return {
            "partnership": instance.partnership_id,
            "kind": instance.kind,
            "date": instance.date_text,
            "status": instance.status,
            "municipalities": municipalities,
            "title": instance.title,
            "description": instance.description,
            "pillar": instance.pillar_id,
            "decided_by": instance.decided_by,
            "reason": instance.reason,
            "cost_eur": instance.cost_eur,
            "cost_note": instance.cost_note,
            "sources": sources,
            "visibility": instance.visibility,
            "agreement": instance.agreement_id,
        }

    def column_of(self, attribute: str) -> str:
        if attribute == "sources":
            return "source_url"
        return super().column_of(attribute)

    def unchecked_fields(self):
        # The date is checked (fast, cached) by its widget; uid by the loader.
        return {"date_text", "uid"}

    def check_row(self, instance, errors):
        if instance.partnership_id is None and "partnership" not in errors:
            errors.setdefault("partnership", []).append(_("Empty; give the slug of the partnership."))
        if (
            self.has_agreements
            and "agreement_uid" not in errors
            and instance.agreement_id is not None
            and instance.partnership_id is not None
            and instance.agreement.partnership_id != instance.partnership_id
        ):
            errors.setdefault("agreement_uid", []).append(
                _("The agreement “%(agreement)s” belongs to %(partnership)s, not to this event's partnership.")
                % {"agreement": instance.agreement.title, "partnership": instance.agreement.partnership.name}
            )
        if self.editable is not None and instance.partnership_id is not None:
            stored = self.stored_partnership_ids.get(instance.uid) if instance.pk else None
            touched = {instance.partnership_id, stored or instance.partnership_id}
            for partnership_id in touched - self.editable:
                name = (
                    instance.partnership.name
                    if partnership_id == instance.partnership_id
                    else self.partnership_name(partnership_id)
                )
                errors.setdefault("partnership", []).append(
                    _("You may not change %(partnership)s: none of your municipalities takes part in it.")
                    % {"partnership": name}
                )
        for spec in instance._sources:
            seen = self.new_sources.get(spec.key)
            stored = self.sources_by_key.get(spec.key)
            if seen is not None and seen[0] != spec:
                differs = differing_columns(seen[0], spec)
                errors.setdefault(differs[0], []).append(
                    _("The source %(source)s is described differently in row %(row)s (%(columns)s).")
                    % {"source": spec.url or spec.title, "row": seen[1], "columns": ", ".join(differs)}
                )
            elif seen is None and (stored is None or source_spec(stored) != spec):
                if stored is not None and not self.may_change_source(stored):
                    errors.setdefault(differing_columns(source_spec(stored), spec)[0], []).append(
                        _(
                            "The source %(source)s is also cited by events outside your municipalities, so only "
                            "an administrator can change its description. Describe it as it is, or cite a new "
                            "source (another address) for your events."
                        )
                        % {"source": spec.url or spec.title}
                    )
                    continue
                self.new_sources[spec.key] = (spec, self.current_row)

    def partnership_name(self, partnership_id: int) -> str:
        names = self.__dict__.setdefault("_partnership_names", {})
        if not names:
            names.update((p.pk, p.name) for p in self.lookups.partnerships.values())
        return names[partnership_id]

    def label(self, row) -> str:
        title = (row.get("title") or "").strip()
        if title:
            return title
        kind = vocabulary("kind").code(row.get("kind") or "")
        return vocabulary("kind").label(kind).capitalize() if kind else ""

    def detail(self, row) -> str:
        partnership = self.lookups.partnerships.get((row.get("partnership") or "").strip())
        when = dates.render_date(row.get("date"))
        return " · ".join(part for part in (when, partnership.name if partnership else "") if part)

    # Duplicates: a new row without uid that repeats a stored event or an earlier row ----------

    def duplicate_key(self, partnership_id, kind, date_text, municipality_ids) -> tuple:
        return (partnership_id, kind, date_text, frozenset(municipality_ids))

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or instance._original is not None or (row.get("uid") or "").strip():
            return super().skip_row(instance, original, row, import_validation_errors)
        # Checked now: only a valid row can be a skipped duplicate (import-export validates after this).
        self.validate_instance(instance, import_validation_errors)
        instance._validated = True
        key = self.duplicate_key(
            instance.partnership_id,
            instance.kind,
            instance.date_text,
            [m.pk for m in instance._m2m["municipalities"]],
        )
        first = self.file_keys.setdefault(key, self.current_row)
        if first != self.current_row:
            self.duplicate_note = _("The same as row %(row)s.") % {"row": first}
        elif key in self.stored_keys:
            self.duplicate_note = _("The same as the recorded event “%(title)s”.") % {
                "title": self.stored_keys[key] or vocabulary("kind").label(instance.kind)
            }
        else:
            return False
        return self.duplicates != "import"

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if not getattr(instance, "_validated", False):
            super().validate_instance(instance, import_validation_errors, validate_unique)

    def save_instance(self, instance, is_create, row, **kwargs):
        super().save_instance(instance, is_create, row, **kwargs)
        # What the rule check needs of this row, kept after the instance is written and dropped.
        number = self.current_row
        municipality_ids = [m.pk for m in instance._m2m["municipalities"]]
        facts = self.facts(instance, municipality_ids, dates.parse_date(instance.date_text), number)
        self.row_facts[instance.partnership_id].append(facts)
        self.row_of[facts.key] = number
        original = self.existing.get(instance.uid)
        if original is not None:
            self.changed_pks.add(original.pk)
            self.moved_from.add(self.stored_partnership_ids[instance.uid])

    def load_before(self, dataset) -> None:
        """The stored events of every partnership the file may touch, as they are before the import."""
        self.row_facts: dict[int, list] = defaultdict(list)
        self.rejected_rows: dict[int, list[tuple[int, str | None, set[int]]]] = defaultdict(list)
        self.row_of: dict[object, int] = {}
        self.changed_pks: set[int] = set()
        self.moved_from: set[int] = set()
        ids = {
            self.lookups.partnerships[slug].pk
            for slug in {(value or "").strip() for value in dataset["partnership"]}
            if slug in self.lookups.partnerships
        }
        ids |= {event.partnership_id for event in self.existing.values()}
        self.before_facts: dict[int, list] = defaultdict(list)
        self.stored_keys: dict[tuple, str] = {}  # (partnership, kind, date, municipalities) -> title
        self.file_keys: dict[tuple, int] = {}  # the same of the new rows without uid -> first row
        stored = list(
            Event.objects.filter(partnership_id__in=ids).values_list(
                "pk",
                "partnership_id",
                "kind",
                "status",
                "date_text",
                "date_lower",
                "date_upper",
                "date_precision",
                "role",
                "created_at",
                "title",
            )
        )
        links = m2m_ids(Event.municipalities.through, "event_id", "municipality_id", [values[0] for values in stored])
        for pk, partnership_id, kind, status, text, lower, upper, precision, role, created, title in stored:
            self.stored_keys.setdefault(self.duplicate_key(partnership_id, kind, text, links.get(pk, [])), title)
            self.before_facts[partnership_id].append(
                timeline.EventFacts(
                    key=pk,
                    kind=kind,
                    status=status,
                    date=dates.FuzzyDate(text, lower, upper, precision),
                    municipalities=tuple(self.lookups.municipality_ref(m) for m in links.get(pk, [])),
                    role=role,
                    created=created,
                )
            )

    def write(self, plans, now) -> None:
        # Sources first: events link to them. A source is written once, by the first batch citing it.
        new_sources, changed_sources = [], []
        for plan in plans:
            for spec in plan.instance._sources:
                if spec.key not in self.new_sources or spec.key in self.sources_written:
                    continue
                self.sources_written.add(spec.key)
                stored = self.sources_by_key.get(spec.key)
                if stored is None:
                    stored = Source(url=spec.url, title=spec.title, kind=spec.kind)
                    new_sources.append(stored)
                else:
                    changed_sources.append(stored)
                stored.title, stored.publisher, stored.author, stored.published_on, stored.kind = (
                    spec.title,
                    spec.publisher,
                    spec.author,
                    spec.published_on,
                    spec.kind,
                )
                self.sources_by_key[spec.key] = stored
        history = {"reason": self.batch.change_reason, "user": self.history_user(), "date": now}
        create_with_history(Source, new_sources, {}, **history)
        self.baseline(Source, changed_sources, now)
        Source.objects.bulk_update(changed_sources, ["title", "publisher", "author", "published_on", "kind"])
        self.write_history(Source, changed_sources, update=True, now=now)

        def links(plan) -> dict[str, list[int]]:
            return {
                "municipalities": [m.pk for m in plan.m2m["municipalities"]],
                "sources": sorted({self.sources_by_key[spec.key].pk for spec in plan.instance._sources}),
            }

        new_plans = [plan for plan in plans if plan.new]
        new_links = [links(plan) for plan in new_plans]
        create_with_history(
            Event,
            [plan.instance for plan in new_plans],
            {name: [plan_links[name] for plan_links in new_links] for name in ("municipalities", "sources")},
            **history,
        )

        changed_plans = [plan for plan in plans if not plan.new]
        updated = [plan.instance for plan in changed_plans]
        self.baseline(Event, updated, now)
        for event in updated:
            event.version += 1
            event.updated_at = now
        Event.objects.bulk_update(updated, EVENT_UPDATE_FIELDS, batch_size=WRITE_BATCH // 2)
        changed_links = {plan.instance.pk: links(plan) for plan in changed_plans}
        for name, stored in (("municipalities", self.municipality_ids), ("sources", self.source_ids)):
            wanted = {pk: plan_links[name] for pk, plan_links in changed_links.items()}
            replace_m2m(Event, name, wanted, stored=stored, new=set())
        self.write_history(Event, updated, update=True, now=now)
        created = [plan.instance for plan in new_plans]
        self.touched |= {event.partnership_id for event in created + updated}
        # Published, as for an event entered by hand: created, or changed to public.
        self.published.extend(event.pk for event in created)
        self.published.extend(
            plan.instance.pk
            for plan in changed_plans
            if "visibility" in plan.changes and plan.instance.visibility == Visibility.PUBLIC
        )
        for event in updated:
            del self.existing[event.uid]  # written: the import needs it no more

    def finish(self) -> None:
        self.touched |= self.moved_from
        # The rule check is done: its facts are not needed for the rebuild, which reads its own.
        self.row_facts, self.before_facts, self.row_of = {}, {}, {}
        super().finish()

    def published_events(self) -> list[int]:
        return self.published


EVENT_UPDATE_FIELDS = [
    "partnership",
    "kind",
    "date_text",
    "date_lower",
    "date_upper",
    "date_precision",
    "status",
    "title",
    "description",
    "pillar",
    "decided_by",
    "reason",
    "cost_eur",
    "cost_note",
    "visibility",
    "agreement",
    "version",
    "updated_at",
]
