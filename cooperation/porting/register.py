"""The resources of municipalities and partnerships (COLUMNS["municipalities"], ["partnerships"])."""

from __future__ import annotations

from collections import defaultdict

from django.utils.text import slugify
from django.utils.translation import gettext as _
from import_export import fields

from ..models import Membership, Municipality, Partnership, Pillar, Visibility
from .base import RegisterResource
from .bulk import replace_m2m
from .columns import (
    COLUMNS,
    WRITE_BATCH,
    ChoiceWidget,
    DayWidget,
    LookupManyToManyWidget,
    TextWidget,
    closest,
)

# --- Municipalities -------------------------------------------------------------------


class MunicipalityResource(RegisterResource):
    """cbs_code, name, province, existed_from, existed_until, merged_into (a CBS code)."""

    import_kind = "municipalities"
    key_column = "cbs_code"

    cbs_code = fields.Field(attribute="cbs_code", column_name="cbs_code", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    province = fields.Field(attribute="province", column_name="province", widget=ChoiceWidget("province", blank=True))
    existed_from = fields.Field(attribute="existed_from", column_name="existed_from", widget=DayWidget())
    existed_until = fields.Field(attribute="existed_until", column_name="existed_until", widget=DayWidget())
    merged_into = fields.Field(attribute="merged_into_code", column_name="merged_into", widget=TextWidget())

    class Meta(RegisterResource.Meta):
        model = Municipality
        fields = COLUMNS["municipalities"]
        import_order = export_order = COLUMNS["municipalities"]
        import_id_fields = ["cbs_code"]

    def dehydrate_merged_into(self, municipality):
        return municipality.merged_into.cbs_code if municipality.merged_into_id else ""

    def get_queryset(self):
        return Municipality.objects.select_related("merged_into").order_by("cbs_code")

    def load_existing(self, dataset) -> None:
        self.existing = dict(self.lookups.municipalities)
        self.slugs = set(Municipality.objects.values_list("slug", flat=True))

    def find_existing(self, row):
        code = (row.get("cbs_code") or "").strip().upper()
        if not code:
            return None
        self.remember_key(code, self.current_row)
        return self.existing.get(code)

    def init_instance(self, row=None):
        return Municipality()

    def read_row(self, instance, row, errors, **kwargs):
        instance.cbs_code = instance.cbs_code.upper()
        instance.merged_into_code = instance.merged_into_code.upper()

    def unchecked_fields(self):
        return {"slug"}  # made from the name when the municipality is written

    def snapshot(self, instance, stored: bool) -> dict:
        merged = (
            (instance.merged_into.cbs_code if instance.merged_into_id else "") if stored else instance.merged_into_code
        )
        return {
            "name": instance.name,
            "province": instance.province,
            "existed_from": instance.existed_from,
            "existed_until": instance.existed_until,
            "merged_into": merged,
        }

    def check_row(self, instance, errors):
        if not self.is_administrator:
            errors.setdefault("cbs_code", []).append(_("Only administrators may import municipalities."))
        if instance.existed_from and instance.existed_until and instance.existed_from > instance.existed_until:
            errors.setdefault("existed_until", []).append(_("This day lies before existed_from."))
        if instance.merged_into_code and instance.merged_into_code == instance.cbs_code:
            errors.setdefault("merged_into", []).append(_("A municipality cannot merge into itself."))

    def check_all(self) -> None:
        file_codes = {plan.instance.cbs_code: plan for plan in self.plans}
        known = set(self.existing) | set(file_codes)
        successor = {code: m.merged_into.cbs_code for code, m in self.existing.items() if m.merged_into_id}
        for code, plan in file_codes.items():
            if plan.instance.merged_into_code:
                successor[code] = plan.instance.merged_into_code
            else:
                successor.pop(code, None)
        for code, plan in file_codes.items():
            target = plan.instance.merged_into_code
            if target and target not in known:
                message = _("Unknown CBS code “%(value)s”.") % {"value": target}
                suggestions = closest(target, self.lookups.municipality_labels)
                if suggestions:
                    message += " " + _("Closest municipalities: %(names)s.") % {"names": ", ".join(suggestions)}
                self.problems.append((plan.row, "merged_into", message))
                continue
            chain, step = [code], successor.get(code)
            while step and step not in chain and len(chain) < 100:
                chain.append(step)
                step = successor.get(step)
            if step in chain:
                self.problems.append(
                    (
                        plan.row,
                        "merged_into",
                        _("The mergers form a circle: %(chain)s.") % {"chain": " → ".join([*chain, step])},
                    )
                )

    def write(self, plans, now) -> None:
        created = [plan.instance for plan in plans if plan.new]
        updated = [plan.instance for plan in plans if not plan.new]
        self.baseline(Municipality, updated, now)
        for municipality in created:
            base = slugify(municipality.name) or municipality.cbs_code.lower()
            slug = base if base not in self.slugs else f"{base}-{municipality.cbs_code.lower()}"
            self.slugs.add(slug)
            municipality.slug = slug
            municipality.merged_into = None
        Municipality.objects.bulk_create(created, batch_size=WRITE_BATCH)
        by_code = {m.cbs_code: m for m in Municipality.objects.all()}
        for municipality in created + updated:
            municipality.merged_into = by_code.get(municipality.merged_into_code)
        Municipality.objects.bulk_update(
            created + updated,
            ["name", "province", "existed_from", "existed_until", "merged_into"],
            batch_size=WRITE_BATCH,
        )
        self.write_history(Municipality, created, update=False, now=now)
        self.write_history(Municipality, updated, update=True, now=now)
        # Member names are part of a partnership's search text.
        renamed = [plan.instance.pk for plan in plans if "name" in plan.changes]
        self.touched |= set(
            Membership.objects.filter(municipality__in=renamed).values_list("partnership_id", flat=True)
        )


# --- Partnerships ---------------------------------------------------------------------


class PartnershipResource(RegisterResource):
    """slug, name, legal_form, pillars (codes separated by ";"), summary, visibility, last_verified."""

    import_kind = "partnerships"
    key_column = "slug"

    slug = fields.Field(attribute="slug", column_name="slug", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    legal_form = fields.Field(
        attribute="legal_form",
        column_name="legal_form",
        widget=ChoiceWidget("legal_form", default=Partnership.LegalForm.COVENANT),
    )
    pillars = fields.Field(
        attribute="pillars", column_name="pillars", widget=LookupManyToManyWidget(Pillar, "code", "pillar")
    )
    summary = fields.Field(attribute="summary", column_name="summary", widget=TextWidget())
    visibility = fields.Field(
        attribute="visibility", column_name="visibility", widget=ChoiceWidget("visibility", default=Visibility.PUBLIC)
    )
    last_verified = fields.Field(attribute="last_verified", column_name="last_verified", widget=DayWidget())

    class Meta(RegisterResource.Meta):
        model = Partnership
        fields = COLUMNS["partnerships"]
        import_order = export_order = COLUMNS["partnerships"]
        import_id_fields = ["slug"]

    def get_queryset(self):
        return Partnership.objects.prefetch_related("pillars").order_by("slug")

    def load_existing(self, dataset) -> None:
        slugs = {(value or "").strip() for value in dataset["slug"]} - {""}
        self.existing = {p.slug: p for p in Partnership.objects.filter(slug__in=slugs)}
        pillar_ids = defaultdict(list)
        for partnership_id, pillar_id in Partnership.pillars.through.objects.filter(
            partnership__slug__in=slugs
        ).values_list("partnership_id", "pillar_id"):
            pillar_ids[partnership_id].append(pillar_id)
        self.pillar_ids = pillar_ids
        self.editable = self.editable_ids()

    def find_existing(self, row):
        slug = (row.get("slug") or "").strip()
        if not slug:
            return None
        self.remember_key(slug, self.current_row)
        return self.existing.get(slug)

    def init_instance(self, row=None):
        return Partnership()

    def snapshot(self, instance, stored: bool) -> dict:
        pillars = self.pillar_ids.get(instance.pk, []) if stored else [p.pk for p in instance._m2m["pillars"]]
        return {
            "name": instance.name,
            "legal_form": instance.legal_form,
            "pillars": sorted(pillars),
            "summary": instance.summary,
            "visibility": instance.visibility,
            "last_verified": instance.last_verified,
        }

    def unchecked_fields(self):
        return {"status", "search_text"}

    def check_row(self, instance, errors):
        if self.editable is None:
            return
        if instance.pk is None:
            errors.setdefault("slug", []).append(
                _("Only administrators may create partnerships by import; “%(slug)s” does not exist yet.")
                % {"slug": instance.slug}
            )
        elif instance.pk not in self.editable:
            errors.setdefault("slug", []).append(
                _("You may not change %(partnership)s: none of your municipalities takes part in it.")
                % {"partnership": instance.name}
            )

    def write(self, plans, now) -> None:
        created = [plan.instance for plan in plans if plan.new]
        updated = [plan.instance for plan in plans if not plan.new]
        self.baseline(Partnership, updated, now)
        for partnership in updated:
            partnership.version += 1
            partnership.updated_at = now
        Partnership.objects.bulk_create(created, batch_size=WRITE_BATCH)
        Partnership.objects.bulk_update(
            updated,
            ["name", "legal_form", "summary", "visibility", "last_verified", "version", "updated_at"],
            batch_size=WRITE_BATCH,
        )
        replace_m2m(
            Partnership,
            "pillars",
            {plan.instance.pk: [p.pk for p in plan.m2m["pillars"]] for plan in plans},
            stored=self.pillar_ids,
            new={partnership.pk for partnership in created},
        )
        self.write_history(Partnership, created, update=False, now=now)
        self.write_history(Partnership, updated, update=True, now=now)
        self.touched |= {plan.instance.pk for plan in plans}
