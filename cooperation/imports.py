"""Import and export of the register: the one entry point for the admin, the commands and Celery.

`run_import()` reads a file (CSV with commas or semicolons, XLSX or JSON;
UTF-8 with or without BOM, or Windows-1252), checks its columns, checks every
row and the domain rules, and writes all of it or nothing, as one change set
(an `ImportBatch`) that `import_undo()` can take back. `export_file()` writes
the same formats, safe to open in a spreadsheet. The formats are documented
in docs/import-formats.md (format version 1).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from . import permissions, services
from .derived import chunks, m2m_ids
from .history import m2m_field_names, m2m_history_model, m2m_names, record_bulk
from .models import Event, ImportBatch, Municipality, Partnership, Source
from .resources import COLUMNS, FORMAT_VERSION, RESOURCES, replace_m2m

logger = logging.getLogger(__name__)

KINDS = ("municipalities", "partnerships", "events")
FORMATS = ("csv", "xlsx", "json")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# A guard against a small XLSX that unpacks into millions of rows.
MAX_ROWS = 300_000
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ImportFileError(Exception):
    """A file that cannot be read as an import at all; the message (Dutch) says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ImportProblem:
    row: int | None  # the data row as a spreadsheet shows it (header = row 1); None for the whole file
    column: str
    message: str


@dataclass
class RowPreview:
    row: int
    action: str  # new, update, unchanged
    key: str
    label: str
    changes: tuple[str, ...] = ()


@dataclass
class ImportReport:
    kind: str
    total_rows: int
    new: int
    updated: int
    unchanged: int
    problems: list[ImportProblem]
    dry_run: bool
    rows: list[RowPreview] = field(default_factory=list)  # the first rows, for the preview
    batch_id: int | None = None  # the ImportBatch of an import that was written
    filename: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        """Plain data (JSON-serialisable), e.g. for a background job."""
        return {**asdict(self), "ok": self.ok}


# --- Reading a file ---------------------------------------------------------------------


def read_dataset(*, data: bytes, filename: str) -> tablib.Dataset:
    """The rows of a CSV (comma, semicolon or tab), XLSX or JSON file, all values as stripped text.

    The format is recognised from the content; CSV and JSON may be UTF-8 with or
    without BOM, UTF-16 with BOM or Windows-1252. A leading apostrophe that an
    export put before a formula character is removed again. Raises
    ImportFileError (with a Dutch message) for a file that cannot be read.
    """
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise ImportFileError(
            _("The file is %(size)s; files up to %(limit)s can be imported. Split it into smaller files.")
            % {"size": filesizeformat(len(data)), "limit": filesizeformat(limit)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    suffix = Path(filename or "").suffix.lower()
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, suffix)
    elif data.startswith(_OLE_MAGIC):
        raise ImportFileError(
            _("This is an old Excel file (.xls). Save it as an Excel workbook (.xlsx) or as CSV and try again.")
        )
    else:
        text = _decode(data)
        rows = _json_rows(text) if text.lstrip()[:1] in ("[", "{") else _csv_rows(text)
    return _dataset(rows)


def _not_a_known_format() -> ImportFileError:
    return ImportFileError(
        _("This is not a CSV, XLSX or JSON file. Save the spreadsheet as CSV (UTF-8) or as an Excel workbook (.xlsx).")
    )


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_a_known_format() from None
    if b"\x00" in data:
        raise _not_a_known_format()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The text of this file is neither UTF-8 nor Windows-1252. Save it as “CSV UTF-8” and try again.")
        ) from None


