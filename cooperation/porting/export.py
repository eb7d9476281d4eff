"""The one exporter: every file the portal writes (admin export, `export_data`, /downloads/).

Same columns as the import formats, CSV as UTF-8 with a BOM (so that Excel
opens it correctly) and CRLF line ends, and in CSV and XLSX no cell that a
spreadsheet would run as a formula: a cell starting with = + - @, a tab or a
carriage return (also after leading spaces) gets a leading apostrophe in CSV
(which an import removes again) and is stored as quoted text in XLSX.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from django.utils import timezone

from .columns import COLUMNS, FORMAT_VERSION
from .files import is_formula_like
from .importer import KINDS, RESOURCES
from .vocabulary import labelled, vocabulary_column

FORMATS = ("csv", "xlsx", "json")
XLSX_MIN_WIDTH, XLSX_MAX_WIDTH = 8, 60
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def export_queryset(kind: str, queryset=None):
    """The rows to export, in the stable order of the format (the resource's queryset)."""
    resource = RESOURCES[kind]()
    base = resource.get_queryset()
    return base if queryset is None else base.filter(pk__in=queryset.values("pk"))


def export_dataset(kind: str, queryset):
    """The rows of `queryset` (of `kind`) in the columns of the import format, unneutralised."""
    return RESOURCES[kind]().export(queryset)


def export_file(*, kind: str, file_format: str = "csv", queryset=None, labels: bool = False) -> bytes:
    """The rows of `kind` (all, or those of `queryset`) as a file in the import format.

    The same data gives the same CSV and JSON bytes. With `labels`, coded columns carry their
    labels in the active language instead of their codes ("gemeenteraad" for `council`), as a
    person reads them; an import accepts those too (porting.vocabulary).
    """
    if kind not in KINDS or file_format not in FORMATS:
        raise ValueError(f"Unknown export {kind!r} as {file_format!r}.")
    resource = RESOURCES[kind]()
    headers = list(COLUMNS[kind])
    rows = resource.export(export_queryset(kind, queryset))
    if labels:
        columns = [vocabulary_column(kind, column) for column in headers]
        rows = [[labelled(column, value) for column, value in zip(columns, row, strict=True)] for row in rows]
    return write_table(file_format=file_format, headers=headers, rows=rows, title=kind)


def write_table(*, file_format: str, headers: Sequence[str], rows: Iterable[Sequence], title: str) -> bytes:
    """A table as CSV, XLSX or JSON bytes, with formula-like cells neutralised (CSV, XLSX)."""
    if file_format == "json":
        items = [dict(zip(headers, row, strict=True)) for row in rows]
        return (json.dumps(items, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([neutralise(value) for value in row])
        return buffer.getvalue().encode("utf-8-sig")
    if file_format == "xlsx":
        return _xlsx_bytes(title, headers, rows)
    raise ValueError(f"Unknown file format {file_format!r}.")


def neutralise(value) -> str:
    """A cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return f"'{text}" if is_formula_like(text) else text


def column_widths(headers: Sequence[str], rows: Sequence[Sequence]) -> list[float]:
    """A width per column (in characters) that fits its name and its longest line, within 8–60."""
    widths = [len(str(header)) for header in headers]
    for row in rows:
        for index, value in enumerate(row):
            if value:
                longest = max(len(line) for line in str(value).split("\n"))
                if longest > widths[index]:
                    widths[index] = longest
    return [min(max(width + 2, XLSX_MIN_WIDTH), XLSX_MAX_WIDTH) for width in widths]


def _xlsx_bytes(title: str, headers: Sequence[str], rows) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = rows if isinstance(rows, list) else list(rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    for index, width in enumerate(column_widths(headers, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            text = str(value) if value is not None else ""
            cell = WriteOnlyCell(sheet, value=text)
            if is_formula_like(text):
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
