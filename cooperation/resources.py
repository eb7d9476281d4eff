"""django-import-export resources for the register, keyed by codes and slugs.

CBS codes, partnership slugs, pillar and kind codes and event uids identify
everything, never database ids, so a file exported by one portal imports into
another. The columns are a public contract: docs/import-formats.md (format
version 1).

The resources are built for large files. Lookups (municipalities,
partnerships, pillars, sources, existing rows) are loaded once per import;
rows are checked in memory, without a query per row; the domain rules run
once per partnership over its existing and imported events together
(`timeline.check_rules`); rows are written in bulk with their history
(`history_change_reason` = ``import:<batch id>``), in batches as
django-import-export's bulk mode collects them, and only while no row has
failed. Call them through `imports.run_import()`, which adds file reading,
permissions and the one transaction that is rolled back when any row or rule
has a problem: all or nothing.
"""

from __future__ import annotations

import datetime
import difflib
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import connection, models, reset_queries
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import Result, RowResult

from . import dates, notifications, permissions, services, timeline
from .derived import chunks, m2m_ids
from .history import create_with_history, ensure_baseline, insert_links, m2m_names, record_bulk
from .models import (
    CBS_CODE_PATTERN,
    Event,
    ImportBatch,
    Membership,
    Municipality,
    Partnership,
    Pillar,
    Province,
    Source,
    Visibility,
)

FORMAT_VERSION = 1

COLUMNS = {
    "municipalities": ("cbs_code", "name", "province", "existed_from", "existed_until", "merged_into"),
    "partnerships": ("slug", "name", "legal_form", "pillars", "summary", "visibility", "last_verified"),
    "events": (
        "uid",
        "partnership",
        "kind",
        "date",
        "status",
        "municipalities",
        "title",
        "description",
        "pillar",
        "decided_by",
        "reason",
        "cost_eur",
        "cost_note",
        "source_url",
        "source_title",
        "source_publisher",
        "source_author",
        "source_date",
        "visibility",
    ),
}
SOURCE_COLUMNS = ("source_url", "source_title", "source_publisher", "source_author", "source_date")
LIST_SEPARATOR = ";"
# Rows kept for the preview; the counts always cover the whole file.
PREVIEW_ROWS = 1000
WRITE_BATCH = 2000

_DUTCH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
_CBS_CODE = re.compile(CBS_CODE_PATTERN)
_SPACE = re.compile(r"\s")


def _quoted(values) -> str:
    return ", ".join(f"“{value}”" for value in values)


def closest(value: str, candidates: dict[str, str], limit: int = 3) -> list[str]:
    """Labels of the candidates whose key is most like `value` (keys are matched in lower case)."""
    lowered = {key.lower(): label for key, label in candidates.items()}
    return [lowered[key] for key in difflib.get_close_matches(value.lower(), list(lowered), n=limit, cutoff=0.6)]


def parse_day(value: str) -> datetime.date | None:
    """An ISO day (2024-01-31) or a Dutch one (31-01-2024); empty is None; raises ValueError."""
    value = (value or "").strip()
    if not value:
        return None
    match = _DUTCH_DAY.match(value)
    try:
        if match:
            return datetime.date(int(match[3]), int(match[2]), int(match[1]))
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            _("“%(value)s” is not a day; write it as 2024-01-31 or 31-01-2024.") % {"value": value}
        ) from None


def parse_amount(value: str) -> Decimal | None:
    """Euros as Dutch or English spreadsheets write them: 125000, 125000.50, 125.000,50, € 1.250."""
    if not value:
        return None
    text = value.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1 or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise ValueError(
            _("“%(value)s” is not an amount in euros; write it as 125000 or 125000,50.") % {"value": value}
        )
    return amount.quantize(Decimal("0.01"))


def render_amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


_DEFAULTS: dict[type, tuple[dict, list]] = {}


