"""Reading an import file: CSV, XLSX or JSON in, a table of stripped text cells out.

The format is recognised from the content, never trusted from the name. Every
way a file can be unreadable or hostile ends in `ImportFileError` with a Dutch
message, cheaply and before the expensive part: the upload size, an XLSX whose
archive would unpack into too much (a zip bomb: its entries' declared sizes are
checked before openpyxl reads any of them; zipfile never unpacks more than an
entry declares), JSON nested deeper than the format allows, and a text file
whose lines are in two encodings (refused with the first line that is not
UTF-8, never decoded into garbage).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import zipfile
from decimal import Decimal
from pathlib import Path

import tablib
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# A guard against a small XLSX that unpacks into millions of rows.
MAX_ROWS = 300_000
# An XLSX archive holds a dozen entries; a real one never needs thousands.
MAX_XLSX_ENTRIES = 1000
# How much an XLSX may unpack into, as a multiple of the upload limit (20 MB -> 500 MB of XML), and how
# much one entry may grow: XML of real sheets compresses 5 to 30 times, a zip bomb thousands of times.
MAX_XLSX_UNPACKED_FACTOR = 25
MAX_XLSX_RATIO = 200
# Spreadsheets run a cell that starts with one of these as a formula (after any spaces).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ImportFileError(Exception):
    """A file that cannot be read as an import at all; the message (Dutch) says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet run this cell as a formula? Leading spaces do not stop it."""
    return text.lstrip(" ").startswith(FORMULA_STARTS)


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
    elif data.startswith(OLE_MAGIC):
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
    _refuse_mixed_encodings(data)
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
    if len(text) > 1 and text[0] == "'" and is_formula_like(text[1:]):
        return text[1:].lstrip(" \t")
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

    _refuse_zip_bomb(data)
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
    except RecursionError:
        raise ImportFileError(_too_deep()) from None
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
            if isinstance(value, list) and any(isinstance(part, list | dict) for part in value):
                raise ImportFileError(_too_deep())
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


def _too_deep() -> str:
    return _(
        "This JSON is nested too deeply. A JSON import is a list of objects, one per row, whose values are "
        "text, a number or a list of those."
    )


def _refuse_zip_bomb(data: bytes) -> None:
    """Refuse an XLSX archive that would unpack into far more than a spreadsheet of this size holds.

    Reads only the archive's directory (no entry is unpacked): the number of entries, each
    entry's declared size and compression ratio, and their total. zipfile never unpacks more of
    an entry than it declares, so the declared sizes bound what openpyxl can read afterwards.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip after all: openpyxl's reading reports it
    unpacked_limit = MAX_XLSX_UNPACKED_FACTOR * settings.IMPORT_MAX_UPLOAD_BYTES
    unpacked = sum(entry.file_size for entry in entries)
    too_packed = any(
        entry.file_size > 1024 * 1024 and entry.file_size > MAX_XLSX_RATIO * max(entry.compress_size, 1)
        for entry in entries
    )
    if len(entries) > MAX_XLSX_ENTRIES or unpacked > unpacked_limit or too_packed:
        logger.warning(
            "Refused an XLSX upload of %s bytes: %s entries, %s bytes unpacked", len(data), len(entries), unpacked
        )
        raise ImportFileError(
            _(
                "This Excel file would unpack into %(size)s, far more than a spreadsheet of its size holds; "
                "it is not imported. Save the sheet again as .xlsx or as CSV."
            )
            % {"size": filesizeformat(unpacked)}
        )


def _refuse_mixed_encodings(data: bytes) -> None:
    """A file that is not UTF-8 as a whole, but has lines that are UTF-8 with accents, mixes two
    encodings: decoding it as Windows-1252 would garble those lines, so it is refused, naming the
    first line that is not UTF-8 and the first that is."""
    first_utf8 = first_other = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            first_other = first_other or number
        else:
            first_utf8 = first_utf8 or number
        if first_utf8 and first_other:
            raise ImportFileError(
                _(
                    "Line %(line)s of this file is not UTF-8, but line %(utf8_line)s is: the file mixes two text "
                    "encodings, and one of them would come out garbled. Save it as “CSV UTF-8” and try again."
                )
                % {"line": first_other, "utf8_line": first_utf8}
            )
