"""The shared machinery of the register's django-import-export resources.

The resources are built for large files. Lookups (municipalities,
partnerships, pillars, sources, existing rows) are loaded once per import;
rows are checked in memory, without a query per row; the domain rules run
once per partnership over its existing and imported events together
(`timeline.check_rules`); rows are written in bulk with their history
(`history_change_reason` = ``import:<batch id>``), in batches as
django-import-export's bulk mode collects them, and only while no row has
failed. Call them through `importer.run_import()`, which adds file reading,
permissions and the one transaction that is rolled back when any row or rule
has a problem: all or nothing. What the import touched is rebuilt and announced
by one call to `services.partnerships_changed()` at the end.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import connection, models, reset_queries
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import resources, widgets
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import Result, RowResult

from .. import permissions, services
from ..history import record_bulk
from ..models import ImportBatch
from .bulk import ensure_baseline
from .columns import PREVIEW_ROWS, ChoiceWidget, Lookups
from .vocabulary import vocabulary


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

    def __init__(self, *, user=None, filename: str = "", sha256: str = "", progress=None, duplicates: str = "skip"):
        super().__init__()
        self.user = user
        self.duplicates = duplicates  # rows that repeat a stored event or an earlier row: "skip" or "import"
        self.duplicate_note = ""  # set by skip_row when the current row is such a duplicate
        self.filename = filename
        self.sha256 = sha256
        self.progress = progress
        self.problems: list[tuple[int | None, str, str]] = []
        self.plans: list[RowPlan] = []
        self.previews: list[tuple[int, str, str, str, tuple[str, ...], str, str]] = []
        self.counts = {"new": 0, "updated": 0, "unchanged": 0, "duplicates": 0, "rows": 0}
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
            if isinstance(field.widget, ChoiceWidget):
                field.widget.words = vocabulary(field.widget.column)
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
        self.duplicate_note = ""
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
        if result.validation_error is not None or result.errors:
            self.rejected(row, number)
        return result

    def rejected(self, row, number: int) -> None:
        """A row with a problem of its own: remembered, so that problems it causes say so."""

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
            if row_result.import_type == RowResult.IMPORT_TYPE_SKIP and self.duplicate_note:
                self.counts["duplicates"] += 1
                self._preview(kwargs, "duplicate", row, ())
            elif row_result.import_type == RowResult.IMPORT_TYPE_SKIP:
                self.counts["unchanged"] += 1
                self._preview(kwargs, "unchanged", row, ())
            return
        if row_result.import_type == RowResult.IMPORT_TYPE_NEW:
            self.counts["new"] += 1
            if self.duplicate_note:  # imported all the same
                self.counts["duplicates"] += 1
            self._preview(kwargs, "new", row, ())
        else:
            self.counts["updated"] += 1
            self._preview(kwargs, "update", row, self.plans[-1].changes)

    def _preview(self, kwargs, action: str, row, changes) -> None:
        if len(self.previews) < PREVIEW_ROWS:
            self.previews.append(
                (
                    self.row_number(kwargs),
                    action,
                    row.get(self.key_column, ""),
                    self.label(row),
                    changes,
                    self.detail(row),
                    self.duplicate_note,
                )
            )

    def label(self, row) -> str:
        """What the preview calls a row: its name or title."""
        return row.get("name", "")

    def detail(self, row) -> str:
        """What the preview adds to the label (an event's date in words and partnership)."""
        return ""

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
        """After the last write: the one call that rebuilds what the import touched and announces
        what it published."""
        services.partnerships_changed(partnership_ids=self.touched, published_event_ids=self.published_events())

    def published_events(self) -> list[int]:
        """The ids of the events this import made public (none but for an events import)."""
        return []

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