def new_instance(model):
    """A new, unsaved instance with its field defaults, as `model()` makes it but three times faster.

    Model.__init__ works field by field (30 µs for an Event); an import of
    100,000 rows copies the default values instead (tests/test_import.py checks
    the result equals `model()`). There are no pre_init/post_init receivers in
    this project to skip.
    """
    if model not in _DEFAULTS:
        fields = model._meta.concrete_fields
        dynamic = [(f.attname, f.default) for f in fields if f.has_default() and callable(f.default)]
        static = {f.attname: f.get_default() for f in fields if not (f.has_default() and callable(f.default))}
        _DEFAULTS[model] = static, dynamic
    static, dynamic = _DEFAULTS[model]
    instance = model.__new__(model)
    values = instance.__dict__
    values.update(static)
    values["_state"] = ModelState()
    for attname, default in dynamic:
        values[attname] = default()
    return instance


def is_web_address(url: str) -> bool:
    """http(s), a host, no spaces: what a source needs (Django's URLValidator costs 0.1 ms a call)."""
    if len(url) > 500 or _SPACE.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and "." in host


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


# --- Widgets: text <-> value, with the lookups of the running import -----------------


class TextWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return (value or "").strip()

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class ChoiceWidget(TextWidget):
    """A code from a fixed vocabulary; empty gives the default (or is an error without one)."""

    def __init__(self, choices, default: str | None = None, blank: bool = False):
        self.codes = [code for code, _label in choices.choices]
        self.by_lower = {code.lower(): code for code in self.codes}
        self.default = default
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        if not value:
            if self.default is not None:
                return self.default
            if self.blank:
                return ""
            raise ValueError(_("Empty; give one of: %(codes)s.") % {"codes": ", ".join(self.codes)})
        code = self.by_lower.get(value.strip().lower())
        if code is None:
            raise ValueError(
                _("Unknown code “%(value)s”; use one of: %(codes)s.") % {"value": value, "codes": ", ".join(self.codes)}
            )
        return code


class DayWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return parse_day(value)

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class AmountWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return parse_amount(value)

    def render(self, value, obj=None, **kwargs):
        return render_amount(value)


class EdtfWidget(TextWidget):
    """An EDTF date (or a Dutch dd-mm-jjjj day), normalised; the parse is cached in `dates`."""

    def clean(self, value, row=None, **kwargs):
        try:
            return dates.parse_date(value).text
        except ValidationError as error:
            raise ValueError(" ".join(error.messages)) from None


class LookupForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by code or slug, looked up in the import's cache instead of one query per row."""

    def __init__(self, model, field, lookup_name: str):
        super().__init__(model, field=field)
        self.lookup_name = lookup_name
        self.resource = None

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        return self.resource.lookups.find(self.lookup_name, value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else getattr(value, self.field)


class LookupManyToManyWidget(widgets.ManyToManyWidget):
    """Codes separated by ";", looked up in the import's cache; rendered sorted, so exports are stable."""

    def __init__(self, model, field, lookup_name: str):
        super().__init__(model, separator=LIST_SEPARATOR, field=field)
        self.lookup_name = lookup_name
        self.resource = None

    def clean(self, value, row=None, **kwargs):
        found, unknown = [], []
        for code in split_list(value or ""):
            try:
                item = self.resource.lookups.find(self.lookup_name, code)
            except ValueError as error:
                unknown.append(str(error))
                continue
            if item not in found:
                found.append(item)
        if unknown:
            raise ValueError(" ".join(unknown))
        return found

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return LIST_SEPARATOR.join(sorted(getattr(item, self.field) for item in value.all()))


# --- Lookups: everything a row refers to, loaded once -----------------------------------


class Lookups:
    """Caches of the objects that rows refer to, with "did you mean" suggestions."""

    def __init__(self):
        municipalities = list(Municipality.objects.select_related("merged_into"))
        self.municipalities = {m.cbs_code: m for m in municipalities}
        self.municipality_labels = {m.cbs_code: f"{m.name} ({m.cbs_code})" for m in municipalities}
        self.municipality_names = {m.name: f"{m.name} ({m.cbs_code})" for m in municipalities}
        self.codes = {m.pk: m.cbs_code for m in municipalities}
        self.partnerships = {p.slug: p for p in Partnership.objects.only("pk", "slug", "name", "visibility")}
        self.pillars = {p.code: p for p in Pillar.objects.all()}
        self._refs: dict[int, timeline.MunicipalityRef] | None = None

    def find(self, name: str, value: str):
        value = value.strip()
        if name == "municipality":
            code = value.upper()
            if code in self.municipalities:
                return self.municipalities[code]
            if _CBS_CODE.match(code) or code.startswith("GM") or code.isdigit():
                suggestions = closest(code, self.municipality_labels)
            else:
                suggestions = closest(value, self.municipality_names)
            message = _("Unknown CBS code “%(value)s”.") % {"value": value}
            if suggestions:
                message += " " + _("Closest municipalities: %(names)s.") % {"names": ", ".join(suggestions)}
            raise ValueError(message)
        if name == "partnership":
            if value in self.partnerships:
                return self.partnerships[value]
            message = _("Unknown partnership “%(value)s”: give the slug of an existing partnership.") % {"value": value}
            suggestions = closest(value, {slug: slug for slug in self.partnerships})
            if suggestions:
                message += " " + _("Did you mean %(slugs)s?") % {"slugs": _quoted(suggestions)}
            raise ValueError(message)
        if name == "pillar":
            if value.lower() in self.pillars:
                return self.pillars[value.lower()]
            raise ValueError(
                _("Unknown pillar “%(value)s”; use one of: %(codes)s.")
                % {"value": value, "codes": ", ".join(self.pillars)}
            )
        raise LookupError(name)

    def municipality_ref(self, pk: int) -> timeline.MunicipalityRef:
        """What the domain rules need of a municipality (its name, end and successor)."""
        if self._refs is None:
            self._refs = {
                m.pk: timeline.MunicipalityRef(
                    pk=m.pk,
                    name=m.name,
                    existed_until=m.existed_until,
                    successor_name=m.merged_into.name if m.merged_into_id else "",
                )
                for m in self.municipalities.values()
            }
        return self._refs[pk]


# --- The shared machinery ---------------------------------------------------------------


class PreviewRowResult(RowResult):
    """A row result that does not render the instance (a Python str() per row adds up)."""

    def add_instance_info(self, instance):
        if instance is not None:
            self.object_id = instance.pk


class PreviewResult(Result):
    """Keeps the first PREVIEW_ROWS row results for the preview; the totals count them all."""

    def append_row_result(self, row_result):
        if len(self.rows) < PREVIEW_ROWS:
            self.rows.append(row_result)


class KeyLoader(BaseInstanceLoader):
    """Existing rows by natural key, loaded in one go by the resource (see `load_existing`)."""

    def get_instance(self, row):
        return self.resource.find_existing(row)


@dataclass
class RowPlan:
    """What one valid, changed row will write."""

    row: int
    instance: object
    new: bool
    changes: tuple[str, ...]
    m2m: dict


class RegisterResource(resources.ModelResource):
    """Common behaviour of the register's resources.

    Subclasses name their `import_kind`, load existing rows (`load_existing`),
    read one row into an instance (`read_row`), compare it with what is stored
    (`snapshot`), check all rows together (`check_all`) and write a batch of
    rows with their history (`write`).
    """

    import_kind = ""
    key_column = ""
    # Write each batch as it fills (large files) or everything after the last row (rows refer to later rows).
    streaming = False

    class Meta:
        use_bulk = True
        batch_size = None  # see `streaming`; a streaming resource sets WRITE_BATCH
        skip_diff = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = False
        instance_loader_class = KeyLoader
        chunk_size = 2000

    def __init__(self, *, user=None, filename: str = "", sha256: str = "", progress=None):
        super().__init__()
        self.user = user
        self.filename = filename
        self.sha256 = sha256
        self.progress = progress
        self.problems: list[tuple[int | None, str, str]] = []
        self.plans: list[RowPlan] = []
        self.previews: list[tuple[int, str, str, str, tuple[str, ...]]] = []
        self.counts = {"new": 0, "updated": 0, "unchanged": 0, "rows": 0}
        self.keys_seen: dict[str, int] = {}
        self.batch: ImportBatch | None = None
        self.total = 0
        self._import_fields = None
        self._checks = None
        self._columns = None
        self.touched: set[int] = set()

    # Column names, not attribute names, in every message.
    def column_of(self, attribute: str) -> str:
        for field in self.fields.values():
            if field.attribute == attribute or field.column_name == attribute:
                return field.column_name
        return attribute

    def get_import_fields(self):
        if self._import_fields is None:
            self._import_fields = super().get_import_fields()
        return self._import_fields

    @classmethod
    def get_row_result_class(cls):
        return PreviewRowResult

    @classmethod
    def get_result_class(cls):
        return PreviewResult

    def before_import(self, dataset, **kwargs):
        self.total = sum(1 for values in dataset if any(values))
        self.lookups = Lookups()
        for field in self.fields.values():
            if hasattr(field.widget, "resource"):
                field.widget.resource = self
        self.is_administrator = permissions.is_administrator(self.user)
        self.load_existing(dataset)

    def load_existing(self, dataset) -> None:
        raise NotImplementedError

    def editable_ids(self) -> set[int] | None:
        """The partnerships an editor may change; None for an administrator (all)."""
        if self.is_administrator:
            return None
        return set(permissions.editable_partnerships(self.user).values_list("pk", flat=True))

    def find_existing(self, row):
        raise NotImplementedError

    def row_number(self, kwargs) -> int:
        # import-export counts data rows from 1; a spreadsheet shows the header as row 1.
        return kwargs["row_number"] + 1

    def remember_key(self, key: str, row: int) -> None:
        """A key may occur once per file: a second row with it would silently win."""
        first = self.keys_seen.setdefault(key, row)
        if first != row:
            raise ValidationError(
                {
                    self.key_column: _("“%(key)s” occurs more than once in this file (first in row %(row)s).")
                    % {"key": key, "row": first}
                }
            )

    def import_row(self, row, instance_loader, **kwargs):
        self.current_row = self.row_number(kwargs)
        if not any(row.values()):
            result = self.get_row_result_class()()
            result.import_type = RowResult.IMPORT_TYPE_SKIP
            return result
        self.counts["rows"] += 1
        if self.progress and self.counts["rows"] % 1000 == 0:
            self.progress(self.counts["rows"], self.total)
        result = super().import_row(row, instance_loader, **kwargs)
        number = self.row_number(kwargs)
        if result.validation_error is not None:
            error = result.validation_error
            by_column = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            for column, messages in by_column.items():
                column = self.column_of(column) if column not in ("__all__", "") else ""
                for message in messages:
                    self.problems.append((number, column, message))
        for error in result.errors:
            self.problems.append((number, "", str(error.error)))
        return result

    def import_instance(self, instance, row, **kwargs):
        """Reads every column into the instance; errors are collected per column.

        What Field.save() does for each field, with the field list worked out once
        instead of per row and per field.
        """
        if self._columns is None:
            self._columns = [
                (field.column_name, field.attribute, field.widget, isinstance(field.widget, widgets.ManyToManyWidget))
                for field in self.get_import_fields()
                if field.attribute and not field.readonly
            ]
        errors: dict[str, list[str]] = {}
        instance._m2m = {}
        for column, attribute, widget, many in self._columns:
            try:
                value = widget.clean(row[column], row=row)
            except ValueError as error:
                errors.setdefault(column, []).append(str(error))
                continue
            if many:
                instance._m2m[attribute] = value
            else:
                setattr(instance, attribute, value)
        self.read_row(instance, row, errors, **kwargs)
        if errors:
            raise ValidationError(errors)

    def read_row(self, instance, row, errors, **kwargs) -> None:
        """Kind-specific reading beyond the plain columns."""

    def after_init_instance(self, instance, new, row, **kwargs):
        instance._original = None if new else self.snapshot(instance, stored=True)

    def snapshot(self, instance, stored: bool) -> dict:
        """The values this file format carries, to tell an update from an unchanged row."""
        raise NotImplementedError

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or instance._original is None:
            return False
        return self.snapshot(instance, stored=False) == instance._original

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors: dict[str, list] = {}
        for key, messages in (import_validation_errors or {}).items():
            errors.setdefault(self.column_of(key), []).extend(messages)
        self.check_fields(instance, errors)
        self.check_row(instance, errors)
        if errors:
            raise ValidationError(errors)

    def unchecked_fields(self) -> set[str]:
        return set()

    def check_fields(self, instance, errors: dict) -> None:
        """Django's own checks (required, lengths, formats) of the model fields the file gives.

        What `clean_fields()` does, without its cost per row: a text within its
        length is not run through the validators. References were checked by the
        lookups and codes by their widgets; a column that failed is not checked twice.
        """
        if self._checks is None:
            given = {field.attribute for field in self.get_import_fields() if field.attribute}
            self._checks = []
            for model_field in instance._meta.concrete_fields:
                name = model_field.name
                if model_field.is_relation or name not in given or name in self.unchecked_fields():
                    continue
                simple = isinstance(model_field, models.CharField | models.TextField) and all(
                    isinstance(v, MaxLengthValidator | ProhibitNullCharactersValidator) for v in model_field.validators
                )
                self._checks.append((model_field, self.column_of(name), simple))
        for model_field, column, simple in self._checks:
            if column in errors:
                continue
            value = getattr(instance, model_field.attname)
            try:
                if not simple:
                    model_field.clean(value, instance)
                elif not value:
                    if not model_field.blank:
                        raise ValidationError(model_field.error_messages["blank"], code="blank")
                elif (model_field.max_length and len(value) > model_field.max_length) or "\x00" in value:
                    model_field.run_validators(value)
            except ValidationError as error:
                errors.setdefault(column, []).extend(error.messages)

    def check_row(self, instance, errors: dict) -> None:
        """Kind-specific checks of one row (permissions, consistency)."""

    def save_instance(self, instance, is_create, row, **kwargs):
        changes = ()
        if not is_create:
            current = self.snapshot(instance, stored=False)
            changes = tuple(self.column_of(key) for key, value in current.items() if instance._original[key] != value)
        self.plans.append(RowPlan(self.row_number(kwargs), instance, is_create, changes, instance._m2m))
        super().save_instance(instance, is_create, row, **kwargs)

    def after_import_row(self, row, row_result, **kwargs):
        if row_result.import_type not in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE):
            if row_result.import_type == RowResult.IMPORT_TYPE_SKIP:
                self.counts["unchanged"] += 1
                self._preview(kwargs, "unchanged", row, ())
            return
        if row_result.import_type == RowResult.IMPORT_TYPE_NEW:
            self.counts["new"] += 1
            self._preview(kwargs, "new", row, ())
        else:
            self.counts["updated"] += 1
            self._preview(kwargs, "update", row, self.plans[-1].changes)

    def _preview(self, kwargs, action: str, row, changes) -> None:
        if len(self.previews) < PREVIEW_ROWS:
            self.previews.append(
                (self.row_number(kwargs), action, row.get(self.key_column, ""), self.label(row), changes)
            )

    def label(self, row) -> str:
        return row.get("name", "")

    # import-export calls these when a batch is full and after the last row. All of it happens in
    # run_import()'s transaction, which is rolled back when any row or rule has a problem.
    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.streaming:
            self.flush(dry_run)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.streaming:
            self.flush(dry_run)

    def bulk_delete(self, *args, **kwargs):
        pass  # an import never deletes

    def flush(self, dry_run: bool) -> None:
        """Write the rows read since the last flush, unless this is a dry run or a row failed already."""
        plans, self.plans = self.plans, []
        self.create_instances.clear()
        self.update_instances.clear()
        if settings.DEBUG and not connection.force_debug_cursor:
            reset_queries()  # DEBUG keeps every statement; an import's are megabytes each
        if not plans or dry_run or self.problems:
            return
        if self.batch is None:
            self.batch = ImportBatch.objects.create(
                kind=self.import_kind,
                filename=self.filename[:255],
                sha256=self.sha256,
                user=self.history_user(),
            )
            self.now = timezone.now()
        self.write(plans, self.now)

    def after_import(self, dataset, result, **kwargs):
        dry_run = kwargs.get("dry_run")
        self.check_all()
        if not self.problems:
            self.flush(dry_run)
        if self.batch is not None and not self.problems:
            self.finish()
            self.batch.total_rows = self.counts["rows"]
            self.batch.new, self.batch.updated, self.batch.unchanged = (
                self.counts["new"],
                self.counts["updated"],
                self.counts["unchanged"],
            )
            self.batch.save(update_fields=["total_rows", "new", "updated", "unchanged"])
        if self.progress:
            self.progress(self.counts["rows"], self.total)

    def check_all(self) -> None:
        """Checks over all valid rows together (domain rules, references between rows)."""

    def finish(self) -> None:
        """After the last write: the derived data of what the import touched."""
        services.partnerships_changed(partnership_ids=self.touched)

    def baseline(self, model, objects, now) -> None:
        """Record the state before the import of objects that have no history yet (see ensure_baseline)."""
        ensure_baseline(
            model,
            [obj.pk for obj in objects],
            date=now - datetime.timedelta(microseconds=1),
            reason=f"before:{self.batch.change_reason}",
        )

    def write(self, plans: list[RowPlan], now: datetime.datetime) -> None:
        raise NotImplementedError

    def history_user(self):
        return self.user if getattr(self.user, "pk", None) else None

    def write_history(self, model, objects, *, update: bool, now) -> None:
        """The historical records of objects this import wrote, with their links, as one change set."""
        record_bulk(
            model,
            [obj.pk for obj in objects],
            history_type="~" if update else "+",
            reason=self.batch.change_reason,
            user=self.history_user(),
            date=now,
        )


