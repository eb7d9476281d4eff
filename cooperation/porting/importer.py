"""Importing a file: the one entry point for the admin, the commands and the worker.

`run_import()` reads a file (CSV with commas or semicolons, XLSX or JSON;
UTF-8 with or without BOM, or Windows-1252), checks its columns, checks every
row and the domain rules, and writes all of it or nothing, as one change set
(an `ImportBatch`) that `undo.import_undo()` can take back. The formats are
documented in docs/import-formats.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from .. import permissions
from ..models import ImportBatch
from .agreements import AgreementResource
from .columns import COLUMNS, OPTIONAL_COLUMNS
from .events import EventResource
from .files import ImportFileError, read_dataset
from .register import MunicipalityResource, PartnershipResource

logger = logging.getLogger(__name__)

# In the order a register is imported: events refer to partnerships and agreements, agreements to partnerships.
KINDS = ("municipalities", "partnerships", "agreements", "events")
RESOURCES = {
    "municipalities": MunicipalityResource,
    "partnerships": PartnershipResource,
    "agreements": AgreementResource,
    "events": EventResource,
}


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
    detail: str = ""  # e.g. an event's date in words and its partnership
    note: str = ""  # e.g. which stored event or earlier row this row repeats


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
    duplicates: int = 0  # rows that repeat a stored event or an earlier row (skipped, or imported as new)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        """Plain data (JSON-serialisable), e.g. for a background job."""
        return {**asdict(self), "ok": self.ok}


def check_columns(kind: str, headers: list[str]) -> list[ImportProblem]:
    """Problems with the columns of a file for `kind`: missing ones, unknown ones."""
    expected = COLUMNS[kind]
    problems = []
    missing = [column for column in expected if column not in headers and column not in OPTIONAL_COLUMNS[kind]]
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
    duplicates: str = "skip",
) -> ImportReport:
    """Import a file of `kind`: everything or, when any row has a problem, nothing.

    A dry run checks everything and writes nothing (the preview). Editors may
    only change the partnerships of their municipalities; municipalities and new
    partnerships are for administrators. An import that writes is one
    `ImportBatch`, its id in `report.batch_id`. `progress(done_rows, total_rows)`
    is called every thousand rows and at the end. A new event without uid that repeats a stored
    event or an earlier row (same partnership, kind, date and municipalities) is skipped, or with
    `duplicates="import"` imported all the same; the report counts them in `duplicates`.
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
    resource = RESOURCES[kind](
        user=user,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        progress=progress,
        duplicates=duplicates,
    )
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
    report.duplicates = counts["duplicates"]
    # A row with a problem (one the rules found after reading it, too) is listed as a problem only.
    rejected = {problem.row for problem in report.problems}
    report.rows = [RowPreview(*preview) for preview in resource.previews if preview[0] not in rejected]
    if report.ok and not dry_run and resource.batch is not None:
        report.batch_id = resource.batch.pk
    return report