def _text(value) -> str:
    """A cell as text: numbers without a needless “.0”, days as 2024-01-31."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, list):
        return ";".join(_text(item) for item in value)
    return str(value)


def _cell(value) -> str:
    # Leading line breaks are kept: in a source column, an empty first line means "no such value for
    # the first source".
    text = (value if type(value) is str else _text(value)).rstrip().lstrip(" \t")
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def _csv_rows(text: str) -> list[list[str]]:
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    delimiter = max(counts, key=counts.get) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [[_cell(value) for value in row] for row in reader]
    except csv.Error as error:
        raise ImportFileError(_("This CSV file cannot be read: %(error)s.") % {"error": error}) from None
    return rows


def _xlsx_rows(data: bytes, suffix: str) -> list[list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged or foreign zip makes openpyxl raise all kinds of errors
        logger.info("Unreadable XLSX upload: %r", error)
        if suffix == ".ods":
            raise ImportFileError(
                _("This is an OpenDocument spreadsheet (.ods). Save it as an Excel workbook (.xlsx) or as CSV.")
            ) from None
        raise ImportFileError(
            _("This file cannot be read as an Excel workbook (.xlsx). Save it again as .xlsx or as CSV.")
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell(value) for value in values])
            if len(rows) > MAX_ROWS + 1:
                raise ImportFileError(_too_many_rows())
    except ImportFileError:
        raise
    except Exception as error:
        logger.info("Unreadable XLSX upload: %r", error)
        raise ImportFileError(
            _("This file cannot be read as an Excel workbook (.xlsx). Save it again as .xlsx or as CSV.")
        ) from None
    finally:
        workbook.close()
    return rows


def _json_rows(text: str) -> list[list[str]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(
            _("This JSON cannot be read: %(error)s (line %(line)s, column %(column)s).")
            % {"error": error.msg, "line": error.lineno, "column": error.colno}
        ) from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ImportFileError(_("A JSON import holds a list of objects, one per row, with the column names as keys."))
    headers: dict[str, None] = {}
    for item in items:
        for key in item:
            headers.setdefault(str(key), None)
    for item in items:
        for key, value in item.items():
            if isinstance(value, dict):
                raise ImportFileError(
                    _("In a JSON import every value is text, a number or a list; “%(key)s” holds an object.")
                    % {"key": key}
                )
    return [list(headers), *([_cell(item.get(key)) for key in headers] for item in items)]


def _too_many_rows() -> str:
    return _("The file has more than %(count)s rows. Split it into smaller files.") % {"count": f"{MAX_ROWS:,}"}


def _dataset(rows: list[list[str]]) -> tablib.Dataset:
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise ImportFileError(_("The file is empty."))
    if len(rows) > MAX_ROWS + 1:
        raise ImportFileError(_too_many_rows())
    headers = [value.replace("\ufeff", "").strip().lower() for value in rows[0]]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportFileError(_("The first row must hold the column names."))
    seen = set()
    for header in headers:
        if header in seen:
            raise ImportFileError(_("The column “%(column)s” occurs twice.") % {"column": header})
        seen.add(header)
    width = len(headers)
    dataset = tablib.Dataset(headers=headers)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > width:
            if any(row[width:]):
                raise ImportFileError(
                    _(
                        "Row %(row)s has %(count)s cells but the first row only %(width)s column names. "
                        "Check the separator and the quotes in this row."
                    )
                    % {"row": number, "count": len(row), "width": width}
                )
            row = row[:width]
        elif len(row) < width:
            row = row + [""] * (width - len(row))
        dataset.append(row)
    if not any(any(row) for row in dataset):
        raise ImportFileError(_("The file has column names but no rows."))
    return dataset


def check_columns(kind: str, headers: list[str]) -> list[ImportProblem]:
    """Problems with the columns of a file for `kind`: missing ones, unknown ones."""
    expected = COLUMNS[kind]
    problems = []
    missing = [column for column in expected if column not in headers]
    unknown = [column for column in headers if column and column not in expected]
    blank = sum(1 for column in headers if not column)
    if missing:
        problems.append(
            ImportProblem(
                None,
                ", ".join(missing),
                _("Missing columns: %(columns)s. A file of %(kind)s has these columns: %(expected)s.")
                % {"columns": ", ".join(missing), "kind": _kind_label(kind), "expected": ", ".join(expected)},
            )
        )
    if unknown:
        problems.append(
            ImportProblem(
                None,
                ", ".join(unknown),
                _("Unknown columns: %(columns)s. A file of %(kind)s has these columns: %(expected)s.")
                % {"columns": ", ".join(unknown), "kind": _kind_label(kind), "expected": ", ".join(expected)},
            )
        )
    if blank:
        problems.append(ImportProblem(None, "", _("A column has no name in the first row.")))
    return problems


def _kind_label(kind: str) -> str:
    return str(ImportBatch.Kind(kind).label)


# --- Importing --------------------------------------------------------------------------


def run_import(
    *,
    kind: str,
    data: bytes,
    filename: str,
    user,
    dry_run: bool,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a file of `kind`: everything or, when any row has a problem, nothing.

    A dry run checks everything and writes nothing (the preview). Editors may
    only change the partnerships of their municipalities; municipalities and new
    partnerships are for administrators. An import that writes is one
    `ImportBatch`, its id in `report.batch_id`. `progress(done_rows, total_rows)`
    is called every thousand rows and at the end.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown import kind {kind!r}; one of {', '.join(KINDS)}.")
    report = ImportReport(
        kind=kind, total_rows=0, new=0, updated=0, unchanged=0, problems=[], dry_run=dry_run, filename=filename
    )
    if not permissions.can_import(user):
        report.problems.append(
            ImportProblem(None, "", _("You may not import data. Ask an administrator for the editor role."))
        )
        return report
    if kind == "municipalities" and not permissions.is_administrator(user):
        report.problems.append(ImportProblem(None, "", _("Only administrators may import municipalities.")))
        return report
    try:
        dataset = read_dataset(data=data, filename=filename)
    except ImportFileError as error:
        report.problems.append(ImportProblem(None, "", error.message))
        return report
    report.problems = check_columns(kind, dataset.headers)
    if report.problems:
        return report
    resource = RESOURCES[kind](user=user, filename=filename, sha256=hashlib.sha256(data).hexdigest(), progress=progress)
    try:
        with transaction.atomic():
            result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True, raise_errors=False)
            problems = [ImportProblem(*problem) for problem in resource.problems]
            for error in result.base_errors:
                logger.error("Import of %s (%s) failed: %s\n%s", kind, filename, error.error, error.traceback)
                problems.append(
                    ImportProblem(
                        None,
                        "",
                        _("The import failed, nothing was saved: %(error)s") % {"error": error.error},
                    )
                )
            if problems or dry_run:
                transaction.set_rollback(True)
    except Exception as error:
        logger.exception("Import of %s (%s) failed", kind, filename)
        problems = [ImportProblem(None, "", _("The import failed, nothing was saved: %(error)s") % {"error": error})]
        resource.batch = None
    order = {column: index for index, column in enumerate(COLUMNS[kind])}
    report.problems = sorted(
        problems, key=lambda p: (p.row or 0, order.get(p.column.split(",")[0].strip(), len(order)))
    )
    counts = resource.counts
    report.total_rows, report.new, report.updated, report.unchanged = (
        counts["rows"],
        counts["new"],
        counts["updated"],
        counts["unchanged"],
    )
    report.rows = [RowPreview(*preview) for preview in resource.previews]
    if report.ok and not dry_run and resource.batch is not None:
        report.batch_id = resource.batch.pk
    return report


# --- Exporting --------------------------------------------------------------------------


def export_queryset(kind: str, queryset=None):
    """The rows to export, in the stable order of the format (the resource's queryset)."""
    resource = RESOURCES[kind]()
    base = resource.get_queryset()
    return base if queryset is None else base.filter(pk__in=queryset.values("pk"))


def export_file(*, kind: str, file_format: str = "csv", queryset=None) -> bytes:
    """The rows of `kind` (all, or those of `queryset`) as a file in the import format.

    CSV is UTF-8 with a BOM, so that Excel opens it correctly, with CRLF line
    ends. In CSV and XLSX a cell that starts with = + - @ cannot run as a
    formula: CSV gets a leading apostrophe (which an import removes again), XLSX
    stores it as text. The same data gives the same CSV and JSON bytes.
    """
    if kind not in KINDS or file_format not in FORMATS:
        raise ValueError(f"Unknown export {kind!r} as {file_format!r}.")
    resource = RESOURCES[kind]()
    dataset = resource.export(export_queryset(kind, queryset))
    headers = list(COLUMNS[kind])
    if file_format == "json":
        items = [dict(zip(headers, row, strict=True)) for row in dataset]
        return (json.dumps(items, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(headers)
        for row in dataset:
            writer.writerow([neutralise(value) for value in row])
        return buffer.getvalue().encode("utf-8-sig")
    return _xlsx_bytes(kind, headers, dataset)


def neutralise(value) -> str:
    """A cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _xlsx_bytes(kind: str, headers: list[str], dataset) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=kind)
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in dataset:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=str(value) if value is not None else "")
            if cell.value and str(cell.value).startswith(FORMULA_STARTS):
                # Text, never a formula; Excel shows it as entered ("quote prefix").
                cell.data_type = "s"
                cell.quotePrefix = True
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_filename(kind: str, file_format: str) -> str:
    return f"{kind}-v{FORMAT_VERSION}-{timezone.localdate().isoformat()}.{file_format}"


# --- Undoing an import ------------------------------------------------------------------

# Models an import of each kind writes, in the order an undo takes them back.
UNDO_MODELS = {
    "municipalities": (Municipality,),
    "partnerships": (Partnership,),
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
                    "object": _describe(record),
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


def _describe(record) -> str:
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
        if model is Event:
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
            if model is Event:
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
    services.partnerships_changed(partnership_ids=touched_partnerships)
    batch.undone_at, batch.undone_by = now, history_user
    batch.save(update_fields=["undone_at", "undone_by"])
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
                # Every object an import changes has an older record: see history.ensure_baseline().
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