# --- Municipalities -------------------------------------------------------------------


class MunicipalityResource(RegisterResource):
    """cbs_code, name, province, existed_from, existed_until, merged_into (a CBS code)."""

    import_kind = "municipalities"
    key_column = "cbs_code"

    cbs_code = fields.Field(attribute="cbs_code", column_name="cbs_code", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    province = fields.Field(attribute="province", column_name="province", widget=ChoiceWidget(Province, blank=True))
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
        widget=ChoiceWidget(Partnership.LegalForm, default=Partnership.LegalForm.COVENANT),
    )
    pillars = fields.Field(
        attribute="pillars", column_name="pillars", widget=LookupManyToManyWidget(Pillar, "code", "pillar")
    )
    summary = fields.Field(attribute="summary", column_name="summary", widget=TextWidget())
    visibility = fields.Field(
        attribute="visibility", column_name="visibility", widget=ChoiceWidget(Visibility, default=Visibility.PUBLIC)
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


# --- Events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSpec:
    url: str
    title: str
    publisher: str
    author: str
    published_on: datetime.date | None

    @property
    def key(self) -> tuple:
        return ("url", self.url) if self.url else ("text", self.title, self.publisher, self.author, self.published_on)


def _source_spec(source: Source) -> SourceSpec:
    return SourceSpec(source.url, source.title, source.publisher, source.author, source.published_on)


class EventResource(RegisterResource):
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
    kind = fields.Field(attribute="kind", column_name="kind", widget=ChoiceWidget(Event.Kind))
    date = fields.Field(attribute="date_text", column_name="date", widget=EdtfWidget())
    status = fields.Field(
        attribute="status", column_name="status", widget=ChoiceWidget(Event.Status, default=Event.Status.HAPPENED)
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
        attribute="decided_by", column_name="decided_by", widget=ChoiceWidget(Event.DecidedBy, blank=True)
    )
    reason = fields.Field(attribute="reason", column_name="reason", widget=TextWidget())
    cost_eur = fields.Field(attribute="cost_eur", column_name="cost_eur", widget=AmountWidget())
    cost_note = fields.Field(attribute="cost_note", column_name="cost_note", widget=TextWidget())
    source_url = fields.Field(column_name="source_url", dehydrate_method="sources_column")
    source_title = fields.Field(column_name="source_title", dehydrate_method="sources_column")
    source_publisher = fields.Field(column_name="source_publisher", dehydrate_method="sources_column")
    source_author = fields.Field(column_name="source_author", dehydrate_method="sources_column")
    source_date = fields.Field(column_name="source_date", dehydrate_method="sources_column")
    visibility = fields.Field(
        attribute="visibility", column_name="visibility", widget=ChoiceWidget(Visibility, default=Visibility.PUBLIC)
    )

    class Meta(RegisterResource.Meta):
        model = Event
        batch_size = WRITE_BATCH
        fields = COLUMNS["events"]
        import_order = export_order = COLUMNS["events"]
        import_id_fields = ["uid"]

    def get_queryset(self):
        return (
            Event.objects.select_related("partnership", "pillar")
            .prefetch_related("municipalities", "sources")
            .order_by("partnership__slug", "date_lower", "date_upper", "kind", "uid")
        )

    # Export -----------------------------------------------------------------------

    def export_field(self, field, instance, **kwargs):
        if field.column_name in SOURCE_COLUMNS:
            return self.sources_column(instance, field.column_name)
        return super().export_field(field, instance, **kwargs)

    def sources_column(self, event, column: str) -> str:
        """Several sources: one per line, the same line in every source column."""
        specs = sorted((_source_spec(s) for s in event.sources.all()), key=lambda s: (s.url, s.title))
        attribute = {"source_date": "published_on", "source_url": "url"}.get(column, column.removeprefix("source_"))
        values = [getattr(spec, attribute) for spec in specs]
        values = [value.isoformat() if isinstance(value, datetime.date) else (value or "") for value in values]
        return "" if not any(values) else "\n".join(values)

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
        ids = [event.pk for event in self.existing.values()]
        self.municipality_ids = m2m_ids(Event.municipalities.through, "event_id", "municipality_id", ids)
        self.source_ids = m2m_ids(Event.sources.through, "event_id", "source_id", ids)
        urls = set()
        for value in dataset["source_url"]:
            urls.update(line.strip() for line in (value or "").splitlines() if line.strip())
        self.sources_by_key: dict[tuple, Source] = {}
        for chunk in chunks(sorted(urls), 10000):
            for source in Source.objects.filter(url__in=chunk):
                self.sources_by_key[_source_spec(source).key] = source
        for source in Source.objects.filter(url=""):
            self.sources_by_key.setdefault(_source_spec(source).key, source)
        linked = set().union(*self.source_ids.values()) if self.source_ids else set()
        missing = linked - {s.pk for s in self.sources_by_key.values()}
        for chunk in chunks(sorted(missing), 10000):
            for source in Source.objects.filter(pk__in=chunk):
                self.sources_by_key.setdefault(_source_spec(source).key, source)
        self.source_by_pk = {s.pk: s for s in self.sources_by_key.values()}
        self.new_sources: dict[tuple, tuple[SourceSpec, int]] = {}
        self.sources_written: set[tuple] = set()
        self.editable = self.editable_ids()
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

    def read_sources(self, row, errors) -> list[SourceSpec]:
        columns = {column: row[column] for column in SOURCE_COLUMNS}
        if not any(columns.values()):
            return []
        # Several sources: one per line, the n-th line of each source column belongs to the n-th source.
        lines = {column: value.replace("\r\n", "\n").split("\n") if value else [] for column, value in columns.items()}
        count = max(len(values) for values in lines.values())
        specs = []
        for index in range(count):
            value = {column: values[index].strip() if index < len(values) else "" for column, values in lines.items()}
            url = value["source_url"]
            if url and not is_web_address(url):
                errors.setdefault("source_url", []).append(
                    _("“%(value)s” is not a web address (https://…).") % {"value": url}
                )
                continue
            try:
                published_on = parse_day(value["source_date"])
            except ValueError as error:
                errors.setdefault("source_date", []).append(str(error))
                continue
            if not value["source_title"]:
                errors.setdefault("source_title", []).append(_("Every source needs a title."))
                continue
            for column, limit in (("source_url", 500), ("source_title", 300)):
                if len(value[column]) > limit:
                    errors.setdefault(column, []).append(_("Longer than %(limit)s characters.") % {"limit": limit})
            for column in ("source_publisher", "source_author"):
                if len(value[column]) > 200:
                    errors.setdefault(column, []).append(_("Longer than %(limit)s characters.") % {"limit": 200})
            specs.append(
                SourceSpec(url, value["source_title"], value["source_publisher"], value["source_author"], published_on)
            )
        return specs

    def snapshot(self, instance, stored: bool) -> dict:
        if stored:
            municipalities = sorted(self.municipality_ids.get(instance.pk, []))
            sources = sorted(
                (_source_spec(self.source_by_pk[pk]) for pk in self.source_ids.get(instance.pk, [])),
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
        if self.editable is not None and instance.partnership_id is not None:
            original = self.existing.get(instance.uid)
            touched = {instance.partnership_id, original.partnership_id if original else instance.partnership_id}
            for partnership_id in touched - self.editable:
                name = (
                    instance.partnership.name
                    if partnership_id == instance.partnership_id
                    else original.partnership.name
                )
                errors.setdefault("partnership", []).append(
                    _("You may not change %(partnership)s: none of your municipalities takes part in it.")
                    % {"partnership": name}
                )
        for spec in instance._sources:
            seen = self.new_sources.get(spec.key)
            stored = self.sources_by_key.get(spec.key)
            if seen is not None and seen[0] != spec:
                errors.setdefault("source_title", []).append(
                    _("The source %(source)s is described differently in row %(row)s.")
                    % {"source": spec.url or spec.title, "row": seen[1]}
                )
            elif seen is None and (stored is None or _source_spec(stored) != spec):
                self.new_sources[spec.key] = (spec, self.current_row)

    def label(self, row) -> str:
        return " · ".join(part for part in (row.get("partnership"), row.get("kind"), row.get("date")) if part)

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
            self.moved_from.add(original.partnership_id)

    def load_before(self, dataset) -> None:
        """The stored events of every partnership the file may touch, as they are before the import."""
        self.row_facts: dict[int, list] = defaultdict(list)
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
            )
        )
        links = m2m_ids(Event.municipalities.through, "event_id", "municipality_id", [values[0] for values in stored])
        for pk, partnership_id, kind, status, text, lower, upper, precision, role, created in stored:
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

    def check_all(self) -> None:
        """The domain rules over each touched partnership's existing and imported events together."""
        touched = set(self.row_facts) | self.moved_from
        if not touched:
            return
        names = {p.pk: p.name for p in Partnership.objects.filter(pk__in=touched).only("pk", "name")}
        for partnership_id in sorted(touched):
            before = self.before_facts.get(partnership_id, [])
            after = [facts for facts in before if facts.key not in self.changed_pks]
            after += self.row_facts.get(partnership_id, [])
            violations = timeline.check_rules(after, names[partnership_id])
            known = None
            for violation in violations:
                if violation.event_key in self.row_of:
                    self.problems.append(
                        (self.row_of[violation.event_key], RULE_COLUMNS[violation.code], violation.message)
                    )
                    continue
                if known is None:
                    known = {(v.event_key, v.message) for v in timeline.check_rules(before, names[partnership_id])}
                if (violation.event_key, violation.message) not in known:
                    self.problems.append(
                        (
                            None,
                            "",
                            _("%(message)s (An event already recorded, which this file would make invalid.)")
                            % {"message": violation.message},
                        )
                    )

    def facts(self, event, municipality_ids, date, row=None) -> timeline.EventFacts:
        return timeline.EventFacts(
            key=event.pk or ("row", row),
            kind=event.kind,
            status=event.status,
            date=date,
            municipalities=tuple(self.lookups.municipality_ref(pk) for pk in municipality_ids),
            role=event.role,
            created=event.created_at or datetime.datetime.max.replace(tzinfo=datetime.UTC),
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
                    stored = Source(url=spec.url, title=spec.title)
                    new_sources.append(stored)
                else:
                    changed_sources.append(stored)
                stored.title, stored.publisher, stored.author, stored.published_on = (
                    spec.title,
                    spec.publisher,
                    spec.author,
                    spec.published_on,
                )
                self.sources_by_key[spec.key] = stored
        history = {"reason": self.batch.change_reason, "user": self.history_user(), "date": now}
        create_with_history(Source, new_sources, {}, **history)
        self.baseline(Source, changed_sources, now)
        Source.objects.bulk_update(changed_sources, ["title", "publisher", "author", "published_on"])
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
        notifications.events_notify_followers(self.published)


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
    "version",
    "updated_at",
]

# The column a domain rule's problem points at.
RULE_COLUMNS = {
    "not_a_member": "municipalities",
    "municipality_ceased": "date",
    "disentanglement_without_exit": "kind",
}

RESOURCES = {
    "municipalities": MunicipalityResource,
    "partnerships": PartnershipResource,
    "events": EventResource,
}


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
