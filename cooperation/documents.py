"""Uploaded documents: what is accepted, judged by the content alone; its checksum; its text.

The one place that decides whether a file may become a `Document` (services.document_save calls
`check()`; the admin's form calls it to show the refusal next to the field). No ORM.

What is accepted, how it is recognised, and what text is read from it:

- PDF: starts with `%PDF-`, ends in `%%EOF`, pypdf reads its pages; the text of each page (pypdf).
- DOCX, XLSX, PPTX (Office Open XML): a ZIP with `[Content_Types].xml` and `word/document.xml`,
  `xl/workbook.xml` or `ppt/presentation.xml`; paragraphs, shared strings, slide text.
- ODT, ODS, ODP (OpenDocument): a ZIP whose `mimetype` member names the OpenDocument type and
  that has `content.xml`; its paragraphs and headings.
- DOC, XLS, PPT (legacy Office): the OLE2 signature, a well-formed header and the stream
  `WordDocument`, `Workbook`/`Book` or `PowerPoint Document`; no text (the extract stays empty).

Everything else is refused, whatever its name or the type the browser sent: HTML, SVG, images,
scripts, archives, an HTML page renamed `.pdf`. Also refused: files over
`settings.PORTAL_DOCUMENT_MAX_BYTES` (counted while reading, so a larger file is not read to its
end), empty files, encrypted PDFs, office files with macros, and ZIP bombs (too many members, too
much uncompressed data, or a suspicious compression ratio, judged from the directory before
anything is decompressed, and enforced again while the XML is read). XML is parsed with
defusedxml (no DTDs, no entities). The extract is capped at `TEXT_MAX_CHARS`; a scan without a
text layer has an empty extract, which the pages show as "no text available".
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass

from defusedxml import ElementTree
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from django.utils.text import slugify
from django.utils.translation import gettext as _
from pypdf import PdfReader
from pypdf.errors import PyPdfError

CHUNK = 64 * 1024
TEXT_MAX_CHARS = 200_000
PDF_MAX_PAGES = 2_000
# ZIP bombs: judged from the central directory, before anything is decompressed.
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100  # uncompressed / compressed, over the whole archive and per large member
ZIP_RATIO_FROM = 1024 * 1024  # a member smaller than this may compress as well as it likes
XML_MAX_BYTES = 50 * 1024 * 1024  # per XML member read for the extract

PDF_TYPE = "application/pdf"
TYPES = {
    # extension: (content type, name in words)
    "pdf": (PDF_TYPE, "PDF"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint"),
    "odt": ("application/vnd.oasis.opendocument.text", "OpenDocument"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", "OpenDocument"),
    "odp": ("application/vnd.oasis.opendocument.presentation", "OpenDocument"),
    "doc": ("application/msword", "Word 97-2003"),
    "xls": ("application/vnd.ms-excel", "Excel 97-2003"),
    "ppt": ("application/vnd.ms-powerpoint", "PowerPoint 97-2003"),
}
EXTENSION_OF_TYPE = {content_type: extension for extension, (content_type, _name) in TYPES.items()}
OPENDOCUMENT = {TYPES[ext][0]: ext for ext in ("odt", "ods", "odp")}
OOXML_MAIN = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLE_STREAMS = [("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"), ("PowerPoint Document", "ppt")]
OLE_MACROS = ["_VBA_PROJECT", "Macros\x00"]
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")


@dataclass(frozen=True)
class Inspection:
    """What the content says about a file."""

    extension: str
    content_type: str
    size: int
    sha256: str
    text: str


class CheckedFile(File):
    """An uploaded file that passed `check()`, with what the check found (`inspection`)."""

    def __init__(self, file, name: str, inspection: Inspection):
        super().__init__(file, name)
        self.inspection = inspection


def accepted_formats() -> str:
    return "PDF, Word, Excel, PowerPoint, OpenDocument"


def max_bytes() -> int:
    return settings.PORTAL_DOCUMENT_MAX_BYTES


def limits_in_words() -> str:
    """The rule stated next to the upload field."""
    return _("PDF or an office document (%(formats)s), at most %(size)s.") % {
        "formats": accepted_formats(),
        "size": filesizeformat(max_bytes()),
    }


def format_name(content_type: str) -> str:
    extension = EXTENSION_OF_TYPE.get(content_type)
    return TYPES[extension][1] if extension else _("file")


def refuse(message: str, code: str, **params) -> ValidationError:
    return ValidationError(message, code=code, params=params or None)


def not_a_document() -> ValidationError:
    return refuse(
        _(
            "This file is not a PDF or office document (%(formats)s), whatever its name says. "
            "Save it as PDF and upload that."
        )
        % {"formats": accepted_formats()},
        "not_a_document",
    )


def check(upload) -> CheckedFile:
    """The upload, checked (see the module's table), with its inspection; or ValidationError with
    a message for the person who uploaded it. The stored name is the upload's name made safe,
    with the extension of the type found."""
    if isinstance(upload, CheckedFile):
        return upload
    inspection = inspect(upload)
    stem = slugify((getattr(upload, "name", "") or "").rsplit("/", 1)[-1].rsplit(".", 1)[0])[:80] or "document"
    upload.seek(0)
    return CheckedFile(upload, f"{stem}.{inspection.extension}", inspection)


def inspect(upload) -> Inspection:
    """Read the file once in chunks (counting and hashing; stopping as soon as it is too large),
    then judge its type by its content and extract its text."""
    limit = max_bytes()
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    head = b""
    while chunk := upload.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise refuse(
                _("This file is larger than %(size)s, the most a document may be.") % {"size": filesizeformat(limit)},
                "too_large",
            )
        if len(head) < 2048:
            head += chunk[: 2048 - len(head)]
        digest.update(chunk)
    if size == 0:
        raise refuse(_("This file is empty."), "empty")
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        extension, text = "pdf", _pdf_text(upload, size)
    elif head.startswith(b"PK\x03\x04"):
        extension, text = _office_zip(upload)
    elif head.startswith(OLE_SIGNATURE):
        extension, text = _ole(upload), ""
    else:
        raise not_a_document()
    upload.seek(0)
    return Inspection(extension, TYPES[extension][0], size, digest.hexdigest(), _tidy(text))


def _tidy(text: str) -> str:
    """Readable plain text, storable in PostgreSQL (no NUL), at most TEXT_MAX_CHARS."""
    text = CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = BLANK_LINES.sub("\n\n", text).strip()
    return text[:TEXT_MAX_CHARS]


def _not_readable(kind: str) -> ValidationError:
    return refuse(
        _("This file looks like a %(kind)s but cannot be read; it may be damaged. Save it again and upload that.")
        % {"kind": kind},
        "damaged",
    )


def _pdf_text(upload, size: int) -> str:
    upload.seek(max(0, size - 8192))
    if b"%%EOF" not in upload.read():
        raise _not_readable("PDF")
    upload.seek(0)
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise refuse(_("This PDF is protected with a password. Upload it without the protection."), "encrypted")
        pages = reader.pages
        if len(pages) == 0:
            raise _not_readable("PDF")
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError) as error:
        raise _not_readable("PDF") from error
    parts, length = [], 0
    for number, page in enumerate(pages):
        if number >= PDF_MAX_PAGES or length >= TEXT_MAX_CHARS:
            break
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - pypdf raises many kinds on odd pages; that page has no text then
            text = ""
        parts.append(text)
        length += len(text)
    return "\n\n".join(part for part in parts if part.strip())


def _office_zip(upload) -> tuple[str, str]:
    try:
        archive = zipfile.ZipFile(upload)
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise _not_readable(_("office document")) from error
    _refuse_bombs(members)
    names = {member.filename for member in members}
    if any(name.lower().endswith(("vbaproject.bin", "vbadata.xml")) or name.startswith("Basic/") for name in names):
        raise refuse(
            _("This office document contains macros. Save it without macros (for example as PDF) and upload that."),
            "macros",
        )
    if "mimetype" in names:
        mimetype = _read(archive, "mimetype", 200).decode("ascii", "replace").strip()
        extension = OPENDOCUMENT.get(mimetype)
        if extension and "content.xml" in names:
            return extension, _paragraphs(_xml(archive, "content.xml"), ODF_PARAGRAPHS)
    elif "[Content_Types].xml" in names:
        for main, extension in OOXML_MAIN.items():
            if main in names:
                return extension, _ooxml_text(archive, extension, names)
    raise refuse(
        _("This ZIP file is not an office document (%(formats)s).") % {"formats": accepted_formats()},
        "not_a_document",
    )


def _refuse_bombs(members) -> None:
    total = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members)
    suspicious = any(
        member.file_size > ZIP_RATIO_FROM and member.file_size > ZIP_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if (
        len(members) > ZIP_MAX_MEMBERS
        or total > ZIP_MAX_UNCOMPRESSED
        or suspicious
        or (total > ZIP_RATIO_FROM and total > ZIP_MAX_RATIO * max(compressed, 1))
    ):
        raise refuse(
            _(
                "This office document unpacks to far more than its size (%(size)s in %(count)s parts); "
                "it is refused as a possible ZIP bomb. Save it as PDF and upload that."
            )
            % {"size": filesizeformat(total), "count": len(members)},
            "zip_bomb",
        )


def _read(archive, name: str, limit: int) -> bytes:
    """A member's bytes, never more than `limit` whatever its header claims."""
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise refuse(_("A part of this office document is too large to read (%(name)s).") % {"name": name}, "zip_bomb")
    return data


def _xml(archive, name: str):
    try:
        return ElementTree.fromstring(_read(archive, name, XML_MAX_BYTES))
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001 - defusedxml refusals and parse errors alike
        raise _not_readable(_("office document")) from error


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
ODF_PARAGRAPHS = {f"{TEXT_NS}p", f"{TEXT_NS}h"}


def _paragraphs(root, tags: set[str]) -> str:
    """The text of every element named in `tags`, one per line (nested ones not twice)."""
    lines, length = [], 0
    for element in root.iter():
        if element.tag in tags:
            line = "".join(element.itertext()).strip()
            if line:
                lines.append(line)
                length += len(line)
                if length > TEXT_MAX_CHARS:
                    break
    return "\n".join(lines)


def _ooxml_text(archive, extension: str, names: set[str]) -> str:
    if extension == "docx":
        root = _xml(archive, "word/document.xml")
        lines = []
        for paragraph in root.iter(f"{W}p"):
            line = "".join(node.text or "" for node in paragraph.iter(f"{W}t")).strip()
            if line:
                lines.append(line)
        return "\n".join(lines)
    if extension == "xlsx":
        # Text cells: in the shared strings, or inline in the sheets (as openpyxl writes them).
        parts = (
            [_paragraphs(_xml(archive, "xl/sharedStrings.xml"), {f"{S}si"})] if "xl/sharedStrings.xml" in names else []
        )
        parts += [_paragraphs(_xml(archive, name), {f"{S}is"}) for name in _numbered(names, "xl/worksheets/sheet")]
        return "\n".join(part for part in parts if part)
    slides = _numbered(names, "ppt/slides/slide")
    texts = []
    for name in slides:
        lines = ("".join(run.text or "" for run in par.iter(f"{A}t")) for par in _xml(archive, name).iter(f"{A}p"))
        texts.append("\n".join(line for line in lines if line.strip()))
    return "\n\n".join(texts)


def _numbered(names: set[str], prefix: str) -> list[str]:
    """The members `<prefix>1.xml`, `<prefix>2.xml`, ... in their order."""
    found = [name for name in names if re.fullmatch(re.escape(prefix) + r"\d+\.xml", name)]
    return sorted(found, key=lambda name: int(name[len(prefix) : -len(".xml")]))


def _ole(upload) -> str:
    """Legacy Office (OLE2 compound file): the header must be well-formed and the directory must
    name the main stream of a Word, Excel or PowerPoint file. Its text is not extracted."""
    header = upload.read(512)
    byte_order = header[28:30]
    sector_shift = int.from_bytes(header[30:32], "little")
    if len(header) < 512 or byte_order != b"\xfe\xff" or sector_shift not in (9, 12):
        raise _not_readable(_("office document"))
    upload.seek(0)
    # Directory entries hold their names in UTF-16-LE; a whole-file scan stays within the size limit.
    data = upload.read()
    if any(name.encode("utf-16-le") in data for name in OLE_MACROS):
        raise refuse(
            _("This office document contains macros. Save it without macros (for example as PDF) and upload that."),
            "macros",
        )
    for stream, extension in OLE_STREAMS:
        if (stream + "\x00").encode("utf-16-le") in data:
            return extension
    raise not_a_document()


def download_name(title: str, extension: str) -> str:
    """The name a downloaded document gets: its title (readable, any script), with its extension."""
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", title).strip(" .")[:120].strip() or "document"
    return f"{name}.{extension}"
